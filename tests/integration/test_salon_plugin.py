"""The salon plugin through its API, its pages and its hooks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from tests.plugin_support import module_client
from tests.support import TenantHandle, make_tenant
from tillbook.db.base import utcnow
from tillbook.demo.kit import add_client, add_service, add_staff
from tillbook.tenancy.plugin_migrations import applied_migrations
from tillbook.tenancy.plugin_settings import load_tenant_hooks


@pytest.fixture(scope="module")
def client(settings: Any) -> Iterator[Any]:
    """One started app for this module's tests (see ``tests.plugin_support``)."""
    yield from module_client(settings)


FORMULAS = "/plugins/salon/clients/{}/formulas"


def enable_salon(tenant: TenantHandle, settings: dict[str, Any] | None = None) -> None:
    body: dict[str, Any] = {"enabled": True}
    if settings is not None:
        body["settings"] = settings
    response = tenant.client.put(
        tenant.api("/plugins/salon"), json=body, headers=tenant.headers
    )
    assert response.status_code == 200, response.text


def salon_tenant(client: Any) -> tuple[TenantHandle, dict[str, str]]:
    """Return a salon tenant with a stylist, a cut, a colour service and a client."""
    tenant = make_tenant(client)
    enable_salon(tenant)

    async def seed() -> dict[str, str]:
        stylist = await add_staff(tenant.scope, "Priya Shah")
        cut = await add_service(
            tenant.scope,
            "Cut and finish",
            category="Cutting",
            duration_minutes=45,
            price=4800,
            providers=[stylist],
        )
        colour = await add_service(
            tenant.scope,
            "Full head colour",
            category="Colour",
            duration_minutes=105,
            price=8500,
            providers=[stylist],
        )
        client_id = await add_client(tenant.scope, "Maya", "Lindqvist")
        return {"stylist": stylist, "cut": cut, "colour": colour, "client": client_id}

    return tenant, tenant.run(seed)


def call_hook(tenant: TenantHandle, hook: str, **kwargs: Any) -> Any:
    hooks = tenant.run(load_tenant_hooks, tenant.scope)
    return tenant.run(getattr(hooks, hook)(scope=tenant.scope, **kwargs).run)


# Enabling and settings.


def test_salon_listed_with_schema(client) -> None:
    tenant = make_tenant(client)
    plugins = {plugin["name"]: plugin for plugin in tenant.get("/plugins").json()}

    salon = plugins["salon"]
    assert salon["enabled"] is False
    assert "colour formulas" in salon["description"]
    fields = {field["name"]: field for field in salon["fields"]}
    assert fields["service_tiers"]["type"] == "tiers"
    assert fields["colour_processing_minutes"]["type"] == "minutes"
    assert fields["rebook_weeks"]["default"] == 6


def test_salon_enable_applies_migrations(client) -> None:
    tenant = make_tenant(client)
    enable_salon(tenant)

    assert "0001_initial" in tenant.run(applied_migrations, "salon")
    enable_salon(tenant)  # a second enable applies nothing and still succeeds
    hooks = tenant.run(load_tenant_hooks, tenant.scope)
    assert hooks.is_enabled("salon")


BAD_SETTINGS = [
    # (settings sent, the setting the 422 names, part of its message)
    ({"colour": "#fff"}, "colour", "is not a setting of salon"),
    ({"rebook_weeks": "six"}, "rebook_weeks", "must be a number"),
    ({"rebook_weeks": 0}, "rebook_weeks", "at least 1"),
    ({"colour_processing_minutes": -5}, "colour_processing_minutes", "not be negative"),
    ({"product_percent": 120}, "product_percent", "0 to 100"),
    ({"hair_length_required": "yes"}, "hair_length_required", "true or false"),
    (
        {
            "service_tiers": [
                {"from": 0, "to": 300000, "percent": 35},
                {"from": 200000, "to": None, "percent": 40},
            ]
        },
        "service_tiers",
        "overlap",
    ),
    (
        {"service_tiers": [{"from": 0, "to": None, "percent": 35, "x": 1}]},
        "service_tiers",
        "only",
    ),
    (
        {"colour_application_minutes": 400, "colour_processing_minutes": 200},
        "colour_processing_minutes",
        "480 minutes",
    ),
]


def test_salon_bad_settings_rejected(client) -> None:
    tenant = make_tenant(client)

    for settings, setting, expected in BAD_SETTINGS:
        response = client.put(
            tenant.api("/plugins/salon"),
            json={"enabled": True, "settings": settings},
            headers=tenant.headers,
        )
        assert response.status_code == 422, settings
        errors = response.json()["errors"]
        assert setting in errors, settings
        assert expected in errors[setting], settings

    hooks = tenant.run(load_tenant_hooks, tenant.scope)
    assert not hooks.is_enabled("salon")
    assert hooks.plugin_settings("salon") == {}


def test_salon_settings_saved_from_page(client) -> None:
    tenant = make_tenant(client)
    client.post(
        f"/t/{tenant.slug}/staff/login",
        data={"email": tenant.owner_email, "password": "correct horse battery"},
    )
    response = client.post(
        tenant.page("/staff/settings/plugins/salon"),
        data={
            "enabled": "on",
            "service_tiers": "0 100000 30\n100000 - 40",
            "product_percent": "12",
            "rebook_weeks": "5",
            "colour_category": "Colour",
            "colour_application_minutes": "25",
            "colour_processing_minutes": "30",
            "hair_length_required": "on",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    stored = tenant.run(load_tenant_hooks, tenant.scope).plugin_settings("salon")
    assert stored["service_tiers"][1] == {"from": 100000, "to": None, "percent": 40}
    assert stored["rebook_weeks"] == 5
    overlapping = client.post(
        tenant.page("/staff/settings/plugins/salon"),
        data={"enabled": "on", "service_tiers": "0 100000 30\n50000 - 40"},
    )
    assert overlapping.status_code == 422
    assert "overlap" in overlapping.text


# Colour formulas.


def test_formula_recorded_and_listed(client) -> None:
    tenant, ids = salon_tenant(client)
    path = FORMULAS.format(ids["client"])
    created = tenant.post(
        path,
        json={
            "formula": "7.1 30g + 8.1 15g",
            "developer": "20 vol (6%)",
            "processing_minutes": 35,
            "staff_id": ids["stylist"],
        },
    )

    assert created.status_code == 201, created.text
    listed = tenant.get(path).json()
    assert [item["formula"] for item in listed] == ["7.1 30g + 8.1 15g"]
    assert listed[0]["staff_name"] == "Priya Shah"
    changed = tenant.patch(
        f"/plugins/salon/formulas/{listed[0]['id']}", json={"notes": "Gloss 10 min"}
    )
    assert changed.status_code == 200
    assert changed.json()["notes"] == "Gloss 10 min"
    assert changed.json()["formula"] == "7.1 30g + 8.1 15g"


def test_formula_bad_fields_rejected(client) -> None:
    tenant, ids = salon_tenant(client)
    response = tenant.post(
        FORMULAS.format(ids["client"]),
        json={"formula": " ", "processing_minutes": -1, "shade": "7"},
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "formula" in errors
    assert "processing_minutes" in errors
    assert "shade" in errors
    assert tenant.get(FORMULAS.format(ids["client"])).json() == []


def test_formula_other_tenant_client_404(client) -> None:
    tenant, ids = salon_tenant(client)
    other, _ = salon_tenant(client)

    assert other.get(FORMULAS.format(ids["client"])).status_code == 404
    response = other.post(FORMULAS.format(ids["client"]), json={"formula": "6.0"})
    assert response.status_code == 404
    missing = FORMULAS.format(uuid.uuid4())
    assert tenant.get(missing).status_code == 404


def test_formula_panel_on_client_page(client) -> None:
    tenant, ids = salon_tenant(client)
    tenant.post(FORMULAS.format(ids["client"]), json={"formula": "6.3 <50g>"})
    client.post(
        f"/t/{tenant.slug}/staff/login",
        data={"email": tenant.owner_email, "password": "correct horse battery"},
    )

    page = client.get(tenant.page(f"/staff/clients/{ids['client']}"))

    assert page.status_code == 200
    assert 'id="salon-formulas"' in page.text
    assert "6.3 &lt;50g&gt;" in page.text
    assert "6.3 <50g>" not in page.text


def test_formula_page_adds_and_edits(client) -> None:
    tenant, ids = salon_tenant(client)
    client.post(
        f"/t/{tenant.slug}/staff/login",
        data={"email": tenant.owner_email, "password": "correct horse battery"},
    )
    page_path = tenant.page(f"/staff/plugins/salon/clients/{ids['client']}/formulas")

    assert client.get(page_path).status_code == 200
    added = client.post(
        page_path,
        data={"formula": "5.0 40g", "developer": "20 vol", "processing_minutes": "30"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    formula = tenant.get(FORMULAS.format(ids["client"])).json()[0]
    rejected = client.post(
        tenant.page(f"/staff/plugins/salon/formulas/{formula['id']}"),
        data={"formula": "", "processing_minutes": "-3"},
    )
    assert rejected.status_code == 422
    assert "is required" in rejected.text
    edited = client.post(
        tenant.page(f"/staff/plugins/salon/formulas/{formula['id']}"),
        data={"formula": "5.0 45g", "processing_minutes": "40"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    after = tenant.get(FORMULAS.format(ids["client"])).json()[0]
    assert after["formula"] == "5.0 45g"
    assert after["processing_minutes"] == 40


# Services: variants and the processing gap.


def put_service(tenant: TenantHandle, service_id: str, body: dict[str, Any]) -> Any:
    return tenant.client.put(
        tenant.api(f"/plugins/salon/services/{service_id}"),
        json=body,
        headers=tenant.headers,
    )


def test_variants_set_duration_and_price(client) -> None:
    tenant, ids = salon_tenant(client)
    response = put_service(
        tenant,
        ids["cut"],
        {
            "variants": {
                "short": {"duration_minutes": 30, "price": 3800},
                "long": {"duration_minutes": 60, "price": 5800},
            },
            "rebook_weeks": 5,
        },
    )
    assert response.status_code == 200, response.text
    service = {"id": ids["cut"], "name": "Cut and finish", "category": "Cutting"}

    fields = call_hook(tenant, "tillbook_booking_fields", service=service)
    timing = call_hook(
        tenant,
        "tillbook_service_timing",
        service={**service, "duration_minutes": 45},
        staff_id=ids["stylist"],
        fields={"salon.hair_length": "long"},
    )

    (field,) = [item for result in fields for item in result]
    assert field["name"] == "salon.hair_length"
    assert [choice["value"] for choice in field["choices"]] == ["short", "long"]
    assert field["required"] is True
    assert timing == {"duration_minutes": 60, "price": 5800}


def test_variant_negative_duration_rejected(client) -> None:
    tenant, ids = salon_tenant(client)
    response = put_service(
        tenant,
        ids["cut"],
        {"variants": {"short": {"duration_minutes": -30, "price": 3800}}},
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "must not be negative" in errors["variants.short.duration_minutes"]
    unknown = put_service(
        tenant, ids["cut"], {"variants": {"bob": {"duration_minutes": 30, "price": 1}}}
    )
    assert "variants.bob" in unknown.json()["errors"]


def test_booking_without_length_rejected(client) -> None:
    tenant, ids = salon_tenant(client)
    put_service(
        tenant,
        ids["cut"],
        {"variants": {"short": {"duration_minutes": 30, "price": 3800}}},
    )
    booking = {
        "kind": "appointment",
        "service": {"id": ids["cut"], "name": "Cut and finish"},
        "staff_id": ids["stylist"],
        "client_id": ids["client"],
        "fields": {},
    }

    missing = call_hook(tenant, "tillbook_validate_booking", booking=booking)
    wrong = call_hook(
        tenant,
        "tillbook_validate_booking",
        booking={**booking, "fields": {"salon.hair_length": "waist"}},
    )
    right = call_hook(
        tenant,
        "tillbook_validate_booking",
        booking={**booking, "fields": {"salon.hair_length": "short"}},
    )

    assert "is required" in missing[0]["salon.hair_length"]
    assert "must be one of short" in wrong[0]["salon.hair_length"]
    assert right == [{}]


def test_colour_service_gets_processing_gap(client) -> None:
    tenant, ids = salon_tenant(client)
    colour = {
        "id": ids["colour"],
        "category": "Colour",
        "duration_minutes": 105,
        "processing_after_minutes": None,
    }
    cut = {
        "id": ids["cut"],
        "category": "Cutting",
        "duration_minutes": 45,
        "processing_after_minutes": None,
    }

    by_category = call_hook(
        tenant, "tillbook_service_timing", service=colour, staff_id=None, fields={}
    )
    plain = call_hook(
        tenant, "tillbook_service_timing", service=cut, staff_id=None, fields={}
    )
    put_service(
        tenant,
        ids["cut"],
        {"colour": True, "processing_after_minutes": 10, "processing_minutes": 20},
    )
    marked = call_hook(
        tenant, "tillbook_service_timing", service=cut, staff_id=None, fields={}
    )

    assert by_category == {"processing_after_minutes": 30, "processing_minutes": 35}
    assert plain is None
    assert marked == {"processing_after_minutes": 10, "processing_minutes": 20}


# Checkout and commission.


def test_rebooking_prompt_names_interval(client) -> None:
    tenant, ids = salon_tenant(client)
    put_service(tenant, ids["colour"], {"rebook_weeks": 8})
    ticket = {
        "lines": [
            {
                "kind": "service",
                "item_id": ids["colour"],
                "description": "Full head colour",
            },
            {"kind": "product", "item_id": str(uuid.uuid4()), "description": "Shampoo"},
        ]
    }

    prompts = call_hook(
        tenant,
        "tillbook_checkout_prompts",
        client={"first_name": "Maya"},
        appointment=None,
        ticket=ticket,
    )

    (prompt,) = [item for result in prompts for item in result]
    assert prompt.startswith("Rebook Maya for Full head colour: usually every 8 weeks")


def commission_line(kind: str, amount: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "ticket_id": str(uuid.uuid4()),
        "kind": kind,
        "item_id": str(uuid.uuid4()),
        "description": kind,
        "category": "",
        "quantity": 1,
        "unit_price": amount,
        "amount": amount,
    }


def test_commission_follows_monthly_tiers(client) -> None:
    tenant, ids = salon_tenant(client)
    enable_salon(
        tenant,
        {
            "service_tiers": [
                {"from": 0, "to": 10000, "percent": 30},
                {"from": 10000, "to": None, "percent": 50},
            ],
            "product_percent": 10,
        },
    )
    first_line = commission_line("service", 8000)

    def commission(line: dict[str, Any]) -> Any:
        return call_hook(
            tenant, "tillbook_commission", line=line, staff_id=ids["stylist"], amount=0
        )

    assert commission(first_line) == 2400
    assert commission(first_line) == 2400  # counted once
    assert commission(commission_line("service", 4000)) == 1200
    assert commission(commission_line("service", 4000)) == 2000
    assert commission(commission_line("product", 2000)) == 200


def test_stylist_own_commission(client) -> None:
    tenant, ids = salon_tenant(client)
    path = tenant.api(f"/plugins/salon/stylists/{ids['stylist']}/commission")
    overlapping = client.put(
        path,
        json={
            "service_tiers": [
                {"from": 0, "to": 5000, "percent": 40},
                {"from": 4000, "to": None, "percent": 50},
            ]
        },
        headers=tenant.headers,
    )
    assert overlapping.status_code == 422
    assert "overlap" in overlapping.json()["errors"]["service_tiers"]

    saved = client.put(
        path,
        json={
            "service_tiers": [{"from": 0, "to": None, "percent": 45}],
            "product_percent": 15,
        },
        headers=tenant.headers,
    )
    assert saved.status_code == 200, saved.text
    service = call_hook(
        tenant,
        "tillbook_commission",
        line=commission_line("service", 10000),
        staff_id=ids["stylist"],
        amount=0,
    )
    product = call_hook(
        tenant,
        "tillbook_commission",
        line=commission_line("product", 10000),
        staff_id=ids["stylist"],
        amount=0,
    )
    assert service == 4500
    assert product == 1500


# Enablement per tenant.


def test_salon_routes_404_when_not_enabled(client) -> None:
    tenant, _ = salon_tenant(client)
    plain = make_tenant(client)

    assert plain.get("/plugins/salon/services").status_code == 404
    assert tenant.get("/plugins/salon/services").status_code == 200


def test_disable_keeps_formulas(client) -> None:
    tenant, ids = salon_tenant(client)
    tenant.post(FORMULAS.format(ids["client"]), json={"formula": "6.0 30g"})
    off = client.put(
        tenant.api("/plugins/salon"), json={"enabled": False}, headers=tenant.headers
    )
    assert off.status_code == 200
    assert tenant.get(FORMULAS.format(ids["client"])).status_code == 404

    enable_salon(tenant)

    kept = tenant.get(FORMULAS.format(ids["client"])).json()
    assert [item["formula"] for item in kept] == ["6.0 30g"]


def test_services_page_sets_variants(client) -> None:
    tenant, ids = salon_tenant(client)
    client.post(
        f"/t/{tenant.slug}/staff/login",
        data={"email": tenant.owner_email, "password": "correct horse battery"},
    )
    page_path = tenant.page("/staff/plugins/salon/services")

    assert client.get(page_path).status_code == 200
    saved = client.post(
        f"{page_path}/{ids['cut']}",
        data={
            "colour": "on",
            "processing_after_minutes": "15",
            "processing_minutes": "20",
            "rebook_weeks": "6",
            "short_minutes": "30",
            "short_price": "38.00",
            "long_minutes": "60",
            "long_price": "58.50",
        },
        follow_redirects=False,
    )
    rejected = client.post(
        f"{page_path}/{ids['cut']}",
        data={
            "short_minutes": "-30",
            "short_price": "38.00",
            "long_minutes": "60",
            "long_price": "5.555",
        },
    )

    assert saved.status_code == 303
    services = {
        item["service_id"]: item
        for item in tenant.get("/plugins/salon/services").json()
    }
    cut = services[ids["cut"]]
    assert cut["colour"] is True
    assert cut["processing_minutes"] == 20
    assert cut["variants"] == {
        "short": {"duration_minutes": 30, "price": 3800},
        "long": {"duration_minutes": 60, "price": 5850},
    }
    assert rejected.status_code == 422
    assert 'id="error-short_minutes"' in rejected.text
    assert 'id="error-long_price"' in rejected.text
    unchanged = tenant.get("/plugins/salon/services").json()
    assert {item["service_id"]: item for item in unchanged}[ids["cut"]] == cut


def test_rebooking_prompt_on_ticket_api(client) -> None:
    tenant, ids = salon_tenant(client)
    put_service(tenant, ids["cut"], {"rebook_weeks": 7})
    opened = tenant.post("/tickets", json={"client_id": ids["client"]})
    assert opened.status_code == 201, opened.text

    with_line = tenant.post(
        f"/tickets/{opened.json()['id']}/lines",
        json={"kind": "service", "service_id": ids["cut"], "staff_id": ids["stylist"]},
    )

    assert with_line.status_code == 201, with_line.text
    prompts = with_line.json()["prompts"]
    rebooking = [prompt for prompt in prompts if prompt.startswith("Rebook Maya")]
    assert len(rebooking) == 1
    assert "Cut and finish: usually every 7 weeks" in rebooking[0]


def next_weekday(tenant: TenantHandle, days_ahead: int = 3) -> date:
    """Return a Monday-to-Friday date at least ``days_ahead`` days from today."""
    day = utcnow().astimezone(tenant.scope.tenant.zone).date() + timedelta(days_ahead)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return day


def test_hair_length_through_booking_api(client) -> None:
    tenant, ids = salon_tenant(client)
    put_service(
        tenant,
        ids["cut"],
        {
            "variants": {
                "short": {"duration_minutes": 30, "price": 3800},
                "long": {"duration_minutes": 60, "price": 5800},
            }
        },
    )
    day = next_weekday(tenant)
    start = datetime.combine(day, time(10, 0), tenant.scope.tenant.zone)
    body = {
        "service_id": ids["cut"],
        "staff_id": ids["stylist"],
        "start": start.isoformat(),
        "first_name": "Maya",
        "last_name": "Lindqvist",
        "email": f"maya-{uuid.uuid4().hex[:6]}@example.com",
    }

    fields = client.get(tenant.api(f"/services/{ids['cut']}/fields"))
    slots = client.get(
        tenant.api("/availability"),
        params={
            "service_id": ids["cut"],
            "staff_id": ids["stylist"],
            "date": day.isoformat(),
            "fields": json.dumps({"salon.hair_length": "long"}),
        },
    )
    missing = client.post(tenant.api("/bookings"), json=body)
    booked = client.post(
        tenant.api("/bookings"),
        json={**body, "fields": {"salon.hair_length": "long"}},
    )

    assert fields.status_code == 200, fields.text
    assert [field["name"] for field in fields.json()["fields"]] == ["salon.hair_length"]
    assert slots.status_code == 200, slots.text
    assert "10:00" in [slot["local"] for slot in slots.json()["slots"]]
    assert missing.status_code == 422, missing.text
    assert "salon.hair_length" in missing.json()["errors"]
    assert booked.status_code == 201, booked.text
    assert booked.json()["local_end"] == "11:00"
    assert booked.json()["price"] == 5800
