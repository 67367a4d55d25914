"""Limits and settings: documents too deep, too wide or too long and pages too large are
refused with a clear GraphQL error (never a 500); introspection, GraphiQL and error masking
follow the environment; authentication is REST's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway import create_app
from gateway.graphql import build_schema
from gateway.graphql._context import Context
from hub import AgencyGraph, Hub, Principal, Settings
from tests.api._helpers import product, push
from tests.conftest import auth, make_settings
from tests.graphql._helpers import errors

pytestmark = pytest.mark.anyio


def _nested(depth: int) -> str:
    """agency -> predecessors -> successors -> ... ``depth`` levels of selection."""
    inner = "code"
    for level in range(depth - 2):
        inner = f"{'predecessors' if level % 2 else 'successors'} {{ {inner} }}"
    return f'{{ agency(code: "08") {{ {inner} }} }}'


async def test_twenty_levels_deep_is_refused(client: httpx.AsyncClient) -> None:
    (error,) = await errors(client, _nested(20))
    assert error["extensions"]["code"] == "query-too-deep"
    assert "10" in error["message"] and error["extensions"]["detail_en"]


async def test_hundred_aliases_are_refused(client: httpx.AsyncClient) -> None:
    query = "{ " + " ".join(f"a{i}: agency(code: \"08\") {{ code }}" for i in range(100)) + " }"
    found = await errors(client, query)
    assert found[0]["extensions"]["code"] == "too-many-aliases"
    assert "100" in found[0]["message"]


async def test_hundred_thousand_records_are_refused(client: httpx.AsyncClient) -> None:
    (error,) = await errors(client, "{ products(first: 100000) { nodes { id } } }")
    assert error["extensions"]["code"] == "invalid-input"
    assert error["extensions"]["detail_en"] == "first must be between 1 and 200 (the largest page)."
    assert error["path"] == ["products"]


async def test_too_many_tokens_are_refused(client: httpx.AsyncClient) -> None:
    query = "{ agency(code: \"08\") { " + " ".join(["code"] * 3000) + " } }"
    (error,) = await errors(client, query)
    assert error["extensions"]["code"] == "too-many-tokens"


async def test_within_limits_is_answered(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": _nested(10)}, headers=auth("g16"))
    assert "errors" not in response.json(), response.json()


async def test_authentication_is_rests(client: httpx.AsyncClient) -> None:
    missing = await client.post("/graphql", json={"query": "{ agency(code: \"08\") { code } }"})
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["detail_en"].startswith("Missing credentials")
    wrong = await client.post("/graphql", json={"query": "{ __typename }"},
                              headers={"Authorization": "Bearer not-a-valid-token-at-all"})
    assert wrong.status_code == 401
    bad_body = await client.post("/graphql", content=b"{not json", headers={
        **auth("g16"), "Content-Type": "application/json"})
    assert bad_body.status_code == 400
    assert bad_body.headers["content-type"].startswith("application/problem+json")
    put = await client.put("/graphql", json={}, headers=auth("g16"))
    assert put.status_code == 405


async def test_scopes_are_rests(hub: Hub) -> None:
    """Neither records scope (an admin session, a change-feed reader): 403 before anything
    runs. Write-only: mutations yes, reads refused field by field."""
    settings = make_settings(hub.settings.database_url, dev_principals=[
        {"token": "feed-only-token-0123456789", "agency": "G16", "client_id": "feed",
         "scopes": ["changes:read"]},
        {"token": "write-only-token-012345678", "agency": "G16", "client_id": "writer",
         "scopes": ["records:write"]},
    ])
    other_hub = Hub(settings)
    app = create_app(settings, hub=other_hub)
    app.state.hub = other_hub
    read = {"query": '{ products { nodes { id } } agency(code: "08") { code } }'}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hub.test") as other:
            feed_only = await other.post("/graphql", json=read, headers={
                "Authorization": "Bearer feed-only-token-0123456789"})
            write_only = await other.post("/graphql", json=read, headers={
                "Authorization": "Bearer write-only-token-012345678"})
            dry_run = await other.post("/graphql", json={"query": """mutation {
                upsertProducts(dryRun: true, records: [{sourceId: "W1", kind: "book",
                title: "Sách"}]) { created } }"""}, headers={
                "Authorization": "Bearer write-only-token-012345678"})
    finally:
        await other_hub.close()
    assert feed_only.status_code == 403
    assert feed_only.headers["content-type"].startswith("application/problem+json")
    body = write_only.json()
    assert body["data"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"forbidden"}
    assert dry_run.json() == {"data": {"upsertProducts": {"created": 1}}}


@pytest.fixture
async def production(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, environment="production", secret_key="s" * 40)
    hub = Hub(settings)
    app = create_app(settings, hub=hub)
    app.state.hub = hub
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hub.test") as c:
            yield c
    finally:
        await hub.close()


def test_production_defaults() -> None:
    production = Settings(environment="production", secret_key="s" * 40)
    assert not production.graphql_introspection_on and not production.graphql_graphiql_on
    embedded = Settings()
    assert embedded.graphql_introspection_on and embedded.graphql_graphiql_on
    forced = Settings(environment="production", secret_key="s" * 40,
                      graphql_introspection=True)
    assert forced.graphql_introspection_on


async def test_introspection_and_graphiql_follow_the_environment(
    client: httpx.AsyncClient, production: httpx.AsyncClient
) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert (await production.get("/graphql", headers={"Accept": "text/html"})).status_code == 404
    introspect = {"query": "{ __schema { queryType { name } } }"}
    allowed = await client.post("/graphql", json=introspect, headers=auth("g16"))
    assert allowed.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    # Production has no development tokens: an API-key-less caller is refused first.
    refused = await production.post("/graphql", json=introspect)
    assert refused.status_code == 401


async def test_unexpected_errors_are_masked_in_production(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    """A registry snapshot that lacks a record's agency (an inconsistency no caller can
    cause) fails the ``agency`` field: production shows a neutral text, tests the cause;
    a caller's own mistake keeps its message everywhere."""
    await push(client, "g16", "products", [product("M1")])
    principal = Principal("client-g16", "G16", frozenset({"records:read"}), channel="graphql")
    empty = AgencyGraph({}, {}, {})
    answers = {}
    for environment in ("production", "test"):
        schema = build_schema(Settings(environment=environment, secret_key="s" * 40))
        result = await schema.execute("{ products { nodes { title agency { code } } } }",
                                      context_value=Context(hub=hub, principal=principal,
                                                            graph=empty))
        assert result.errors is not None
        answers[environment] = result.errors[0].message
        mistake = await schema.execute("{ products(first: 0) { nodes { id } } }",
                                       context_value=Context(hub=hub, principal=principal,
                                                             graph=empty))
        assert mistake.errors is not None
        assert "first" in mistake.errors[0].message
    assert answers["production"] == "Lỗi máy chủ không mong đợi. / Unexpected server error."
    assert "G16" in answers["test"]


async def test_database_outage_is_a_503_problem() -> None:
    settings = make_settings("postgresql://postgres@127.0.0.1:1/nowhere")
    hub = Hub(settings)
    app = create_app(settings, hub=hub)
    app.state.hub = hub
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hub.test") as down:
            response = await down.post("/graphql", json={"query": "{ products { nodes { id } } }"},
                                       headers=auth("g16"))
    finally:
        await hub.close()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json()["reason"] == "database-unavailable"
