"""Every GraphQL example of the README and docs/, on the demo data, gives the same response
body (data and errors) with the fast path on and off (``graphql_fast_path``): the fast
executor (gateway.graphql._fast) and, for a query posted again, the prepared path
(gateway.graphql._prepared), against graphql-core's own executor through Strawberry. Plus a
few documents that fail, so that errors are compared too. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway import create_app
from gateway.graphql import build_schema
from gateway.graphql._fast import FastExecutionContext
from hub import Hub
from hub._seed import seed_demo
from tests.conftest import auth, make_settings
from tests.integration import REPO

pytestmark = pytest.mark.anyio


def documented_examples() -> list[str]:
    """The ```graphql blocks of README.md and docs/*.md, and the queries of their JSON
    request bodies (the README's curl line)."""
    found: list[str] = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        found += re.findall(r"```graphql\n(.*?)```", text, re.S)
        for body in re.findall(r"'(\{\"query\".*?\})'", text):
            found.append(json.loads(body)["query"])
    return found


# Documents that fail when they run (not at validation, where both paths are the same code):
# a page too large (at the top and nested), a cursor that is not one, bad filter values.
FAILING = [
    "{ products(first: 100000) { nodes { title } } }",
    '{ products(first: 2, after: "not-a-cursor") { nodes { title } } }',
    '{ agency(code: "08") { code name records(type: EVENTS, first: 100000) { nodes { title } } '
    "predecessors { code } } }",
    '{ events(first: 3, filter: {dateFrom: "2025-13-45"}) { nodes { title } } }',
    '{ products(first: 3, filter: {agency: "nope"}) { nodes { title agency { code } } } }',
]

_PLAIN_APPS: dict[str, FastAPI] = {}  # one per database, as tests/conftest.py does


async def _post(client: httpx.AsyncClient, document: str) -> tuple[dict[str, Any], bytes]:
    """The response body, parsed and as sent (the bytes also compare the order of keys,
    which GraphQL fixes: the order of the selection)."""
    response = await client.post("/graphql", json={"query": document}, headers=auth("g16"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body, response.content


def _own_copy(document: str, mode: str) -> str:
    """A mutation with its own idempotency key and source ids per mode: each mode writes
    for itself instead of replaying the other's answer."""
    return re.sub(r'(idempotencyKey: "|sourceId: ")([^"]+)', rf"\g<1>\g<2>-{mode}", document)


async def test_documented_examples_same_with_and_without_fast_path(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    examples = documented_examples()
    assert len(examples) >= 6, "the README's examples were not found"
    hub.catalog.invalidate()
    summary = await seed_demo(hub.ingest)
    assert summary.created > 100

    plain_settings = make_settings(hub.settings.database_url, graphql_fast_path=False)
    assert build_schema(hub.settings).execution_context_class is FastExecutionContext
    assert build_schema(plain_settings).execution_context_class is not FastExecutionContext
    app = _PLAIN_APPS.get(hub.settings.database_url)
    if app is None:
        app = _PLAIN_APPS[hub.settings.database_url] = create_app(plain_settings, hub=hub)
    app.state.hub = hub
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as plain:
        mutations = [e for e in examples if re.search(r"^\s*mutation\b", e, re.M)]
        queries = [e for e in examples if e not in mutations]
        assert mutations, "the README's mutation example was not found"
        for document in [*queries, *FAILING]:
            expected, sent = await _post(plain, document)
            assert (expected, sent) == await _post(plain, document)
            # The first POST runs through Strawberry with the fast executor; the second is
            # answered by the prepared path when the first was clean.
            for attempt in ("first", "again"):
                body, raw = await _post(client, document)
                assert body == expected, (attempt, document)
                assert raw == sent, (attempt, document)
            if document in queries:
                assert expected.get("data") and "errors" not in expected, expected
            else:
                assert expected.get("errors"), expected
        # Queries are remembered for the prepared path only with the fast path on.
        assert build_schema(hub.settings).prepared.get(queries[0], None) is not None

        for document in mutations:
            answers = []
            for mode, caller in (("plain", plain), ("fast", client)):
                mine = _own_copy(document, mode)
                first = await _post(caller, mine)
                assert first == await _post(caller, mine)  # the retry: the first answer
                answers.append(first[0])
            assert answers[0] == answers[1]
            assert answers[0].get("data") and "errors" not in answers[0], answers[0]
