"""The console's forms for clients, API keys, admin accounts, agencies and subscriptions are
validated by the admin API's own bodies (hub.tables ClientCreate, ApiKeyCreate, AdminUserCreate,
AgencyCreate, SubscriptionCreate; PasswordReset): what ``/v1/admin`` refuses, the console
refuses too, for the same field, as a Vietnamese form error (400, never a 500) naming the
form's label."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from auth._admins import create_admin, get_admin, start_session
from auth._clients import create_client
from hub import Hub
from tests.console._helpers import PASSWORD, csrf, new_admin, sign_in, unique

pytestmark = pytest.mark.anyio

LONG = "x" * 301


async def _bearer(hub: Hub) -> dict[str, str]:
    admin = await get_admin(hub, "bodies-admin") or await create_admin(
        hub, username="bodies-admin", role="hub_admin", sso_subject="sso-bodies-admin")
    issued = await start_session(hub, admin)
    return {"Authorization": f"Bearer {issued.access_token}"}


def _fields(problem: dict[str, Any]) -> set[str]:
    """The fields a REST problem names (its errors' first location part after "body")."""
    found = set()
    for error in problem.get("errors", []):
        path = str(error.get("path") or error.get("field") or error.get("loc") or "")
        found.add(path.removeprefix("body.").split(".")[0])
    return found


# (what, console path, form fields, REST path, JSON body, field, Vietnamese words expected)
CASES = [
    ("username too short", "/console/users",
     {"username": "ab", "role": "agency_admin", "agency": "G16", "password": PASSWORD},
     "/v1/admin/users",
     {"username": "ab", "role": "agency_admin", "agency": "G16", "password": PASSWORD},
     "username", "Tên đăng nhập: Phải có ít nhất 3 ký tự"),
    ("username with a space", "/console/users",
     {"username": "a b c", "role": "agency_admin", "agency": "G16", "password": PASSWORD},
     "/v1/admin/users",
     {"username": "a b c", "role": "agency_admin", "agency": "G16", "password": PASSWORD},
     "username", "Tên đăng nhập: Định dạng không hợp lệ"),
    ("unknown role", "/console/users",
     {"username": "vai-tro-la", "role": "superuser", "agency": "G16", "password": PASSWORD},
     "/v1/admin/users",
     {"username": "vai-tro-la", "role": "superuser", "agency": "G16", "password": PASSWORD},
     "role", "Vai trò: Phải là một trong các giá trị"),
    ("display name too long", "/console/users",
     {"username": "ten-dai", "role": "agency_admin", "agency": "G16", "password": PASSWORD,
      "display_name": LONG},
     "/v1/admin/users",
     {"username": "ten-dai", "role": "agency_admin", "agency": "G16", "password": PASSWORD,
      "display_name": LONG},
     "display_name", "Họ và tên: Không được dài quá 300 ký tự"),
    ("password too short", "/console/users",
     {"username": "mat-khau-ngan", "role": "agency_admin", "agency": "G16", "password": "ngan"},
     "/v1/admin/users",
     {"username": "mat-khau-ngan", "role": "agency_admin", "agency": "G16", "password": "ngan"},
     "password", "Mật khẩu: Phải có ít nhất 12 ký tự"),
    ("client name too long", "/console/clients",
     {"agency": "G16", "name": LONG, "scopes": ["records:read"]},
     "/v1/admin/clients", {"agency": "G16", "name": LONG, "scopes": ["records:read"]},
     "name", "Tên: Không được dài quá 300 ký tự"),
    ("unknown client scope", "/console/clients",
     {"agency": "G16", "name": "Hệ thống", "scopes": ["records:everything"]},
     "/v1/admin/clients", {"agency": "G16", "name": "Hệ thống", "scopes": ["records:everything"]},
     "scopes", "Quyền (scope): Phải là một trong các giá trị"),
    ("agency name too long", "/console/agencies",
     {"code": "CQ-DAI", "name": LONG, "kind": "ministry", "level": "central"},
     "/v1/admin/agencies", {"code": "CQ-DAI", "name": LONG, "kind": "ministry",
                            "level": "central"},
     "name", "Tên: Không được dài quá 300 ký tự"),
    ("agency code with a space", "/console/agencies",
     {"code": "CQ DAI", "name": "Cơ quan", "kind": "ministry", "level": "central"},
     "/v1/admin/agencies", {"code": "CQ DAI", "name": "Cơ quan", "kind": "ministry",
                            "level": "central"},
     "code", "Mã"),
    ("subscription endpoint not a URL", "/console/subscriptions",
     {"agency": "G16", "name": "Nhận thay đổi", "endpoint_url": "khong-phai-url"},
     "/v1/admin/subscriptions",
     {"agency": "G16", "name": "Nhận thay đổi", "endpoint_url": "khong-phai-url"},
     "endpoint_url", "Địa chỉ nhận (URL):"),
    ("subscription name too long", "/console/subscriptions",
     {"agency": "G16", "name": LONG, "endpoint_url": "https://127.0.0.1:9/nhan"},
     "/v1/admin/subscriptions",
     {"agency": "G16", "name": LONG, "endpoint_url": "https://127.0.0.1:9/nhan"},
     "name", "Tên: Không được dài quá 300 ký tự"),
    ("unknown auth method", "/console/clients",
     {"agency": "G16", "name": "Hệ thống", "scopes": ["records:read"], "auth_method": "magic"},
     "/v1/admin/clients",
     {"agency": "G16", "name": "Hệ thống", "scopes": ["records:read"], "auth_method": "magic"},
     "auth_method", "Phương thức xác thực: Phải là một trong các giá trị"),
    ("key name too long", "/console/clients/{client_id}/keys", {"name": LONG},
     "/v1/admin/api-keys", {"client_id": "{client_id}", "name": LONG},
     "name", "Tên key: Không được dài quá 300 ký tự"),
    ("unknown key scope", "/console/clients/{client_id}/keys",
     {"name": "Đồng bộ", "scopes": ["records:everything"]},
     "/v1/admin/api-keys",
     {"client_id": "{client_id}", "name": "Đồng bộ", "scopes": ["records:everything"]},
     "scopes", "Quyền (scope): Phải là một trong các giá trị"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_the_console_refuses_what_the_admin_api_refuses(
    hub: Hub, client: httpx.AsyncClient, case: tuple[Any, ...]
) -> None:
    _, console_path, form, rest_path, body, field, words = case
    made = await create_client(hub, agency="G16", name="Hệ thống G16")
    cid = made.client.client_id

    def fill(value: Any) -> Any:
        return value.replace("{client_id}", cid) if isinstance(value, str) else value

    rest = await client.post(fill(rest_path), headers=await _bearer(hub),
                             json={k: fill(v) for k, v in body.items()})
    assert rest.status_code == 400, rest.text
    assert field in _fields(rest.json()), rest.text

    await sign_in(client, await new_admin(hub))
    token = await csrf(client, "/console/clients")
    answer = await client.post(fill(console_path), data={"csrf_token": token, **form})
    assert answer.status_code == 400, answer.text[-500:]
    assert words in answer.text, answer.text[-1500:]


async def test_the_password_reset_refuses_what_the_api_refuses(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    colleague = await new_admin(hub)
    rest = await client.post(f"/v1/admin/users/{colleague}/password",
                             headers=await _bearer(hub), json={"password": "ngan"})
    assert rest.status_code == 400 and "password" in _fields(rest.json()), rest.text
    await sign_in(client, await new_admin(hub))
    token = await csrf(client, "/console/users")
    answer = await client.post(f"/console/users/{colleague}/password",
                               data={"csrf_token": token, "password": "ngan"})
    assert answer.status_code == 400
    assert "Mật khẩu mới: Phải có ít nhất 12 ký tự" in answer.text


async def test_valid_forms_still_create_with_the_bodies_cleaning(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    """Valid input is taken as before: text stripped and in NFC, empty optional fields left
    to the body's defaults; control characters refused as a form error."""
    await sign_in(client, await new_admin(hub))
    token = await csrf(client, "/console/users")
    username = unique("moi")
    made = await client.post("/console/users", data={
        "csrf_token": token, "username": f"  {username} ", "role": "agency_admin",
        "agency": "G16", "display_name": "", "password": PASSWORD})
    assert made.status_code == 303, made.text[-800:]
    info = await get_admin(hub, username)
    assert info is not None and info.agency == "G16" and info.has_password
    control = await client.post("/console/clients", data={
        "csrf_token": token, "agency": "G16", "name": "a\x07b", "scopes": ["records:read"]})
    assert control.status_code == 400 and "Không được nhập ký tự điều khiển" in control.text
    empty = await client.post("/console/clients", data={
        "csrf_token": token, "agency": "G16", "name": "  ", "scopes": ["records:read"]})
    assert empty.status_code == 400 and "Hãy nhập tên." in empty.text
    none = await client.post("/console/clients", data={
        "csrf_token": token, "agency": "G16", "name": "Hệ thống"})
    assert none.status_code == 400 and "Hãy chọn ít nhất một quyền hợp lệ" in none.text
