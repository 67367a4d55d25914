"""Schemathesis over the admin API (``/v1/admin/*``) as a hub admin, on SQLite and PostgreSQL,
each in a database of its own (dropped afterwards).

The sibling of ``test_openapi_fuzz.py`` (which calls every operation with a record token, so
the admin operations mostly answer 403 there): here every ``/v1/admin`` operation of the
document is called with a hub admin's session bearer token, so bodies reach validation and
the services behind it. Same phases (examples, coverage, fuzzing) and checks, derandomised;
fuzzing is bounded by ``RIGHTSHUB_ADMIN_FUZZ_EXAMPLES`` examples per operation (default 5).

The hub must never call out of the machine while fuzzed:

* the in-process worker is off (no scheduled pull, no delivery);
* the operations that call an agency system at once are left out:
  ``POST /v1/admin/connectors/{connector_id}/check``, ``/preview`` and ``/run``;
* every URL a body carries (a subscription's ``endpoint_url`` and ``token_url``, anything in a
  connector's ``config`` that looks like a URL or sits under a key naming one) is replaced by
  ``http://127.0.0.1:<a port nothing listens on>/`` before the request is sent: the hub's
  address checks (which resolve names) then see loopback only.

``positive_data_acceptance`` is off as in the sibling (schema-valid requests are refused for
reasons a schema cannot express: an unknown agency, client or username, a tenancy rule);
``negative_data_rejection`` is off for the three rewritten operations, whose bodies are
changed after schemathesis generated them.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import shutdown_lifespans

from auth._admins import create_admin, get_admin, start_session
from gateway import create_app
from hub import Hub
from tests.conftest import make_settings, new_database
from tests.fuzz.test_openapi_fuzz import problem_details, schema

EXAMPLES = int(os.environ.get("RIGHTSHUB_ADMIN_FUZZ_EXAMPLES", "5"))
FUZZ_ADMIN = "fuzz-hub-admin"
CALLS_OUT = r"^/v1/admin/connectors/\{connector_id\}/(check|preview|run)$"
REWRITTEN = ("/v1/admin/subscriptions", "/v1/admin/subscriptions/{subscription_id}",
             "/v1/admin/connectors", "/v1/admin/connectors/{connector_id}")

admin_schema = schema.include(path_regex=r"^/v1/admin/").exclude(path_regex=CALLS_OUT)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LOOPBACK = f"http://127.0.0.1:{_closed_port()}/"


def _loopback(value: Any, key: str = "") -> Any:
    """``value`` with every URL (a string with "://", or any value under a key naming a url)
    replaced by the closed loopback address."""
    if isinstance(value, dict):
        return {k: _loopback(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_loopback(v, key) for v in value]
    if isinstance(value, str) and ("://" in value or "url" in key.lower()):
        return LOOPBACK
    return value


async def _admin_token(database_url: str) -> str:
    hub = Hub(make_settings(database_url))
    try:
        admin = await get_admin(hub, FUZZ_ADMIN)
        if admin is None:
            admin = await create_admin(hub, username=FUZZ_ADMIN, role="hub_admin",
                                       password="fuzz correct horse battery 42")
        return (await start_session(hub, admin)).access_token
    finally:
        await hub.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def admin_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, dict[str, str]]]:
    # A database of its own, dropped afterwards: what the fuzzing creates (agencies,
    # clients, admins, connectors, subscriptions) must not reach the suite's shared one.
    with new_database(request.param, tmp_path_factory) as database_url:
        token = asyncio.run(_admin_token(database_url))
        app = create_app(make_settings(database_url, worker_in_process=False))
        yield app, {"Authorization": f"Bearer {token}"}
        shutdown_lifespans()


@admin_schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=os.environ.get("RIGHTSHUB_FUZZ_RANDOM") != "1")
def test_admin_api(case: schemathesis.Case, admin_app: tuple[Any, dict[str, str]]) -> None:
    app, headers = admin_app
    excluded = [schemathesis.checks.positive_data_acceptance]
    if case.operation.path in REWRITTEN and case.body is not None:
        case.body = _loopback(case.body)
        excluded.append(schemathesis.checks.negative_data_rejection)
    case.call_and_validate(
        app=app,
        headers=headers,
        excluded_checks=excluded,
        additional_checks=[problem_details],
    )
