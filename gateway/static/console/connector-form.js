// RightsHub console, connector form: the two tabs (fields / advanced JSON: the hidden
// config_tab says which one is sent), mapping rows added and removed, and the target-field
// lists following the record type. Plain JavaScript, no inline script (CSP 'self').
(function () {
  "use strict";
  document.querySelectorAll("[data-conn-form]").forEach(function (root) {
    var input = root.querySelector("[data-tab-input]");
    var fields = JSON.parse(root.getAttribute("data-fields") || "{}");
    var rows = root.querySelector("[data-rows]");
    var recordType = root.querySelector("[data-record-type]");

    function show(tab) {
      input.value = tab;
      root.querySelectorAll("[data-tab]").forEach(function (link) {
        link.setAttribute("aria-selected", link.getAttribute("data-tab") === tab ? "true" : "false");
      });
      root.querySelectorAll("[data-panel]").forEach(function (panel) {
        panel.hidden = panel.getAttribute("data-panel") !== tab;
      });
    }
    root.querySelectorAll("[data-tab]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        show(link.getAttribute("data-tab"));
      });
    });

    function fillTargets(select, type) {
      var chosen = select.value;
      while (select.options.length > 1) { select.remove(1); }
      (fields[type] || []).forEach(function (pair) {
        var option = document.createElement("option");
        option.value = pair[0];
        option.textContent = pair[1] + " (" + pair[0] + ")";
        option.selected = pair[0] === chosen;
        select.appendChild(option);
      });
    }
    if (recordType) {
      recordType.addEventListener("change", function () {
        rows.querySelectorAll("[data-target]").forEach(function (s) { fillTargets(s, recordType.value); });
      });
    }

    root.addEventListener("click", function (event) {
      if (event.target.closest("[data-add-row]")) {
        var last = rows.querySelector("[data-row]:last-child");
        var row = last.cloneNode(true);
        row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
        row.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
        rows.appendChild(row);
        row.querySelector("select").focus();
        return;
      }
      var remove = event.target.closest("[data-remove-row]");
      if (remove) {
        var all = rows.querySelectorAll("[data-row]");
        var mine = remove.closest("[data-row]");
        if (all.length > 1) {
          mine.remove();
        } else {  // the last row is emptied, not removed (the clone source)
          mine.querySelectorAll("input").forEach(function (i) { i.value = ""; });
          mine.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
        }
      }
    });
  });
})();
