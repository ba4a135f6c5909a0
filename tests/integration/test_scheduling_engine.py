"""Slot search and booking against a database: holds, resources, locations,
policy, visits, plugin hooks and parallel bookings."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.test_booking_setup import Spa, seed_spa
from tillbook.errors import SlotUnavailable, ValidationFailed
from tillbook.kernel.catalog.tables import Service, ServiceProvider
from tillbook.kernel.schedule.booking import NewClient, book_appointment
from tillbook.kernel.schedule.search import search_slots
from tillbook.kernel.schedule.tables import (
    Appointment,
    Closure,
    Hold,
    Location,
    LocationHours,
    Resource,
    ScheduleOverride,
    SchedulePolicy,
    ServiceResource,
    TimeOff,
    WorkingHours,
)
from tillbook.kernel.schedule.visits import VisitItem, book_visit


def run(spa: Spa, coroutine_fn: Any, *args: Any) -> Any:
    return spa.tenant.run(coroutine_fn, *args)


def insert(spa: Spa, *rows: Any) -> None:
    async def save() -> None:
        for row in rows:
            await spa.tenant.scope.insert(row)

    run(spa, save)


def select(spa: Spa, table: Any) -> list[dict[str, Any]]:
    scope = spa.tenant.scope
    return run(spa, lambda: scope.select(table))  # type: ignore[no-any-return]


def slots(spa: Spa, **params: Any) -> list[dict[str, Any]]:
    query = {"service_id": spa.facial_id, "date": spa.day.isoformat(), **params}
    response = spa.tenant.client.get(spa.tenant.api("/availability"), params=query)
    assert response.status_code == 200, response.text
    return response.json()["slots"]  # type: ignore[no-any-return]


def local_times(items: list[dict[str, Any]], staff_id: str | None = None) -> list[str]:
    return [s["local"] for s in items if staff_id is None or s["staff_id"] == staff_id]


def book(spa: Spa, clock: str, **overrides: Any) -> httpx.Response:
    return spa.tenant.client.post(  # type: ignore[no-any-return]
        spa.tenant.api("/bookings"), json=spa.booking(clock, **overrides)
    )


def add_service(spa: Spa, staff: list[str], **columns: Any) -> str:
    service = Service(name=columns.pop("name", "Colour"), price=9000, **columns)
    insert(spa, service)
    insert(
        spa,
        *[
            ServiceProvider(service_id=service.id, staff_id=uuid.UUID(spa.staff[name]))
            for name in staff
        ],
    )
    return str(service.id)


def test_booking_places_and_cancel_releases_holds(client) -> None:
    spa = seed_spa(client)
    response = book(spa, "10:00")
    assert response.status_code == 201, response.text
    holds = select(spa, Hold)
    assert len(holds) == 1
    assert str(holds[0]["staff_id"]) == spa.staff["Ava"]
    assert holds[0]["live"] is True
    cancelled = spa.tenant.post(f"/appointments/{response.json()['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert [row["live"] for row in select(spa, Hold)] == [False]
    assert book(spa, "10:00").status_code == 201


def test_processing_gap_books_another_client(client) -> None:
    spa = seed_spa(client)
    colour = add_service(
        spa,
        ["Ava"],
        duration_minutes=90,
        processing_after_minutes=30,
        processing_minutes=30,
    )
    first = book(spa, "10:00", service_id=colour)
    assert first.status_code == 201, first.text
    assert len(select(spa, Hold)) == 2
    ava = spa.staff["Ava"]
    free = local_times(slots(spa, service_id=spa.massage_id, staff_id=ava))
    assert "10:30" in free
    assert "10:00" not in free
    assert "11:00" not in free
    gap = book(spa, "10:30", service_id=spa.massage_id)
    assert gap.status_code == 201, gap.text
    assert book(spa, "11:00", service_id=spa.massage_id).status_code == 409


def test_buffers_hold_provider_around_service(client) -> None:
    spa = seed_spa(client)
    facial = uuid.UUID(spa.facial_id)

    async def add_buffers() -> None:
        await spa.tenant.scope.update(
            Service,
            {Service.buffer_before_minutes: 15, Service.buffer_after_minutes: 15},
        ).where(Service.id == facial)

    run(spa, add_buffers)
    assert book(spa, "10:00").status_code == 201
    held = select(spa, Hold)[0]
    assert held["end_at"] - held["start_at"] == timedelta(minutes=90)
    ava = local_times(slots(spa, staff_id=spa.staff["Ava"]))
    assert "11:00" not in ava
    assert "11:30" in ava


def test_resource_quantity_limits_bookings(client) -> None:
    spa = seed_spa(client)
    room = Resource(name="Treatment room", quantity=1)
    insert(spa, room)
    insert(
        spa, ServiceResource(service_id=uuid.UUID(spa.facial_id), resource_id=room.id)
    )
    assert book(spa, "10:00").status_code == 201
    # Ben is free, but the only room is taken.
    taken = book(spa, "10:00", staff_id=spa.staff["Ben"])
    assert taken.status_code == 409, taken.text
    assert "10:00" not in local_times(slots(spa))
    assert "11:00" in local_times(slots(spa))


def test_time_off_override_and_closure_hide_slots(client) -> None:
    spa = seed_spa(client)
    ava = uuid.UUID(spa.staff["Ava"])
    start = datetime.fromisoformat(spa.at("09:00"))
    insert(
        spa,
        TimeOff(
            staff_id=ava,
            start_at=start,
            end_at=start + timedelta(hours=3),
            reason="sickness",
            created_at=start,
        ),
    )
    free = local_times(slots(spa, staff_id=str(ava)))
    assert free[0] == "12:00"
    insert(
        spa, ScheduleOverride(staff_id=ava, day=spa.day, start_minute=0, end_minute=0)
    )
    assert local_times(slots(spa, staff_id=str(ava))) == []
    rejected = book(spa, "13:00")
    assert rejected.status_code == 422
    assert "start" in rejected.json()["errors"]
    insert(spa, Closure(first_day=spa.day, last_day=spa.day, reason="Holiday"))
    assert slots(spa) == []


def test_policy_grid_and_advance_window(client) -> None:
    spa = seed_spa(client)
    insert(spa, SchedulePolicy(granularity_minutes=30, max_advance_days=3))
    starts = local_times(slots(spa))
    assert starts[:3] == ["09:00", "09:30", "10:00"]
    far = spa.day + timedelta(days=5)
    response = spa.tenant.client.get(
        spa.tenant.api("/availability"),
        params={"service_id": spa.facial_id, "date": far.isoformat()},
    )
    assert response.status_code == 422
    assert "date" in response.json()["errors"]
    booking = book(spa, "10:00", start=spa.at("10:00", far))
    assert booking.status_code == 422
    assert "advance" in booking.json()["errors"]["start"]
    off_grid = book(spa, "10:15")
    assert off_grid.status_code == 422
    assert "grid" in off_grid.json()["errors"]["start"]
    # Staff bookings keep the staff horizon, not the online window.
    staff = spa.tenant.post(
        "/appointments", json=spa.booking("10:00", start=spa.at("10:00", far))
    )
    assert staff.status_code == 201, staff.text


def test_location_zone_and_hours(client) -> None:
    spa = seed_spa(client)
    uptown = Location(name="Uptown", time_zone="America/New_York", position=0)
    insert(spa, uptown)
    insert(
        spa,
        *[
            LocationHours(
                location_id=uptown.id, weekday=day, start_minute=600, end_minute=960
            )
            for day in range(7)
        ],
    )
    result = spa.tenant.client.get(
        spa.tenant.api("/availability"),
        params={"service_id": spa.facial_id, "date": spa.day.isoformat()},
    ).json()
    assert result["time_zone"] == "America/New_York"
    assert result["location_id"] == str(uptown.id)
    # Working 09:00-17:00 New York time, open from 10:00: first slot 10:00.
    assert result["slots"][0]["local"] == "10:00"
    assert result["slots"][0]["start"].endswith("+00:00")
    locations = spa.tenant.client.get(spa.tenant.api("/booking/locations")).json()
    assert [row["name"] for row in locations] == ["Uptown"]


def test_provider_hours_follow_location(client) -> None:
    spa = seed_spa(client)
    main = Location(name="Main", position=0)
    annex = Location(name="Annex", position=1)
    insert(spa, main, annex)
    cleo = uuid.UUID(spa.staff["Cleo"])

    async def move_cleo() -> None:
        await spa.tenant.scope.update(
            WorkingHours, {WorkingHours.location_id: annex.id}
        ).where(WorkingHours.staff_id == cleo)

    run(spa, move_cleo)
    at_main = slots(spa, service_id=spa.massage_id, staff_id="any")
    assert spa.staff["Cleo"] not in {s["staff_id"] for s in at_main}
    at_annex = slots(spa, service_id=spa.massage_id, location_id=str(annex.id))
    assert {s["staff_id"] for s in at_annex} == {spa.staff["Cleo"]}
    booked = book(
        spa,
        "09:00",
        service_id=spa.massage_id,
        staff_id=None,
        location_id=str(annex.id),
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["staff_id"] == spa.staff["Cleo"]
    assert booked.json()["location_id"] == str(annex.id)


def test_any_provider_picks_least_booked(client) -> None:
    spa = seed_spa(client)
    assert book(spa, "09:00").status_code == 201  # Ava
    offered = slots(spa, staff_id="any")
    at_ten = next(s for s in offered if s["local"] == "10:00")
    assert at_ten["staff_name"] == "Ben"
    assert at_ten["any_provider"] is True
    response = book(spa, "10:00", staff_id=None)
    assert response.status_code == 201, response.text
    assert response.json()["staff_name"] == "Ben"
    assert response.json()["any_provider"] is True


def test_search_covers_fourteen_days(client) -> None:
    spa = seed_spa(client)
    last = spa.day + timedelta(days=13)
    response = spa.tenant.client.get(
        spa.tenant.api("/availability"),
        params={
            "service_id": spa.facial_id,
            "date": spa.day.isoformat(),
            "last_date": last.isoformat(),
            "staff_id": spa.staff["Ava"],
        },
    )
    assert response.status_code == 200, response.text
    days = {s["date"] for s in response.json()["slots"]}
    assert len(days) == 14
    assert len(response.json()["slots"]) == 14 * 29


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"last_date": "2000-01-01"}, "last_date"),
        ({"location_id": "b354a06a-b0ad-49e4-8b35-92946741fc11"}, "location_id"),
        ({"location_id": "nowhere"}, "location_id"),
        ({"staff_id": "fe05f759-c5ac-4fd6-a12d-0bfe5500d13c"}, "staff_id"),
        ({"service_id": "b139e07b-bd83-4b59-a613-d607aafcbc7e"}, "service_id"),
        ({"fields": "{not json"}, "fields"),
        ({"date": "2026-02-30"}, "date"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ],
    ids=lambda value: str(value),
)
def test_bad_search_rejected(client, params: dict[str, str], field: str) -> None:
    spa = seed_spa(client)
    query = {"service_id": spa.facial_id, "date": spa.day.isoformat(), **params}
    response = client.get(spa.tenant.api("/availability"), params=query)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


def test_location_with_unknown_zone_rejected(client) -> None:
    spa = seed_spa(client)
    insert(spa, Location(name="Nowhere", time_zone="Mars/Olympus_Mons"))
    response = client.get(
        spa.tenant.api("/availability"),
        params={"service_id": spa.facial_id, "date": spa.day.isoformat()},
    )
    assert response.status_code == 422
    assert "location_id" in response.json()["errors"]


def test_visit_books_back_to_back(client) -> None:
    spa = seed_spa(client)
    items = [
        {"service_id": spa.facial_id, "staff_id": spa.staff["Ava"]},
        {"service_id": spa.massage_id, "staff_id": None},
    ]
    options = client.post(
        spa.tenant.api("/visits/availability"),
        json={"items": items, "date": spa.day.isoformat()},
    )
    assert options.status_code == 200, options.text
    first = options.json()["options"][0]
    assert first["local"] == "09:00"
    assert first["items"][1]["start"] == first["items"][0]["end"]
    body = {**spa.booking("09:00"), "items": items}
    del body["service_id"], body["staff_id"]
    response = client.post(spa.tenant.api("/visits"), json=body)
    assert response.status_code == 201, response.text
    visit = response.json()
    booked = visit["appointments"]
    assert [row["visit_id"] for row in booked] == [visit["visit_id"]] * 2
    assert booked[1]["start"] == booked[0]["end"]
    assert booked[1]["any_provider"] is True
    assert all(row["cancel_url"] for row in booked)


def test_visit_is_all_or_nothing(client) -> None:
    spa = seed_spa(client)
    # Cleo is busy when the massage would follow the facial.
    taken = book(spa, "10:00", service_id=spa.massage_id, staff_id=spa.staff["Cleo"])
    assert taken.status_code == 201
    before = len(spa.appointments())
    items = [
        {"service_id": spa.facial_id, "staff_id": spa.staff["Ava"]},
        {"service_id": spa.massage_id, "staff_id": spa.staff["Cleo"]},
    ]
    body = {**spa.booking("09:00"), "items": items}
    del body["service_id"], body["staff_id"]
    response = client.post(spa.tenant.api("/visits"), json=body)
    assert response.status_code == 409, response.text
    assert len(spa.appointments()) == before
    bad = client.post(
        spa.tenant.api("/visits"), json={**body, "items": [{"service_id": "x"}]}
    )
    assert bad.status_code == 422
    assert "items.0.service_id" in bad.json()["errors"]


class FakeHooks:
    """Hook callers for one plugin that requests a pet's weight and lengthens
    the service for heavy pets."""

    def __init__(self) -> None:
        self.made: list[dict[str, Any]] = []

    async def tillbook_booking_fields(self, **kwargs: Any) -> list[Any]:
        field = {"name": "pets.weight", "label": "Weight", "type": "number"}
        return [[{**field, "required": True}]]

    async def tillbook_service_timing(self, **kwargs: Any) -> dict[str, int] | None:
        if kwargs["fields"].get("pets.weight", 0) > 30:
            return {"duration_minutes": 120, "price": 9900}
        return None

    async def tillbook_validate_booking(self, **kwargs: Any) -> list[dict[str, str]]:
        if kwargs["booking"]["fields"].get("pets.weight", 0) > 80:
            return [{"pets.weight": "is too heavy for the table"}]
        return [{}]

    async def tillbook_booking_made(self, **kwargs: Any) -> list[Any]:
        self.made.append(kwargs["booking"])
        return []

    async def tillbook_notification_template(self, **kwargs: Any) -> None:
        return None


def test_plugin_hooks_shape_booking(client) -> None:
    spa = seed_spa(client)
    hooks = FakeHooks()
    start = datetime.fromisoformat(spa.at("10:00"))

    async def attempt(fields: dict[str, Any] | None) -> dict[str, Any]:
        return await book_appointment(
            spa.tenant.scope,
            service_id=spa.facial_id,
            staff_id=spa.staff["Ava"],
            start=start,
            client=NewClient("Rex", "Owner", "rex@example.com"),
            fields=fields,
            hooks=hooks,
        )

    for fields, name in [
        (None, "pets.weight"),
        ({"pets.weight": "heavy"}, "pets.weight"),
        ({"pets.weight": 90}, "pets.weight"),
        ({"pets.weight": 10, "pets.colour": "red"}, "pets.colour"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            run(spa, attempt, fields)
        assert name in caught.value.errors, fields
    assert spa.appointments() == []
    assert hooks.made == []
    booked = run(spa, attempt, {"pets.weight": 40})
    assert booked["duration_minutes"] == 120
    assert booked["price"] == 9900
    assert hooks.made[0]["appointment_id"] == booked["id"]
    assert hooks.made[0]["fields"] == {"pets.weight": 40}


def test_search_timing_hook_changes_duration(client) -> None:
    spa = seed_spa(client)

    async def search() -> list[Any]:
        result = await search_slots(
            spa.tenant.scope,
            service_id=spa.facial_id,
            first_day=spa.day,
            staff_id=spa.staff["Ava"],
            fields={"pets.weight": 40},
            hooks=FakeHooks(),
        )
        return result.slots

    offered = run(spa, search)
    assert offered[0].end - offered[0].start == timedelta(minutes=120)
    assert offered[-1].local == "15:00"


def _parallel_bookings(spa: Spa, bodies: list[dict[str, Any]]) -> list[int]:
    """Send booking requests at once through the app; return the statuses."""
    app = spa.tenant.client.app

    async def send_all() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1:8000"
        ) as http:
            responses = await asyncio.gather(
                *[http.post(spa.tenant.api("/bookings"), json=body) for body in bodies]
            )
        return [response.status_code for response in responses]

    return run(spa, send_all)  # type: ignore[no-any-return]


@pytest.mark.postgres
def test_fifty_parallel_requests_one_booking(client) -> None:
    spa = seed_spa(client)
    statuses = _parallel_bookings(spa, [spa.booking("11:00") for _ in range(50)])
    assert statuses.count(201) == 1
    assert statuses.count(409) == 49
    live = [row for row in spa.appointments() if row["status"] == "booked"]
    assert len(live) == 1
    assert len([h for h in select(spa, Hold) if h["live"]]) == 1


def _room_for_two(spa: Spa) -> Resource:
    room = Resource(name="Twin room", quantity=2)
    insert(spa, room)
    insert(
        spa, ServiceResource(service_id=uuid.UUID(spa.massage_id), resource_id=room.id)
    )
    return room


def _room_holds_at_once(spa: Spa, room: Resource) -> int:
    holds = [h for h in select(spa, Hold) if h["resource_id"] == room.id and h["live"]]
    units = {h["unit"] for h in holds}
    assert len(units) == len(holds), "two live holds share a unit"
    return len(holds)


@pytest.mark.postgres
def test_parallel_resource_never_overbooked_postgres(client) -> None:
    spa = seed_spa(client)
    room = _room_for_two(spa)
    bodies = [
        spa.booking("11:00", service_id=spa.massage_id, staff_id=spa.staff[name])
        for name in ("Ava", "Ben", "Cleo")
        for _ in range(5)
    ]
    statuses = _parallel_bookings(spa, bodies)
    assert statuses.count(201) <= 2
    assert statuses.count(201) + statuses.count(409) == len(bodies)
    assert _room_holds_at_once(spa, room) == statuses.count(201)


def test_parallel_resource_units_all_used(client) -> None:
    spa = seed_spa(client)
    room = _room_for_two(spa)
    bodies = [
        spa.booking("11:00", service_id=spa.massage_id, staff_id=spa.staff[name])
        for name in ("Ava", "Ben", "Cleo")
    ]
    statuses = _parallel_bookings(spa, bodies)
    assert statuses.count(201) == 2
    assert statuses.count(409) == 1
    assert _room_holds_at_once(spa, room) == 2


def test_visit_kernel_rejects_empty_start(client) -> None:
    spa = seed_spa(client)

    async def attempt() -> Any:
        return await book_visit(
            spa.tenant.scope,
            items=[VisitItem(spa.facial_id, spa.staff["Ava"])],
            start="",
            client=NewClient("Ann", "Lee", "ann@example.com"),
        )

    with pytest.raises(ValidationFailed) as caught:
        run(spa, attempt)
    assert "start" in caught.value.errors


def test_slot_unavailable_names_provider(client) -> None:
    spa = seed_spa(client)
    start = datetime.fromisoformat(spa.at("12:00"))

    async def attempt() -> Any:
        return await book_appointment(
            spa.tenant.scope,
            service_id=spa.facial_id,
            staff_id=spa.staff["Ava"],
            start=start,
            client=NewClient("Ann", "Lee", "ann@example.com"),
        )

    run(spa, attempt)
    with pytest.raises(SlotUnavailable) as caught:
        run(spa, attempt)
    assert caught.value.to_dict()["staff_id"] == spa.staff["Ava"]
    assert isinstance(spa.day, date)
    assert len([row for row in select(spa, Appointment)]) == 1


def test_provider_override_sets_duration_price(client) -> None:
    spa = seed_spa(client)
    facial = uuid.UUID(spa.facial_id)
    ben = uuid.UUID(spa.staff["Ben"])

    async def quicker_ben() -> None:
        await spa.tenant.scope.update(
            ServiceProvider,
            {ServiceProvider.duration_minutes: 30, ServiceProvider.price: 3000},
        ).where(ServiceProvider.service_id == facial)
        await spa.tenant.scope.update(
            ServiceProvider,
            {ServiceProvider.duration_minutes: None, ServiceProvider.price: None},
        ).where(ServiceProvider.staff_id != ben)

    run(spa, quicker_ben)
    offered = slots(spa, staff_id=spa.staff["Ben"])
    assert offered[-1]["local"] == "16:30"
    assert offered[0]["price"] == 3000
    booked = book(spa, "10:00", staff_id=spa.staff["Ben"])
    assert booked.status_code == 201, booked.text
    assert booked.json()["duration_minutes"] == 30
    assert booked.json()["price"] == 3000
    ava = book(spa, "10:00")
    assert ava.json()["duration_minutes"] == 60
    assert ava.json()["price"] == 6500


def test_viewer_zone_adds_local_times(client) -> None:
    spa = seed_spa(client)
    offered = slots(spa, staff_id=spa.staff["Ava"], time_zone="Asia/Kolkata")
    assert offered[0]["local"] == "09:00"
    in_kolkata = datetime.fromisoformat(offered[0]["start"]).astimezone(
        ZoneInfo("Asia/Kolkata")
    )
    assert offered[0]["viewer_local"] == in_kolkata.strftime("%H:%M")
    assert offered[0]["viewer_date"] == in_kolkata.date().isoformat()
    # Kolkata is 4:30 or 5:30 ahead of London, so the viewer time differs.
    assert offered[0]["viewer_local"] != "09:00"


def test_desk_books_visit_for_client(client) -> None:
    spa = seed_spa(client)
    first = book(spa, "09:00", service_id=spa.massage_id, staff_id=spa.staff["Cleo"])
    client_id = first.json()["client_id"]
    response = spa.tenant.post(
        "/appointments/visits",
        json={
            "client_id": client_id,
            "start": spa.at("12:00"),
            "items": [
                {"service_id": spa.massage_id, "staff_id": spa.staff["Ben"]},
                {"service_id": spa.facial_id, "staff_id": "any"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    booked = response.json()["appointments"]
    assert [row["client_id"] for row in booked] == [client_id, client_id]
    assert [row["source"] for row in booked] == ["staff", "staff"]
    assert booked[1]["start"] == booked[0]["end"]
    # Ava and Ben are both free; Ben already has the massage that day.
    assert booked[1]["staff_name"] == "Ava"
    anonymous = client.post(spa.tenant.api("/appointments/visits"), json={"items": []})
    assert anonymous.status_code in (401, 403)


def test_parallel_requests_one_booking_any_database(client) -> None:
    spa = seed_spa(client)
    statuses = _parallel_bookings(spa, [spa.booking("14:00") for _ in range(10)])
    assert statuses.count(201) == 1
    assert statuses.count(409) == 9
    assert len([h for h in select(spa, Hold) if h["live"]]) == 1
