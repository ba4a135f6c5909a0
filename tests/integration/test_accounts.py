"""Staff accounts of a business: adding, linking to staff, changing, removing."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from tests.support import OWNER_PASSWORD, TenantHandle, make_tenant
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.tables import Membership

PASSWORD = "member password 1"


def account_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "email": f"member-{secrets.token_hex(4)}@example.com",
        "name": "Fran Desk",
        "role": "front_desk",
        "password": PASSWORD,
    }
    body.update(overrides)
    return body


def insert_staff(tenant: TenantHandle, name: str = "Sam Stylist") -> str:
    async def insert() -> str:
        row = Staff(name=name)
        await tenant.scope.insert(row)
        return str(row.id)

    return str(tenant.run(insert))


def membership_count(tenant: TenantHandle) -> int:
    async def count() -> int:
        return int(await tenant.scope.count(Membership))

    return int(tenant.run(count))


def audit_actions(tenant: TenantHandle) -> list[dict[str, Any]]:
    async def rows() -> list[dict[str, Any]]:
        return await tenant.scope.select(AuditEntry).order_by(AuditEntry.at)

    return list(tenant.run(rows))


def test_owner_adds_and_lists_account(client) -> None:
    tenant = make_tenant(client)
    body = account_body(email="Fran.Desk@Example.com")
    response = tenant.post("/accounts", body)

    assert response.status_code == 201
    created = response.json()
    assert created["email"] == "fran.desk@example.com"
    assert created["role"] == "front_desk"
    assert created["staff_id"] is None
    listed = tenant.get("/accounts").json()
    assert [account["role"] for account in listed] == ["owner", "front_desk"]
    signin = client.post(
        tenant.api("/session"),
        json={"email": "fran.desk@example.com", "password": PASSWORD},
    )
    assert signin.status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", ""),
        ("name", ""),
        ("name", "x" * 201),
        ("role", "boss"),
        ("role", None),
        ("password", "short"),
        ("password", None),
        ("staff_id", "not-an-id"),
        ("nickname", "Fran"),
    ],
)
def test_bad_account_field_is_named(client, field: str, value: Any) -> None:
    tenant = make_tenant(client)
    body = account_body()
    if value is None:
        del body[field]
    else:
        body[field] = value
    response = tenant.post("/accounts", body)

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert membership_count(tenant) == 1


def test_existing_account_joins_with_its_password(client) -> None:
    first = make_tenant(client)
    second = make_tenant(client)
    body = account_body(email=first.owner_email, password=OWNER_PASSWORD)
    response = second.post("/accounts", body)

    assert response.status_code == 201
    assert response.json()["id"] == str(first.owner_id)
    assert response.json()["name"] == "Olivia Owner"


def test_existing_account_wrong_password(client) -> None:
    first = make_tenant(client)
    second = make_tenant(client)
    response = second.post("/accounts", account_body(email=first.owner_email))

    assert response.status_code == 422
    assert "password" in response.json()["errors"]["email"]
    assert membership_count(second) == 1


def test_wrong_passwords_for_existing_account_are_limited(client) -> None:
    first = make_tenant(client)
    second = make_tenant(client)
    for _ in range(5):
        guess = second.post("/accounts", account_body(email=first.owner_email))
        assert guess.status_code == 422
    blocked = second.post(
        "/accounts", account_body(email=first.owner_email, password=OWNER_PASSWORD)
    )

    assert blocked.status_code == 429
    assert membership_count(second) == 1


def test_member_cannot_be_added_twice(client) -> None:
    tenant = make_tenant(client)
    response = tenant.post(
        "/accounts", account_body(email=tenant.owner_email, password=OWNER_PASSWORD)
    )

    assert response.status_code == 422
    assert "already" in response.json()["errors"]["email"]


def test_account_links_staff_member(client) -> None:
    tenant = make_tenant(client)
    staff_id = insert_staff(tenant)
    created = tenant.post("/accounts", account_body(staff_id=staff_id)).json()

    assert created["staff_id"] == staff_id
    again = tenant.post("/accounts", account_body(staff_id=staff_id))
    assert again.status_code == 422
    assert "staff_id" in again.json()["errors"]
    unlinked = tenant.patch(f"/accounts/{created['id']}", {"staff_id": None})
    assert unlinked.json()["staff_id"] is None
    relinked = tenant.patch(f"/accounts/{created['id']}", {"staff_id": staff_id})
    assert relinked.json()["staff_id"] == staff_id
    session = client.post(
        tenant.api("/session"), json={"email": created["email"], "password": PASSWORD}
    )
    assert session.json()["staff_id"] == staff_id


def test_staff_of_other_tenant_cannot_be_linked(client) -> None:
    tenant = make_tenant(client)
    other = make_tenant(client)
    foreign_staff = insert_staff(other)

    created = tenant.post("/accounts", account_body(staff_id=foreign_staff))
    assert created.status_code == 422
    assert "staff_id" in created.json()["errors"]
    member = tenant.post("/accounts", account_body()).json()
    patched = tenant.patch(f"/accounts/{member['id']}", {"staff_id": foreign_staff})
    assert patched.status_code == 422
    assert "staff_id" in patched.json()["errors"]


def test_patch_rejects_unknown_field_and_role(client) -> None:
    tenant = make_tenant(client)
    member = tenant.post("/accounts", account_body()).json()

    unknown = tenant.patch(f"/accounts/{member['id']}", {"email": "x@example.com"})
    bad_role = tenant.patch(f"/accounts/{member['id']}", {"role": "captain"})

    assert unknown.status_code == 422
    assert "email" in unknown.json()["errors"]
    assert bad_role.status_code == 422
    assert "role" in bad_role.json()["errors"]


def test_unknown_account_is_404(client) -> None:
    tenant = make_tenant(client)
    other = make_tenant(client)

    path = f"/accounts/{other.owner_id}"
    assert tenant.patch(path, {"role": "manager"}).status_code == 404
    assert tenant.delete(path).status_code == 404


def test_removal_keeps_account_for_other_tenants(client) -> None:
    first = make_tenant(client)
    second = make_tenant(client)
    joined = second.post(
        "/accounts", account_body(email=first.owner_email, password=OWNER_PASSWORD)
    ).json()

    assert second.delete(f"/accounts/{joined['id']}").status_code == 204
    assert first.get("/accounts").status_code == 200
    assert str(first.owner_id) not in {a["id"] for a in second.get("/accounts").json()}


def test_account_changes_are_audited(client) -> None:
    tenant = make_tenant(client)
    member = tenant.post("/accounts", account_body()).json()
    tenant.patch(f"/accounts/{member['id']}", {"role": "provider"})
    tenant.delete(f"/accounts/{member['id']}")
    token = tenant.post("/tokens", {"name": "Kiosk"}).json()
    tenant.delete(f"/tokens/{token['id']}")

    entries = audit_actions(tenant)
    actions = [entry["action"] for entry in entries]
    assert actions == [
        "account.added",
        "account.updated",
        "account.removed",
        "api_token.created",
        "api_token.revoked",
    ]
    updated = entries[1]
    before = (
        json.loads(updated["before"])
        if isinstance(updated["before"], str)
        else updated["before"]
    )
    after = (
        json.loads(updated["after"])
        if isinstance(updated["after"], str)
        else updated["after"]
    )
    assert before["role"] == "front_desk"
    assert after["role"] == "provider"
    assert all(entry["actor_id"] == tenant.owner_id for entry in entries)


def test_token_needs_name(client) -> None:
    tenant = make_tenant(client)

    empty = tenant.post("/tokens", {"name": "  "})
    long = tenant.post("/tokens", {"name": "x" * 101})

    assert empty.status_code == 422
    assert "name" in empty.json()["errors"]
    assert long.status_code == 422


def test_settings_page_adds_and_changes_accounts(client) -> None:
    tenant = make_tenant(client)
    email = f"page-{secrets.token_hex(3)}@example.com"
    added = client.post(
        tenant.page("/staff/settings/accounts"),
        data={"name": "Pat", "email": email, "role": "provider", "password": PASSWORD},
        headers=tenant.headers,
        follow_redirects=False,
    )
    assert added.status_code == 303
    member = next(a for a in tenant.get("/accounts").json() if a["email"] == email)

    changed = client.post(
        tenant.page(f"/staff/settings/accounts/{member['id']}"),
        data={"role": "front_desk", "staff_id": ""},
        headers=tenant.headers,
        follow_redirects=False,
    )
    assert changed.status_code == 303
    removed = client.post(
        tenant.page(f"/staff/settings/accounts/{member['id']}/remove"),
        headers=tenant.headers,
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert email not in {a["email"] for a in tenant.get("/accounts").json()}


def test_settings_page_shows_account_errors(client) -> None:
    tenant = make_tenant(client)
    response = client.post(
        tenant.page("/staff/settings/accounts"),
        data={"name": "Pat", "email": "nope", "role": "provider", "password": "x"},
        headers=tenant.headers,
    )

    assert response.status_code == 422
    assert 'id="error-email"' in response.text
    assert 'id="error-password"' in response.text
    assert 'value="nope"' in response.text


def test_settings_page_last_owner_message(client) -> None:
    tenant = make_tenant(client)
    response = client.post(
        tenant.page(f"/staff/settings/accounts/{tenant.owner_id}/remove"),
        headers=tenant.headers,
    )

    assert response.status_code == 409
    assert "last owner" in response.text


def test_settings_page_token_shown_once(client) -> None:
    tenant = make_tenant(client)
    created = client.post(
        tenant.page("/staff/settings/tokens"),
        data={"token_name": "Till"},
        headers=tenant.headers,
    )

    assert created.status_code == 201
    assert 'id="new-token-value" value="tb_' in created.text
    page = client.get(tenant.page("/staff/settings"), headers=tenant.headers)
    assert "new-token-value" not in page.text
    assert "Till" in page.text
