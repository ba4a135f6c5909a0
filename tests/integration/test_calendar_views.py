"""Calendar day and week views by provider and by resource, and moving an
appointment from its "Move" page."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from tests.integration.test_booking_setup import Spa, add_member, seed_spa
from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.schedule.tables import Appointment, ClassSession
from tillbook.tenancy.roles import Role

HTML = {"Accept": "text/html"}


def _get(client: Any, spa: Spa, path: str, **kwargs: Any) -> Any:
    headers = {**HTML, **spa.tenant.headers, **kwargs.pop("headers", {})}
    return client.get(spa.tenant.page(path), headers=headers, **kwargs)


def _book(client: Any, spa: Spa, clock: str, **changes: Any) -> dict[str, Any]:
    response = client.post(
        spa.tenant.api("/bookings"), json=spa.booking(clock, **changes)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_day_view_shows_provider_time(client) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    day = spa.day.isoformat()
    put = client.put(
        spa.tenant.api(f"/staff/{ava}/breaks"),
        headers=spa.tenant.headers,
        json=[
            {
                "weekday": spa.day.weekday(),
                "start": "12:00",
                "end": "12:45",
                "label": "Lunch",
            }
        ],
    )
    assert put.status_code == 200, put.text
    away = spa.tenant.post(
        f"/staff/{spa.staff['Ben']}/time-off",
        {"start": f"{day}T14:00", "end": f"{day}T16:00", "reason": "training"},
    )
    assert away.status_code == 201, away.text
    closed = spa.tenant.post(
        "/closures", {"first_day": day, "last_day": day, "reason": "Inventory"}
    )
    assert closed.status_code == 201
    changed = client.put(
        spa.tenant.api(f"/staff/{spa.staff['Cleo']}/schedule-changes/{day}"),
        headers=spa.tenant.headers,
        json={"off": True},
    )
    assert changed.status_code == 200

    response = _get(client, spa, "/staff/calendar", params={"date": day})
    assert response.status_code == 200, response.text
    html = response.text
    assert "12:00\u201312:45</span> Lunch" in html
    assert "14:00\u201316:00</span> Training" in html
    assert "Closed: Inventory" in html
    assert "Not working (changed)" in html
    assert "Working 09:00-17:00" in html


def test_processing_gap_and_class_on_calendar(client) -> None:
    spa = seed_spa(client)
    scope = spa.tenant.scope

    async def add_gap_and_class() -> None:
        await scope.update(
            Service,
            {Service.processing_after_minutes: 20, Service.processing_minutes: 25},
        ).where(Service.id == uuid.UUID(spa.facial_id))
        start = spa.at("15:00")
        from datetime import datetime

        begin = datetime.fromisoformat(start)
        await scope.insert(
            ClassSession(
                service_id=uuid.UUID(spa.massage_id),
                staff_id=uuid.UUID(spa.staff["Cleo"]),
                start_at=begin,
                end_at=begin + timedelta(hours=1),
                capacity=8,
                created_at=utcnow(),
            )
        )

    spa.tenant.run(add_gap_and_class)
    booked = _book(client, spa, "10:00")

    async def copy_gap() -> None:
        await scope.update(
            Appointment,
            {
                Appointment.processing_after_minutes: 20,
                Appointment.processing_minutes: 25,
            },
        ).where(Appointment.id == uuid.UUID(booked["id"]))

    spa.tenant.run(copy_gap)
    html = _get(
        client, spa, "/staff/calendar", params={"date": spa.day.isoformat()}
    ).text
    assert "Processing 10:20\u201310:45: free" in html
    assert "15:00\u201316:00</span> Back Massage" in html
    assert "0/8" in html


def _check_week_view_and_fragment(client: Any) -> None:
    spa = seed_spa(client)
    _book(client, spa, "10:00")
    response = _get(
        client,
        spa,
        "/staff/calendar",
        params={"date": spa.day.isoformat(), "view": "week"},
    )
    assert response.status_code == 200, response.text
    html = response.text
    monday = spa.day - timedelta(days=spa.day.weekday())
    assert html.count('<tr class="column-row"') == 3
    assert f"date={monday.isoformat()}&amp;view=day" in html
    assert f"date={(spa.day + timedelta(days=7)).isoformat()}&amp;view=week" in html
    assert "Maya Lind" in html

    fragment = _get(
        client,
        spa,
        "/staff/calendar/fragment",
        params={"date": spa.day.isoformat(), "view": "week"},
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div class="calendar" id="calendar"')
    assert f'data-date="{monday.isoformat()}"' in fragment.text
    assert "Maya Lind" in fragment.text


def test_resource_view(client) -> None:
    spa = seed_spa(client)
    room = spa.tenant.post("/resources", {"name": "Facial room", "kind": "room"}).json()
    spa.tenant.post("/resources", {"name": "Sauna", "kind": "room"})
    linked = client.put(
        spa.tenant.api(f"/catalog/services/{spa.facial_id}/resources"),
        headers=spa.tenant.headers,
        json=[{"resource_id": room["id"], "quantity": 1}],
    )
    assert linked.status_code == 200, linked.text
    _book(client, spa, "10:00")
    html = _get(
        client,
        spa,
        "/staff/calendar",
        params={"date": spa.day.isoformat(), "by": "resource"},
    ).text
    assert html.count('<section class="column"') == 2
    facial_column = html.split(f'data-resource-id="{room["id"]}"')[1].split(
        "</section>"
    )[0]
    assert "Maya Lind" in facial_column
    week = _get(
        client,
        spa,
        "/staff/calendar",
        params={"date": spa.day.isoformat(), "by": "resource", "view": "week"},
    )
    assert week.status_code == 200
    assert week.text.count('<tr class="column-row"') == 2


def _check_calendar_views_open_to_every_role(client: Any) -> None:
    spa = seed_spa(client)
    for role in (Role.FRONT_DESK, Role.PROVIDER):
        headers = add_member(client, spa.tenant, role)
        response = _get(
            client, spa, "/staff/calendar", params={"view": "week"}, headers=headers
        )
        assert response.status_code == 200


def test_move_page_lists_and_moves(client) -> None:
    spa = seed_spa(client)
    booked = _book(client, spa, "10:00")
    path = f"/staff/appointments/{booked['id']}/move"
    page = _get(client, spa, path)
    assert page.status_code == 200, page.text
    assert 'id="move-slots"' in page.text
    assert spa.at("14:00") in page.text.replace("&#43;", "+")

    moved = client.post(
        spa.tenant.page(path),
        headers={**HTML, **spa.tenant.headers},
        data={
            "start": spa.at("14:00"),
            "staff_id": spa.staff["Ava"],
            "date": spa.day.isoformat(),
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    assert moved.headers["location"].endswith(f"/staff/appointments/{booked['id']}")
    row = spa.appointments()[0]
    assert row["start_at"].isoformat() == spa.at("14:00")

    other = _book(client, spa, "11:00", first_name="Noor")
    taken = client.post(
        spa.tenant.page(path),
        headers={**HTML, **spa.tenant.headers},
        data={
            "start": spa.at("11:00"),
            "staff_id": spa.staff["Ava"],
            "date": spa.day.isoformat(),
        },
        follow_redirects=False,
    )
    assert taken.status_code == 409, taken.text
    assert 'id="move-error"' in taken.text
    assert other["id"] != booked["id"]

    bad = client.post(
        spa.tenant.page(path),
        headers={**HTML, **spa.tenant.headers},
        data={"start": "soon", "staff_id": spa.staff["Ava"]},
        follow_redirects=False,
    )
    assert bad.status_code == 422


def test_move_other_tenants_appointment_is_404(client) -> None:
    spa = seed_spa(client)
    other = seed_spa(client)
    theirs = _book(client, other, "10:00")
    path = f"/staff/appointments/{theirs['id']}/move"
    assert _get(client, spa, path).status_code == 404
    response = client.post(
        spa.tenant.page(path),
        headers={**HTML, **spa.tenant.headers},
        data={"start": other.at("14:00")},
        follow_redirects=False,
    )
    assert response.status_code == 404
    assert other.appointments()[0]["start_at"].isoformat() == other.at("10:00")


def test_location_filter_uses_its_zone(client) -> None:
    spa = seed_spa(client)
    main = spa.tenant.post("/locations", {"name": "Main"}).json()
    east = spa.tenant.post(
        "/locations", {"name": "East", "time_zone": "Asia/Kolkata", "position": 1}
    ).json()
    moved = client.put(
        spa.tenant.api(f"/staff/{spa.staff['Cleo']}/hours"),
        headers=spa.tenant.headers,
        json=[
            {
                "weekday": day,
                "start": "09:00",
                "end": "17:00",
                "location_id": east["id"],
            }
            for day in range(7)
        ],
    )
    assert moved.status_code == 200, moved.text
    _book(client, spa, "10:00")
    day = spa.day.isoformat()
    at_main = _get(
        client, spa, "/staff/calendar", params={"date": day, "location": main["id"]}
    )
    assert at_main.status_code == 200, at_main.text
    assert at_main.text.count('<section class="column"') == 2
    assert "Maya Lind" in at_main.text
    at_east = _get(
        client, spa, "/staff/calendar", params={"date": day, "location": east["id"]}
    )
    assert at_east.text.count('<section class="column"') == 1
    assert "Maya Lind" not in at_east.text
    assert "Times in Asia/Kolkata" in at_east.text
    unknown = _get(
        client, spa, "/staff/calendar", params={"location": str(uuid.uuid4())}
    )
    assert unknown.status_code == 404


def test_week_view_for_every_role(client) -> None:
    """The week view and its fragment, open to every staff role."""
    _check_week_view_and_fragment(client)
    _check_calendar_views_open_to_every_role(client)
