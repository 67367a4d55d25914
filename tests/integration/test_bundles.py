"""Offline exchange bundles between two hubs (issue 23): a provincial RightsHub (its own SQLite
database and archive) exports signed bundles, the central hub (SQLite and PostgreSQL)
imports them through the hub-feed connector's apply path; both hubs are then compared.
Refused bundles (tampered, truncated, replayed, foreign-signed, skipping ahead) import
nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import tarfile
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

import auth
import connectors
from hub import DevPrincipal, Hub, Principal, current_file_lists
from hub._migrate import upgrade
from hub._seed import seed_reference
from hub.archive._service import FileClaims, detach_file, storage_of, upload_stream
from hub.tables import Record, RecordChange, StoredFile
from tests.conftest import _clean, _dev_principals, make_settings

pytestmark = pytest.mark.anyio

PROVINCE = "08"
ADMIN_TOKEN = "test-token-bundle-admin-0123456789"
ADMIN_PRINCIPAL = DevPrincipal(token=ADMIN_TOKEN, agency="G16", client_id="bundle-admin",
                               scopes=["admin", "admin:hub"])
WRITER = Principal("client-tq", PROVINCE, frozenset({"records:write"}), channel="push")


def pdf(seed: str, size: int = 3000) -> bytes:
    body = hashlib.sha256(seed.encode()).digest() * (size // 32 + 1)
    return (b"%PDF-1.4\n" + body)[:size]


def book(n: int, title: str | None = None) -> dict[str, Any]:
    return {"source_id": f"TQ-{n}", "kind": "book", "languages": ["vie"],
            "title": title or f"Sách quyền con người số {n}"}


@dataclass
class Hubs:
    source: Hub
    central: Hub
    connector_id: str
    tmp: Path

    async def push(self, items: list[dict[str, Any]]) -> None:
        summary = await self.source.ingest.ingest(WRITER, "products", items)
        assert not getattr(summary, "rejections", None), summary

    async def attach(self, source_id: str, data: bytes, name: str) -> str:
        record_id = await _record_id(self.source, source_id)

        async def chunks() -> AsyncIterable[bytes]:
            yield data

        info, _ = await upload_stream(self.source, WRITER, record_id, chunks().__aiter__(),
                                      FileClaims(name=name, media_type="application/pdf"))
        return info.id

    async def export(self, name: str, **options: Any) -> Path:
        out = self.tmp / name
        await connectors.export_bundle(self.source, out, as_agency=PROVINCE, **options)
        return out

    async def load(self, path: Path, **options: Any) -> dict[str, Any]:
        return await connectors.import_bundle(self.central, path,
                                              connector_id=self.connector_id, **options)


async def _record_id(hub: Hub, source_id: str) -> str:
    async with hub.db.session() as session:
        return str((await session.execute(sa.select(Record.id).where(
            Record.owner_agency == PROVINCE, Record.source_id == source_id))).scalar_one())


async def snapshot(hub: Hub) -> dict[str, Any]:
    """What both hubs must agree on: each record's life, content, visibility and files."""
    async with hub.db.session() as session:
        rows = (await session.execute(sa.select(Record).where(
            Record.owner_agency == PROVINCE))).scalars().all()
        files = await current_file_lists(session, [r.id for r in rows])
    found: dict[str, Any] = {}
    for r in rows:
        if r.deleted:
            found[f"{r.record_type}/{r.source_id}"] = "deleted"
            continue
        found[f"{r.record_type}/{r.source_id}"] = (
            r.content_hash, r.visibility, r.title,
            sorted((f.sha256, f.role, f.name, f.media_type, f.size) for f in files[r.id]))
    return found


async def change_count(hub: Hub) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(
            sa.select(sa.func.count()).select_from(RecordChange))).scalar_one())


@asynccontextmanager
async def two_hubs(database_url: str, tmp_path: Path,
                   province_principals: Sequence[DevPrincipal] = ()) -> AsyncIterator[Hubs]:
    """The provincial hub (its own SQLite; ``province_principals`` beside the test callers)
    and the central hub on ``database_url`` with a hub-feed connector that trusts the
    province's keys."""
    settings = make_settings(f"sqlite:///{tmp_path / 'province.db'}",
                             public_url="http://hub.tuyenquang.test",
                             archive_dir=tmp_path / "province-archive",
                             secret_key="khoa-bi-mat-cua-hub-tinh-0123456789abcdef",
                             dev_principals=[*_dev_principals(), *province_principals])
    await asyncio.to_thread(upgrade, settings)
    source = Hub(settings)
    await seed_reference(source.db)
    central = Hub(make_settings(database_url, public_url="http://hub.trunguong.test",
                                archive_dir=tmp_path / "central-archive",
                                dev_principals=[*_dev_principals(), ADMIN_PRINCIPAL]))
    await _clean(central)
    async with central.db.transaction() as session:
        for table in ("connector_keys", "connector_seen", "connector_checkpoints",
                      "connector_runs", "connectors"):
            await session.execute(sa.text(f"DELETE FROM {table}"))
        await session.execute(sa.delete(StoredFile))
    config = {"kind": "hub", "base_url": "http://127.0.0.1:9", "page_size": 25,
              "bundle_jwks": await auth.jwks(source)}
    async with central.db.transaction() as session:
        info = await connectors.create_connector(
            central, session, agency=PROVINCE, name="Hub tỉnh Tuyên Quang (gói ngoại tuyến)",
            kind="hub", config=config)
    try:
        yield Hubs(source, central, info.id, tmp_path)
    finally:
        await source.close()
        await central.close()


@pytest.fixture
async def hubs(database_url: str, tmp_path: Path) -> AsyncIterator[Hubs]:
    async with two_hubs(database_url, tmp_path) as made:
        yield made


# --- the format -----------------------------------------------------------------------------


async def test_round_trip_verifies_without_a_database(hubs: Hubs) -> None:
    await hubs.push([book(n) for n in range(1, 6)])
    await hubs.attach("TQ-1", pdf("bia"), "Bìa sách.pdf")
    await hubs.push([{"source_id": "TQ-5", "_op": "delete"}])
    path = await hubs.export("b1.rhbundle")
    bundle = connectors.read_bundle(path, await auth.jwks(hubs.source),
                                    issuer="http://hub.tuyenquang.test")
    manifest = bundle.manifest
    assert manifest.counts.changes == len(bundle.changes) == 7  # 5 creates, 1 file, 1 delete
    assert (manifest.counts.upserts, manifest.counts.deletes, manifest.counts.files) == (6, 1, 1)
    assert manifest.cursor.after == 0 and manifest.cursor.until == manifest.cursor.last_seq
    assert [c["seq"] for c in bundle.changes] == sorted(c["seq"] for c in bundle.changes)
    assert bundle.changes[-1]["op"] == "delete"
    with tarfile.open(path) as tar:
        assert tar.getnames()[:2] == ["manifest.json", "records.ndjson"]
        assert tar.getnames()[-1] == "manifest.jws"
    # The manifest is valid against the schema published in openapi/.
    schema = orjson.loads(Path("openapi/json-schema/bundle.manifest.schema.json").read_bytes())
    assert schema["title"] == "RightsHub exchange bundle manifest"
    assert set(schema["required"]) >= {"bundle_id", "issuer", "cursor", "counts", "parts"}


# --- importing ------------------------------------------------------------------------------


async def test_import_then_the_same_bundle_again_changes_nothing(hubs: Hubs) -> None:
    await hubs.push([book(n) for n in range(1, 41)])
    await hubs.attach("TQ-3", pdf("tq3"), "Sách 3.pdf")
    await hubs.push([{"source_id": "TQ-40", "_op": "delete"}, book(2, "Sách số 2 (tái bản)")])
    path = await hubs.export("b1.rhbundle")
    first = await hubs.load(path)
    assert first["status"] == "ok", first
    # TQ-40 is created and deleted in the same page (25 changes): it arrives as a tombstone.
    assert (first["created"], first["deleted"], first["files"]["attached"]) == (39, 1, 1), first
    assert await snapshot(hubs.central) == await snapshot(hubs.source)
    before, changes = await snapshot(hubs.central), await change_count(hubs.central)
    again = await hubs.load(path)
    assert again["status"] == "already_imported" and again["applied"] == 0, again
    assert await snapshot(hubs.central) == before
    assert await change_count(hubs.central) == changes


async def test_overlapping_bundles_apply_each_change_once_in_order(hubs: Hubs) -> None:
    await hubs.push([book(n) for n in range(1, 11)])
    first = await hubs.export("jan.rhbundle")
    await hubs.push([book(1, "Tên mới lần 1"), {"source_id": "TQ-2", "_op": "delete"}])
    await hubs.push([book(1, "Tên mới lần 2"), book(11)])
    # The second bundle starts from the beginning: it overlaps the whole first one.
    second = await hubs.export("feb.rhbundle")
    a = await hubs.load(first)
    assert a["created"] == 10
    changes = await change_count(hubs.central)
    b = await hubs.load(second)
    assert b["already_applied"] == 10 and b["applied"] == 4, b
    assert (b["created"], b["updated"], b["deleted"]) == (1, 1, 1), b
    # One change per record applied (TQ-1's two updates collapse to the last, in order).
    assert await change_count(hubs.central) == changes + 3
    assert (await snapshot(hubs.central))["products/TQ-1"][2] == "Tên mới lần 2"
    assert await snapshot(hubs.central) == await snapshot(hubs.source)


async def test_a_year_of_changes_with_deletions_and_files(hubs: Hubs) -> None:
    """Twelve months at the province, a bundle per quarter, each starting a month before the
    previous one ended (overlap), carried across and compared."""
    cursors = [0]
    bundles: list[Path] = []
    file_ids: dict[str, str] = {}
    for month in range(1, 13):
        base = month * 100
        await hubs.push([book(base + n, f"Tháng {month}: sách {n}") for n in range(8)])
        if month > 1:
            previous = (month - 1) * 100
            await hubs.push([book(previous + 1, f"Tháng {month}: cập nhật"),
                             {"source_id": f"TQ-{previous + 7}", "_op": "delete"}])
        file_ids[f"TQ-{base}"] = await hubs.attach(f"TQ-{base}", pdf(f"m{month}"),
                                                   f"Tài liệu tháng {month}.pdf")
        if month % 4 == 0:  # a file removed, and a record with a file deleted
            await detach_file(hubs.source, WRITER, file_ids[f"TQ-{base - 100}"])
            await hubs.push([{"source_id": f"TQ-{base - 200}", "_op": "delete"}])
        cursors.append(await _head(hubs.source))
        if month % 3 == 0:
            after = cursors[month - 4] if month > 3 else 0
            bundles.append(await hubs.export(f"q{month // 3}.rhbundle", after=after))
    totals = {"created": 0, "updated": 0, "deleted": 0, "attached": 0, "detached": 0}
    for path in bundles:
        report = await hubs.load(path)
        assert report["status"] == "ok", report
        for name in ("created", "updated", "deleted"):
            totals[name] += report[name]
        totals["attached"] += report["files"]["attached"]
        totals["detached"] += report["files"]["detached"]
    source, central = await snapshot(hubs.source), await snapshot(hubs.central)
    assert central == source
    assert sum(v == "deleted" for v in central.values()) == 11 + 3
    assert sum(len(v[3]) for v in central.values() if v != "deleted") == 12 - 3 - 3
    # Changes of one record inside one page collapse to its last (as the online feed does),
    # so fewer writes than at the source; what they leave is the same.
    assert 0 < totals["created"] <= 96 and totals["deleted"] >= 11, totals
    assert totals["attached"] >= 6 and totals["detached"] >= 1, totals
    # The blobs are in the central archive, whole.
    storage = storage_of(hubs.central)
    for value in central.values():
        for sha, *_ in (value[3] if value != "deleted" else []):
            data = b"".join([block async for block in storage.read(sha)])
            assert hashlib.sha256(data).hexdigest() == sha


async def _head(hub: Hub) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(sa.select(sa.func.max(RecordChange.seq)))).scalar()
                   or 0)


# --- refusals -------------------------------------------------------------------------------


def _rewrite(path: Path, out: Path, change: dict[str, bytes]) -> Path:
    with tarfile.open(path) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar]  # type: ignore[union-attr]
    with tarfile.open(out, "w") as tar:
        for name, data in members:
            data = change.get(name, data)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


async def _refused(hubs: Hubs, path: Path, code: str, **options: Any) -> str:
    before, changes = await snapshot(hubs.central), await change_count(hubs.central)
    with pytest.raises(connectors.BundleRefused) as caught:
        await hubs.load(path, **options)
    assert caught.value.code == code, (caught.value.code, caught.value.detail_en)
    assert caught.value.detail_vi.startswith("Gói trao đổi bị từ chối")
    assert caught.value.detail_en.startswith("Bundle refused")
    assert await snapshot(hubs.central) == before
    assert await change_count(hubs.central) == changes
    return caught.value.detail_en


async def test_tampered_truncated_replayed_and_foreign_bundles_are_refused(
    hubs: Hubs, tmp_path: Path
) -> None:
    await hubs.push([book(n) for n in range(1, 21)])
    await hubs.attach("TQ-1", pdf("tq1"), "Sách 1.pdf")
    good = await hubs.export("good.rhbundle")
    with tarfile.open(good) as tar:
        records = tar.extractfile("records.ndjson").read()  # type: ignore[union-attr]
        manifest = tar.extractfile("manifest.json").read()  # type: ignore[union-attr]
    # A record line changed (the title), the manifest left as signed.
    line = records.replace("Sách quyền con người số 7".encode(), "Sách đã bị sửa".encode())
    assert line != records
    message = await _refused(hubs, _rewrite(good, tmp_path / "line.tar",
                                            {"records.ndjson": line}), "checksum")
    assert "records.ndjson" in message
    # The manifest changed to match the altered records: the signature no longer covers it.
    forged = manifest.replace(hashlib.sha256(records).hexdigest().encode(),
                              hashlib.sha256(line).hexdigest().encode())
    assert forged != manifest
    message = await _refused(hubs, _rewrite(good, tmp_path / "manifest.tar",
                                            {"manifest.json": forged,
                                             "records.ndjson": line}), "checksum")
    assert "signed" in message
    # A file's bytes replaced.
    with tarfile.open(good) as tar:
        blob = next(n for n in tar.getnames() if n.startswith("files/"))
    await _refused(hubs, _rewrite(good, tmp_path / "blob.tar", {blob: pdf("khac")}), "checksum")
    # Truncated: cut in the middle, and cut before the signature.
    data = good.read_bytes()
    with tarfile.open(good) as tar:
        signature_at = tar.getmember("manifest.jws").offset_data
    for cut in (len(data) // 2, signature_at + 10, signature_at - 512):
        short = tmp_path / f"short-{cut}.tar"
        short.write_bytes(data[:cut])
        await _refused(hubs, short, "incomplete")
    # Signed by another hub's key (a foreign hub exporting the same kind of bundle).
    foreign = Hub(make_settings(f"sqlite:///{tmp_path / 'foreign.db'}",
                                public_url="http://hub.gia-mao.test",
                                archive_dir=tmp_path / "foreign-archive",
                                secret_key="khoa-cua-mot-hub-khac-0123456789abcdefgh"))
    try:
        await asyncio.to_thread(upgrade, foreign.settings)
        await seed_reference(foreign.db)
        await foreign.ingest.ingest(WRITER, "products", [book(99, "Sách giả mạo")])
        fake = tmp_path / "foreign.rhbundle"
        await connectors.export_bundle(foreign, fake, as_agency=PROVINCE)
    finally:
        await foreign.close()
    message = await _refused(hubs, fake, "foreign_key")
    assert "trusted" in message
    # The good bundle is still fine; then an older one replayed after a newer one.
    assert (await hubs.load(good))["created"] == 20
    await hubs.push([book(21)])
    newer = await hubs.export("newer.rhbundle", after=await _cursor(hubs))
    assert (await hubs.load(newer))["created"] == 1
    message = await _refused(hubs, good, "replayed")
    assert "already applied" in message
    # A bundle that skips ahead of what was applied (a gap) is refused too.
    await hubs.push([book(22)])
    gap_start = await _head(hubs.source)
    await hubs.push([book(23)])
    await _refused(hubs, await hubs.export("gap.rhbundle", after=gap_start), "gap")


async def _cursor(hubs: Hubs) -> int:
    async with hubs.central.db.session() as session:
        state = (await session.execute(sa.text(
            "SELECT state FROM connector_checkpoints WHERE connector_id = :c"),
            {"c": hubs.connector_id})).scalar_one()
    return int((orjson.loads(state) if isinstance(state, str) else state)["cursor"])


# --- the command line -----------------------------------------------------------------------


async def test_cli_verifies_and_imports(
    hubs: Hubs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    await hubs.push([book(n) for n in range(1, 4)])
    path = await hubs.export("cli.rhbundle")
    jwks = tmp_path / "tuyenquang.jwks.json"
    jwks.write_bytes(orjson.dumps(await auth.jwks(hubs.source)))
    runner = CliRunner()
    ok = await asyncio.to_thread(runner.invoke, app, ["bundle", "verify", str(path),
                                                      "--jwks", str(jwks)])
    assert ok.exit_code == 0, ok.output
    assert "bundle valid" in ok.output and "3 thay đổi / changes" in ok.output
    with tarfile.open(path) as tar:
        records = tar.extractfile("records.ndjson").read()  # type: ignore[union-attr]
    changed = records.replace(b"TQ-1", b"TQ-9")
    bad = _rewrite(path, tmp_path / "bad.tar", {"records.ndjson": changed})
    refused = await asyncio.to_thread(runner.invoke, app, ["bundle", "verify", str(bad),
                                                           "--jwks", str(jwks)])
    assert refused.exit_code == 1
    assert "Gói trao đổi bị từ chối" in refused.output and "Bundle refused" in refused.output
    if hubs.central.settings.database_url.startswith("sqlite"):
        monkeypatch.setenv("RIGHTSHUB_DATABASE_URL", hubs.central.settings.database_url)
        monkeypatch.setenv("RIGHTSHUB_ENVIRONMENT", "test")
        monkeypatch.setenv("RIGHTSHUB_ARCHIVE_DIR", str(tmp_path / "central-archive"))
        done = await asyncio.to_thread(runner.invoke, app, [
            "bundle", "import", str(path), "--connector", hubs.connector_id])
        assert done.exit_code == 0, done.output
        assert orjson.loads(done.output)["created"] == 3
        assert await snapshot(hubs.central) == await snapshot(hubs.source)


async def test_rest_import_answers_the_summary_or_a_problem(hubs: Hubs, tmp_path: Path) -> None:
    import httpx

    from gateway import create_app

    await hubs.push([book(n) for n in range(1, 4)])
    path = await hubs.export("rest.rhbundle")
    app = create_app(hubs.central.settings, hub=hubs.central)
    app.state.hub = hubs.central
    url = f"/v1/admin/connectors/{hubs.connector_id}/bundles"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/x-tar"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://hub.test") as client:
        short = await client.post(url, content=path.read_bytes()[:3000], headers=headers)
        assert short.status_code == 422, short.text
        problem = short.json()
        assert problem["type"].endswith("bundle-refused") and problem["code"] == "incomplete"
        assert await change_count(hubs.central) == 0
        done = await client.post(url, content=path.read_bytes(), headers=headers)
        assert done.status_code == 200, done.text
        assert done.json()["created"] == 3
