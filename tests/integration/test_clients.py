"""Clients: search, add, profile with history and packages, and edits."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from tests.support import TenantHandle, make_tenant
from tillbook.db.base import utcnow
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.clients.tables import Client


def add_client(tenant: TenantHandle, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Ann", "last_name": "Smith"}
    body.update(fields)
    response = tenant.post("/clients", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def client_count(tenant: TenantHandle) -> int:
    async def rows() -> int:
        return int(await tenant.scope.count(Client))

    return int(tenant.run(rows))


def test_client_created_and_shown(client) -> None:
    tenant = make_tenant(client)
    created = add_client(
        tenant,
        email="Ann.Smith@Example.com",
        phone="+44 20 7946 0000",
        preferences="Lavender scent",
        notes="Sensitive skin",
    )

    assert created["email"] == "ann.smith@example.com"
    assert created["name"] == "Ann Smith"
    profile = tenant.get(f"/clients/{created['id']}").json()
    assert profile["preferences"] == "Lavender scent"
    assert profile["notes"] == "Sensitive skin"
    assert profile["completed_visits"] == 0
    assert profile["stored_card"] is None
    assert profile["packages"] == []
    assert profile["gift_cards"] == []
    assert [entry["kind"] for entry in profile["history"]] == ["client.created"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", ""),
        ("first_name", "x" * 101),
        ("last_name", "x" * 101),
        ("email", "ann@"),
        ("phone", "123"),
        ("phone", 447946),
        ("preferences", "x" * 2001),
        ("notes", "x" * 5001),
        ("birthday", "1990-01-01"),
    ],
)
def test_bad_client_field_creates_nothing(client, field: str, value: Any) -> None:
    tenant = make_tenant(client)
    body: dict[str, Any] = {"first_name": "Ann", "last_name": "Smith"}
    body[field] = value
    response = tenant.post("/clients", body)

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert client_count(tenant) == 0


def test_duplicate_email_is_rejected(client) -> None:
    tenant = make_tenant(client)
    add_client(tenant, email="ann@example.com")
    response = tenant.post(
        "/clients", {"first_name": "Annie", "email": "ANN@example.com"}
    )

    assert response.status_code == 422
    assert "Ann Smith" in response.json()["errors"]["email"]


def test_search_by_name_email_and_phone(client) -> None:
    tenant = make_tenant(client)
    ann = add_client(tenant, email="ann@example.com", phone="07700 900123")
    bob = add_client(
        tenant, first_name="Bob", last_name="Annand", email="bob@example.org"
    )
    add_client(tenant, first_name="Cara", last_name="Jones", phone="01632 960000")

    def ids(q: str) -> list[str]:
        result = tenant.get("/clients", params={"q": q}).json()
        return [item["id"] for item in result["items"]]

    assert ids("ann") == [bob["id"], ann["id"]]
    assert ids("ANN SMI") == [ann["id"]]
    assert ids("example.org") == [bob["id"]]
    assert ids("900123") == [ann["id"]]
    assert ids("nobody") == []
    assert len(ids("")) == 3


def test_search_pages_with_total(client) -> None:
    tenant = make_tenant(client)
    for index in range(5):
        add_client(tenant, first_name=f"Client{index}", last_name=f"L{index}")

    first = tenant.get("/clients", params={"limit": 2}).json()
    last = tenant.get("/clients", params={"limit": 2, "offset": 4}).json()

    assert first["total"] == 5
    assert len(first["items"]) == 2
    assert [item["last_name"] for item in first["items"]] == ["L0", "L1"]
    assert [item["last_name"] for item in last["items"]] == ["L4"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 500}, "limit"), ({"offset": -1}, "offset")],
)
def test_search_bad_paging(client, params: dict[str, int], field: str) -> None:
    tenant = make_tenant(client)
    response = tenant.get("/clients", params=params)

    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_search_never_shows_other_tenants(client) -> None:
    tenant = make_tenant(client)
    other = make_tenant(client)
    add_client(other, first_name="Hidden", email="hidden@example.com")

    result = tenant.get("/clients", params={"q": "hidden"}).json()

    assert result == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_update_adds_history_and_audit(client) -> None:
    tenant = make_tenant(client)
    created = add_client(tenant)
    response = tenant.patch(
        f"/clients/{created['id']}",
        {"preferences": "Lavender, please", "notes": "Prefers mornings"},
    )

    assert response.status_code == 200
    profile = response.json()
    assert profile["preferences"] == "Lavender, please"
    assert profile["history"][0]["kind"] == "client.updated"
    assert "preferences" in profile["history"][0]["summary"]

    async def audits() -> list[dict[str, Any]]:
        return await tenant.scope.select(AuditEntry).where(
            AuditEntry.action == "client.updated"
        )

    rows = tenant.run(audits)
    assert len(rows) == 1
    before = rows[0]["before"]
    before = json.loads(before) if isinstance(before, str) else before
    after = rows[0]["after"]
    after = json.loads(after) if isinstance(after, str) else after
    assert before == {"notes": "", "preferences": ""}
    assert after == {"notes": "Prefers mornings", "preferences": "Lavender, please"}


def test_update_without_change_adds_nothing(client) -> None:
    tenant = make_tenant(client)
    created = add_client(tenant, notes="Same")
    profile = tenant.patch(f"/clients/{created['id']}", {"notes": "Same"}).json()

    assert [entry["kind"] for entry in profile["history"]] == ["client.created"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"first_name": ""}, "first_name"),
        ({"email": "bad"}, "email"),
        ({"notes": ["list"]}, "notes"),
        ({"completed_visits": 10}, "completed_visits"),
    ],
)
def test_bad_update_changes_nothing(client, changes: dict, field: str) -> None:
    tenant = make_tenant(client)
    created = add_client(tenant, notes="Original")
    before = tenant.get(f"/clients/{created['id']}").json()
    response = tenant.patch(f"/clients/{created['id']}", changes)

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert tenant.get(f"/clients/{created['id']}").json() == before


def test_update_to_taken_email(client) -> None:
    tenant = make_tenant(client)
    add_client(tenant, email="ann@example.com")
    other = add_client(tenant, first_name="Bea", email="bea@example.com")
    response = tenant.patch(f"/clients/{other['id']}", {"email": "ann@example.com"})

    assert response.status_code == 422
    assert "email" in response.json()["errors"]


def test_profile_shows_packages_cards_and_timeline(client) -> None:
    tenant = make_tenant(client, time_zone="Asia/Tokyo", currency="JPY")
    created = add_client(tenant)
    client_id = uuid.UUID(created["id"])
    service = tenant.post(
        "/catalog/services", {"name": "Facial", "duration_minutes": 60, "price": 9000}
    ).json()
    plan = tenant.post(
        "/catalog/package-plans",
        {
            "name": "Five facials",
            "service_id": service["id"],
            "sessions": 5,
            "price": 40000,
        },
    ).json()

    async def seed() -> None:
        scope = tenant.scope
        now = utcnow()
        await scope.insert(
            ClientPackage(
                client_id=client_id,
                plan_id=uuid.UUID(plan["id"]),
                service_id=uuid.UUID(service["id"]),
                sessions_total=5,
                sessions_left=3,
                unit_value=8000,
                expires_at=now + dt.timedelta(days=300),
                sold_at=now,
            )
        )
        await scope.insert(
            GiftCard(
                code="GIFTABCD1234",
                initial_amount=10000,
                balance=2500,
                client_id=client_id,
                issued_at=now,
            )
        )
        await scope.update(Client, {Client.payment_method_label: "Visa 4242"}).where(
            Client.id == client_id
        )
        await add_history(scope, client_id, "ticket.closed", "Paid ¥9,000")

    tenant.run(seed)
    profile = tenant.get(f"/clients/{created['id']}").json()

    package = profile["packages"][0]
    assert package["plan_name"] == "Five facials"
    assert package["service_name"] == "Facial"
    assert package["sessions_left"] == 3
    assert package["expired"] is False
    card = profile["gift_cards"][0]
    assert card["code_hint"] == "…1234"
    assert "GIFTABCD1234" not in json.dumps(profile)
    assert card["balance"] == 2500
    assert profile["stored_card"] == "Visa 4242"
    kinds = [entry["kind"] for entry in profile["history"]]
    assert kinds == ["ticket.closed", "client.created"]
    newest = profile["history"][0]["at"]
    utc = dt.datetime.fromisoformat(newest["utc"])
    assert newest["local"] == utc.astimezone(
        dt.timezone(dt.timedelta(hours=9))
    ).strftime("%d %b %Y %H:%M")


def test_unknown_client_is_404(client) -> None:
    tenant = make_tenant(client)
    missing = uuid.uuid4()

    assert tenant.get(f"/clients/{missing}").status_code == 404
    assert tenant.patch(f"/clients/{missing}", {"notes": "x"}).status_code == 404


# Pages.


def page_post(tenant: TenantHandle, path: str, data: dict[str, str]) -> Any:
    return tenant.client.post(
        tenant.page(path), data=data, headers=tenant.headers, follow_redirects=False
    )


def test_clients_page_searches(client) -> None:
    tenant = make_tenant(client)
    add_client(tenant, email="ann@example.com")
    add_client(tenant, first_name="Bob", last_name="Jones")

    everyone = client.get(tenant.page("/staff/clients"), headers=tenant.headers)
    found = client.get(
        tenant.page("/staff/clients"), params={"q": "jones"}, headers=tenant.headers
    )

    assert everyone.status_code == 200
    assert "Ann Smith" in everyone.text
    assert "Bob Jones" in everyone.text
    assert "Bob Jones" in found.text
    assert "Ann Smith" not in found.text


def test_clients_page_adds_client(client) -> None:
    tenant = make_tenant(client)
    response = page_post(
        tenant,
        "/staff/clients",
        {"first_name": "Dana", "last_name": "Lee", "email": "dana@example.com"},
    )

    assert response.status_code == 303
    profile = client.get(response.headers["location"], headers=tenant.headers)
    assert profile.status_code == 200
    assert "Dana Lee" in profile.text


def test_clients_page_add_errors(client) -> None:
    tenant = make_tenant(client)
    response = page_post(
        tenant, "/staff/clients", {"first_name": "", "email": "dana@", "phone": "1"}
    )

    assert response.status_code == 422
    assert 'id="error-first_name"' in response.text
    assert 'id="error-email"' in response.text
    assert 'id="error-phone"' in response.text
    assert 'value="dana@"' in response.text
    assert client_count(tenant) == 0


def test_profile_page_edits_preferences(client) -> None:
    tenant = make_tenant(client)
    created = add_client(tenant)
    path = f"/staff/clients/{created['id']}"
    saved = page_post(
        tenant,
        path,
        {
            "first_name": "Ann",
            "last_name": "Smith",
            "email": "",
            "phone": "",
            "preferences": "Lavender scent",
            "notes": "Allergic to nuts",
        },
    )

    assert saved.status_code == 303
    page = client.get(saved.headers["location"], headers=tenant.headers)
    assert "Client saved." in page.text
    assert "Lavender scent" in page.text
    assert 'id="timeline"' in page.text
    assert "Updated notes, preferences" in page.text
    rejected = page_post(tenant, path, {"first_name": "", "notes": "kept"})
    assert rejected.status_code == 422
    assert 'id="error-first_name"' in rejected.text
