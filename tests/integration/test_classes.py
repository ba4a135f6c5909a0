"""Class sessions: capacity, waitlist, promotion, late cancellation, roll call."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.class_studio import Studio, seed_studio
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, ValidationFailed, invalid
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.class_roster import book_place, cancel_place
from tillbook.kernel.schedule.classes import ClassFull
from tillbook.kernel.schedule.tables import Hold, SchedulePolicy


def _statuses(studio: Studio) -> dict[str, str]:
    return {str(row["client_id"]): row["status"] for row in studio.bookings()}


def _session_takes_capacity_from_service(client) -> None:
    studio = seed_studio(client, capacity=12)
    session = studio.new_session(resource_id=studio.room_id)
    assert session["capacity"] == 12
    assert session["places_left"] == 12
    assert session["local"] == "18:00"
    assert session["duration_minutes"] == 60
    assert session["resource_name"] == "Studio A"
    holds = [
        row for row in studio.rows(Hold) if str(row["session_id"]) == session["id"]
    ]
    assert {bool(row["staff_id"]) for row in holds} == {True, False}
    assert all(row["live"] for row in holds)


def _session_rejects_appointment_service(client) -> None:
    studio = seed_studio(client)
    response = studio.tenant.post(
        "/catalog/services", {"name": "Facial", "duration_minutes": 60, "price": 10}
    )
    assert response.status_code == 201, response.text
    response = studio.tenant.post(
        "/classes/sessions",
        {
            "service_id": response.json()["id"],
            "staff_id": studio.staff_id,
            "start": studio.start().isoformat(),
        },
    )
    assert response.status_code == 422
    assert "service_id" in response.json()["errors"]


def _session_bad_input_names_field(client) -> None:
    studio = seed_studio(client)
    start = studio.start()
    cases = [
        ({"end": (start - timedelta(minutes=5)).isoformat()}, "end"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": "many"}, "capacity"),
        ({"staff_id": "nobody"}, "staff_id"),
        ({"start": "tomorrow"}, "start"),
        ({"start": "2027-01-05T18:00:00"}, "start"),
        ({"resource_id": str(uuid.uuid4())}, "resource_id"),
        ({"colour": "red"}, "colour"),
    ]
    for override, field in cases:
        body = {
            "service_id": studio.service_id,
            "staff_id": studio.staff_id,
            "start": start.isoformat(),
            **override,
        }
        response = studio.tenant.post("/classes/sessions", body)
        assert response.status_code == 422, (override, response.text)
        assert field in response.json()["errors"], (override, response.text)
    assert studio.rows(Hold) == []


def _instructor_busy_gives_409(client) -> None:
    studio = seed_studio(client)
    studio.new_session()
    response = studio.tenant.post(
        "/classes/sessions",
        {
            "service_id": studio.service_id,
            "staff_id": studio.staff_id,
            "start": (studio.start() + timedelta(minutes=30)).isoformat(),
        },
    )
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"


def _full_class_fills_waitlist_in_order(client) -> None:
    studio = seed_studio(client, capacity=2)
    session = studio.new_session()
    names = ["Ann", "Bea", "Cat", "Dee"]
    ids = {name: studio.new_client(name) for name in names}
    answers = {name: studio.book(session["id"], ids[name]).json() for name in names}
    assert answers["Ann"]["status"] == "booked"
    assert answers["Bea"]["status"] == "booked"
    assert answers["Cat"]["status"] == "waitlisted"
    assert answers["Cat"]["waitlist_position"] == 1
    assert answers["Dee"]["waitlist_position"] == 2
    assert answers["Dee"]["session"]["places_left"] == 0
    assert answers["Dee"]["session"]["waitlisted"] == 2

    detail = studio.tenant.get(f"/classes/sessions/{session['id']}").json()
    assert [item["client_id"] for item in detail["roster"]] == [ids["Ann"], ids["Bea"]]
    assert [item["client_id"] for item in detail["waitlist"]] == [
        ids["Cat"],
        ids["Dee"],
    ]
    assert len(studio.mails_to(ids["Cat"])) == 1
    assert "waitlist" in studio.mails_to(ids["Cat"])[0]["text"]


def _no_waitlist_answers_class_full(client) -> None:
    studio = seed_studio(client, capacity=1)
    session = studio.new_session()
    assert studio.book(session["id"], studio.new_client("Ann")).status_code == 201
    response = studio.book(session["id"], studio.new_client("Bea"), waitlist=False)
    assert response.status_code == 409
    assert response.json()["code"] == "class_full"
    assert len(studio.bookings()) == 1


def _client_books_once_per_session(client) -> None:
    studio = seed_studio(client, capacity=3)
    session = studio.new_session()
    ann = studio.new_client("Ann")
    assert studio.book(session["id"], ann).status_code == 201
    response = studio.book(session["id"], ann)
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def _cancel_promotes_first_waiting(client) -> None:
    studio = seed_studio(client, capacity=1)
    session = studio.new_session(start=studio.start(days=5).isoformat())
    ann, bea, cat = (studio.new_client(name) for name in ("Ann", "Bea", "Cat"))
    first = studio.book(session["id"], ann).json()
    studio.book(session["id"], bea)
    studio.book(session["id"], cat)

    response = studio.tenant.post(f"/classes/bookings/{first['id']}/cancel")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "cancelled"
    assert [item["client_id"] for item in result["promoted"]] == [bea]
    assert result["session"]["booked"] == 1
    assert result["session"]["waitlisted"] == 1
    statuses = _statuses(studio)
    assert statuses[ann] == "cancelled"
    assert statuses[bea] == "booked"
    assert statuses[cat] == "waitlisted"

    promoted = studio.events("class_booking.promoted")
    assert len(promoted) == 1
    assert bea in promoted[0]["payload"]
    mails = [row["subject"] for row in studio.mails_to(bea)]
    assert any(subject.startswith("You're in") for subject in mails)


def _cancel_twice_changes_nothing(client) -> None:
    studio = seed_studio(client, capacity=1)
    session = studio.new_session(start=studio.start(days=5).isoformat())
    place = studio.book(session["id"], studio.new_client("Ann")).json()
    studio.tenant.post(f"/classes/bookings/{place['id']}/cancel")
    events = len(studio.events("class_booking.cancelled"))
    response = studio.tenant.post(f"/classes/bookings/{place['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert len(studio.events("class_booking.cancelled")) == events


def _late_cancel_inside_window(client) -> None:
    studio = seed_studio(client, capacity=1)
    studio.tenant.run(
        studio.tenant.scope.insert, SchedulePolicy(class_late_cancel_hours=48)
    )
    soon = studio.new_session(start=(utcnow() + timedelta(hours=30)).isoformat())
    later = studio.new_session(
        start=(utcnow() + timedelta(hours=80)).isoformat(),
        staff_id=studio.other_staff_id,
    )
    ann, bea = studio.new_client("Ann"), studio.new_client("Bea")
    late = studio.book(soon["id"], ann).json()
    waiting = studio.book(soon["id"], bea).json()
    early = studio.book(later["id"], ann).json()

    response = studio.tenant.post(f"/classes/bookings/{late['id']}/cancel")
    assert response.json()["status"] == "late_cancelled"
    # A late cancellation still frees the place for the waitlist.
    assert [item["id"] for item in response.json()["promoted"]] == [waiting["id"]]
    response = studio.tenant.post(f"/classes/bookings/{early['id']}/cancel")
    assert response.json()["status"] == "cancelled"
    assert len(studio.events("class_booking.late_cancelled")) == 1


def _staff_may_waive_late_cancel(client) -> None:
    studio = seed_studio(client)
    session = studio.new_session(start=(utcnow() + timedelta(hours=2)).isoformat())
    place = studio.book(session["id"], studio.new_client("Ann")).json()
    response = studio.tenant.post(
        f"/classes/bookings/{place['id']}/cancel", {"waive_late": True}
    )
    assert response.json()["status"] == "cancelled"


def _capacity_cut_keeps_booked(client) -> None:
    studio = seed_studio(client, capacity=3)
    session = studio.new_session()
    ids = [studio.new_client(name) for name in ("Ann", "Bea", "Cat", "Dee")]
    for client_id in ids[:3]:
        studio.book(session["id"], client_id)
    response = studio.tenant.patch(
        f"/classes/sessions/{session['id']}", {"capacity": 1}
    )
    assert response.status_code == 200, response.text
    assert response.json()["booked"] == 3
    assert response.json()["places_left"] == 0
    assert studio.book(session["id"], ids[3]).json()["status"] == "waitlisted"
    assert sorted(_statuses(studio).values()) == ["booked"] * 3 + ["waitlisted"]


def _capacity_rise_promotes(client) -> None:
    studio = seed_studio(client, capacity=1)
    session = studio.new_session()
    ann, bea, cat = (studio.new_client(name) for name in ("Ann", "Bea", "Cat"))
    for client_id in (ann, bea, cat):
        studio.book(session["id"], client_id)
    response = studio.tenant.patch(
        f"/classes/sessions/{session['id']}", {"capacity": 2}
    )
    assert response.json()["booked"] == 2
    statuses = _statuses(studio)
    assert statuses[bea] == "booked"
    assert statuses[cat] == "waitlisted"


def _new_instructor_moves_holds(client) -> None:
    studio = seed_studio(client)
    session = studio.new_session()
    studio.book(session["id"], studio.new_client("Ann"))
    response = studio.tenant.patch(
        f"/classes/sessions/{session['id']}", {"staff_id": studio.other_staff_id}
    )
    assert response.status_code == 200, response.text
    assert response.json()["staff_name"] == "Omar Instructor"
    assert response.json()["booked"] == 1
    live = [row for row in studio.rows(Hold) if row["live"]]
    assert [str(row["staff_id"]) for row in live] == [studio.other_staff_id]
    response = studio.tenant.patch(
        f"/classes/sessions/{session['id']}", {"start": "2020-01-07T18:00:00Z"}
    )
    assert response.status_code == 422
    assert "start" in response.json()["errors"]
    # The first instructor is free again at that time.
    assert studio.new_session()["staff_id"] == studio.staff_id


def _busy_room_rejects_change(client) -> None:
    studio = seed_studio(client)
    studio.new_session(resource_id=studio.room_id)
    other = studio.new_session(staff_id=studio.other_staff_id)
    response = studio.tenant.patch(
        f"/classes/sessions/{other['id']}", {"resource_id": studio.room_id}
    )
    assert response.status_code == 409
    detail = studio.tenant.get(f"/classes/sessions/{other['id']}").json()
    assert detail["resource_id"] is None


def test_cancel_session_notifies_roster(client) -> None:
    studio = seed_studio(client, capacity=1)
    session = studio.new_session()
    ann, bea = studio.new_client("Ann"), studio.new_client("Bea")
    studio.book(session["id"], ann)
    studio.book(session["id"], bea)
    response = studio.tenant.post(
        f"/classes/sessions/{session['id']}/cancel", {"reason": "Instructor ill"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert set(_statuses(studio).values()) == {"cancelled"}
    for client_id in (ann, bea):
        mails = studio.mails_to(client_id)
        assert any(row["subject"].startswith("Class cancelled") for row in mails)
        assert any("Instructor ill" in row["text"] for row in mails)
    assert not any(row["live"] for row in studio.rows(Hold))
    assert studio.book(session["id"], studio.new_client("Cat")).status_code == 409


def _roll_call_marks_places(client) -> None:
    studio = seed_studio(client, capacity=3)
    session = studio.new_session()
    ann, bea, cat = (studio.new_client(name) for name in ("Ann", "Bea", "Cat"))
    places = {cid: studio.book(session["id"], cid).json()["id"] for cid in (ann, bea)}
    waiting_session = studio.new_session(staff_id=studio.other_staff_id, capacity=1)
    studio.book(waiting_session["id"], cat)

    response = studio.tenant.post(
        f"/classes/sessions/{session['id']}/roll-call",
        {"marks": {places[ann]: "attended", places[bea]: "no_show"}},
    )
    assert response.status_code == 200, response.text
    statuses = {item["client_id"]: item["status"] for item in response.json()["roster"]}
    assert statuses == {ann: "attended", bea: "no_show"}
    attended = next(
        item for item in response.json()["roster"] if item["client_id"] == ann
    )
    assert attended["checked_in_at"] is not None

    response = studio.tenant.post(
        f"/classes/bookings/{places[bea]}/attendance", {"status": "attended"}
    )
    assert response.json()["status"] == "attended"
    response = studio.tenant.post(
        f"/classes/bookings/{places[bea]}/attendance", {"status": "present"}
    )
    assert response.status_code == 422
    assert "status" in response.json()["errors"]


def _roll_call_rejects_foreign_booking(client) -> None:
    studio = seed_studio(client, capacity=3)
    session = studio.new_session()
    other = studio.new_session(staff_id=studio.other_staff_id)
    ann = studio.book(session["id"], studio.new_client("Ann")).json()
    stranger = studio.book(other["id"], studio.new_client("Bea")).json()
    response = studio.tenant.post(
        f"/classes/sessions/{session['id']}/roll-call",
        {"marks": {ann["id"]: "attended", stranger["id"]: "attended"}},
    )
    assert response.status_code == 422
    assert f"marks.{stranger['id']}" in response.json()["errors"]
    # Nothing was marked: the whole roll call rolled back.
    assert {row["status"] for row in studio.bookings()} == {"booked"}


def _list_sessions_by_range(client) -> None:
    studio = seed_studio(client)
    first = studio.new_session(start=studio.start(days=2).isoformat())
    studio.new_session(start=studio.start(days=9).isoformat())
    day = first["date"]
    response = studio.tenant.get("/classes/sessions", params={"from": day, "to": day})
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["sessions"]] == [first["id"]]
    response = studio.tenant.get(
        "/classes/sessions", params={"from": day, "to": "2020-01-01"}
    )
    assert response.status_code == 422
    assert "to" in response.json()["errors"]


def _public_booking_and_timetable(client) -> None:
    studio = seed_studio(client, capacity=1)
    session = studio.new_session()
    response = client.get(studio.tenant.api("/classes/timetable"))
    assert response.status_code == 200
    listed = response.json()["sessions"]
    assert [item["id"] for item in listed] == [session["id"]]
    assert "note" not in listed[0]

    path = studio.tenant.api(f"/classes/sessions/{session['id']}/book")
    body = {"first_name": "Mia", "last_name": "Park", "email": "mia@example.com"}
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "booked"
    assert "/classes/cancel/" in response.json()["cancel_url"]
    response = client.post(path, json={**body, "email": ""})
    assert response.status_code == 422
    assert "email" in response.json()["errors"]
    response = client.post(
        path, json={**body, "email": "noa@example.com", "waitlist": False}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "class_full"


# Kernel calls with a stand-in for the tenant's plugin hooks.


class CreditHooks:
    """Plugin hooks that allow ``credits`` class places and record each change."""

    def __init__(self, credits: int) -> None:
        self.credits = credits
        self.changes: list[tuple[str, str]] = []

    async def tillbook_validate_booking(
        self, *, scope: Any, booking: dict[str, Any]
    ) -> list:
        assert booking["kind"] == "class"
        return [{}]

    async def tillbook_class_booking_changed(
        self,
        *,
        scope: Any,
        booking: dict[str, Any],
        session: dict[str, Any],
        change: str,
    ) -> list:
        assert isinstance(booking["id"], str)
        if change in ("booked", "promoted"):
            if self.credits == 0:
                raise invalid("client_id", "has no class credits left")
            self.credits -= 1
        self.changes.append((change, booking["client_id"]))
        return []


def _plugin_rejection_rolls_back(client) -> None:
    studio = seed_studio(client, capacity=2)
    session = studio.new_session()
    hooks = CreditHooks(credits=1)
    scope = studio.tenant.scope
    ann, bea = studio.new_client("Ann"), studio.new_client("Bea")
    studio.tenant.run(lambda: book_place(scope, session["id"], client=ann, hooks=hooks))
    with pytest.raises(ValidationFailed) as caught:
        studio.tenant.run(
            lambda: book_place(scope, session["id"], client=bea, hooks=hooks)
        )
    assert "client_id" in caught.value.errors
    assert [str(row["client_id"]) for row in studio.bookings()] == [ann]
    assert hooks.changes == [("booked", ann)]


def _rejected_promotion_skips_client(client) -> None:
    studio = seed_studio(client, capacity=1)
    session = studio.new_session(start=studio.start(days=5).isoformat())
    scope = studio.tenant.scope
    ann, bea, cat = (studio.new_client(name) for name in ("Ann", "Bea", "Cat"))
    for client_id in (ann, bea, cat):
        studio.tenant.run(
            lambda c=client_id: book_place(scope, session["id"], client=c)
        )
    first = next(row for row in studio.bookings() if str(row["client_id"]) == ann)

    class NoCreditsForBea(CreditHooks):
        async def tillbook_class_booking_changed(self, **kwargs: Any) -> list:
            if kwargs["booking"]["client_id"] == bea:
                raise invalid("client_id", "has no class credits left")
            return await super().tillbook_class_booking_changed(**kwargs)

    hooks = NoCreditsForBea(credits=5)
    result = studio.tenant.run(lambda: cancel_place(scope, first["id"], hooks=hooks))
    assert [item["client_id"] for item in result["promoted"]] == [cat]
    statuses = _statuses(studio)
    assert statuses == {ann: "cancelled", bea: "waitlisted", cat: "booked"}


def _client_cancel_after_start_conflicts(client) -> None:
    studio = seed_studio(client)
    session = studio.new_session()
    scope = studio.tenant.scope
    place = studio.book(session["id"], studio.new_client("Ann")).json()
    after = studio.start() + timedelta(minutes=5)
    with pytest.raises(Conflict):
        studio.tenant.run(
            lambda: cancel_place(scope, place["id"], by="client", now=after)
        )
    with pytest.raises(Conflict):
        studio.tenant.run(
            lambda: book_place(
                scope,
                session["id"],
                client=place["client_id"],
                source="online",
                now=after,
            )
        )


# Concurrency.


async def _insert_clients(studio: Studio, count: int) -> list[uuid.UUID]:
    rows = [
        Client(
            first_name=f"Racer{index}",
            last_name="Client",
            email="",
            created_at=utcnow(),
        )
        for index in range(count)
    ]
    await studio.tenant.scope.insert(*rows)
    return [row.id for row in rows]


@pytest.mark.postgres
def test_fifty_race_for_last_place(client) -> None:
    studio = seed_studio(client, capacity=3)
    session = studio.new_session()
    scope = studio.tenant.scope
    ids = studio.tenant.run(_insert_clients, studio, 52)
    for client_id in ids[:2]:
        studio.tenant.run(
            lambda c=client_id: book_place(scope, session["id"], client=c)
        )

    async def race() -> list[Any]:
        async def one(client_id: uuid.UUID, waitlist: bool) -> Any:
            try:
                return await book_place(
                    scope, session["id"], client=client_id, waitlist=waitlist
                )
            except ClassFull as exc:
                return exc

        return await asyncio.gather(
            *(one(cid, index % 2 == 0) for index, cid in enumerate(ids[2:]))
        )

    results = studio.tenant.run(race)
    booked = [
        item
        for item in results
        if isinstance(item, dict) and item["status"] == "booked"
    ]
    waiting = [
        item
        for item in results
        if isinstance(item, dict) and item["status"] == "waitlisted"
    ]
    full = [item for item in results if isinstance(item, ClassFull)]
    assert len(booked) == 1
    assert len(waiting) + len(full) == 49
    assert len(waiting) == 24 or len(waiting) == 25
    positions = sorted(item["waitlist_position"] for item in waiting)
    assert positions == list(range(1, len(waiting) + 1))
    taken = [row for row in studio.bookings() if row["status"] == "booked"]
    assert len(taken) == 3


@pytest.mark.postgres
def test_cancel_races_new_booking(client) -> None:
    studio = seed_studio(client, capacity=1)
    session = studio.new_session(start=studio.start(days=5).isoformat())
    scope = studio.tenant.scope
    ids = studio.tenant.run(_insert_clients, studio, 12)
    first = studio.tenant.run(lambda: book_place(scope, session["id"], client=ids[0]))
    studio.tenant.run(lambda: book_place(scope, session["id"], client=ids[1]))

    async def race() -> list[Any]:
        return await asyncio.gather(
            cancel_place(scope, first["id"]),
            *(book_place(scope, session["id"], client=cid) for cid in ids[2:]),
        )

    studio.tenant.run(race)
    rows = studio.bookings()
    taken = [row for row in rows if row["status"] == "booked"]
    assert len(taken) == 1
    # The freed place went to the client first on the waitlist.
    assert taken[0]["client_id"] == ids[1]


def _other_tenant_booking_is_404(client) -> None:
    studio = seed_studio(client)
    session = studio.new_session()
    place = studio.book(session["id"], studio.new_client("Ann")).json()
    other = seed_studio(client)
    assert other.tenant.get(f"/classes/sessions/{session['id']}").status_code == 404
    response = other.tenant.post(f"/classes/bookings/{place['id']}/cancel")
    assert response.status_code == 404
    assert _statuses(studio) == {place["client_id"]: "booked"}


def test_session_setup_and_input(client) -> None:
    _session_takes_capacity_from_service(client)
    _session_rejects_appointment_service(client)
    _session_bad_input_names_field(client)
    _instructor_busy_gives_409(client)
    _other_tenant_booking_is_404(client)


def test_waitlist_and_promotion(client) -> None:
    _full_class_fills_waitlist_in_order(client)
    _no_waitlist_answers_class_full(client)
    _client_books_once_per_session(client)
    _cancel_promotes_first_waiting(client)
    _cancel_twice_changes_nothing(client)


def test_late_cancellation(client) -> None:
    _late_cancel_inside_window(client)
    _staff_may_waive_late_cancel(client)
    _client_cancel_after_start_conflicts(client)


def test_session_overrides(client) -> None:
    _capacity_cut_keeps_booked(client)
    _capacity_rise_promotes(client)
    _new_instructor_moves_holds(client)
    _busy_room_rejects_change(client)


def test_roll_call(client) -> None:
    _roll_call_marks_places(client)
    _roll_call_rejects_foreign_booking(client)


def test_listing_and_online_booking(client) -> None:
    _list_sessions_by_range(client)
    _public_booking_and_timetable(client)


def test_plugin_hooks(client) -> None:
    _plugin_rejection_rolls_back(client)
    _rejected_promotion_skips_client(client)
