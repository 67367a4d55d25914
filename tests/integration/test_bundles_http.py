"""The REST export route of offline exchange bundles (``POST /v1/admin/bundles/export``):
exported over HTTP by the provincial hub, checked by the same verify function as the CLI,
imported over HTTP into the central hub (SQLite and PostgreSQL), both hubs compared. Bad
input answers a problem (never 500); an agency admin exports only what its agency reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import auth
import connectors
from gateway import create_app
from hub import DevPrincipal, Hub
from hub.tables import AuditEntry
from tests.integration.test_bundles import (
    ADMIN_PRINCIPAL,
    ADMIN_TOKEN,
    PROVINCE,
    Hubs,
    book,
    pdf,
    snapshot,
)
from tests.integration.test_bundles import two_hubs as bundle_hubs

pytestmark = pytest.mark.anyio

TQ_ADMIN = DevPrincipal(token="test-token-bundle-tq-admin-0123456789", agency=PROVINCE,
                        client_id="tq-admin", scopes=["admin"])
HG_ADMIN = DevPrincipal(token="test-token-bundle-hg-admin-0123456789", agency="02",
                        client_id="hg-admin", scopes=["admin"])
EXPORT = "/v1/admin/bundles/export"


def bearer(who: DevPrincipal) -> dict[str, str]:
    return {"Authorization": f"Bearer {who.token}"}


@asynccontextmanager
async def two_hubs(database_url: str, tmp_path: Path) -> AsyncIterator[Hubs]:
    """The two hubs of tests/integration/test_bundles.py, with REST admins of every kind on
    the province."""
    async with bundle_hubs(database_url, tmp_path,
                           [ADMIN_PRINCIPAL, TQ_ADMIN, HG_ADMIN]) as made:
        yield made


@pytest.fixture
async def hubs(database_url: str, tmp_path: Path) -> AsyncIterator[Hubs]:
    async with two_hubs(database_url, tmp_path) as pair:
        yield pair


def client_of(hub: Hub) -> httpx.AsyncClient:
    app = create_app(hub.settings, hub=hub)
    app.state.hub = hub
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                             base_url="http://hub.test")


async def test_export_over_rest_verifies_and_imports_over_rest(hubs: Hubs) -> None:
    await hubs.push([book(n) for n in range(1, 5)])
    await hubs.attach("TQ-1", pdf("bia-rest"), "Bìa sách.pdf")
    await hubs.push([{"source_id": "TQ-4", "_op": "delete"}])
    async with client_of(hubs.source) as source, client_of(hubs.central) as central:
        answer = await source.post(EXPORT, json={"as_agency": PROVINCE},
                                   headers=bearer(ADMIN_PRINCIPAL))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/x-tar"
        assert answer.headers["content-disposition"].startswith("attachment;")
        path = hubs.tmp / "rest-export.rhbundle"
        path.write_bytes(answer.content)
        bundle = connectors.read_bundle(path, await auth.jwks(hubs.source),
                                        issuer="http://hub.tuyenquang.test")
        m = bundle.manifest
        assert (m.counts.changes, m.counts.files, m.counts.deletes) == (6, 1, 1)
        assert answer.headers["x-bundle-until"] == str(m.cursor.until)
        assert m.selection.as_agency == PROVINCE
        async with hubs.source.db.session() as session:
            audited = (await session.execute(sa.select(AuditEntry).where(
                AuditEntry.action == "admin.bundles.export"))).scalars().all()
        assert [(a.actor, a.agency, a.target) for a in audited] == [
            ("bundle-admin", PROVINCE, f"bundle/{m.bundle_id}")]
        loaded = await central.post(
            f"/v1/admin/connectors/{hubs.connector_id}/bundles", content=answer.content,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                     "Content-Type": "application/x-tar"})
        assert loaded.status_code == 200, loaded.text
        report = loaded.json()
        assert (report["applied"], report["deleted"], report["rejected"]) == (6, 1, 0)
        assert report["files"]["attached"] == 1
        assert await snapshot(hubs.central) == await snapshot(hubs.source)
        # The next bundle starts after the cursor of the first and carries only what is new.
        await hubs.push([book(1, "Sách quyền con người, bản sửa"), book(9)])
        again = await source.post(EXPORT, json={"as_agency": PROVINCE, "after": m.cursor.until},
                                  headers=bearer(ADMIN_PRINCIPAL))
        assert again.status_code == 200, again.text
        second = await central.post(
            f"/v1/admin/connectors/{hubs.connector_id}/bundles", content=again.content,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                     "Content-Type": "application/x-tar"})
        assert second.status_code == 200, second.text
        assert (second.json()["created"], second.json()["updated"]) == (1, 1)
        assert await snapshot(hubs.central) == await snapshot(hubs.source)


async def test_an_agency_admin_exports_only_what_its_agency_reads(hubs: Hubs) -> None:
    await hubs.push([book(1), {**book(2), "visibility": "private"},
                     {**book(3), "visibility": "public"}])
    async with client_of(hubs.source) as source:
        own = await source.post(EXPORT, json={"record_types": ["products"]},
                                headers=bearer(TQ_ADMIN))
        assert own.status_code == 200, own.text
        other = await source.post(EXPORT, json={}, headers=bearer(HG_ADMIN))
        assert other.status_code == 200, other.text
        posing = await source.post(EXPORT, json={"as_agency": PROVINCE},
                                   headers=bearer(HG_ADMIN))
        assert posing.status_code == 403, posing.text
        assert posing.headers["content-type"].startswith("application/problem+json")
    jwks = await auth.jwks(hubs.source)

    def ids(body: bytes, name: str) -> set[str]:
        path = hubs.tmp / name
        path.write_bytes(body)
        bundle = connectors.read_bundle(path, jwks)
        return {c["record"]["source_id"] for c in bundle.changes}

    assert ids(own.content, "own.rhbundle") == {"TQ-1", "TQ-2", "TQ-3"}
    seen_by_other = ids(other.content, "other.rhbundle")
    assert "TQ-2" not in seen_by_other and "TQ-3" in seen_by_other


@pytest.mark.parametrize(("who", "body", "status", "needle"), [
    (ADMIN_PRINCIPAL, {}, 400, "as_agency"),
    (ADMIN_PRINCIPAL, {"as_agency": "ZZ-NONE"}, 400, "ZZ-NONE"),
    (ADMIN_PRINCIPAL, {"as_agency": PROVINCE, "agencies": ["ZZ-NONE"]}, 400, "ZZ-NONE"),
    (ADMIN_PRINCIPAL, {"as_agency": PROVINCE, "record_types": ["songs"]}, 400, "songs"),
    (ADMIN_PRINCIPAL, {"as_agency": PROVINCE, "after": 5, "until": 2}, 400, "until"),
    (ADMIN_PRINCIPAL, {"as_agency": PROVINCE, "after": "5"}, 400, "errors"),
    (ADMIN_PRINCIPAL, {"as_agency": PROVINCE, "after": -1}, 400, "errors"),
    (ADMIN_PRINCIPAL, {"as_agency": PROVINCE, "extra": 1}, 400, "errors"),
    (ADMIN_PRINCIPAL, {"as_agency": "a b"}, 400, "errors"),
    (TQ_ADMIN, {"as_agency": "02"}, 403, ""),
])
async def test_bad_input_answers_a_problem(hubs: Hubs, who: DevPrincipal, body: dict[str, Any],
                                           status: int, needle: str) -> None:
    async with client_of(hubs.source) as source:
        answer = await source.post(EXPORT, json=body, headers=bearer(who))
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["status"] == status
        assert needle in answer.text
        unsigned = await source.post(EXPORT, json={"as_agency": PROVINCE})
        assert unsigned.status_code == 401
        garbage = await source.post(EXPORT, content=b"{not json",
                                    headers={**bearer(who), "Content-Type": "application/json"})
        assert garbage.status_code in (400, 422), garbage.text
