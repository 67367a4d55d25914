"""The connector form: a REST connector's essentials as fields (address, auth, one stream with
its paging and incremental cursor, mapping rows) next to the full JSON (the "Nâng cao" tab).

Both give the same configuration dict, validated by the connectors' own rules
(:func:`connectors.parse_config`, then ``create_connector``/``update_connector``);
a mistake is explained in Vietnamese with the name of the form field. A configuration the
fields cannot show (several streams, another kind, options beyond the essentials) opens on
the JSON tab: :func:`form_values` rebuilds it from the fields and compares. Connectors of
other kinds than :data:`FORM_KIND` are configured on the JSON tab only.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

import schemas
from connectors import OffOrigin, parse_config
from gateway.console._forms import Form
from gateway.console._labels import ENUMS, choices, record_type_choices, refuse
from gateway.console._xlsx import FIELD_LABELS
from hub import InvalidInput
from schemas import TEXT_CONTROL

TAB_FIELDS, TAB_JSON = "fields", "json"
FORM_KIND = "rest"  # the kind whose definition the fields describe
MAX_ROWS = 100

# form field -> (path in the config, Vietnamese label)
SCALARS: dict[str, tuple[tuple[str, ...], str]] = {
    "base_url": (("base_url",), "địa chỉ API (base URL)"),
    "auth_type": (("auth", "type"), "kiểu xác thực"),
    "auth_header": (("auth", "header"), "header chứa API key"),
    "auth_token_path": (("auth", "token_path"), "đường dẫn lấy token"),
    "auth_client_id": (("auth", "client_id"), "mã ứng dụng (client id)"),
    "auth_method": (("auth", "method"), "phương thức gửi khoá"),
    "auth_scope": (("auth", "scope"), "phạm vi quyền (scope)"),
    "stream_name": (("name",), "tên luồng"),
    "stream_record_type": (("record_type",), "loại hồ sơ"),
    "stream_path": (("path",), "đường dẫn dữ liệu"),
    "stream_records_path": (("records_path",), "vị trí danh sách bản ghi"),
    "source_id": (("mapping", "source_id"), "trường khoá của cơ quan"),
    "page_style": (("pagination", "style"), "kiểu phân trang"),
    "page_size": (("pagination", "page_size"), "số bản ghi mỗi trang"),
    "page_size_param": (("pagination", "size_param"), "tham số cỡ trang"),
    "page_param": (("pagination", "page_param"), "tham số số trang"),
    "page_offset_param": (("pagination", "offset_param"), "tham số vị trí"),
    "page_cursor_param": (("pagination", "cursor_param"), "tham số con trỏ"),
    "page_next_cursor_path": (("pagination", "next_cursor_path"), "vị trí con trỏ tiếp theo"),
    "inc_cursor_field": (("incremental", "cursor_field"), "trường thời điểm cập nhật"),
    "inc_since_param": (("incremental", "since_param"), "tham số “cập nhật từ”"),
    "inc_cursor_format": (("incremental", "cursor_format"), "định dạng thời điểm"),
}
STREAM_KEYS = {"name", "record_type", "path", "records_path", "pagination", "incremental",
               "mapping"}


@dataclass
class Row:
    target: str = ""
    source: str = ""
    values: str = ""  # "a=b; c=d"
    date_format: str = ""


@dataclass
class FormValues:
    """What the fields show (all text, as typed)."""

    scalars: dict[str, str] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.scalars.get(name, "")


def defaults() -> FormValues:
    return FormValues({"base_url": "https://", "auth_type": "none", "auth_header": "X-API-Key",
                       "auth_token_path": "/oauth/token", "auth_method": "client_secret_basic",
                       "stream_record_type": "products", "page_style": "page",
                       "page_size": "100", "page_size_param": "page_size",
                       "page_param": "page", "page_offset_param": "offset",
                       "page_cursor_param": "cursor", "page_next_cursor_path": "next_cursor",
                       "inc_cursor_format": "iso"},
                      [Row(target="title")])


def record_fields() -> dict[str, list[tuple[str, str]]]:
    """record type -> the (field, Vietnamese label) a mapping row can fill."""
    return {name: [(f, FIELD_LABELS.get(f, f)) for f in rt.model.model_fields
                   if f != "source_id"]
            for name, rt in schemas.RECORD_TYPES.items()}


# --- fields -> config ---------------------------------------------------------------------

def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _value_map(text: str, row: int) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            raise InvalidInput(
                f"Dòng ánh xạ {row}: bảng chuyển đổi giá trị phải có dạng “a=b; c=d” "
                f"(thiếu dấu = ở “{part.strip()[:40]}”).",
                f"Mapping row {row}: the value map must read \"a=b; c=d\" "
                f"(no = in \"{part.strip()[:40]}\").")
        key, value = part.split("=", 1)
        found[key.strip()] = value.strip()
    return found


def read_values(form: Form) -> FormValues:
    """The fields as submitted (cleaned text), for building the config or showing again."""
    values = FormValues({name: form.text(name, max_length=500) for name in SCALARS})
    lists = [form.data.getlist(f"map_{k}") for k in ("target", "source", "values", "date")]
    if any(len(v) > MAX_ROWS for v in lists):
        raise InvalidInput(f"Tối đa {MAX_ROWS} dòng ánh xạ.", f"At most {MAX_ROWS} mapping rows.")
    count = max((len(v) for v in lists), default=0)
    for i in range(count):
        cells = [_cell(v, i) for v in lists]
        values.rows.append(Row(*cells))
    return values


def _cell(items: list[Any], i: int) -> str:
    """One cell of a mapping row, cleaned as :class:`Form` cleans text."""
    value = items[i] if i < len(items) and isinstance(items[i], str) else ""
    if TEXT_CONTROL.search(value):
        raise InvalidInput("Không được nhập ký tự điều khiển.",
                           "Control characters are not allowed.")
    value = unicodedata.normalize("NFC", value.strip())
    if len(value) > 2000:
        raise InvalidInput("Một ô ánh xạ dài quá 2000 ký tự.",
                           "A mapping cell is longer than 2000 characters.")
    return value


def build_config(values: FormValues) -> dict[str, Any]:
    """The configuration dict the fields describe (what the JSON tab would hold), with the
    form's own mistakes (empty required fields, unknown codes, numbers) explained."""
    v = values.get
    for name in ("base_url", "stream_name", "stream_path", "source_id"):
        if not v(name):
            raise InvalidInput(f"Hãy nhập {SCALARS[name][1]}.", f"{name} is required.")
    checks = (("auth_type", "Kiểu xác thực", "auth type", "auth_type"),
              ("page_style", "Kiểu phân trang", "pagination style", "pagination_style"))
    for name, vi, en, group in checks:
        if v(name) not in ENUMS[group]:
            raise refuse(vi, en, v(name), group)
    record_type = v("stream_record_type")
    if record_type not in schemas.RECORD_TYPES:
        raise refuse("Loại hồ sơ", "record type", record_type, record_type_choices)
    auth: dict[str, Any] = {"type": v("auth_type")}
    if auth["type"] == "api_key":
        auth["header"] = v("auth_header") or "X-API-Key"
    elif auth["type"] == "oauth2":
        if v("auth_method") not in ENUMS["auth_method"]:
            raise refuse("Phương thức gửi khoá", "auth method", v("auth_method"), "auth_method")
        auth.update(token_path=v("auth_token_path") or "/oauth/token",
                    client_id=v("auth_client_id") or None, method=v("auth_method"),
                    scope=v("auth_scope") or None)
    size = v("page_size") or "100"
    if not size.isdigit():
        raise InvalidInput(f"Số bản ghi mỗi trang phải là số nguyên dương (không phải “{size}”).",
                           f"The page size must be a whole number (not \"{size}\").")
    paging: dict[str, Any] = {"style": v("page_style"), "page_size": int(size)}
    for name in ("page_size_param", "page_param", "page_offset_param", "page_cursor_param",
                 "page_next_cursor_path"):
        if v(name):
            paging[SCALARS[name][0][-1]] = v(name)
    if not v("page_size_param"):
        paging["size_param"] = None
    stream: dict[str, Any] = {"name": v("stream_name"), "record_type": record_type,
                              "path": v("stream_path"),
                              "records_path": v("stream_records_path") or None,
                              "pagination": paging}
    if v("inc_cursor_field") or v("inc_since_param"):
        if not (v("inc_cursor_field") and v("inc_since_param")):
            raise InvalidInput(
                "Lấy dữ liệu tăng dần cần cả trường thời điểm cập nhật và tham số “cập nhật từ”.",
                "Incremental pulls need both the cursor field and the since parameter.")
        stream["incremental"] = {"cursor_field": v("inc_cursor_field"),
                                 "since_param": v("inc_since_param"),
                                 "cursor_format": v("inc_cursor_format") or "iso"}
    allowed = dict(record_fields()[record_type])
    fields: dict[str, Any] = {}
    for n, row in enumerate(values.rows, start=1):
        if not (row.target or row.source or row.values):
            continue
        if row.target not in allowed:
            raise refuse(f"Dòng ánh xạ {n}: trường", f"target field (mapping row {n})",
                         row.target, list(allowed.items()))
        if row.target in fields:
            raise InvalidInput(f"Dòng ánh xạ {n}: trường {row.target} đã được ánh xạ ở dòng khác.",
                               f"Mapping row {n}: {row.target} is mapped twice.")
        if not row.source:
            raise InvalidInput(f"Dòng ánh xạ {n}: hãy nhập trường nguồn cho {row.target}.",
                               f"Mapping row {n}: the source field of {row.target} is missing.")
        spec: dict[str, Any] = {"from": row.source}
        if row.values:
            spec["map"] = _value_map(row.values, n)
        if row.date_format:
            if row.date_format not in ENUMS["date_format"]:
                raise refuse(f"Dòng ánh xạ {n}: định dạng ngày", "date format",
                             row.date_format, "date_format")
            spec["date_format"] = row.date_format
        fields[row.target] = spec
    if not fields:
        raise InvalidInput("Hãy ánh xạ ít nhất một trường.", "Map at least one field.")
    stream["mapping"] = {"source_id": v("source_id"), "fields": fields}
    return {"kind": FORM_KIND, "base_url": v("base_url"), "auth": auth, "streams": [stream]}


# --- config -> fields ---------------------------------------------------------------------

def form_values(kind: str, config: dict[str, Any]) -> FormValues | None:
    """The fields showing ``config`` exactly, or None when they cannot (the JSON tab)."""
    if kind != FORM_KIND or len(config.get("streams") or []) != 1:
        return None
    stream = config["streams"][0]
    if not set(stream) <= STREAM_KEYS | {"params", "keys"}:
        return None
    values = FormValues()
    for name, (path, _) in SCALARS.items():
        node: Any = stream if path[0] in STREAM_KEYS else config
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        values.scalars[name] = "" if node is None else str(node)
    for target, spec in (stream.get("mapping") or {}).get("fields", {}).items():
        mapped = spec.get("map") or {}
        values.rows.append(Row(
            target=target, source=str(spec.get("from") or ""),
            values="; ".join(f"{k}={v}" for k, v in mapped.items()),
            date_format=str(spec.get("date_format") or "")))
    try:
        rebuilt = build_config(values)
        same = _normal(kind, rebuilt) == _normal(kind, config)
    except (InvalidInput, ValueError):
        same = False
    return values if same else None


def _normal(kind: str, config: dict[str, Any]) -> bytes:
    dumped = parse_config(kind, config).model_dump(mode="json", by_alias=True)
    return orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)


# --- validation messages ------------------------------------------------------------------

_WHERE = {".".join(path): label for path, label in SCALARS.values()} | {
    "auth": "xác thực", "incremental": "lấy dữ liệu tăng dần", "mapping": "ánh xạ",
    "pagination": "phân trang"}
_MESSAGES = {
    "missing": "bắt buộc phải có",
    "string_pattern_mismatch": "chỉ được dùng chữ không dấu, số và . _ - (không dấu cách)",
    "string_too_long": "quá dài",
    "string_too_short": "không được để trống",
    "less_than_equal": "lớn quá mức cho phép (tối đa {le})",
    "greater_than_equal": "nhỏ quá mức cho phép (tối thiểu {ge})",
    "greater_than": "phải lớn hơn {gt}",
    "literal_error": "không phải một giá trị được chấp nhận ({expected})",
    "extra_forbidden": "không phải một tuỳ chọn được biết",
    "int_parsing": "phải là số nguyên",
}


def check(kind: str, config: dict[str, Any]) -> None:
    """The connectors' validation, its first complaint in Vietnamese naming the form field."""
    try:
        parse_config(kind, config)
    except ValidationError as exc:
        first = exc.errors()[0]
        if isinstance((first.get("ctx") or {}).get("error"), OffOrigin):
            return  # the connectors' own 422 (a destination refused) says it best
        loc = [str(p) for p in first["loc"]]
        inner = loc[2:] if loc[:1] == ["streams"] and len(loc) > 2 else loc
        where = _WHERE.get(".".join(inner))
        if where is None and inner[:2] == ["mapping", "fields"] and len(inner) > 2:
            where = f"ánh xạ trường {inner[2]}"
        if where is None and loc[:1] == ["streams"]:
            where = "luồng dữ liệu"
        where = where or ".".join(loc) or "cấu hình"
        template = _MESSAGES.get(first["type"])
        if template is not None:
            reason = template.format(**{k: v for k, v in (first.get("ctx") or {}).items()})
        else:
            reason = _reason_vi(str(first["msg"]))
        raise InvalidInput(f"Cấu hình không hợp lệ — {where}: {reason}.",
                           f"Invalid configuration at {'.'.join(loc)}: {first['msg']}") from None
    except ValueError as exc:
        raise InvalidInput(f"Cấu hình không hợp lệ: {exc}.",
                           f"Invalid configuration: {exc}") from None


def _reason_vi(message: str) -> str:
    """The connectors' own value errors (English), the usual ones in Vietnamese."""
    text = message.removeprefix("Value error, ")
    known = {
        "base_url must be an http(s) URL": "phải là địa chỉ http(s)://… có tên máy chủ",
        "base_url must not carry credentials; use the connector's secrets":
            "không được chứa tên/mật khẩu; dùng phần khoá bí mật",
        "base_url must not carry a query or fragment": "không được có ?… hoặc #…",
        "oauth2 needs client_id": "OAuth2 cần mã ứng dụng (client id)",
        "path must start with /": "đường dẫn dữ liệu phải bắt đầu bằng /",
        "token_path must start with /": "đường dẫn lấy token phải bắt đầu bằng /",
    }
    if text in known:
        return known[text]
    if "must be a path on base_url" in text:
        return "phải là đường dẫn trên địa chỉ API (/...), không phải URL tới máy chủ khác"
    if text.startswith("fields not in the"):
        return "có trường không thuộc chuẩn dữ liệu: " + text.split(":", 1)[-1].strip()
    return text


def json_text(config: dict[str, Any]) -> str:
    return orjson.dumps(config, option=orjson.OPT_INDENT_2).decode()


def select_options(lang: str) -> dict[str, list[tuple[str, str]]]:
    return {"auth_type": choices("auth_type", lang), "auth_method": choices("auth_method", lang),
            "page_style": choices("pagination_style", lang),
            "date_format": choices("date_format", lang),
            "record_type": record_type_choices(lang)}
