// RightsHub console: a little plain JavaScript (no inline scripts: the CSP forbids them).
// Copy buttons, confirmations, "back" links and progress polling of long actions.
(function () {
  "use strict";
  var body = document.body;

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var field = document.getElementById(copy.getAttribute("data-copy"));
      if (!field) { return; }
      field.select();
      var done = function () {
        var label = copy.querySelector(".label") || copy;
        var before = label.textContent;
        label.textContent = body.getAttribute("data-copied");
        copy.setAttribute("data-state", "copied");
        setTimeout(function () { label.textContent = before; copy.removeAttribute("data-state"); }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
      return;
    }
    var back = event.target.closest("[data-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question === "1" ? body.getAttribute("data-confirm") : question)) {
      event.preventDefault();
      return;
    }
    var button = form.querySelector("button[type=submit][data-busy]");
    if (button) {
      button.disabled = true;
      button.textContent = button.getAttribute("data-busy");
    }
  });

  // A long action (import, connector run): poll its JSON status, update the bar, and
  // reload the page when it is finished so the server renders the full result.
  var poll = document.querySelector("[data-poll]");
  if (poll) {
    var url = poll.getAttribute("data-poll");
    var bar = poll.querySelector(".progress-inner");
    var text = poll.querySelector("[data-progress-text]");
    var tick = function () {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          var pct = job.total ? Math.min(100, Math.round(100 * job.done / job.total)) : 0;
          if (bar) { bar.style.width = pct + "%"; }
          poll.setAttribute("aria-valuenow", String(pct));
          if (text) { text.textContent = job.progress_text; }
          if (job.state === "finished" || job.state === "failed") {
            window.location.reload();
          } else {
            setTimeout(tick, 700);
          }
        })
        .catch(function () { setTimeout(tick, 2000); });
    };
    setTimeout(tick, 300);
  }
})();
