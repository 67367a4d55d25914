"""Schemathesis over the whole OpenAPI document of the real app, on SQLite and PostgreSQL.

Every operation of the document the app serves is exercised in process (ASGI), as a caller
with every scope, in schemathesis' phases: the schema's examples, the coverage phase
(boundary and negative values of every parameter and body, unexpected methods: it ignores
``max_examples`` and makes most of the requests) and the fuzzing phase, bounded by
``RIGHTSHUB_FUZZ_EXAMPLES`` examples per operation (default 15).

Checks: every built-in check that applies, among them no 5xx, documented status codes,
content types and headers, bodies matching their declared schemas, schema-violating requests
refused, ``Allow`` on 405, plus :func:`problem_details` below. Two exclusions, on purpose:

* ``positive_data_acceptance`` (schema-valid requests must get 2xx) is off everywhere: the
  hub refuses schema-valid requests for reasons a schema cannot express, and says so with a
  documented problem: an agency code not in the registry (400), a cursor it never issued
  (400), a record that does not exist (404), an ``If-Match`` that does not match (412), an
  ``Idempotency-Key`` already used with another body (422), a vocabulary code not in the
  vocabulary (422 on PUT).
* ``negative_data_rejection`` is off for ``:batch`` only: a batch accepts its valid records and
  reports the others in the 200 import summary (``"status": "partial"``, see the batch docs),
  so an invalid record beside valid ones in a well-formed batch is rightly answered with 200
  (a batch whose every record is rejected answers 422).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import shutdown_lifespans

from gateway import create_app
from hub import Settings
from tests.conftest import auth, make_settings

EXAMPLES = int(os.environ.get("RIGHTSHUB_FUZZ_EXAMPLES", "15"))
PROBLEM_KEYS = ("type", "title", "detail", "title_vi", "title_en", "detail_vi", "detail_en")

# The document is the same for every backend (tests/test_contracts.py keeps openapi/ equal to
# it); each backend gets its own app, passed to every call.
schema = schemathesis.openapi.from_dict(create_app(Settings(environment="test")).openapi())
# tus PATCH bodies (the product archive's resumable uploads) are raw bytes.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
# Offline exchange bundles (POST /v1/admin/connectors/{id}/bundles) are tar files.
schemathesis.serializer.alias("application/x-tar", "application/octet-stream")


@pytest.fixture(scope="module")
def fuzz_app(database_url: str) -> Iterator[Any]:
    # The app's lifespan (started by schemathesis on its own event loop) opens the hub there;
    # stopping the lifespans closes it on that same loop.
    yield create_app(make_settings(database_url))
    shutdown_lifespans()


def problem_details(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Every error is an RFC 9457 problem, as application/problem+json, in both languages —
    except the OAuth2 token endpoint's 400/401, whose JSON shape RFC 6749 §5.2 fixes."""
    if response.status_code < 400:
        return None
    media = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    if case.operation.path == "/oauth/token" and response.status_code in (400, 401):
        body = response.json()
        assert media == "application/json", f"token error answered as {media!r}"
        assert isinstance(body.get("error"), str) and body["error"], body
        return True
    assert media == "application/problem+json", f"{response.status_code} answered as {media!r}"
    body = response.json()
    assert body.get("status") == response.status_code, body
    for key in PROBLEM_KEYS:
        assert isinstance(body.get(key), str) and body[key], f"problem without {key}: {body}"
    return True


@schema.parametrize()
# Derandomised so CI judges the same cases every run; RIGHTSHUB_FUZZ_RANDOM=1 explores anew.
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=os.environ.get("RIGHTSHUB_FUZZ_RANDOM") != "1")
def test_api(case: schemathesis.Case, fuzz_app: Any) -> None:
    excluded = [schemathesis.checks.positive_data_acceptance]
    if case.operation.path.endswith(":batch"):
        excluded.append(schemathesis.checks.negative_data_rejection)
    case.call_and_validate(
        app=fuzz_app,
        headers=auth("g16"),
        excluded_checks=excluded,
        additional_checks=[problem_details],
    )
