"""Permissions of each role, and API tokens: issued, used and revoked."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from tests.support import TenantHandle, make_tenant
from tillbook.tenancy.accounts import create_api_token

PASSWORD = "member password 1"


def add_member(tenant: TenantHandle, role: str) -> tuple[str, dict[str, str]]:
    """Add an account with ``role`` as the owner and return its id and token headers."""
    response = tenant.post(
        "/accounts",
        {
            "email": f"{role}-{secrets.token_hex(4)}@example.com",
            "name": role.replace("_", " ").title(),
            "role": role,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    account_id = response.json()["id"]

    async def issue() -> str:
        token, _ = await create_api_token(tenant.scope, uuid.UUID(account_id), "t")
        return token

    return account_id, {"Authorization": f"Bearer {tenant.run(issue)}"}


def call(tenant: TenantHandle, method: str, path: str, headers: dict, **kw: Any):
    return tenant.client.request(method, tenant.api(path), headers=headers, **kw)


def test_front_desk_reads_but_cannot_write_catalog(client) -> None:
    tenant = make_tenant(client)
    _, desk = add_member(tenant, "front_desk")
    service = tenant.post(
        "/catalog/services", {"name": "Cut", "duration_minutes": 30, "price": 2500}
    ).json()

    assert call(tenant, "GET", "/catalog/services", desk).status_code == 200
    assert call(tenant, "GET", "/catalog/products", desk).status_code == 200
    writes = [
        ("POST", "/catalog/services", {"name": "X"}),
        ("PATCH", f"/catalog/services/{service['id']}", {"price": 1}),
        ("POST", "/catalog/products", {"name": "X", "price": 1}),
        ("POST", "/catalog/package-plans", {"name": "X"}),
    ]
    for method, path, body in writes:
        response = call(tenant, method, path, desk, json=body)
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "forbidden"
    unchanged = tenant.get(f"/catalog/services/{service['id']}").json()
    assert unchanged["price"] == 2500


def test_provider_cannot_manage_accounts(client) -> None:
    tenant = make_tenant(client)
    _, provider = add_member(tenant, "provider")
    body = {
        "email": "new@example.com",
        "name": "New",
        "role": "front_desk",
        "password": PASSWORD,
    }

    assert call(tenant, "POST", "/accounts", provider, json=body).status_code == 403
    assert call(tenant, "GET", "/accounts", provider).status_code == 403
    assert call(tenant, "GET", "/settings", provider).status_code == 403
    assert call(tenant, "GET", "/clients", provider).status_code == 200


def test_manager_adds_desk_and_provider_only(client) -> None:
    tenant = make_tenant(client)
    _, manager = add_member(tenant, "manager")

    for role, expected in (
        ("front_desk", 201),
        ("provider", 201),
        ("manager", 403),
        ("owner", 403),
    ):
        body = {
            "email": f"{role}-{secrets.token_hex(3)}@example.com",
            "name": role,
            "role": role,
            "password": PASSWORD,
        }
        response = call(tenant, "POST", "/accounts", manager, json=body)
        assert response.status_code == expected, role
    roles = sorted(account["role"] for account in tenant.get("/accounts").json())
    assert roles == ["front_desk", "manager", "owner", "provider"]


def test_manager_cannot_touch_owner_or_promote(client) -> None:
    tenant = make_tenant(client)
    _, manager = add_member(tenant, "manager")
    desk_id, _ = add_member(tenant, "front_desk")
    owner = str(tenant.owner_id)

    demote = call(
        tenant, "PATCH", f"/accounts/{owner}", manager, json={"role": "provider"}
    )
    remove = call(tenant, "DELETE", f"/accounts/{owner}", manager)
    promote = call(
        tenant, "PATCH", f"/accounts/{desk_id}", manager, json={"role": "manager"}
    )
    change = call(
        tenant, "PATCH", f"/accounts/{desk_id}", manager, json={"role": "provider"}
    )

    assert demote.status_code == 403
    assert remove.status_code == 403
    assert promote.status_code == 403
    assert change.status_code == 200
    assert change.json()["role"] == "provider"


def test_owner_may_create_manager_and_owner(client) -> None:
    tenant = make_tenant(client)
    manager_id, _ = add_member(tenant, "manager")
    second_owner_id, _ = add_member(tenant, "owner")
    roles = {
        account["id"]: account["role"] for account in tenant.get("/accounts").json()
    }

    assert roles[manager_id] == "manager"
    assert roles[second_owner_id] == "owner"


def test_last_owner_stays(client) -> None:
    tenant = make_tenant(client)
    owner = str(tenant.owner_id)

    remove = tenant.delete(f"/accounts/{owner}")
    demote = tenant.patch(f"/accounts/{owner}", {"role": "manager"})

    assert remove.status_code == 409
    assert demote.status_code == 422
    assert "role" in demote.json()["errors"]
    second_owner, second = add_member(tenant, "owner")
    assert tenant.patch(f"/accounts/{owner}", {"role": "manager"}).status_code == 200
    alone = call(tenant, "DELETE", f"/accounts/{second_owner}", second)
    assert alone.status_code == 409


def test_api_token_works_until_revoked(client) -> None:
    tenant = make_tenant(client)
    created = tenant.post("/tokens", {"name": "Website"})

    assert created.status_code == 201
    token = created.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(tenant.api("/clients"), headers=headers).status_code == 200
    listed = tenant.get("/tokens").json()
    assert all("token" not in item for item in listed)
    assert token not in str(listed)

    revoke = tenant.delete(f"/tokens/{created.json()['id']}")
    assert revoke.status_code == 204
    after = client.get(tenant.api("/clients"), headers=headers)
    assert after.status_code == 401
    assert after.json()["code"] == "not_authenticated"
    assert tenant.delete(f"/tokens/{created.json()['id']}").status_code == 404


def test_token_of_one_tenant_fails_in_another(client) -> None:
    tenant = make_tenant(client)
    other = make_tenant(client)

    response = client.get(other.api("/clients"), headers=tenant.headers)

    assert response.status_code == 401


def test_members_see_and_revoke_only_own_tokens(client) -> None:
    tenant = make_tenant(client)
    desk_id, desk = add_member(tenant, "front_desk")
    own = call(tenant, "POST", "/tokens", desk, json={"name": "Tablet"}).json()
    owner_token = tenant.post("/tokens", {"name": "Owner laptop"}).json()

    listed = call(tenant, "GET", "/tokens", desk).json()
    assert {item["account_id"] for item in listed} == {desk_id}
    refused = call(tenant, "DELETE", f"/tokens/{owner_token['id']}", desk)
    assert refused.status_code == 404
    assert call(tenant, "DELETE", f"/tokens/{own['id']}", desk).status_code == 204
    everyone = {item["account_id"] for item in tenant.get("/tokens").json()}
    assert str(tenant.owner_id) in everyone


def test_removed_member_token_stops_working(client) -> None:
    tenant = make_tenant(client)
    desk_id, desk = add_member(tenant, "front_desk")
    assert call(tenant, "GET", "/clients", desk).status_code == 200

    assert tenant.delete(f"/accounts/{desk_id}").status_code == 204
    assert call(tenant, "GET", "/clients", desk).status_code == 401


def test_settings_page_for_managers_only(client) -> None:
    tenant = make_tenant(client)
    _, desk = add_member(tenant, "front_desk")
    _, manager = add_member(tenant, "manager")

    denied = client.get(tenant.page("/staff/settings"), headers=desk)
    allowed = client.get(tenant.page("/staff/settings"), headers=manager)

    assert denied.status_code == 403
    assert allowed.status_code == 200
    assert 'id="add-account-form"' in allowed.text
