"""What admins do with a connector, as plain async services a router and a console page can
both call: check (can we reach and authenticate?), preview (map the first page, write
nothing, report data quality per field), run now, and the run history. Check and preview are
the connector kind's own (``connectors._kinds``)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from connectors._http import ConnectorError, OAuth2ClientCredentials, classify, with_retries
from connectors._kinds import connector_kind
from connectors._outbound import OriginBoundAuth
from connectors._runs import Connection, claim_connector, execute, load
from connectors._store import get_connector
from hub import Conflict, Hub, InvalidInput


def error_of(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, ConnectorError):
        return exc.as_dict()
    return {"message_vi": f"Lỗi mạng: {type(exc).__name__}: {exc}",
            "message_en": f"Network error: {type(exc).__name__}: {exc}"}


async def check_connector(hub: Hub, connector_id: str) -> dict[str, Any]:
    """Reach the agency system and authenticate; each step with its duration (the kind's
    ``check``)."""
    conn = await load(hub, connector_id)
    return await connector_kind(conn.kind).check(hub, conn)


async def check_http(hub: Hub, conn: Connection, url: str,
                     params: dict[str, Any]) -> dict[str, Any]:
    """The check of a kind that calls an HTTP API: the OAuth2 token (when the auth is OAuth2),
    then one small request (``url`` with ``params``), each step with its duration."""
    steps: list[dict[str, Any]] = []
    try:
        client = conn.client(hub.settings)
    except ConnectorError as exc:  # e.g. a secret the auth needs is not set
        return {"ok": False, "steps": [{"step": "config", "ok": False, **exc.as_dict()}]}
    async with client:
        auth = client.auth
        if isinstance(auth, OriginBoundAuth):
            auth = auth.inner
        if isinstance(auth, OAuth2ClientCredentials):
            started = time.monotonic()
            try:
                await auth._ensure(force=True)
                steps.append({"step": "token", "ok": True,
                              "ms": int((time.monotonic() - started) * 1000)})
            except Exception as exc:
                steps.append({"step": "token", "ok": False, **error_of(exc)})
                return {"ok": False, "steps": steps}
        started = time.monotonic()

        async def fetch() -> None:
            classify(await client.get(url, params=params))

        try:
            # A short deadline: a check answers within seconds, flaky networks included.
            await with_retries(conn.config.retry.model_copy(update={"deadline_seconds": 10.0}),
                               fetch)
            steps.append({"step": "fetch", "ok": True,
                          "ms": int((time.monotonic() - started) * 1000)})
        except Exception as exc:
            steps.append({"step": "fetch", "ok": False, **error_of(exc)})
    return {"ok": all(s["ok"] for s in steps), "steps": steps}


async def preview_connector(hub: Hub, connector_id: str) -> dict[str, Any]:
    """A dry run of the kind's first page(s): nothing is written (the kind's ``preview``; a
    kind without one refuses with a 400 saying so)."""
    conn = await load(hub, connector_id)
    kind = connector_kind(conn.kind)
    if kind.preview is None:
        raise InvalidInput(kind.no_preview_vi, kind.no_preview_en)
    return await kind.preview(hub, conn)


async def run_connector(hub: Hub, connector_id: str, *,
                        full_refresh: bool | None = None) -> dict[str, Any]:
    """Run now, in the caller's process, and return the run (CLI, tests). The run takes the
    connector's lease like a worker does: 409 while a worker runs it."""
    await get_connector(hub, connector_id)  # 404 first
    owner = f"manual:{uuid.uuid4().hex[:12]}"
    lease = hub.settings.worker_lease_seconds
    if not await claim_connector(hub, connector_id, owner, lease):
        raise Conflict("Connector đang chạy; hãy đợi lượt chạy hiện tại kết thúc.",
                       "The connector is running; wait for the current run to end.")
    return await execute(hub, connector_id, owner=owner, trigger="manual", full=full_refresh,
                         lease_seconds=lease)


async def reconcile_connector(hub: Hub, connector_id: str) -> dict[str, Any]:
    """Reconcile now, in the caller's process (``rightshub connectors reconcile``): a run of
    kind "reconcile", holding the connector's lease like a pull (409 while one runs)."""
    from connectors._reconcile import execute_reconcile

    await get_connector(hub, connector_id)  # 404 first
    owner = f"manual:{uuid.uuid4().hex[:12]}"
    lease = hub.settings.worker_lease_seconds
    if not await claim_connector(hub, connector_id, owner, lease):
        raise Conflict("Connector đang chạy; hãy đợi lượt chạy hiện tại kết thúc.",
                       "The connector is running; wait for the current run to end.")
    return await execute_reconcile(hub, connector_id, owner=owner, trigger="manual",
                                   lease_seconds=lease)
