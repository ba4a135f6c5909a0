"""Services, products, stock and package plans through the API and the pages."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

import pytest
from asyncpg.exceptions import UniqueViolationError

from tests.support import TenantHandle, make_tenant
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.catalog.tables import PackagePlan, Product, Service
from tillbook.kernel.events.tables import OutboxEvent
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.accounts import create_api_token


def insert_staff(tenant: TenantHandle, name: str) -> str:
    async def insert() -> str:
        row = Staff(name=name)
        await tenant.scope.insert(row)
        return str(row.id)

    return str(tenant.run(insert))


def count(tenant: TenantHandle, table: Any) -> int:
    async def rows() -> int:
        return int(await tenant.scope.count(table))

    return int(tenant.run(rows))


def make_product(tenant: TenantHandle, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Lavender oil", "price": 1800, "stock": 10}
    body.update(overrides)
    response = tenant.post("/catalog/products", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def make_service(tenant: TenantHandle, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Signature Facial", "duration_minutes": 60, "price": 6500}
    body.update(overrides)
    response = tenant.post("/catalog/services", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


# Services.


def test_service_created_with_links(client) -> None:
    tenant = make_tenant(client)
    provider = insert_staff(tenant, "Ana Aesthetician")
    oil = make_product(tenant)
    serum = make_product(tenant, name="Serum", sku="SER-1")
    service = make_service(
        tenant,
        category="Facials",
        description="Our signature treatment.",
        tax_rate="20.000",
        rebook_interval_days=28,
        provider_ids=[provider],
        consumes=[{"product_id": oil["id"], "quantity": 2}],
        recommends=[serum["id"]],
    )

    assert service["tax_rate"] == "20"
    assert service["currency"] == "GBP"
    assert service["provider_ids"] == [provider]
    assert service["consumes"] == [{"product_id": oil["id"], "quantity": 2}]
    assert service["recommends"] == [serum["id"]]
    assert tenant.get(f"/catalog/services/{service['id']}").json() == service
    listed = tenant.get("/catalog/services").json()
    assert [item["id"] for item in listed] == [service["id"]]


def test_service_update_replaces_links(client) -> None:
    tenant = make_tenant(client)
    first = insert_staff(tenant, "First")
    second = insert_staff(tenant, "Second")
    oil = make_product(tenant)
    service = make_service(
        tenant,
        provider_ids=[first],
        consumes=[{"product_id": oil["id"], "quantity": 1}],
    )
    response = tenant.patch(
        f"/catalog/services/{service['id']}",
        {"provider_ids": [second], "price": 7000, "active": False},
    )

    assert response.status_code == 200
    updated = response.json()
    assert updated["provider_ids"] == [second]
    assert updated["consumes"] == service["consumes"]
    assert updated["price"] == 7000
    assert updated["active"] is False
    active = tenant.get("/catalog/services?active=true").json()
    assert active == []
    cleared = tenant.patch(f"/catalog/services/{service['id']}", {"consumes": []})
    assert cleared.json()["consumes"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", None),
        ("name", "x" * 201),
        ("duration_minutes", 4),
        ("duration_minutes", 721),
        ("duration_minutes", "60"),
        ("price", -1),
        ("price", "65.00"),
        ("price", 65.5),
        ("price", True),
        ("tax_rate", "101"),
        ("tax_rate", "-1"),
        ("tax_rate", "8.8755"),
        ("tax_rate", "twenty"),
        ("rebook_interval_days", 0),
        ("active", "yes"),
        ("provider_ids", "all"),
        ("provider_ids", ["nope"]),
        ("consumes", [{"product_id": "nope"}]),
        ("consumes", [{"product": "x"}]),
        ("recommends", [str(uuid.uuid4())]),
        ("colour", "blue"),
    ],
)
def test_service_bad_field_creates_nothing(client, field: str, value: Any) -> None:
    tenant = make_tenant(client)
    body: dict[str, Any] = {"name": "Facial", "duration_minutes": 60, "price": 6500}
    body[field] = value
    response = tenant.post("/catalog/services", body)

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert count(tenant, Service) == 0


def test_service_links_of_other_tenant_are_rejected(client) -> None:
    tenant = make_tenant(client)
    other = make_tenant(client)
    foreign_staff = insert_staff(other, "Elsewhere")
    foreign_product = make_product(other)
    body = {
        "name": "Facial",
        "duration_minutes": 60,
        "price": 6500,
        "provider_ids": [foreign_staff],
        "consumes": [{"product_id": foreign_product["id"], "quantity": 1}],
        "recommends": [foreign_product["id"]],
    }
    response = tenant.post("/catalog/services", body)

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"provider_ids", "consumes", "recommends"}
    assert count(tenant, Service) == 0


def test_service_bad_patch_changes_nothing(client) -> None:
    tenant = make_tenant(client)
    service = make_service(tenant)
    response = tenant.patch(
        f"/catalog/services/{service['id']}",
        {"price": 100, "provider_ids": [str(uuid.uuid4())]},
    )

    assert response.status_code == 422
    assert "provider_ids" in response.json()["errors"]
    assert tenant.get(f"/catalog/services/{service['id']}").json() == service


def test_unknown_catalog_ids_are_404(client) -> None:
    tenant = make_tenant(client)
    missing = uuid.uuid4()

    assert tenant.get(f"/catalog/services/{missing}").status_code == 404
    assert tenant.patch(f"/catalog/products/{missing}", {}).status_code == 404
    assert tenant.get(f"/catalog/package-plans/{missing}").status_code == 404


# Products and stock.


def test_product_created_and_updated(client) -> None:
    tenant = make_tenant(client, currency="KWD")
    product = make_product(
        tenant, sku="OIL-1", price=2500, low_stock_threshold=3, retail=False
    )

    assert product["currency"] == "KWD"
    assert product["retail"] is False
    assert product["low_stock"] is False
    updated = tenant.patch(
        f"/catalog/products/{product['id']}", {"name": "Rose oil", "tax_rate": 5}
    ).json()
    assert updated["name"] == "Rose oil"
    assert updated["tax_rate"] == "5"
    assert updated["stock"] == 10


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("price", -5),
        ("price", None),
        ("stock", -1),
        ("stock", "10"),
        ("low_stock_threshold", -1),
        ("tax_rate", "100.5"),
        ("retail", 1),
        ("sku", "x" * 65),
        ("barcode", "123"),
    ],
)
def test_product_bad_field_creates_nothing(client, field: str, value: Any) -> None:
    tenant = make_tenant(client)
    body: dict[str, Any] = {"name": "Oil", "price": 1800}
    if value is None:
        del body[field]
    else:
        body[field] = value
    response = tenant.post("/catalog/products", body)

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert count(tenant, Product) == 0


def test_sku_unique_within_tenant_only(client) -> None:
    tenant = make_tenant(client)
    other = make_tenant(client)
    first = make_product(tenant, sku="OIL-1")
    make_product(tenant, sku="")
    make_product(tenant, sku="")

    duplicate = tenant.post(
        "/catalog/products", {"name": "Other", "price": 1, "sku": "OIL-1"}
    )
    assert duplicate.status_code == 422
    assert "sku" in duplicate.json()["errors"]
    assert make_product(other, sku="OIL-1")["sku"] == "OIL-1"
    second = make_product(tenant, sku="OIL-2")
    clash = tenant.patch(f"/catalog/products/{second['id']}", {"sku": "OIL-1"})
    assert clash.status_code == 422
    same = tenant.patch(f"/catalog/products/{first['id']}", {"sku": "OIL-1"})
    assert same.status_code == 200


def test_sku_index_rejects_duplicate_rows(client) -> None:
    tenant = make_tenant(client)

    async def insert_twice() -> None:
        await tenant.scope.insert(Product(name="One", price=1, sku="DUP-1"))
        await tenant.scope.insert(Product(name="Two", price=1, sku="DUP-1"))

    with pytest.raises((sqlite3.IntegrityError, UniqueViolationError)):
        tenant.run(insert_twice)


def test_product_stock_not_patchable(client) -> None:
    tenant = make_tenant(client)
    product = make_product(tenant)
    response = tenant.patch(f"/catalog/products/{product['id']}", {"stock": 99})

    assert response.status_code == 422
    assert "stock" in response.json()["errors"]


def test_stock_adjustment_is_audited_and_warns(client) -> None:
    tenant = make_tenant(client)
    product = make_product(tenant, stock=5, low_stock_threshold=2)
    path = f"/catalog/products/{product['id']}/stock"

    down = tenant.post(path, {"change": -3, "reason": "damaged in delivery"})
    assert down.status_code == 200
    assert down.json()["stock"] == 2
    assert down.json()["low_stock"] is True
    counted = tenant.post(path, {"count": 12, "reason": "stock take"})
    assert counted.json()["stock"] == 12

    async def rows() -> tuple[list[dict], list[dict]]:
        audits = await tenant.scope.select(AuditEntry).where(
            AuditEntry.action == "product.stock_adjusted"
        )
        events = await tenant.scope.select(OutboxEvent).where(
            OutboxEvent.name == "stock.low"
        )
        return audits, events

    audits, events = tenant.run(rows)
    assert len(audits) == 2
    afters = [
        json.loads(a["after"]) if isinstance(a["after"], str) else a["after"]
        for a in audits
    ]
    assert {"stock": 2, "reason": "damaged in delivery"} in afters
    assert len(events) == 1
    payload = events[0]["payload"]
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert payload["product_id"] == product["id"]
    assert payload["stock"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"change": -11, "reason": "lost"}, "change"),
        ({"change": 0, "reason": "none"}, "change"),
        ({"change": "2", "reason": "typed"}, "change"),
        ({"change": 2}, "reason"),
        ({"change": 2, "reason": "  "}, "reason"),
        ({"change": 2, "count": 3, "reason": "both"}, "change"),
        ({"reason": "neither"}, "change"),
        ({"count": -1, "reason": "negative"}, "count"),
        ({"change": 1, "reason": "x", "note": "extra"}, "note"),
    ],
)
def test_bad_stock_adjustment(client, body: dict[str, Any], field: str) -> None:
    tenant = make_tenant(client)
    product = make_product(tenant)
    response = tenant.post(f"/catalog/products/{product['id']}/stock", body)

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert tenant.get(f"/catalog/products/{product['id']}").json()["stock"] == 10


# Package plans.


def test_package_plan_created_and_updated(client) -> None:
    tenant = make_tenant(client)
    service = make_service(tenant)
    response = tenant.post(
        "/catalog/package-plans",
        {
            "name": "Five facials",
            "service_id": service["id"],
            "sessions": 5,
            "price": 29000,
        },
    )

    assert response.status_code == 201
    plan = response.json()
    assert plan["service_name"] == "Signature Facial"
    assert plan["valid_days"] == 365
    updated = tenant.patch(
        f"/catalog/package-plans/{plan['id']}", {"valid_days": 180, "active": False}
    ).json()
    assert updated["valid_days"] == 180
    assert updated["active"] is False
    assert tenant.get("/catalog/package-plans").json() == [updated]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("service_id", "nope"),
        ("service_id", None),
        ("sessions", 0),
        ("price", -1),
        ("valid_days", 0),
        ("valid_days", "365"),
    ],
)
def test_package_plan_bad_field(client, field: str, value: Any) -> None:
    tenant = make_tenant(client)
    service = make_service(tenant)
    body: dict[str, Any] = {
        "name": "Five",
        "service_id": service["id"],
        "sessions": 5,
        "price": 29000,
    }
    if value is None:
        del body[field]
    else:
        body[field] = value
    response = tenant.post("/catalog/package-plans", body)

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert count(tenant, PackagePlan) == 0


def test_package_plan_for_other_tenants_service(client) -> None:
    tenant = make_tenant(client)
    other = make_tenant(client)
    foreign = make_service(other)
    mine = make_service(tenant)
    body = {"name": "Five", "service_id": foreign["id"], "sessions": 5, "price": 1}

    created = tenant.post("/catalog/package-plans", body)
    assert created.status_code == 422
    assert "service_id" in created.json()["errors"]
    plan = tenant.post(
        "/catalog/package-plans", {**body, "service_id": mine["id"]}
    ).json()
    moved = tenant.patch(
        f"/catalog/package-plans/{plan['id']}", {"service_id": foreign["id"]}
    )
    assert moved.status_code == 422


def test_catalog_changes_are_audited(client) -> None:
    tenant = make_tenant(client)
    service = make_service(tenant)
    tenant.patch(f"/catalog/services/{service['id']}", {"price": 7000})

    async def actions() -> list[str]:
        rows = await tenant.scope.select(AuditEntry).order_by(AuditEntry.at)
        return [row["action"] for row in rows]

    assert tenant.run(actions) == ["service.created", "service.updated"]


# Pages.


def page_post(tenant: TenantHandle, path: str, data: dict[str, Any]) -> Any:
    return tenant.client.post(
        tenant.page(path), data=data, headers=tenant.headers, follow_redirects=False
    )


def test_catalog_page_lists_everything(client) -> None:
    tenant = make_tenant(client)
    service = make_service(tenant)
    make_product(tenant, name="Rose serum")
    tenant.post(
        "/catalog/package-plans",
        {
            "name": "Five facials",
            "service_id": service["id"],
            "sessions": 5,
            "price": 29000,
        },
    )
    response = client.get(tenant.page("/staff/catalog"), headers=tenant.headers)

    assert response.status_code == 200
    assert "Signature Facial" in response.text
    assert "£65.00" in response.text
    assert "Rose serum" in response.text
    assert "Five facials" in response.text
    assert 'id="add-service-form"' in response.text


def test_catalog_page_add_forms(client) -> None:
    tenant = make_tenant(client)
    provider = insert_staff(tenant, "Ana")
    product = make_product(tenant)
    added = page_post(
        tenant,
        "/staff/catalog/services",
        {
            "name": "Back massage",
            "category": "Massage",
            "duration_minutes": "45",
            "price": "52.50",
            "tax_rate": "20",
            "active": "on",
            "provider_ids": provider,
            f"consumes-{product['id']}": "2",
            "recommends": product["id"],
        },
    )
    assert added.status_code == 303
    service = tenant.get("/catalog/services").json()[0]
    assert service["price"] == 5250
    assert service["provider_ids"] == [provider]
    assert service["consumes"] == [{"product_id": product["id"], "quantity": 2}]
    assert service["recommends"] == [product["id"]]

    plan = page_post(
        tenant,
        "/staff/catalog/package-plans",
        {
            "name": "Three massages",
            "service_id": service["id"],
            "sessions": "3",
            "price": "140",
            "valid_days": "90",
            "active": "on",
        },
    )
    assert plan.status_code == 303
    assert tenant.get("/catalog/package-plans").json()[0]["price"] == 14000


def test_catalog_page_shows_errors_with_values(client) -> None:
    tenant = make_tenant(client)
    response = page_post(
        tenant,
        "/staff/catalog/services",
        {"name": "Back massage", "duration_minutes": "3", "price": "12.345"},
    )

    assert response.status_code == 422
    assert 'id="error-duration_minutes"' in response.text
    assert 'id="error-price"' in response.text
    assert 'value="Back massage"' in response.text
    assert count(tenant, Service) == 0


def test_product_page_edit_and_stock(client) -> None:
    tenant = make_tenant(client, currency="JPY")
    product = make_product(tenant, price=1800)
    page = client.get(
        tenant.page(f"/staff/catalog/products/{product['id']}"), headers=tenant.headers
    )
    assert page.status_code == 200
    assert 'value="1800"' in page.text

    saved = page_post(
        tenant,
        f"/staff/catalog/products/{product['id']}",
        {"name": "Oil", "price": "2000", "low_stock_threshold": "1", "active": "on"},
    )
    assert saved.status_code == 303
    stock = page_post(
        tenant,
        f"/staff/catalog/products/{product['id']}/stock",
        {"change": "-4", "reason": "used in treatments"},
    )
    assert stock.status_code == 303
    bad_stock = page_post(
        tenant,
        f"/staff/catalog/products/{product['id']}/stock",
        {"change": "-40", "reason": "too many"},
    )
    assert bad_stock.status_code == 422
    assert 'id="error-change"' in bad_stock.text
    current = tenant.get(f"/catalog/products/{product['id']}").json()
    assert current["price"] == 2000
    assert current["retail"] is False
    assert current["stock"] == 6


def test_front_desk_sees_catalog_without_forms(client) -> None:
    tenant = make_tenant(client)
    make_service(tenant)
    desk = tenant.post(
        "/accounts",
        {
            "email": "desk@example.com",
            "name": "Desk",
            "role": "front_desk",
            "password": "desk password 1",
        },
    ).json()

    async def issue() -> str:
        token, _ = await create_api_token(tenant.scope, uuid.UUID(desk["id"]), "t")
        return token

    headers = {"Authorization": f"Bearer {tenant.run(issue)}"}
    page = client.get(tenant.page("/staff/catalog"), headers=headers)
    post = client.post(
        tenant.page("/staff/catalog/services"), data={"name": "X"}, headers=headers
    )

    assert page.status_code == 200
    assert "Signature Facial" in page.text
    assert "add-service-form" not in page.text
    assert post.status_code == 403
