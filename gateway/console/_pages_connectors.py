"""Pull connectors: configure, check, preview with the data-quality report, run now (the
worker runs it; the page follows its progress without waiting), run history and errors.
The same services, policy and audit entries as ``/v1/admin/connectors``."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

import connectors
from auth import admin_action, policy
from gateway.console import _connector_form as cform
from gateway.console._forms import Form, ident, read_form, validated
from gateway.console._i18n import fmt_number
from gateway.console._labels import kind_choices, refuse
from gateway.console._pages_auth import User
from gateway.console._pages_clients import agency_choices
from gateway.console._render import NO_STORE, ConsoleRoute, render
from gateway.console._session import ConsoleUser, language
from gateway.deps import HubDep
from hub import Hub, HubError, InvalidInput, NotFound, audit_in_own_transaction
from hub import strict_json as json_strict

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

SECRET_FIELDS = ("client_secret", "api_key", "private_key")  # in the order the page shows


def _secret_fields(kind: str) -> tuple[str, ...]:
    """The secrets a connector of ``kind`` may use (the kind's ``secrets``)."""
    spec = connectors.find_kind(kind)
    return tuple(n for n in SECRET_FIELDS if spec is None or n in spec.secrets)


async def _agency_of(hub: Hub, user: ConsoleUser, connector_id: str) -> str:
    try:
        info = await connectors.get_connector(hub, connector_id)
    except NotFound:
        info = None
    if info is None or (not user.is_hub_admin and info.agency != user.agency):
        raise NotFound(f"Không có connector {connector_id}.", f"Unknown connector {connector_id}.")
    return info.agency


def _state(info: connectors.ConnectorInfo) -> str:
    if info.running:
        return "running"
    if info.enabled and info.next_run_at is not None and info.next_run_at <= datetime.now(UTC):
        return "queued"
    return "idle"


def _can_preview(kind: str) -> bool:
    spec = connectors.find_kind(kind)
    return spec is not None and spec.preview is not None


def _tab(request: Request, default: str) -> str:
    wanted = request.query_params.get("tab")
    return wanted if wanted in (cform.TAB_FIELDS, cform.TAB_JSON) else default


def _form_context(request: Request, *, kind: str | None, config: dict[str, Any] | None,
                  form: Form | None = None) -> dict[str, Any]:
    """What _connector_form.html shows: the stored (or new) configuration as fields and as
    JSON, or, after a refused save, what was typed (both tabs, and which one was sent)."""
    if config is None:  # a new connector: the first kind's starting point
        values: cform.FormValues | None = cform.defaults()
        text = cform.json_text(connectors.connector_kinds()[0].new_config)
    else:
        values = cform.form_values(kind or cform.FORM_KIND, config)
        text = cform.json_text(config)
    form_ok = values is not None
    tab = _tab(request, cform.TAB_FIELDS if form_ok else cform.TAB_JSON)
    if form is not None:
        tab = _sent_tab(form)
        sent = form.data.get("config")
        text = sent if isinstance(sent, str) else text
        with contextlib.suppress(InvalidInput):  # odd characters: the fields start afresh
            values = cform.read_values(form)
    return {"cf": {
        "fv": values or cform.FormValues(), "form_ok": form_ok, "tab": tab,
        "config_text": text, "record_fields": cform.record_fields(),
        "options": cform.select_options(language(request)),
    }}


def _sent_tab(form: Form) -> str:
    tab = form.text("config_tab", max_length=10)
    if tab in (cform.TAB_FIELDS, cform.TAB_JSON):
        return tab
    # A client without the tabs (the API-like posts of scripts): the JSON when it is sent.
    return cform.TAB_JSON if form.data.get("config") is not None else cform.TAB_FIELDS


def _submitted(form: Form) -> dict[str, Any]:
    return {name: form.data.get(name) for name in
            ("name", "agency", "kind", "schedule_minutes", "enabled")
            if isinstance(form.data.get(name), str)}


def _refused(exc: HubError) -> bool:
    """A refusal the form shows in place (the values kept): not a sign-in or tenancy one."""
    return exc.status not in (401, 403, 404)


@router.get("/connectors")
async def connectors_page(request: Request, user: User, hub: HubDep) -> Response:
    return await _list_page(request, hub, user)


async def _list_page(request: Request, hub: Hub, user: ConsoleUser, *, form: Form | None = None,
                     error: HubError | None = None) -> Response:
    agency = policy.tenant_filter(user.principal, None)
    items = await connectors.list_connectors(hub, agency=agency)
    return render(request, "connectors.html", {
        "items": [(c, _state(c)) for c in items], "agencies": await agency_choices(hub, user),
        "kinds": connectors.kind_names(), "sub": _submitted(form) if form is not None else {},
        "error": error, **_form_context(request, kind=None, config=None, form=form),
    }, status=error.status if error is not None else 200)


def _config_of(form: Form, kind: str) -> dict[str, Any]:
    """The configuration sent: the JSON of the advanced tab when that tab was submitted,
    else the dict the fields describe; checked by the connectors' rules, in Vietnamese."""
    if _sent_tab(form) == cform.TAB_JSON:
        config = _config(form)
    elif kind != cform.FORM_KIND:
        spec = connectors.connector_kind(kind)
        raise InvalidInput(f"Connector loại “{spec.label_vi}” chỉ cấu hình được trong tab Nâng "
                           "cao (JSON).",
                           f"A connector of kind “{spec.label_en}” is configured in the "
                           "Advanced (JSON) tab only.")
    else:
        config = cform.build_config(cform.read_values(form))
    cform.check(kind, config)
    return config


def _config(form: Form) -> dict[str, Any]:
    text = form.text("config", max_length=100_000, required=True, label="cấu hình")
    try:
        config = json_strict.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"Cấu hình không phải JSON hợp lệ: {exc.msg} (dòng {exc.lineno}).",
                           f"The configuration is not valid JSON: {exc.msg} "
                           f"(line {exc.lineno}).") from None
    except json_strict.StrictJSONError as exc:
        raise InvalidInput(f"Cấu hình bị từ chối: {exc.message_vi}.",
                           f"The configuration is refused: {exc.message_en}.") from None
    if not isinstance(config, dict):
        raise InvalidInput("Cấu hình phải là một đối tượng JSON.",
                           "The configuration must be a JSON object.")
    return config


def _secrets(form: Form, kind: str) -> connectors.Secrets | None:
    values = {name: form.text(name, max_length=20_000) for name in _secret_fields(kind)}
    given = {k: v for k, v in values.items() if v}
    return connectors.Secrets.model_validate(given) if given else None


def _schedule(form: Form) -> int:
    text = form.text("schedule_minutes", max_length=6) or "60"
    if not text.isdigit() or not 1 <= int(text) <= 31 * 24 * 60:
        raise InvalidInput("Chu kỳ chạy phải từ 1 phút đến 31 ngày.",
                           "The schedule must be between 1 minute and 31 days.")
    return int(text) * 60


@router.post("/connectors")
async def connector_create(request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    agency = form.code("agency", label="cơ quan")
    policy.require_tenant(user.principal, agency)
    try:
        kind = form.text("kind", max_length=40) or connectors.kind_names()[0]
        if connectors.find_kind(kind) is None:
            raise refuse("Loại connector", "connector kind", kind, kind_choices)
        # The admin API's body decides the name's length, the kind and the schedule's range;
        # the secrets stay the form's own fields (one per secret the kind uses).
        body = validated(connectors.ConnectorCreate, {
            "agency": agency, "name": form.text("name", max_length=100_000), "kind": kind,
            "config": _config_of(form, kind), "schedule_seconds": _schedule(form),
            "enabled": form.flag("enabled")})
        secrets = _secrets(form, kind)
        async with admin_action(hub, user.principal, "admin.connectors.create", target=None,
                                agency=agency, details={"kind": kind}) as tx:
            info = await connectors.create_connector(
                hub, tx, agency=body.agency, name=body.name, kind=body.kind, config=body.config,
                secrets=secrets, schedule_seconds=body.schedule_seconds, enabled=body.enabled,
                created_by=user.admin.username)
    except HubError as exc:
        if not _refused(exc):
            raise
        return await _list_page(request, hub, user, form=form, error=exc)
    return RedirectResponse(f"/console/connectors/{info.id}?done=saved", status_code=303)


async def _page(request: Request, hub: Hub, user: ConsoleUser, connector_id: str,
                form: Form | None = None, error: HubError | None = None,
                **extra: Any) -> Response:
    await _agency_of(hub, user, connector_id)
    info = await connectors.get_connector(hub, connector_id)
    runs = await connectors.list_runs(hub, connector_id, limit=20)
    return render(request, "connector.html", {
        "c": info, "state": _state(info), "runs": runs,
        "secret_fields": _secret_fields(info.kind), "can_preview": _can_preview(info.kind),
        "error": error, "sub": _submitted(form) if form is not None else {},
        **_form_context(request, kind=info.kind, config=info.config, form=form), **extra,
    }, status=error.status if error is not None else 200)


@router.get("/connectors/{connector_id}")
async def connector_page(connector_id: str, request: Request, user: User,
                         hub: HubDep) -> Response:
    return await _page(request, hub, user, ident(connector_id))


@router.get("/connectors/{connector_id}/status")
async def connector_status(connector_id: str, request: Request, user: User,
                           hub: HubDep) -> Response:
    connector_id = ident(connector_id)
    await _agency_of(hub, user, connector_id)
    info = await connectors.get_connector(hub, connector_id)
    runs = await connectors.list_runs(hub, connector_id, limit=1)
    state = _state(info)
    fetched = runs[0]["fetched"] if runs and state == "running" else 0
    english = language(request) == "en"
    count = fmt_number(fetched)
    text = {"running": f"{count} records fetched" if english else f"Đã nhận {count} bản ghi",
            "queued": "Waiting for the worker" if english else "Đang chờ tiến trình chạy",
            "idle": ""}[state]
    return JSONResponse({"state": "finished" if state == "idle" else state, "done": fetched,
                         "total": 0, "progress_text": text}, headers=NO_STORE)


@router.post("/connectors/{connector_id}")
async def connector_update(connector_id: str, request: Request, user: User,
                           hub: HubDep) -> Response:
    form = await read_form(request, hub)
    connector_id = ident(connector_id)
    agency = await _agency_of(hub, user, connector_id)
    kind = (await connectors.get_connector(hub, connector_id)).kind
    try:
        name = form.text("name", required=True, label="tên")
        config, secrets, schedule = _config_of(form, kind), _secrets(form, kind), _schedule(form)
        details: dict[str, Any] = {"fields": ["config", "enabled", "name", "schedule_seconds",
                                              *(["secrets"] if secrets else [])]}
        async with admin_action(hub, user.principal, "admin.connectors.update",
                                target=f"connector/{connector_id}", agency=agency,
                                details=details) as tx:
            await connectors.update_connector(hub, tx, connector_id, name=name, config=config,
                                              secrets=secrets, schedule_seconds=schedule,
                                              enabled=form.flag("enabled"), audit=details)
    except HubError as exc:
        if not _refused(exc):
            raise
        return await _page(request, hub, user, connector_id, form=form, error=exc)
    return RedirectResponse(f"/console/connectors/{connector_id}?done=saved", status_code=303)


async def _audit_call(hub: Hub, user: ConsoleUser, action: str, connector_id: str, agency: str,
                      ok: bool) -> None:
    await audit_in_own_transaction(
        hub.db, actor=user.admin.username, actor_kind="admin", agency=agency, action=action,
        target=f"connector/{connector_id}", outcome="ok" if ok else "failed", details={})


@router.post("/connectors/{connector_id}/check")
async def connector_check(connector_id: str, request: Request, user: User,
                          hub: HubDep) -> Response:
    await read_form(request, hub)
    connector_id = ident(connector_id)
    agency = await _agency_of(hub, user, connector_id)
    result = await connectors.check_connector(hub, connector_id)
    await _audit_call(hub, user, "admin.connectors.check", connector_id, agency, result["ok"])
    return await _page(request, hub, user, connector_id, check=result)


@router.post("/connectors/{connector_id}/preview")
async def connector_preview(connector_id: str, request: Request, user: User,
                            hub: HubDep) -> Response:
    await read_form(request, hub)
    connector_id = ident(connector_id)
    agency = await _agency_of(hub, user, connector_id)
    try:
        result = await connectors.preview_connector(hub, connector_id)
    except (connectors.ConnectorError, httpx.HTTPError) as exc:
        await _audit_call(hub, user, "admin.connectors.preview", connector_id, agency, False)
        raise connectors.UpstreamFailed.of(exc) from None
    await _audit_call(hub, user, "admin.connectors.preview", connector_id, agency, True)
    return await _page(request, hub, user, connector_id, preview=result)


@router.post("/connectors/{connector_id}/run")
async def connector_run(connector_id: str, request: Request, user: User,
                        hub: HubDep) -> Response:
    form = await read_form(request, hub)
    connector_id = ident(connector_id)
    agency = await _agency_of(hub, user, connector_id)
    full = form.flag("full_refresh")
    async with admin_action(hub, user.principal, "admin.connectors.run",
                            target=f"connector/{connector_id}", agency=agency,
                            details={"full_refresh": full}) as tx:
        await connectors.request_run(hub, tx, connector_id, full_refresh=full,
                                     requested_by=user.principal.client_id)
    return RedirectResponse(f"/console/connectors/{connector_id}?done=queued", status_code=303)
