"""The pet-grooming plugin through its API, its hooks and the kernel's till."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from tests.plugins.shops import (
    add_appointment,
    add_client,
    add_service,
    add_staff,
    call_hook,
    configure,
    local_instant,
    plugin_tenant,
)
from tests.support import TenantHandle
from tillbook.kernel.schedule.tables import Appointment

PLUGIN = "petgrooming"


def _shop(client: Any) -> dict[str, Any]:
    tenant = plugin_tenant(client, PLUGIN)
    groomer = add_staff(tenant, "Gina")
    return {
        "tenant": tenant,
        "groomer": groomer,
        "groom": add_service(tenant, "Full groom", 60, 4000, [groomer]),
        "nails": add_service(tenant, "Nail trim", 15, 1000, [groomer]),
        "client": add_client(tenant, "Hannah", "Reed"),
    }


def _pets(tenant: TenantHandle, client_id: str) -> str:
    return f"/plugins/{PLUGIN}/clients/{client_id}/pets"


def _add_pet(tenant: TenantHandle, client_id: str, **values: Any) -> dict[str, Any]:
    body = {
        "name": "Biscuit",
        "species": "dog",
        "breed": "Cockapoo",
        "size": "small",
        "coat": "curly",
        "vaccinations": [
            {"name": "Rabies", "expires_on": "2099-01-31"},
            {"name": "DHPP", "expires_on": "2099-01-31"},
            {"name": "Bordetella", "expires_on": "2099-01-31"},
        ],
    }
    body.update(values)
    response = tenant.post(_pets(tenant, client_id), body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _booking(shop: dict[str, Any], days: int, fields: dict[str, Any]) -> dict:
    start = local_instant(shop["tenant"], days, "10:00")
    return {
        "kind": "appointment",
        "service": {
            "id": shop["groom"],
            "name": "Full groom",
            "kind": "appointment",
            "duration_minutes": 60,
            "price": 4000,
        },
        "staff_id": shop["groomer"],
        "client_id": shop["client"],
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "fields": fields,
    }


def _check_pet_added_listed_and_changed(client: Any) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    pet = _add_pet(tenant, shop["client"])
    assert pet["size"] == "small"
    assert [item["name"] for item in pet["vaccinations"]] == [
        "Bordetella",
        "DHPP",
        "Rabies",
    ]

    listed = tenant.get(_pets(tenant, shop["client"])).json()
    assert [row["name"] for row in listed] == ["Biscuit"]

    changed = tenant.patch(
        f"/plugins/{PLUGIN}/pets/{pet['id']}",
        {"temperament": "Nervous of dryers", "size": "medium"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["temperament"] == "Nervous of dryers"
    assert changed.json()["size"] == "medium"
    assert len(changed.json()["vaccinations"]) == 3


def _check_bad_pet_rejected_by_field(client: Any) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    response = tenant.post(
        _pets(tenant, shop["client"]),
        {
            "name": "Rex",
            "size": "huge",
            "coat": "velvet",
            "vaccinations": [{"name": "Rabies", "expires_on": "soon"}],
        },
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "size" in errors
    assert "coat" in errors
    assert "vaccinations[0].expires_on" in errors
    assert tenant.get(_pets(tenant, shop["client"])).json() == []


def _check_other_tenants_pet_is_not_found(client: Any) -> None:
    shop = _shop(client)
    pet = _add_pet(shop["tenant"], shop["client"])
    other = plugin_tenant(client, PLUGIN)
    assert other.get(f"/plugins/{PLUGIN}/pets/{pet['id']}").status_code == 404
    response = other.patch(f"/plugins/{PLUGIN}/pets/{pet['id']}", {"name": "X"})
    assert response.status_code == 404
    response = other.post(_pets(other, shop["client"]), {"name": "Rex"})
    assert response.status_code == 404


def _check_bad_settings_name_the_setting(client: Any) -> None:
    tenant = _shop(client)["tenant"]
    cases = [
        ({"colour_of_towels": "blue"}, "colour_of_towels"),
        ({"size_minutes": "toy=0, large=-15"}, "size_minutes"),
        ({"size_minutes": "huge=30"}, "size_minutes"),
        ({"coat_prices": "silky=500"}, "coat_prices"),
        ({"required_vaccinations": "hamster:Rabies"}, "required_vaccinations"),
        ({"commission_percent": 140}, "commission_percent"),
    ]
    for settings, name in cases:
        response = configure(tenant, PLUGIN, settings)
        assert response.status_code == 422, (settings, response.text)
        assert name in response.json()["errors"], (settings, response.text)
    accepted = configure(tenant, PLUGIN, {"size_minutes": "large=40, giant=60"})
    assert accepted.status_code == 200, accepted.text


def _check_expired_vaccination_rejects_booking(client: Any) -> None:
    shop = _shop(client)
    pet = _add_pet(
        shop["tenant"],
        shop["client"],
        vaccinations=[
            {"name": "Rabies", "expires_on": "2020-03-31"},
            {"name": "DHPP", "expires_on": "2099-01-31"},
        ],
    )
    results = call_hook(
        shop["tenant"],
        "tillbook_validate_booking",
        booking=_booking(shop, 3, {"petgrooming.pet_id": pet["id"]}),
    )
    errors: dict[str, str] = {}
    for result in results:
        errors.update(result)
    rabies = errors["petgrooming.vaccination.rabies"]
    assert "Rabies" in rabies
    assert "2020-03-31" in rabies
    assert "Bordetella" in errors["petgrooming.vaccination.bordetella"]
    assert "no Bordetella" in errors["petgrooming.vaccination.bordetella"]


def _check_vaccination_valid_through_expiry_day(client: Any) -> None:
    shop = _shop(client)
    day = local_instant(shop["tenant"], 3, "10:00").date().isoformat()
    pet = _add_pet(
        shop["tenant"],
        shop["client"],
        vaccinations=[
            {"name": name, "expires_on": day}
            for name in ("Rabies", "DHPP", "Bordetella")
        ],
    )
    on_the_day = call_hook(
        shop["tenant"],
        "tillbook_validate_booking",
        booking=_booking(shop, 3, {"petgrooming.pet_id": pet["id"]}),
    )
    assert all(result == {} for result in on_the_day)
    day_after = call_hook(
        shop["tenant"],
        "tillbook_validate_booking",
        booking=_booking(shop, 4, {"petgrooming.pet_id": pet["id"]}),
    )
    assert any("petgrooming.vaccination.rabies" in result for result in day_after)


def _check_booking_without_pet_rejected(client: Any) -> None:
    shop = _shop(client)
    results = call_hook(
        shop["tenant"], "tillbook_validate_booking", booking=_booking(shop, 3, {})
    )
    assert any("petgrooming.pet_name" in result for result in results)


def _check_other_clients_pet_rejected(client: Any) -> None:
    shop = _shop(client)
    stranger = add_client(shop["tenant"], "Sam", "Other")
    pet = _add_pet(shop["tenant"], stranger)
    results = call_hook(
        shop["tenant"],
        "tillbook_validate_booking",
        booking=_booking(shop, 3, {"petgrooming.pet_id": pet["id"]}),
    )
    assert any("petgrooming.pet_id" in result for result in results)


def _check_timing_follows_size_and_coat(client: Any) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    settings = {
        "size_minutes": "toy=0, small=0, medium=15, large=30, giant=45",
        "coat_minutes": "short=0, double=30",
        "size_prices": "large=2000",
        "coat_prices": "double=800",
        "flat_services": "Nail trim",
    }
    assert configure(tenant, PLUGIN, settings).status_code == 200
    pet = _add_pet(tenant, shop["client"], name="Otis", size="large", coat="double")
    service = _booking(shop, 3, {})["service"]
    timing = call_hook(
        tenant,
        "tillbook_service_timing",
        service=service,
        staff_id=shop["groomer"],
        fields={"petgrooming.pet_id": pet["id"]},
    )
    assert timing == {"duration_minutes": 60 + 30 + 30, "price": 4000 + 2000 + 800}

    named = call_hook(
        tenant,
        "tillbook_service_timing",
        service=service,
        staff_id=None,
        fields={"petgrooming.pet_name": "New", "petgrooming.size": "medium"},
    )
    assert named == {"duration_minutes": 75, "price": 4000}

    nails = {**service, "name": "Nail trim", "duration_minutes": 15, "price": 1000}
    flat = call_hook(
        tenant,
        "tillbook_service_timing",
        service=nails,
        staff_id=None,
        fields={"petgrooming.pet_id": pet["id"]},
    )
    assert flat is None


def _check_booking_made_adds_named_pet(client: Any) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    start = local_instant(tenant, 3, "10:00")
    appointment = add_appointment(
        tenant, shop["client"], shop["groom"], shop["groomer"], start, 60, 4000
    )
    booking = _booking(
        shop,
        3,
        {
            "petgrooming.pet_name": "Crumpet",
            "petgrooming.species": "dog",
            "petgrooming.size": "medium",
            "petgrooming.coat": "curly",
            "petgrooming.vaccination.rabies": "2099-05-01",
        },
    )
    booking["appointment_id"] = appointment
    call_hook(tenant, "tillbook_booking_made", booking=booking)

    pets = tenant.get(_pets(tenant, shop["client"])).json()
    assert [(pet["name"], pet["coat"]) for pet in pets] == [("Crumpet", "curly")]
    assert pets[0]["vaccinations"] == [{"name": "Rabies", "expires_on": "2099-05-01"}]
    visits = tenant.get(f"/plugins/{PLUGIN}/appointments/{appointment}/visits").json()
    assert [visit["pet"]["name"] for visit in visits] == ["Crumpet"]

    # A reschedule carries no fields: the pets on the appointment are checked.
    moved = {**_booking(shop, 5, {}), "appointment_id": appointment}
    results = call_hook(tenant, "tillbook_validate_booking", booking=moved)
    errors = [result["petgrooming.pet_id"] for result in results if result]
    assert len(errors) == 1
    assert "no DHPP vaccination" in errors[0]


def _close(tenant: TenantHandle, appointment_id: str) -> dict[str, Any]:
    ticket = tenant.post(f"/appointments/{appointment_id}/ticket")
    assert ticket.status_code == 200, ticket.text
    body = ticket.json()
    response = tenant.post(
        f"/tickets/{body['id']}/close",
        {"tenders": [{"kind": "cash", "amount": body["totals"]["total"]}]},
        headers={"Idempotency-Key": secrets.token_hex(8)},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _check_two_dogs_check_in_log_and_report_cards(client: Any) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    biscuit = _add_pet(tenant, shop["client"])
    crumpet = _add_pet(tenant, shop["client"], name="Crumpet <3", size="medium")
    start = local_instant(tenant, 0, "23:00") - timedelta(hours=23)
    appointment = add_appointment(
        tenant, shop["client"], shop["groom"], shop["groomer"], start, 60, 4000
    )
    visits_url = f"/plugins/{PLUGIN}/appointments/{appointment}/visits"
    for pet in (biscuit, crumpet):
        added = tenant.post(visits_url, {"pet_id": pet["id"]})
        assert added.status_code == 201, added.text
    again = tenant.post(visits_url, {"pet_id": biscuit["id"]})
    assert again.status_code == 409

    visits = {visit["pet"]["name"]: visit for visit in tenant.get(visits_url).json()}
    for visit in visits.values():
        checked = tenant.post(f"/plugins/{PLUGIN}/visits/{visit['id']}/check-in")
        assert checked.status_code == 200, checked.text
        assert checked.json()["checked_in_at"]
    prompts = call_hook(
        tenant, "tillbook_checkout_prompts", appointment={"id": appointment}
    )
    texts = [text for result in prompts for text in result]
    assert any("Biscuit: the treatment log is empty" in text for text in texts)

    detail = tenant.get(f"/appointments/{appointment}").json()
    assert detail["status"] == "checked_in"

    logged = tenant.patch(
        f"/plugins/{PLUGIN}/visits/{visits['Biscuit']['id']}",
        {
            "notes": "Matting behind ears",
            "services_done": "Bath, full clip",
            "products_used": "Oatmeal shampoo",
            "finished": True,
        },
    )
    assert logged.status_code == 200, logged.text
    assert logged.json()["finished_at"]
    bad_log = tenant.patch(
        f"/plugins/{PLUGIN}/visits/{visits['Biscuit']['id']}", {"mood": "great"}
    )
    assert bad_log.status_code == 422
    assert "mood" in bad_log.json()["errors"]

    result = _close(tenant, appointment)
    receipt = tenant.get(f"/tickets/{result['ticket_id']}/receipt")
    assert receipt.status_code == 200, receipt.text
    assert "Biscuit&#39;s report card" in receipt.text
    assert "Matting behind ears" in receipt.text
    assert "Oatmeal shampoo" in receipt.text
    assert "Crumpet &lt;3&#39;s report card" in receipt.text
    assert "Crumpet <3" not in receipt.text


def _check_commission_uses_rate_setting(client: Any) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    assert configure(tenant, PLUGIN, {"commission_percent": 45}).status_code == 200
    line = {
        "id": "00000000-0000-0000-0000-000000000001",
        "kind": "service",
        "item_id": shop["groom"],
        "amount": 4000,
    }
    paid = call_hook(
        tenant, "tillbook_commission", line=line, staff_id=shop["groomer"], amount=0
    )
    assert paid == 1800
    product = {**line, "kind": "product"}
    kept = call_hook(
        tenant, "tillbook_commission", line=product, staff_id=shop["groomer"], amount=0
    )
    assert kept is None


def _check_client_panel_lists_pets_escaped(client: Any) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    _add_pet(tenant, shop["client"], name="<b>Rex</b>", temperament="Calm")
    panels = call_hook(tenant, "tillbook_client_panels", client={"id": shop["client"]})
    html = "".join(item for result in panels for item in result)
    assert "&lt;b&gt;Rex&lt;/b&gt;" in html
    assert "<b>Rex</b>" not in html
    assert "Temperament: Calm" in html

    page = tenant.client.get(
        tenant.page(f"/staff/clients/{shop['client']}"), headers=tenant.headers
    )
    assert page.status_code == 200, page.text
    assert "&lt;b&gt;Rex&lt;/b&gt;" in page.text
    assert "Manage pets" in page.text

    start = local_instant(tenant, 1, "10:00")
    appointment = add_appointment(
        tenant, shop["client"], shop["groom"], shop["groomer"], start, 60, 4000
    )
    panels = call_hook(tenant, "tillbook_client_panels", client={"id": shop["client"]})
    html = "".join(item for result in panels for item in result)
    assert f"/staff/plugins/{PLUGIN}/appointments/{appointment}" in html


def _check_disabled_tenant_sees_nothing(client: Any) -> None:
    shop = _shop(client)
    _add_pet(shop["tenant"], shop["client"])
    plain = plugin_tenant(client, None)
    plain_client = add_client(plain, "Ivy", "Plain")
    assert plain.get(_pets(plain, plain_client)).status_code == 404
    page = plain.client.get(
        plain.page(f"/staff/plugins/{PLUGIN}/today"), headers=plain.headers
    )
    assert page.status_code == 404
    fields = call_hook(
        plain,
        "tillbook_booking_fields",
        service={"id": "x", "name": "Full groom", "kind": "appointment"},
    )
    assert not any(
        field["name"].startswith("petgrooming.")
        for result in fields
        for field in result
    )
    panels = call_hook(plain, "tillbook_client_panels", client={"id": plain_client})
    assert panels == []
    enabled_fields = call_hook(
        shop["tenant"],
        "tillbook_booking_fields",
        service={"id": "x", "name": "Full groom", "kind": "appointment"},
    )
    names = [field["name"] for result in enabled_fields for field in result]
    assert "petgrooming.pet_name" in names
    assert "petgrooming.vaccination.rabies" in names


def _book(shop: dict[str, Any], clock: str, fields: dict[str, Any]) -> Any:
    start = local_instant(shop["tenant"], 3, clock)
    return shop["tenant"].post(
        "/appointments",
        {
            "client_id": shop["client"],
            "service_id": shop["groom"],
            "staff_id": shop["groomer"],
            "start": start.isoformat(),
            "fields": fields,
        },
    )


def _check_api_booking_two_dogs_sized(client: Any) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    settings = {"size_minutes": "giant=60", "coat_minutes": "double=30"}
    assert configure(tenant, PLUGIN, settings).status_code == 200
    biscuit = _add_pet(tenant, shop["client"])
    maple = _add_pet(tenant, shop["client"], name="Maple", size="giant", coat="double")

    small = _book(shop, "09:00", {"petgrooming.pet_id": biscuit["id"]})
    assert small.status_code == 201, small.text
    large = _book(shop, "10:00", {"petgrooming.pet_id": maple["id"]})
    assert large.status_code == 201, large.text

    for response, pet, minutes in ((small, biscuit, 60), (large, maple, 150)):
        appointment = response.json()
        visits = tenant.get(
            f"/plugins/{PLUGIN}/appointments/{appointment['id']}/visits"
        ).json()
        assert [visit["pet"]["id"] for visit in visits] == [pet["id"]]
        detail = tenant.get(f"/appointments/{appointment['id']}").json()
        start = datetime.fromisoformat(detail["start"])
        end = datetime.fromisoformat(detail["end"])
        assert end - start == timedelta(minutes=minutes)

    # A move to another groomer keeps the giant dog's length: the pet given
    # at booking goes with the appointment.
    theo = add_staff(tenant, "Theo")
    deluxe = add_service(tenant, "Deluxe groom", 60, 5000, [shop["groomer"], theo])
    first = tenant.post(
        "/appointments",
        {
            "client_id": shop["client"],
            "service_id": deluxe,
            "staff_id": shop["groomer"],
            "start": local_instant(tenant, 3, "14:00").isoformat(),
            "fields": {"petgrooming.pet_id": maple["id"]},
        },
    )
    assert first.status_code == 201, first.text
    later = local_instant(tenant, 3, "16:00")
    moved = tenant.post(
        f"/appointments/{first.json()['id']}/reschedule",
        {"start": later.isoformat(), "staff_id": theo},
    )
    assert moved.status_code == 200, moved.text
    detail = tenant.get(f"/appointments/{first.json()['id']}").json()
    assert detail["staff_id"] == theo
    start = datetime.fromisoformat(detail["start"])
    assert start == later
    assert datetime.fromisoformat(detail["end"]) - start == timedelta(minutes=150)


def _check_api_booking_expired_vaccination_422(client: Any) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    pet = _add_pet(
        tenant,
        shop["client"],
        vaccinations=[
            {"name": "Rabies", "expires_on": "2021-06-30"},
            {"name": "DHPP", "expires_on": "2099-01-31"},
            {"name": "Bordetella", "expires_on": "2099-01-31"},
        ],
    )
    response = _book(shop, "09:00", {"petgrooming.pet_id": pet["id"]})
    assert response.status_code == 422, response.text
    message = response.json()["errors"]["petgrooming.vaccination.rabies"]
    assert "Rabies" in message
    assert "2021-06-30" in message
    stored = tenant.run(lambda: tenant.scope.count(Appointment))
    assert stored == 0


def test_pets_api_and_isolation(client) -> None:
    _check_pet_added_listed_and_changed(client)
    _check_bad_pet_rejected_by_field(client)
    _check_other_tenants_pet_is_not_found(client)
    _check_disabled_tenant_sees_nothing(client)


def test_settings_timing_and_commission(client) -> None:
    _check_bad_settings_name_the_setting(client)
    _check_timing_follows_size_and_coat(client)
    _check_commission_uses_rate_setting(client)


def test_booking_hooks_check_pet(client) -> None:
    _check_expired_vaccination_rejects_booking(client)
    _check_vaccination_valid_through_expiry_day(client)
    _check_booking_without_pet_rejected(client)
    _check_other_clients_pet_rejected(client)
    _check_booking_made_adds_named_pet(client)


def test_booking_api_sizes_and_vaccinations(client) -> None:
    _check_api_booking_two_dogs_sized(client)
    _check_api_booking_expired_vaccination_422(client)


def test_visit_flow_and_report_cards(client) -> None:
    _check_client_panel_lists_pets_escaped(client)
    _check_two_dogs_check_in_log_and_report_cards(client)
