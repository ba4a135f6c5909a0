"""Bad input found by hand in provider time, rescheduling and the iCalendar feed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.integration.test_appointment_changes import book, rows, token_of
from tests.integration.test_booking_setup import seed_spa
from tillbook.kernel.schedule.tables import (
    Appointment,
    LocationHours,
    ScheduleOverride,
    ServiceResource,
)


def test_schedule_change_far_date_is_422(client) -> None:
    spa = seed_spa(client)
    staff_id = spa.staff["Ava"]

    responses = {
        day: spa.tenant.client.put(
            spa.tenant.api(f"/staff/{staff_id}/schedule-changes/{day}"),
            json=body,
            headers=spa.tenant.headers,
        )
        for day, body in (
            ("9999-12-31", {"off": True}),
            ("9999-12-30", {"hours": [{"start": "22:00", "end": "02:00+1"}]}),
            ("0001-01-01", {"off": True}),
        )
    }

    for day, response in responses.items():
        assert response.status_code == 422, (day, response.text)
        assert "day" in response.json()["errors"], (day, response.text)
    assert rows(spa, ScheduleOverride) == []


def test_reschedule_far_start_is_422(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    path = f"/appointments/{appointment['id']}/reschedule"

    responses: dict[str, Any] = {
        start: spa.tenant.post(path, {"start": start})
        for start in (
            "9999-12-31T10:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:00:00-10:00",
            "0001-01-01T01:00:00+10:00",
        )
    }

    for start, response in responses.items():
        assert response.status_code == 422, (start, response.text)
        assert "start" in response.json()["errors"], (start, response.text)
    [row] = rows(spa, Appointment)
    assert row["start_at"].isoformat() == appointment["start"]


def test_booking_far_start_is_422(client) -> None:
    spa = seed_spa(client)

    for start in (
        "9999-12-31T10:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:00:00-10:00",
    ):
        staff = spa.tenant.post("/appointments", spa.booking(start=start))
        public = client.post(spa.tenant.api("/bookings"), json=spa.booking(start=start))
        for response in (staff, public):
            assert response.status_code == 422, (start, response.text)
            assert "start" in response.json()["errors"], (start, response.text)
    assert spa.appointments() == []


def test_feed_content_type_has_one_charset(client) -> None:
    spa = seed_spa(client)
    book(spa, "10:00")
    created = spa.tenant.post(f"/staff/{spa.staff['Ava']}/feed")
    assert created.status_code == 201, created.text
    path = "/t/" + created.json()["url"].split("/t/", 1)[1]

    response = client.get(path)

    assert response.status_code == 200, response.text
    content_type = response.headers["content-type"]
    assert content_type.startswith("text/calendar"), content_type
    assert content_type.lower().count("charset") == 1, content_type
    assert "BEGIN:VEVENT" in response.text


def test_move_pages_far_start_is_422(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    start = "9999-12-31T23:00:00-10:00"
    desk = spa.tenant.page(f"/staff/appointments/{appointment['id']}/changes/move")
    public = spa.tenant.page(f"/book/manage/{token_of(appointment)}/move")
    headers = spa.tenant.headers

    responses = {
        "desk form": client.get(desk, params={"start": start}, headers=headers),
        "desk move": client.post(desk, data={"start": start}, headers=headers),
        "client form": client.get(f"{public}/confirm", params={"start": start}),
        "client move": client.post(public, data={"start": start}),
    }

    for name, response in responses.items():
        assert response.status_code == 422, (name, response.text[:300])
    [row] = rows(spa, Appointment)
    assert row["start_at"].isoformat() == appointment["start"]


def test_schedule_change_repeated_at_once_keeps_one(client) -> None:
    spa = seed_spa(client)
    path = spa.tenant.api(
        f"/staff/{spa.staff['Ava']}/schedule-changes/{spa.day.isoformat()}"
    )
    body = {"hours": [{"start": "10:00", "end": "12:00"}]}

    def put(_: int) -> Any:
        return client.put(path, json=body, headers=spa.tenant.headers)

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(put, range(12)))

    assert [response.status_code for response in responses] == [200] * 12
    [row] = rows(spa, ScheduleOverride)
    assert (row["start_minute"], row["end_minute"]) == (600, 720)


def test_hours_and_resources_repeated_at_once_keep_one(client) -> None:
    spa = seed_spa(client)
    tenant = spa.tenant
    location = tenant.post("/locations", {"name": "Annexe"}).json()["id"]
    resource = tenant.post(
        "/resources",
        {"name": "Room", "kind": "room", "quantity": 3, "location_id": location},
    ).json()["id"]
    calls = [
        (
            tenant.api(f"/locations/{location}/hours"),
            [{"weekday": 0, "start": "09:00", "end": "17:00"}],
        ),
        (
            tenant.api(f"/catalog/services/{spa.facial_id}/resources"),
            [{"resource_id": resource, "quantity": 1}],
        ),
    ] * 8

    def put(call: tuple[str, Any]) -> Any:
        return client.put(call[0], json=call[1], headers=tenant.headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(put, calls))

    assert [response.status_code for response in responses] == [200] * 16
    assert len(rows(spa, LocationHours)) == 1
    assert len(rows(spa, ServiceResource)) == 1


def test_schedule_change_elsewhere_lists_right_appointments(client) -> None:
    spa = seed_spa(client)
    inside = book(spa, "10:00")
    outside = book(spa, "14:00")
    # UTC+14 all year: 20:00 there is 06:00 UTC on the same date.
    location = spa.tenant.post(
        "/locations", {"name": "Line Islands", "time_zone": "Pacific/Kiritimati"}
    )
    assert location.status_code == 201, location.text
    path = f"/staff/{spa.staff['Ava']}/schedule-changes/{spa.day.isoformat()}"
    hours = [{"start": "20:00", "end": "03:00+1", "location_id": location.json()["id"]}]

    response = spa.tenant.client.put(
        spa.tenant.api(path), json={"hours": hours}, headers=spa.tenant.headers
    )

    assert response.status_code == 200, response.text
    listed = [item["id"] for item in response.json()["affected_appointments"]]
    assert outside["id"] in listed
    assert inside["id"] not in listed
