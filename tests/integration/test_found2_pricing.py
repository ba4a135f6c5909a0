"""Pricing API: huge integers and unknown fields get a 422 naming the field."""

from __future__ import annotations

from tests.support import make_tenant

HUGE = 10**30


def test_tax_rate_huge_position_rejected(client) -> None:
    tenant = make_tenant(client)
    response = tenant.post(
        "/tax-rates", {"name": "Big", "rate": "20", "position": HUGE}
    )
    assert response.status_code == 422, response.text
    assert "position" in response.json()["errors"], response.text
    assert tenant.get("/tax-rates").json() == []


def test_tax_rate_unknown_field_rejected(client) -> None:
    tenant = make_tenant(client)
    response = tenant.post("/tax-rates", {"name": "Typo", "percent": 20})
    assert response.status_code == 422, response.text
    assert "percent" in response.json()["errors"], response.text
    assert tenant.get("/tax-rates").json() == []


def test_promo_huge_limits_rejected(client) -> None:
    tenant = make_tenant(client)
    for field in ("usage_limit", "min_subtotal"):
        body = {"code": "HUGE10", "kind": "percent", "percent": 10, field: HUGE}
        response = tenant.post("/promo-codes", body)
        assert response.status_code == 422, (field, response.text)
        assert field in response.json()["errors"], (field, response.text)
    assert tenant.get("/promo-codes").json() == []


def test_promo_unknown_field_rejected(client) -> None:
    tenant = make_tenant(client)
    body = {"code": "TYPO10", "kind": "percent", "percent": 10, "max_uses": 5}
    response = tenant.post("/promo-codes", body)
    assert response.status_code == 422, response.text
    assert "max_uses" in response.json()["errors"], response.text
    assert tenant.get("/promo-codes").json() == []


def test_tax_rate_with_too_many_decimals_rejected(client) -> None:
    tenant = make_tenant(client)

    for rate in ("0.0000000001", "12.345678901234567"):
        response = tenant.post("/tax-rates", {"name": f"Odd {rate}", "rate": rate})
        assert response.status_code == 422, response.text
        assert "rate" in response.json()["errors"], response.text
    assert (
        tenant.post("/tax-rates", {"name": "NYC", "rate": "8.875"}).status_code == 201
    )
