"""The console over HTTP (in process, SQLite and PostgreSQL): sign-in, CSRF on every form,
roles and tenancy, API keys created in the console and used against the API, imports with
row-level messages, the dashboard and its export, and no 500 for any form input."""

from __future__ import annotations

import asyncio
import io
import re

import httpx
import pytest
from openpyxl import load_workbook

from auth._clients import create_client
from gateway.console import (
    _pages_agencies,
    _pages_audit,
    _pages_auth,
    _pages_bundles,
    _pages_clients,
    _pages_connectors,
    _pages_files,
    _pages_imports,
    _pages_subscriptions,
    _pages_users,
)
from hub import Hub, Principal
from hub._programme import programme_progress
from tests.console._helpers import csrf, csrf_of, new_admin, seed_programme, sign_in

pytestmark = pytest.mark.anyio


async def _poll_job(client: httpx.AsyncClient, location: str) -> httpx.Response:
    for _ in range(200):
        status = await client.get(location + "/status")
        assert status.status_code == 200
        if status.json()["state"] in ("finished", "failed"):
            return await client.get(location)
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish")


async def test_sign_in_session_cookie_and_sign_out(hub: Hub, client: httpx.AsyncClient) -> None:
    username = await new_admin(hub)
    redirect = await client.get("/console/dashboard")
    assert redirect.status_code == 303
    assert redirect.headers["location"].startswith("/console/login?next=")

    wrong = await sign_in(client, username, "sai-mat-khau-roi-nhe")
    assert wrong.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in wrong.text

    ok = await sign_in(client, username)
    assert ok.status_code == 303 and ok.headers["location"] == "/console/dashboard"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    page = await client.get("/console/dashboard")
    assert page.status_code == 200 and "Tiến độ thực hiện" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]

    out = await client.post("/console/logout", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 303
    assert (await client.get("/console/dashboard")).status_code == 303


def _post_routes() -> set[str]:
    found = set()
    for module in (_pages_auth, _pages_clients, _pages_agencies, _pages_audit, _pages_imports,
                   _pages_connectors, _pages_subscriptions, _pages_files, _pages_users,
                   _pages_bundles):
        for route in module.router.routes:
            if "POST" in getattr(route, "methods", ()):
                found.add(route.path)  # type: ignore[attr-defined]
    return found


POST_FORMS = {
    "/console/login", "/console/logout", "/console/clients", "/console/clients/{client_id}/keys",
    "/console/keys/{key_id}/rotate", "/console/keys/{key_id}/revoke",
    "/console/clients/{client_id}/secret", "/console/clients/{client_id}/deactivate",
    "/console/agencies", "/console/agencies/{code}", "/console/audit/verify", "/console/import",
    "/console/connectors", "/console/connectors/{connector_id}",
    "/console/connectors/{connector_id}/check", "/console/connectors/{connector_id}/preview",
    "/console/connectors/{connector_id}/run", "/console/subscriptions",
    "/console/subscriptions/{subscription_id}/redeliver",
    "/console/subscriptions/{subscription_id}/active",
    "/console/subscriptions/{subscription_id}/secret", "/console/records/{record_id}/files",
    "/console/users", "/console/users/{username}/active", "/console/users/{username}/password",
    "/console/bundles/export", "/console/bundles/import",
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


async def test_every_form_is_protected_against_csrf(hub: Hub, client: httpx.AsyncClient) -> None:
    assert _post_routes() == POST_FORMS  # a new form must be added here (and is then checked)
    await sign_in(client, await new_admin(hub))
    token = await csrf(client)
    for path in sorted(POST_FORMS):
        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token[:-2] + "xx"}):
            answer = await client.post(_concrete(path), data={**data, "name": "x"})
            assert answer.status_code == 403, (path, answer.status_code)
            assert "Phiên biểu mẫu đã hết hạn" in answer.text
    # A valid token from another session does not work either.
    async with httpx.AsyncClient(transport=client._transport, base_url="http://hub.test") as other:
        foreign = await csrf(other, "/console/login")
    answer = await client.post("/console/audit/verify", data={"csrf_token": foreign})
    assert answer.status_code == 403


async def test_api_key_created_in_the_console_works_until_revoked(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    username = await new_admin(hub)
    await sign_in(client, username)
    token = await csrf(client, "/console/clients")
    made = await client.post("/console/clients", data={
        "csrf_token": token, "agency": "G16", "name": "Hệ thống xuất bản G16",
        "scopes": ["records:read", "records:write"], "auth_method": "client_secret_basic"})
    assert made.status_code == 200, made.text
    assert "Hãy lưu khoá bí mật ngay" in made.text
    client_id = re.search(r'action="/console/clients/([^/"]+)/keys"', made.text)
    assert client_id
    cid = client_id.group(1)
    key_page = await client.post(f"/console/clients/{cid}/keys", data={
        "csrf_token": token, "name": "Đồng bộ hằng đêm", "expires_on": "31/12/2099",
        "scopes": ["records:read"]})
    assert key_page.status_code == 200
    assert key_page.headers["cache-control"] == "no-store"
    key = re.search(r'id="new-secret" value="(rhk_[^"]+)"', key_page.text)
    assert key, key_page.text
    api_key = key.group(1)
    assert "31/12/2099" in key_page.text  # the expiry, in Vietnamese format

    assert (await client.get("/v1/products", headers={"X-API-Key": api_key})).status_code == 200
    listed = await client.get(f"/console/clients/{cid}")
    assert api_key not in listed.text  # shown once only
    key_id = api_key.split("_")[1]
    revoked = await client.post(f"/console/keys/{key_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert (await client.get("/v1/products", headers={"X-API-Key": api_key})).status_code == 401
    # Rotation: a new key shown once; the old one keeps working during the overlap.
    second = await client.post(f"/console/clients/{cid}/keys", data={
        "csrf_token": token, "name": "Khoá thứ hai"})
    old_key = re.search(r'id="new-secret" value="(rhk_[^"]+)"', second.text).group(1)  # type: ignore[union-attr]
    rotated = await client.post(f"/console/keys/{old_key.split('_')[1]}/rotate",
                                data={"csrf_token": token})
    new_key = re.search(r'id="new-secret" value="(rhk_[^"]+)"', rotated.text)
    assert new_key and new_key.group(1) != old_key
    for key in (old_key, new_key.group(1)):
        assert (await client.get("/v1/products", headers={"X-API-Key": key})).status_code == 200
    # Deactivating the client stops every key of it at once.
    off = await client.post(f"/console/clients/{cid}/deactivate", data={"csrf_token": token})
    assert off.status_code == 303
    assert (await client.get("/v1/products", headers={"X-API-Key": new_key.group(1)})
            ).status_code == 401
    audit = await client.get(f"/console/audit?actor={username}&action=admin.api_keys")
    assert "admin.api_keys.create" in audit.text and "admin.api_keys.revoke" in audit.text
    assert "admin.api_keys.rotate" in audit.text


async def test_agency_admin_sees_and_manages_its_own_agency_only(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    other = await create_client(hub, agency="G15", name="Hệ thống G15")
    own = await create_client(hub, agency="G16", name="Hệ thống G16")
    await sign_in(client, await new_admin(hub, role="agency_admin", agency="G16"))
    token = await csrf(client, "/console/clients")
    listing = await client.get("/console/clients")
    assert own.client.client_id in listing.text and other.client.client_id not in listing.text
    assert (await client.get(f"/console/clients/{other.client.client_id}")).status_code == 404
    assert (await client.get(f"/console/clients/{own.client.client_id}")).status_code == 200
    refused = await client.post("/console/clients", data={
        "csrf_token": token, "agency": "G15", "name": "x", "scopes": ["records:read"]})
    assert refused.status_code == 403
    assert "chỉ quản trị được cơ quan của mình" in refused.text
    assert (await client.post(f"/console/clients/{other.client.client_id}/deactivate",
                              data={"csrf_token": token})).status_code == 404
    assert (await client.get("/console/agencies/G15")).status_code == 404
    agencies = await client.get("/console/agencies?former=1")
    assert "/console/agencies/G16" in agencies.text and "/console/agencies/G15" not in agencies.text
    assert (await client.post("/console/agencies", data={
        "csrf_token": token, "code": "X1", "name": "x"})).status_code == 403
    assert (await client.get("/console/audit?agency=G15")).status_code == 403
    dashboard = await client.get("/console/dashboard?agency=G15")
    assert dashboard.status_code == 200 and 'name="agency"' not in dashboard.text
    upload = await client.post("/console/import", data={
        "csrf_token": token, "record_type": "products", "agency": "G15"},
        files={"file": ("a.ndjson", b"{}\n")})
    assert upload.status_code == 403


async def test_import_reports_rejections_by_row_in_vietnamese(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    await sign_in(client, await new_admin(hub))
    token = await csrf(client, "/console/import")
    csv = ("source_id,kind,title,languages,published_on\n"
           "S-1,book,Sách hỏi đáp về quyền con người,vie,01/07/2025\n"
           "S-2,book,,vie,\n"
           "S-3,book,Sách lỗi ngôn ngữ,xx-not-a-language,\n"
           "S-4,book,Sách lỗi ngày,vie,31/02/2025\n").encode()
    started = await client.post("/console/import", data={
        "csrf_token": token, "record_type": "products", "agency": "G16"},
        files={"file": ("sach.csv", csv, "text/csv")})
    assert started.status_code == 303
    page = await _poll_job(client, started.headers["location"])
    assert page.status_code == 200
    table = page.text[page.text.index('id="rejections"'):]
    rows = re.findall(r'<tr><td class="num">(\d+)</td>', table)
    assert rows == ["3", "4", "5"]
    assert "title" in table and "languages" in table and "published_on" in table
    assert re.search(r"[ạảãàáâậầấẩẫăắằặẳẵđêếềệểễôốồộổỗơớờợởỡưứừựửữ]", table)
    assert 'id="import-summary"' in page.text
    # The record that passed is in the records browser, found without diacritics.
    found = await client.get("/console/records?type=products&q=sach hoi dap")
    assert "Sách hỏi đáp về quyền con người" in found.text
    filtered = await client.get("/console/records?type=products&q=sach hoi dap&language=hmn")
    assert "Sách hỏi đáp về quyền con người" not in filtered.text
    filtered = await client.get("/console/records?type=products&language=vie&date_from=30/06/2025")
    assert "Sách hỏi đáp về quyền con người" in filtered.text


async def test_xlsx_template_round_trip_with_vietnamese_headers(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    await sign_in(client, await new_admin(hub))
    template = await client.get("/console/import/templates/events.xlsx")
    assert template.status_code == 200
    book = load_workbook(io.BytesIO(template.content))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert "Tiêu đề (title)" in headers and "Ngày bắt đầu (start_date)" in headers
    values = {"source_id": "HB-01", "kind": "press_briefing", "title": "Họp báo tháng 1",
              "start_date": "25/01/2025"}
    sheet.append([values.get(str(h).rsplit("(", 1)[1].rstrip(")")) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    token = await csrf(client, "/console/import")
    started = await client.post("/console/import", data={
        "csrf_token": token, "record_type": "events", "agency": "08"},
        files={"file": ("hop-bao.xlsx", buffer.getvalue())})
    page = await _poll_job(client, started.headers["location"])
    summary = page.text[page.text.index('id="import-summary"'):]
    assert re.search(r"Tạo mới</div><div class=\"value\">1<", summary), summary[:600]


async def test_record_history_page(hub: Hub, client: httpx.AsyncClient) -> None:
    principal = Principal("c", "G16", frozenset(), "push")
    item = {"source_id": "LS-1", "kind": "book", "title": "Sách lịch sử", "languages": ["vie"]}
    await hub.ingest.ingest(principal, "products", [item])
    await hub.ingest.ingest(principal, "products", [{**item, "title": "Sách lịch sử (tái bản)"}])
    await sign_in(client, await new_admin(hub, role="agency_admin", agency="G16"))
    listing = await client.get("/console/records?type=products&q=lich su")
    record_id = re.search(r'href="/console/records/([0-9a-f-]{36})"', listing.text)
    assert record_id
    page = await client.get(f"/console/records/{record_id.group(1)}")
    assert page.status_code == 200
    assert "Tạo mới" in page.text and "Cập nhật" in page.text
    assert "Sách lịch sử (tái bản)" in page.text
    # A file on the record: uploaded through the form, listed, downloaded by its signed link.
    token = csrf_of(page)
    text = "Bản ghi lời thoại của video về quyền trẻ em.\n".encode()
    stored = await client.post(f"/console/records/{record_id.group(1)}/files", data={
        "csrf_token": token, "role": "transcript", "language": "vie"},
        files={"file": ("loi-thoai.txt", text, "text/plain")})
    assert stored.status_code == 303, stored.text
    page = await client.get(stored.headers["location"])
    link = re.search(r'href="(/v1/files/[^"]+)" download="loi-thoai.txt"', page.text)
    assert link and "Đã lưu tệp vào kho lưu trữ" in page.text
    download = await client.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200 and download.content == text


async def test_dashboard_figures_and_xlsx_export(hub: Hub, client: httpx.AsyncClient) -> None:
    await seed_programme(hub)
    await sign_in(client, await new_admin(hub))
    page = await client.get("/console/dashboard?year=2025")
    assert page.status_code == 200
    progress = await programme_progress(hub, year=2025)
    books = progress.indicator("book_titles")
    assert f"{int(books.value):,}".replace(",", ".") in page.text
    assert "Đầu sách về quyền con người" in page.text and 'id="heatmap"' in page.text
    assert "15–20 %" in page.text
    export = await client.get("/console/dashboard.xlsx?year=2025")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == ["Chỉ tiêu", "Triển lãm", "Họp báo", "Tập huấn"]
    rows = {r[0]: r[1] for r in book["Chỉ tiêu"].iter_rows(min_row=5, values_only=True)}
    assert rows["Đầu sách về quyền con người"] == books.value
    briefings = {r[0]: r[14] for r in book["Họp báo"].iter_rows(min_row=3, values_only=True)}
    assert briefings == {k: sum(v) for k, v in progress.press_briefings.items()}
    english = await client.get("/console/lang/en?next=/console/dashboard")
    assert english.status_code == 303
    assert "Progress on Decision 1079" in (await client.get("/console/dashboard")).text


NASTY = ["", "\x00", "a\x07b", "x" * 100_000, "31/02/2025", "99/99/99999", "2025-13-45",
         "'; DROP TABLE records; --", "<script>alert(1)</script>", "🙂" * 50, "../../etc",
         "1/2", "-1", "1e309", "\ud800"]


async def test_no_page_answers_500_to_any_form_input(hub: Hub, client: httpx.AsyncClient) -> None:
    await sign_in(client, await new_admin(hub))
    token = await csrf(client)
    fields = ["agency", "name", "scopes", "auth_method", "expires_on", "code", "level", "kind",
              "valid_from", "valid_until", "successor", "effective_on", "note", "record_type",
              "username", "password", "next", "dry_run", "clear_successors", "config",
              "schedule_minutes", "client_secret", "api_key", "full_refresh", "enabled",
              "endpoint_url", "record_types", "deliver_from", "seq", "active", "role",
              "display_name", "as_agency", "after", "until", "connector", "files"]
    created = await create_client(hub, agency="G16", name="fuzz")
    # Sign-in costs an argon2 hash per try: a few values are enough there.
    for value in ("\x00", "x" * 100_000, "🙂"):
        answer = await client.post("/console/login", data={
            "csrf_token": token, "username": value, "password": value, "next": value})
        assert answer.status_code < 500
    for path in sorted(POST_FORMS - {"/console/logout", "/console/login"}):
        concrete = path.replace("{client_id}", created.client.client_id).replace(
            "{username}", "no-such-admin").replace(
            "{code}", "G16").replace("{key_id}", "0123456789abcdef")
        for value in NASTY:
            safe = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            answer = await client.post(concrete, data={
                "csrf_token": token, **dict.fromkeys(fields, safe)},
                files={"file": (safe[:50] or "x.csv", safe.encode()[:1000])}
                if path in ("/console/import", "/console/records/{record_id}/files",
                            "/console/bundles/import") else None)
            assert answer.status_code < 500, (path, value[:20], answer.status_code)
    for path in ("/console/records", "/console/audit", "/console/agencies", "/console/dashboard",
                 "/console/bundles",
                 "/console/import/jobs/x", "/console/records/x", "/console/clients/%00"):
        for value in [v if len(v) < 10_000 else "x" * 5000 for v in NASTY[:12]]:
            params = dict.fromkeys(["q", "agency", "kind", "date_from", "date_to", "cursor",
                                    "type", "actor", "action", "since", "until", "year",
                                    "former"], value)
            answer = await client.get(path, params=params)
            assert answer.status_code < 500, (path, value[:20], answer.status_code)
    # A malformed multipart body is refused with a page, not a 500.
    broken = await client.post("/console/import", content=b"--x\r\nbroken",
                               headers={"content-type": "multipart/form-data; boundary=x"})
    assert broken.status_code in (400, 403) and "<html" in broken.text


async def test_admin_accounts_within_the_agency_and_deactivation_ends_a_session(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    manager = await new_admin(hub, role="agency_admin", agency="G16")
    stranger = await new_admin(hub, role="agency_admin", agency="G15")
    await sign_in(client, manager)
    token = await csrf(client, "/console/users")
    listing = await client.get("/console/users")
    assert manager in listing.text and stranger not in listing.text
    colleague = f"dong-nghiep-{manager[-8:]}"
    made = await client.post("/console/users", data={
        "csrf_token": token, "username": colleague, "display_name": "Lê Văn Cường",
        "role": "agency_admin", "agency": "G16", "password": "mat-khau-rat-dai-2025"})
    assert made.status_code == 303
    for role, agency in (("hub_admin", ""), ("agency_admin", "G15")):
        refused = await client.post("/console/users", data={
            "csrf_token": token, "username": f"x-{role}-{agency}-{manager[-8:]}", "role": role,
            "agency": agency, "password": "mat-khau-rat-dai-2025"})
        assert refused.status_code == 403, (role, agency)
    assert (await client.post(f"/console/users/{stranger}/active",
                              data={"csrf_token": token})).status_code == 404
    short = await client.post(f"/console/users/{colleague}/password",
                              data={"csrf_token": token, "password": "ngan"})
    assert short.status_code == 400 and "ít nhất 12 ký tự" in short.text

    async with httpx.AsyncClient(transport=client._transport, base_url="http://hub.test") as other:
        await sign_in(other, colleague, "mat-khau-rat-dai-2025")
        assert (await other.get("/console/dashboard")).status_code == 200
        off = await client.post(f"/console/users/{colleague}/active", data={"csrf_token": token})
        assert off.status_code == 303
        assert (await other.get("/console/dashboard")).status_code == 303  # signed out at once
