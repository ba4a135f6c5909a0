"""Several pets in one grooming visit: per-item booking fields through the
kernel's visit routes and the pet-grooming plugin's hooks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any

from tests.plugins.shops import (
    add_client,
    add_service,
    add_staff,
    configure,
    local_instant,
    plugin_tenant,
)
from tests.support import TenantHandle
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.tables import Appointment
from tillbook_petgrooming.tables import GroomingVisit, Pet

PLUGIN = "petgrooming"
VALID = "2099-01-31"
# Small curly: 60 minutes and 40.00 + 10.00 for the coat. Giant double:
# 60 + 60 + 30 minutes and 40.00 + 30.00 + 8.00 (default price extras).
SETTINGS = {"size_minutes": "giant=60", "coat_minutes": "double=30"}
SMALL_CURLY = (60, 5000)
GIANT_DOUBLE = (150, 7800)


def _shop(client: Any) -> dict[str, Any]:
    tenant = plugin_tenant(client, PLUGIN)
    assert configure(tenant, PLUGIN, SETTINGS).status_code == 200
    groomer = add_staff(tenant, "Gina")
    return {
        "tenant": tenant,
        "groomer": groomer,
        "groom": add_service(tenant, "Full groom", 60, 4000, [groomer]),
        "nails": add_service(tenant, "Nail trim", 15, 1000, [groomer]),
        "client": add_client(tenant, "Hannah", "Reed"),
    }


def _vaccinations(rabies: str = VALID) -> list[dict[str, str]]:
    return [
        {"name": "Rabies", "expires_on": rabies},
        {"name": "DHPP", "expires_on": VALID},
        {"name": "Bordetella", "expires_on": VALID},
    ]


def _add_pet(shop: dict[str, Any], name: str, size: str, coat: str, **extra: Any):
    body = {
        "name": name,
        "species": "dog",
        "size": size,
        "coat": coat,
        "vaccinations": _vaccinations(),
        **extra,
    }
    tenant = shop["tenant"]
    response = tenant.post(f"/plugins/{PLUGIN}/clients/{shop['client']}/pets", body)
    assert response.status_code == 201, response.text
    return response.json()


def _groom(shop: dict[str, Any], fields: dict[str, Any] | None) -> dict[str, Any]:
    item: dict[str, Any] = {"service_id": shop["groom"], "staff_id": shop["groomer"]}
    if fields is not None:
        item["fields"] = fields
    return item


def _minutes(item: dict[str, Any]) -> int:
    length = datetime.fromisoformat(item["end"]) - datetime.fromisoformat(item["start"])
    return int(length / timedelta(minutes=1))


def _staff_visit(shop: dict[str, Any], items: list[dict], **body: Any) -> Any:
    start = local_instant(shop["tenant"], 3, "09:00")
    return shop["tenant"].post(
        "/appointments/visits",
        {"client_id": shop["client"], "start": start.isoformat(), "items": items}
        | body,
    )


def _pets_on(tenant: TenantHandle, appointment_id: str) -> list[str]:
    visits = tenant.get(f"/plugins/{PLUGIN}/appointments/{appointment_id}/visits")
    assert visits.status_code == 200, visits.text
    return [visit["pet"]["name"] for visit in visits.json()]


def _counts(tenant: TenantHandle) -> dict[str, int]:
    async def count() -> dict[str, int]:
        scope = tenant.scope
        return {
            "appointments": await scope.count(Appointment),
            "grooming visits": await scope.count(GroomingVisit),
            "pets": await scope.count(Pet),
            "clients": await scope.count(Client),
        }

    return tenant.run(count)  # type: ignore[no-any-return]


def test_two_dogs_sized_back_to_back(client) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    biscuit = _add_pet(shop, "Biscuit", "small", "curly")
    maple = _add_pet(shop, "Maple", "giant", "double")
    items = [
        _groom(shop, {"petgrooming.pet_id": biscuit["id"]}),
        _groom(shop, {"petgrooming.pet_id": maple["id"]}),
    ]
    day = local_instant(tenant, 3, "09:00").date()

    search = tenant.post(
        "/visits/availability", {"items": items, "date": day.isoformat()}
    )
    assert search.status_code == 200, search.text
    starts = {option["local"]: option for option in search.json()["options"]}
    option = starts["09:00"]
    first, second = option["items"]
    assert (_minutes(first), first["price"]) == SMALL_CURLY
    assert (_minutes(second), second["price"]) == GIANT_DOUBLE
    assert second["start"] == first["end"]

    booked = _staff_visit(shop, items)
    assert booked.status_code == 201, booked.text
    small, giant = booked.json()["appointments"]
    assert (small["duration_minutes"], small["price"]) == SMALL_CURLY
    assert (giant["duration_minutes"], giant["price"]) == GIANT_DOUBLE
    assert giant["start"] == small["end"]
    assert small["visit_id"] == giant["visit_id"]
    assert _pets_on(tenant, small["id"]) == ["Biscuit"]
    assert _pets_on(tenant, giant["id"]) == ["Maple"]


def test_expired_vaccination_rejects_whole_visit(client) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    biscuit = _add_pet(shop, "Biscuit", "small", "curly")
    maple = _add_pet(
        shop, "Maple", "giant", "double", vaccinations=_vaccinations("2021-06-30")
    )
    before = _counts(tenant)
    items = [
        _groom(shop, {"petgrooming.pet_id": biscuit["id"]}),
        _groom(shop, {"petgrooming.pet_id": maple["id"]}),
    ]

    response = _staff_visit(shop, items)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    message = errors["items.1.fields.petgrooming.vaccination.rabies"]
    assert "Maple" in message
    assert "2021-06-30" in message
    assert not [name for name in errors if name.startswith("items.0.")]
    assert _counts(tenant) == before

    both = _staff_visit(shop, [items[1], items[1]])
    assert both.status_code == 422, both.text
    both_errors = both.json()["errors"]
    assert "items.0.fields.petgrooming.vaccination.rabies" in both_errors
    assert "items.1.fields.petgrooming.vaccination.rabies" in both_errors
    assert _counts(tenant) == before


def test_public_visit_adds_each_new_pet(client) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    vaccinations = {
        "petgrooming.vaccination.rabies": VALID,
        "petgrooming.vaccination.dhpp": VALID,
        "petgrooming.vaccination.bordetella": VALID,
    }
    pepper = {
        "petgrooming.pet_name": "Pepper",
        "petgrooming.size": "small",
        "petgrooming.coat": "curly",
        **vaccinations,
    }
    bear = {
        "petgrooming.pet_name": "Bear",
        "petgrooming.size": "giant",
        "petgrooming.coat": "double",
        **vaccinations,
    }
    body = {
        "first_name": "Iris",
        "last_name": "Moss",
        "email": "iris@example.com",
        "start": local_instant(tenant, 3, "09:00").isoformat(),
        "items": [_groom(shop, pepper), _groom(shop, bear)],
    }
    expired = {**bear, "petgrooming.vaccination.rabies": "2021-06-30"}
    before = _counts(tenant)
    rejected = client.post(
        tenant.api("/visits"),
        json={**body, "items": [_groom(shop, pepper), _groom(shop, expired)]},
    )
    assert rejected.status_code == 422, rejected.text
    assert "items.1.fields.petgrooming.vaccination.rabies" in rejected.json()["errors"]
    assert _counts(tenant) == before

    response = client.post(tenant.api("/visits"), json=body)

    assert response.status_code == 201, response.text
    small, giant = response.json()["appointments"]
    assert (small["duration_minutes"], small["price"]) == SMALL_CURLY
    assert (giant["duration_minutes"], giant["price"]) == GIANT_DOUBLE
    assert _pets_on(tenant, small["id"]) == ["Pepper"]
    assert _pets_on(tenant, giant["id"]) == ["Bear"]
    pets = tenant.get(f"/plugins/{PLUGIN}/clients/{small['client_id']}/pets").json()
    assert {(pet["name"], pet["size"]) for pet in pets} == {
        ("Bear", "giant"),
        ("Pepper", "small"),
    }


def test_item_without_fields_uses_visit_fields(client) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    biscuit = _add_pet(shop, "Biscuit", "small", "curly")
    nails = {"service_id": shop["nails"], "staff_id": shop["groomer"]}

    response = _staff_visit(
        shop,
        [_groom(shop, None), nails],
        fields={"petgrooming.pet_id": biscuit["id"]},
    )

    assert response.status_code == 201, response.text
    groom, trim = response.json()["appointments"]
    assert (groom["duration_minutes"], groom["price"]) == SMALL_CURLY
    assert (trim["duration_minutes"], trim["price"]) == (15, 1000)
    assert _pets_on(tenant, groom["id"]) == ["Biscuit"]
    assert _pets_on(tenant, trim["id"]) == ["Biscuit"]


def test_bad_item_fields_name_the_item(client) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    biscuit = _add_pet(shop, "Biscuit", "small", "curly")
    stranger = add_client(tenant, "Omar", "Vale")
    other = tenant.post(
        f"/plugins/{PLUGIN}/clients/{stranger}/pets", {"name": "Rolo"}
    ).json()
    good = _groom(shop, {"petgrooming.pet_id": biscuit["id"]})
    before = _counts(tenant)

    cases = [
        ([good, {**good, "fields": "Rolo"}], "items.1.fields"),
        ([good, {**good, "colour": "red"}], "items.1.colour"),
        (
            [good, _groom(shop, {"petgrooming.pet_id": other["id"]})],
            "items.1.fields.petgrooming.pet_id",
        ),
        (
            [good, _groom(shop, {"petgrooming.weight": 12})],
            "items.1.fields.petgrooming.weight",
        ),
        ([good, _groom(shop, {})], "items.1.fields.petgrooming.pet_name"),
    ]
    for items, name in cases:
        response = _staff_visit(shop, items)
        assert response.status_code == 422, (name, response.text)
        assert name in response.json()["errors"], response.text

    search = tenant.post(
        "/visits/availability",
        {"items": [good, {**good, "fields": []}], "date": "2030-01-01"},
    )
    assert search.status_code == 422, search.text
    assert "items.1.fields" in search.json()["errors"]
    assert _counts(tenant) == before


HTML = {"Accept": "text/html"}
START = re.compile(r'name="start" value="([^"]+)"[^>]*>(\d\d:\d\d)')


def _page_form(shop: dict[str, Any], day: str, pets: list[dict]) -> dict:
    form: dict[str, Any] = {
        "first_name": "Iris",
        "last_name": "Moss",
        "email": "iris@example.com",
        "service_id": shop["groom"],
        "staff_id": "any",
        "date": day,
        "item": f"{shop['groom']}:any",
    }
    for index, pet in enumerate(pets):
        form.update({f"field:{index}:{name}": value for name, value in pet.items()})
    return form


def test_booking_page_adds_another_pet(client) -> None:
    shop = _shop(client)
    tenant = shop["tenant"]
    day = local_instant(tenant, 3, "09:00").date().isoformat()
    single = client.get(
        tenant.page("/book"),
        params={"service_id": shop["groom"], "date": day},
        headers=HTML,
    )
    assert single.status_code == 200
    assert 'id="add-again"' in single.text
    assert "Add another Full groom" in single.text

    again = client.get(
        tenant.page("/book"),
        params={"service_id": shop["groom"], "date": day, "again": "1"},
        headers=HTML,
    )
    assert again.status_code == 200, again.text
    assert "Full groom (1 of 2)" in again.text
    assert "Full groom (2 of 2)" in again.text
    assert 'name="field:0:petgrooming.pet_name"' in again.text
    assert 'name="field:1:petgrooming.pet_name"' in again.text
    starts = {label: unescape(value) for value, label in START.findall(again.text)}

    dates = {
        "petgrooming.vaccination.rabies": VALID,
        "petgrooming.vaccination.dhpp": VALID,
        "petgrooming.vaccination.bordetella": VALID,
    }
    pepper = {
        "petgrooming.pet_name": "Pepper",
        "petgrooming.size": "small",
        "petgrooming.coat": "curly",
        **dates,
    }
    bear = {
        "petgrooming.pet_name": "Bear",
        "petgrooming.size": "giant",
        "petgrooming.coat": "double",
        **dates,
    }
    expired = {**bear, "petgrooming.vaccination.rabies": "2021-06-30"}
    before = _counts(tenant)
    form = {**_page_form(shop, day, [pepper, expired]), "start": starts["09:00"]}
    rejected = client.post(tenant.page("/book"), data=form, headers=HTML)
    assert rejected.status_code == 422, rejected.text
    message = "Bear&#39;s Rabies vaccination expired on 2021-06-30"
    assert message in rejected.text
    # The reason shows in the second pet's fields, under its Rabies input.
    assert rejected.text.index(message) > rejected.text.index('id="item-1-fields"')
    assert _counts(tenant) == before

    form = {**_page_form(shop, day, [pepper, bear]), "start": starts["09:00"]}
    done = client.post(
        tenant.page("/book"), data=form, headers=HTML, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    rows = tenant.run(
        lambda: tenant.scope.select(Appointment).order_by(Appointment.start_at)
    )
    minutes = [
        int((row["end_at"] - row["start_at"]) / timedelta(minutes=1)) for row in rows
    ]
    assert minutes == [SMALL_CURLY[0], GIANT_DOUBLE[0]]
    assert [row["price"] for row in rows] == [SMALL_CURLY[1], GIANT_DOUBLE[1]]
    assert _pets_on(tenant, str(rows[1]["id"])) == ["Bear"]
