"""Edge inputs found by trying the product as a user: each gets a clear 4xx."""

from __future__ import annotations

import pytest

from tests.integration.test_booking_setup import seed_spa
from tests.support import make_tenant

FAR_DAYS = ["9999-12-31", "0001-01-01"]
# Full-width digits that str.isdigit() and a plain \d both accept.
FULL_WIDTH_TWELVE = "\uff11\uff12"


@pytest.mark.parametrize("day", FAR_DAYS)
def test_availability_rejects_far_dates(client, day: str) -> None:
    spa = seed_spa(client)
    response = client.get(
        spa.tenant.api("/availability"),
        params={"service_id": spa.facial_id, "date": day},
    )
    assert response.status_code == 422
    assert "date" in response.json()["errors"]


@pytest.mark.parametrize("day", FAR_DAYS)
def test_appointments_list_rejects_far_dates(client, day: str) -> None:
    tenant = make_tenant(client)
    response = tenant.get("/appointments", params={"date": day})
    assert response.status_code == 422
    assert "date" in response.json()["errors"]


@pytest.mark.parametrize("day", FAR_DAYS)
def test_daily_report_rejects_far_dates(client, day: str) -> None:
    tenant = make_tenant(client)
    for path in ("/reports/daily", "/reports/daily.csv"):
        response = tenant.get(path, params={"date": day})
        assert response.status_code == 422, path
        assert "date" in response.json()["errors"]


@pytest.mark.parametrize("day", FAR_DAYS)
def test_calendar_page_rejects_far_dates(client, day: str) -> None:
    tenant = make_tenant(client)
    response = client.get(
        tenant.page("/staff/calendar"),
        params={"date": day},
        headers={**tenant.headers, "Accept": "text/html"},
    )
    assert response.status_code in (200, 422)
    assert "1900" in response.text


@pytest.mark.parametrize("price", ["12,50", "1e9", "1_000", FULL_WIDTH_TWELVE, "-0"])
def test_catalog_form_rejects_ambiguous_prices(client, price: str) -> None:
    tenant = make_tenant(client)
    response = client.post(
        tenant.page("/staff/catalog/services"),
        data={
            "name": "Trim",
            "category": "Hair",
            "duration_minutes": "45",
            "tax_rate": "20",
            "price": price,
        },
        headers={**tenant.headers, "Accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    listing = tenant.get("/catalog/services")
    assert listing.json() == [] or listing.json().get("services") == []


def test_walk_in_close_rejects_tip_without_provider(client) -> None:
    tenant = make_tenant(client)
    ticket = tenant.post("/tickets", json={})
    assert ticket.status_code == 201
    ticket_id = ticket.json()["id"]
    response = client.post(
        tenant.page(f"/staff/tickets/{ticket_id}/close"),
        data={"tip": "-1", "cash_amount": "0", "idempotency_key": "walk-in-tip"},
        headers={**tenant.headers, "Accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "no provider to tip" in response.text
    assert tenant.get(f"/tickets/{ticket_id}").json()["status"] == "open"


def test_catalog_edit_forms_save_and_reject(client) -> None:
    tenant = make_tenant(client)
    product = tenant.post(
        "/catalog/products", json={"name": "Rose Serum", "price": 3800, "stock": 4}
    ).json()
    plan_service = tenant.post(
        "/catalog/services",
        json={"name": "Facial", "duration_minutes": 60, "price": 8500},
    ).json()
    plan = tenant.post(
        "/catalog/package-plans",
        json={
            "name": "Five",
            "service_id": plan_service["id"],
            "sessions": 5,
            "price": 30000,
        },
    ).json()
    html = {**tenant.headers, "Accept": "text/html"}
    edits = [
        (
            f"/staff/catalog/products/{product['id']}",
            {"name": "Rose Serum", "price": "39.00"},
        ),
        (
            f"/staff/catalog/services/{plan_service['id']}",
            {"name": "Facial", "duration_minutes": "60", "price": "90.00"},
        ),
        (
            f"/staff/catalog/package-plans/{plan['id']}",
            {
                "name": "Five",
                "service_id": plan_service["id"],
                "sessions": "5",
                "price": "310.00",
            },
        ),
    ]
    for path, form in edits:
        bad = client.post(
            tenant.page(path),
            data={**form, "price": "12,50"},
            headers=html,
            follow_redirects=False,
        )
        assert bad.status_code == 422, path
        good = client.post(
            tenant.page(path), data=form, headers=html, follow_redirects=False
        )
        assert good.status_code in (302, 303), (path, good.text[:300])
    assert tenant.get(f"/catalog/products/{product['id']}").json()["price"] == 3900
    assert tenant.get(f"/catalog/products/{product['id']}").json()["stock"] == 4
    assert tenant.get(f"/catalog/services/{plan_service['id']}").json()["price"] == 9000
    assert tenant.get(f"/catalog/package-plans/{plan['id']}").json()["price"] == 31000
