"""Schemathesis in GraphQL mode over the committed schema (openapi/schema.graphql), on SQLite
and PostgreSQL: generated queries and mutations of every root field, sent in process to the
real app as a caller with every scope. No generated operation may make the server fail: no
5xx, a JSON body with ``data`` or ``errors``, and no error raised by a resolver that is not a
hub error (those carry ``extensions.code``; anything else is a bug, masked in production).

At least 500 operations per backend (``RIGHTSHUB_GRAPHQL_FUZZ_EXAMPLES`` per root field,
default 16, over 35 root fields), derandomised so CI judges the same cases every run
(``RIGHTSHUB_FUZZ_RANDOM=1`` explores anew)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import shutdown_lifespans

from gateway import create_app
from tests.conftest import auth, make_settings
from tests.integration import REPO

EXAMPLES = int(os.environ.get("RIGHTSHUB_GRAPHQL_FUZZ_EXAMPLES", "16"))
MINIMUM = 500
schema = schemathesis.graphql.from_file((REPO / "openapi" / "schema.graphql").read_text())
schema.config.base_url = "http://hub.test/graphql"
SENT: Counter[str] = Counter()


@pytest.fixture(scope="module")
def graphql_app(database_url: str) -> Iterator[Any]:
    yield create_app(make_settings(database_url))
    shutdown_lifespans()


def no_server_error(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    assert response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body, dict) and ("data" in body or "errors" in body), body
    for error in body.get("errors") or ():
        # A caller's mistake found while executing is a hub error with a code; an error with
        # a path and no code is an exception nobody meant (masked in production).
        if "path" in error:
            assert (error.get("extensions") or {}).get("code"), error
    return True


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=os.environ.get("RIGHTSHUB_FUZZ_RANDOM") != "1")
def test_graphql(case: schemathesis.Case, graphql_app: Any, database_url: str) -> None:
    SENT[database_url] += 1
    case.call_and_validate(
        app=graphql_app,
        headers=auth("g16"),
        checks=[no_server_error],
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


def test_enough_operations_were_sent(database_url: str) -> None:
    if not SENT[database_url]:
        pytest.skip("the fuzzing test did not run in this session")
    assert SENT[database_url] >= MINIMUM, SENT
