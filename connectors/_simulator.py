"""The reference agency simulator (``rightshub simulate-agency``): a small provincial system
with its own OAuth2 token endpoint, a paginated records API in its own field names,
dd/mm/yyyy dates, numbers with a decimal comma, some titles in TCVN3, and fault switches.

Records API: ``GET /api/an-pham`` ordered by (``cap_nhat_luc``, ``ma_so``), filtered by
``cap_nhat_tu`` (updated since, inclusive); pages by ``trang`` (page number), ``vi_tri``
(offset) or ``con_tro`` (cursor), with ``so_ban_ghi`` per page; the answer carries
``con_tro_tiep`` and a ``Link: <...>; rel="next"`` header. Deleted records stay listed with
``trang_thai: "da_xoa"``; ``/_sim/mutate`` can also purge records without a trace.

Faults (``/_sim/faults`` or the command's options) apply to every request outside ``/_sim``:
``error_rate`` (502/503/504), ``rate_429`` (429 with ``Retry-After``), ``drop_rate`` (the
connection is cut in the middle of the answer), ``latency_ms`` (each answer, ±50 %).
``move_rate`` updates that many records (on average) just before each records answer: an
update moves a record to the end of the list ordered by update time and shifts the records
behind it back one place, as a live agency system does while the hub pages through it.
``/_sim/state`` gives the final state the hub must end with.

``time_format`` "dd/mm/yyyy HH:MM:SS" writes update times the way many agency systems do
(local time in Asia/Ho_Chi_Minh, to the second, so records updated within one second share a
value); ``clock_step_ms`` is the time between two changes. ``truong=a,b`` lists only those
fields of each record: the cheap key-only listing a reconciliation sweeps.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors._legacy_text import encode_tcvn3

TITLES = (
    "Quyền con người trong Hiến pháp năm 2013",
    "Bảo vệ quyền trẻ em ở vùng đồng bào dân tộc thiểu số",
    "Tuyên truyền về quyền của người khuyết tật",
    "Hỏi đáp pháp luật về bình đẳng giới",
    "Những thành tựu bảo đảm quyền con người ở Việt Nam",
    "Tự do tín ngưỡng, tôn giáo: chính sách và thực tiễn",
    "Đối thoại quốc tế về nhân quyền: kỷ yếu hội thảo",
    "Phòng, chống thông tin sai lệch về quyền con người",
    "Sổ tay tuyên truyền viên cơ sở về quyền của phụ nữ",
    "Quyền được học tập của trẻ em khuyết tật ở miền núi",
    "Gìn giữ tiếng mẹ đẻ: quyền văn hóa của đồng bào Mông",
    "Phóng sự: những người giữ lửa ở bản làng vùng cao",
)
KINDS = {"sach": "book", "sach_dien_tu": "ebook", "video": "video", "bai_viet": "article",
         "ap_phich": "poster", "phong_su_truyen_hinh": "tv_item"}
LANGUAGES = {"Tiếng Việt": "vie", "Tiếng Anh": "eng", "Tiếng H'Mông": "hmn", "Tiếng Tày": "tyz"}
THEMES = {"quyen_tre_em": "rights_children", "quyen_phu_nu": "rights_women",
          "chinh_sach_phap_luat": "vn_policy_law", "thanh_tuu": "achievements",
          "dan_toc_thieu_so": "rights_ethnic_minorities"}
PUBLISHERS = ("NXB Chính trị quốc gia Sự thật", "NXB Tư pháp", "NXB Thông tin và Truyền thông",
              "Đài Phát thanh - Truyền hình tỉnh")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
LIVE, DELETED = "hien_hanh", "da_xoa"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
TIME_FORMATS = ("iso", "dd/mm/yyyy HH:MM:SS")


@dataclass
class Faults:
    error_rate: float = 0.0
    rate_429: float = 0.0
    drop_rate: float = 0.0
    latency_ms: float = 0.0
    retry_after: int = 1
    move_rate: float = 0.0  # records updated (moved to the end) before each records answer

    def update(self, values: dict[str, Any]) -> None:
        for name in ("error_rate", "rate_429", "drop_rate", "latency_ms", "move_rate"):
            if name in values:
                setattr(self, name, float(values[name]))
        if "retry_after" in values:
            self.retry_after = int(values["retry_after"])


@dataclass
class SimOptions:
    records: int = 200
    seed: int = 1
    client_id: str = "hub-trung-uong"
    client_secret: str = "bi-mat-mo-phong-0123456789"
    api_key: str | None = None
    public_jwk: dict[str, Any] | None = None  # private_key_jwt: the client's public key
    token_ttl: int = 300
    tcvn3_share: float = 0.2
    max_page_size: int = 500
    time_format: str = "iso"
    clock_step_ms: int = 1
    faults: Faults = field(default_factory=Faults)


class AgencyState:
    """The agency's records, in its own field names."""

    def __init__(self, options: SimOptions) -> None:
        if options.time_format not in TIME_FORMATS:
            raise ValueError(f"time_format must be one of {', '.join(TIME_FORMATS)}")
        self.options = options
        self.rng = random.Random(options.seed)
        self.records: dict[str, dict[str, Any]] = {}
        self.times: dict[str, datetime] = {}  # each record's exact update time
        self._clock = 0
        self.tokens: dict[str, float] = {}
        self.stats = {"requests": 0, "token_requests": 0, "errors": 0, "429": 0, "drops": 0,
                      "unauthorised": 0, "early_retries": 0}
        # Until when the last 429's Retry-After asked the client to wait (monotonic clock): a
        # request before then is counted as an early retry (benchmarks check it stays 0).
        self.blocked_until = 0.0
        for n in range(1, options.records + 1):
            self._put(self._new(n))

    def _tick(self) -> datetime:
        # Strictly increasing times: order by them is the change order.
        self._clock += 1
        return EPOCH + timedelta(milliseconds=self._clock * self.options.clock_step_ms)

    def render(self, moment: datetime) -> str:
        if self.options.time_format == "iso":
            return moment.isoformat(timespec="milliseconds")
        return moment.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M:%S")

    def parse(self, text: str) -> datetime:
        if self.options.time_format == "iso":
            return datetime.fromisoformat(text)
        return datetime.strptime(text, "%d/%m/%Y %H:%M:%S").replace(tzinfo=LOCAL)

    def _visible(self, moment: datetime) -> datetime:
        """The time as written (to the millisecond, or to the second)."""
        if self.options.time_format == "iso":
            return moment
        return moment.replace(microsecond=0)

    def _new(self, n: int) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choice(list(KINDS))
        title = f"{rng.choice(TITLES)} (số {n})"
        published = date(2020, 1, 1) + timedelta(days=rng.randrange(0, 6 * 365))
        record: dict[str, Any] = {
            "ma_so": f"TQ-{n:06d}",
            "ten_an_pham": encode_tcvn3(title) if rng.random() < self.options.tcvn3_share
            else title,
            "loai": kind,
            "ngay_phat_hanh": published.strftime("%d/%m/%Y"),
            "ngon_ngu": "; ".join(rng.sample(list(LANGUAGES), rng.choice((1, 1, 2)))),
            "chu_de": rng.sample(list(THEMES), 2),
            "nha_xuat_ban": rng.choice(PUBLISHERS),
            "trang_thai": LIVE,
        }
        if kind == "sach":
            pages = rng.randrange(40, 2400)
            record["so_trang"] = f"{pages:,}".replace(",", ".")  # 1.234: Vietnamese style
        return record

    def _put(self, record: dict[str, Any]) -> None:
        moment = self._tick()
        record["cap_nhat_luc"] = self.render(moment)
        self.records[record["ma_so"]] = record
        self.times[record["ma_so"]] = moment

    def mutate(self, *, create: int = 0, update: int = 0, delete: int = 0,
               purge: int = 0) -> dict[str, list[str]]:
        live = sorted(k for k, r in self.records.items() if r["trang_thai"] == LIVE)
        self.rng.shuffle(live)
        done: dict[str, list[str]] = {"created": [], "updated": [], "deleted": [], "purged": []}
        for key in live[:update]:
            record = dict(self.records[key])
            record["nha_xuat_ban"] = self.rng.choice(PUBLISHERS) + " (tái bản)"
            self._put(record)
            done["updated"].append(key)
        for key in live[update : update + delete]:
            self._put({**self.records[key], "trang_thai": DELETED})
            done["deleted"].append(key)
        for key in live[update + delete : update + delete + purge]:
            del self.records[key]
            del self.times[key]
            done["purged"].append(key)
        start = max((int(k.split("-")[1]) for k in self.records), default=0) + 1
        for n in range(start, start + create):
            self._put(self._new(n))
            done["created"].append(f"TQ-{n:06d}")
        return done

    def ordered(self, since: str | None) -> list[dict[str, Any]]:
        times = self.times
        rows = sorted(self.records.values(), key=lambda r: (times[r["ma_so"]], r["ma_so"]))
        if since:
            start = self.parse(since)
            rows = [r for r in rows if self._visible(times[r["ma_so"]]) >= start]
        return rows

    def move(self) -> None:
        """Before a records answer: ``move_rate`` updates, on average."""
        rate = self.options.faults.move_rate
        count = int(rate) + (1 if self.rng.random() < rate - int(rate) else 0)
        if count:
            self.mutate(update=count)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _cursor(record: dict[str, Any], times: dict[str, datetime]) -> str:
    raw = f"{_stamp(times[record['ma_so']])}|{record['ma_so']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after_cursor(rows: list[dict[str, Any]], token: str,
                  times: dict[str, datetime]) -> list[dict[str, Any]]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    stamp, key = raw.split("|", 1)
    return [r for r in rows if (_stamp(times[r["ma_so"]]), r["ma_so"]) > (stamp, key)]


def _problem(status: int, title: str, **headers: str) -> JSONResponse:
    return JSONResponse({"loi": title}, status_code=status, headers=headers)


class FaultInjection:
    """Pure ASGI middleware: latency, 5xx, 429 and cut connections outside ``/_sim``."""

    def __init__(self, app: ASGIApp, state: AgencyState, rng: random.Random) -> None:
        self.app = app
        self.state = state
        self.rng = rng

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        faults = self.state.options.faults
        stats = self.state.stats
        stats["requests"] += 1
        if time.monotonic() < self.state.blocked_until:
            stats["early_retries"] += 1
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000 * self.rng.uniform(0.5, 1.5))
        roll = self.rng.random()
        if roll < faults.error_rate:
            stats["errors"] += 1
            status = self.rng.choice((502, 503, 504))
            await _problem(status, "Hệ thống tạm thời gián đoạn")(scope, receive, send)
            return
        roll -= faults.error_rate
        if roll < faults.rate_429:
            stats["429"] += 1
            self.state.blocked_until = time.monotonic() + faults.retry_after
            await _problem(429, "Quá nhiều yêu cầu",
                           **{"Retry-After": str(faults.retry_after)})(scope, receive, send)
            return
        roll -= faults.rate_429
        if roll < faults.drop_rate:
            stats["drops"] += 1
            # Promise a body, send part of it and stop: the client sees a cut connection.
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"100000")]})
            await send({"type": "http.response.body", "body": b'{"du_lieu": [',
                        "more_body": True})
            raise ConnectionAbortedError("simulated dropped connection")
        await self.app(scope, receive, send)


def create_simulator(options: SimOptions | None = None) -> Starlette:
    options = options or SimOptions()
    state = AgencyState(options)

    def authorised(request: Request) -> bool:
        if options.api_key is not None:
            given = request.headers.get("x-api-key", "")
            if given and hmac.compare_digest(given, options.api_key):
                return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = state.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return expires is not None and expires > time.monotonic()

    async def token(request: Request) -> Response:
        state.stats["token_requests"] += 1
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if not _client_ok(request, dict(form), options):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        access = secrets.token_urlsafe(24)
        state.tokens[access] = time.monotonic() + options.token_ttl
        return JSONResponse({"access_token": access, "token_type": "Bearer",
                             "expires_in": options.token_ttl},
                            headers={"Cache-Control": "no-store"})

    async def records(request: Request) -> Response:
        if not authorised(request):
            state.stats["unauthorised"] += 1
            return _problem(401, "Chưa xác thực", **{"WWW-Authenticate": "Bearer"})
        q = request.query_params
        state.move()
        try:
            size = min(int(q.get("so_ban_ghi", "100")), options.max_page_size)
            rows = state.ordered(q.get("cap_nhat_tu"))
            if "trang" in q:
                page = max(1, int(q["trang"]))
                chunk = rows[(page - 1) * size : page * size]
                more = page * size < len(rows)
                nxt: dict[str, str | int] = {"trang": page + 1}
            elif "vi_tri" in q:
                offset = max(0, int(q["vi_tri"]))
                chunk = rows[offset : offset + size]
                more = offset + size < len(rows)
                nxt = {"vi_tri": offset + size}
            else:
                if q.get("con_tro"):
                    rows = _after_cursor(rows, q["con_tro"], state.times)
                chunk = rows[:size]
                more = len(rows) > size
                nxt = {"con_tro": _cursor(chunk[-1], state.times)} if chunk else {}
        except (ValueError, UnicodeDecodeError):
            return _problem(400, "Tham số không hợp lệ")
        if q.get("truong"):  # keys only: the fields asked for
            wanted = [f.strip() for f in q["truong"].split(",") if f.strip()]
            chunk = [{f: r[f] for f in wanted if f in r} for r in chunk]
        headers = {}
        if more:
            params = {k: v for k, v in q.items() if k not in ("trang", "vi_tri", "con_tro")}
            link = f"{request.url.path}?{urlencode({**params, **nxt})}"
            headers["Link"] = f'<{link}>; rel="next"'
        return JSONResponse(
            {"du_lieu": chunk, "tong_so": len(rows),
             "con_tro_tiep": _cursor(chunk[-1], state.times) if more and chunk else None},
            headers=headers,
        )

    async def sim_state(request: Request) -> Response:
        return JSONResponse({"records": state.ordered(None), "stats": state.stats})

    async def sim_faults(request: Request) -> Response:
        options.faults.update(await request.json())
        return JSONResponse(vars(options.faults))

    async def sim_mutate(request: Request) -> Response:
        body = await request.json()
        return JSONResponse(state.mutate(**{k: int(v) for k, v in body.items()
                                            if k in ("create", "update", "delete", "purge")}))

    async def sim_revoke(request: Request) -> Response:
        state.tokens.clear()
        return JSONResponse({"revoked": True})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "records": len(state.records)})

    app = Starlette(routes=[
        Route("/oauth/token", token, methods=["POST"]),
        Route("/api/an-pham", records),
        Route("/_sim/state", sim_state),
        Route("/_sim/faults", sim_faults, methods=["POST"]),
        Route("/_sim/mutate", sim_mutate, methods=["POST"]),
        Route("/_sim/revoke-tokens", sim_revoke, methods=["POST"]),
        Route("/_sim/health", health),
    ])
    app.state.agency = state
    app.add_middleware(FaultInjection, state=state, rng=random.Random(options.seed + 1))
    return app


def _client_ok(request: Request, form: dict[str, Any], options: SimOptions) -> bool:
    """client_secret_basic, client_secret_post, or private_key_jwt (RFC 7523 §2.2)."""
    assertion = form.get("client_assertion")
    if assertion and options.public_jwk is not None:
        return _assertion_ok(str(assertion), str(request.url), options)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
    else:
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
    return client_id == options.client_id and hmac.compare_digest(
        secret.encode(), options.client_secret.encode())


def _assertion_ok(assertion: str, token_url: str, options: SimOptions) -> bool:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import import_key

    try:
        key = import_key(options.public_jwk)  # type: ignore[arg-type]
        token = jwt.decode(assertion, key)
        claims = token.claims
        now = time.time()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        return (claims.get("iss") == claims.get("sub") == options.client_id
                and token_url in audiences and float(claims.get("exp", 0)) > now)
    except (JoseError, ValueError, TypeError):
        return False


def demo_connector_config(base_url: str, *, client_id: str = "hub-trung-uong",
                          page_size: int = 100, pagination: str = "cursor",
                          auth: str = "oauth2", time_format: str = "iso") -> dict[str, Any]:
    """The connector definition that reads the simulator: its fields mapped onto products,
    with the key-only listing its reconciliation sweeps."""
    paging: dict[str, Any] = {"style": pagination, "page_size": page_size,
                              "size_param": "so_ban_ghi", "total_path": "tong_so"}
    paging.update({"page": {"page_param": "trang"}, "offset": {"offset_param": "vi_tri"},
                   "cursor": {"cursor_param": "con_tro", "next_cursor_path": "con_tro_tiep"},
                   "link": {}, "none": {}}[pagination])
    auth_config: dict[str, Any] = {"type": auth}
    if auth == "oauth2":
        auth_config.update(client_id=client_id, token_path="/oauth/token")
    return {
        "kind": "rest",
        "base_url": base_url,
        "auth": auth_config,
        "streams": [{
            "name": "an-pham",
            "record_type": "products",
            "path": "/api/an-pham",
            "records_path": "du_lieu",
            "pagination": paging,
            "incremental": {"since_param": "cap_nhat_tu", "cursor_field": "cap_nhat_luc",
                            "cursor_format": time_format,
                            "timezone": "Asia/Ho_Chi_Minh"},
            "keys": {"params": {"truong": "ma_so,cap_nhat_luc,trang_thai"}, "page_size": 500},
            "mapping": {
                "source_id": "ma_so",
                "deleted_when": {"field": "trang_thai", "equals": DELETED},
                "tombstone_missing": True,
                "fields": {
                    "title": {"from": "ten_an_pham", "encoding": "auto"},
                    "kind": {"from": "loai", "map": KINDS, "map_default": "other"},
                    "published_on": {"from": "ngay_phat_hanh", "date_format": "dd/mm/yyyy"},
                    "languages": {"from": "ngon_ngu", "split": ";", "map": LANGUAGES},
                    "themes": {"from": "chu_de", "map": THEMES},
                    "publisher": {"from": "nha_xuat_ban"},
                    "page_count": {"from": "so_trang", "number": "vi", "integer": True},
                    "visibility": {"value": "shared"},
                },
            },
        }],
    }
