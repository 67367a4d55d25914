"""Helpers of the GraphQL tests: post a document, read data or errors."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import auth


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    caller: str = "g16",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST /graphql as ``caller``; the whole response body (data and errors)."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}},
        headers={**auth(caller), **(headers or {})},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


async def data(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
               *, caller: str = "g16") -> dict[str, Any]:
    """The ``data`` of a document that must succeed."""
    body = await gql(client, query, variables, caller=caller)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


async def errors(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
                 *, caller: str = "g16") -> list[dict[str, Any]]:
    """The ``errors`` of a document that must fail."""
    body = await gql(client, query, variables, caller=caller)
    assert body.get("errors"), body
    found: list[dict[str, Any]] = body["errors"]
    return found
