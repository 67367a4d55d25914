"""The agency registry: validity dates, predecessors and successors; hub admins add and edit
agencies (the same services and audit entries as ``/v1/admin/agencies``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from auth import SuccessorLink, admin_action, create_agency, list_agencies, policy, update_agency
from gateway.console._forms import Form, ident, query_text, read_form, validated
from gateway.console._i18n import VIETNAM, translator
from gateway.console._labels import refuse
from gateway.console._pages_auth import User
from gateway.console._render import ConsoleRoute, render
from gateway.deps import HubDep
from hub import InvalidInput, NotFound
from hub.tables import AgencyCreate, AgencyUpdate
from schemas import fold as schemas_fold

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

LEVELS = ("central", "provincial", "local", "other")
# The form's labels of the admin API's body fields (the body's rules apply, not a copy).
_WORDS = {"code": "agencies.code", "kind": "agencies.kind", "level": "agencies.level",
          "valid_from": "agencies.valid_from", "valid_until": "agencies.valid_until",
          "note": "agencies.note"}
_ANY = 100_000  # the form reader's cap only: the body sets each field's own


def _in_force(agency: dict[str, Any], today: Any) -> bool:
    start, end = agency["valid_from"], agency["valid_until"]
    return (start is None or start <= today) and (end is None or today <= end)


@router.get("/agencies")
async def agencies_page(request: Request, user: User, hub: HubDep) -> Response:
    own = None if user.is_hub_admin else user.agency
    items = await list_agencies(hub, agency=own)
    graph = await hub.catalog.agencies()
    today = datetime.now(VIETNAM).date()
    q = query_text(request, "q", max_length=100)
    show_former = request.query_params.get("former") == "1"
    folded = schemas_fold(q) if q else ""
    rows = []
    for a in items:
        active = _in_force(a, today)
        if not show_former and not active and not q:
            continue
        if folded and folded not in schemas_fold(f"{a['code']} {a['name']}"):
            continue
        preds = sorted(graph.predecessors.get(a["code"], ()))
        rows.append({**a, "in_force": active, "predecessors": preds})
    return render(request, "agencies.html", {
        "agencies": rows, "q": q, "show_former": show_former, "levels": LEVELS,
        "total": len(items),
    })


def _successor(form: Form) -> list[SuccessorLink] | None:
    code = form.code("successor", required=False, label="cơ quan kế nhiệm")
    if not code:
        return None
    day = form.day("effective_on", label="ngày kế nhiệm")
    if day is None:
        raise InvalidInput("Hãy nhập ngày kế nhiệm.", "Enter the succession date.")
    return [SuccessorLink(code, day, None)]


def _values(form: Form) -> dict[str, Any]:
    level = form.text("level", max_length=20) or "other"
    if level not in LEVELS:
        raise refuse("Cấp", "level", level, lambda lang: [
            (code, translator(lang)(f"level.{code}")) for code in LEVELS])
    # Lengths and patterns are the body's (validated below), not checked here a second time.
    return {
        "name": form.text("name", max_length=_ANY),
        "kind": form.text("kind", max_length=_ANY) or "other",
        "level": level,
        "valid_from": form.day("valid_from", label="hiệu lực từ"),
        "valid_until": form.day("valid_until", label="hiệu lực đến"),
        "note": form.text("note", max_length=_ANY) or None,
    }


@router.post("/agencies")
async def agency_create(request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    policy.require_hub_admin(user.principal)
    body = validated(AgencyCreate, {"code": form.text("code", max_length=_ANY), **_values(form)},
                     _WORDS)
    code, values = body.code, body.model_dump(exclude={"code", "successors"})
    successors = _successor(form)
    async with admin_action(hub, user.principal, "admin.agencies.create",
                            target=f"agency/{code}", agency=code,
                            details={"successors": [s.code for s in successors or []]}) as tx:
        await create_agency(hub, tx, code=code, **values, successors=successors)
    return RedirectResponse(f"/console/agencies/{code}?done=1", status_code=303)


@router.get("/agencies/{code}")
async def agency_page(code: str, request: Request, user: User, hub: HubDep) -> Response:
    code = ident(code)
    if not user.is_hub_admin and code != user.agency:
        raise NotFound(f"Không có cơ quan {code}.", f"Unknown agency {code}.")
    found = await list_agencies(hub, agency=code)
    if not found:
        raise NotFound(f"Không có cơ quan {code}.", f"Unknown agency {code}.")
    graph = await hub.catalog.agencies()
    return render(request, "agency.html", {
        "a": found[0], "predecessors": sorted(graph.predecessors.get(code, ())),
        "names": {c: a.name for c, a in graph.agencies.items()}, "levels": LEVELS,
    })


@router.post("/agencies/{code}")
async def agency_update(code: str, request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    policy.require_hub_admin(user.principal)
    code = ident(code)
    values = validated(AgencyUpdate, _values(form), _WORDS).model_dump(
        exclude={"successors"}, exclude_unset=True)
    added = _successor(form)
    successors: list[SuccessorLink] | None = None
    if form.flag("clear_successors"):
        successors = []
    elif added:  # a new link joins the existing ones (a province may have several)
        found = await list_agencies(hub, agency=code)
        existing = [SuccessorLink(s["code"], s["effective_on"], s["note"])
                    for s in (found[0]["successors"] if found else [])
                    if s["code"] != added[0].code]
        successors = [*existing, *added]
    async with admin_action(hub, user.principal, "admin.agencies.update", target=f"agency/{code}",
                            agency=code, details={"fields": sorted(values)}) as tx:
        await update_agency(hub, tx, code, successors=successors, **values)
    return RedirectResponse(f"/console/agencies/{code}?done=1", status_code=303)
