"""The booking API: services, slots, bookings, the desk's appointment routes."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.integration.test_booking_setup import (
    Spa,
    add_member,
    give_package,
    seed_spa,
)
from tillbook.errors import SlotUnavailable, ValidationFailed
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.clients.tables import Client, ClientHistory
from tillbook.kernel.events.tables import MailMessage, OutboxEvent
from tillbook.kernel.schedule import holds, search
from tillbook.kernel.schedule.booking import NewClient, book_appointment
from tillbook.tenancy.roles import Role


def _rows(spa: Spa, table: Any) -> list[dict[str, Any]]:
    scope = spa.tenant.scope
    return spa.tenant.run(lambda: scope.select(table))  # type: ignore[no-any-return]


def _counts(spa: Spa) -> dict[str, int]:
    return {
        "appointments": len(spa.appointments()),
        "clients": len(_rows(spa, Client)),
        "mails": len(_rows(spa, MailMessage)),
        "events": len(_rows(spa, OutboxEvent)),
    }


def _slot_times(client: Any, spa: Spa, staff: str | None = "Ava") -> list[str]:
    params = {"service_id": spa.facial_id, "date": spa.day.isoformat()}
    if staff:
        params["staff_id"] = spa.staff[staff]
    response = client.get(spa.tenant.api("/availability"), params=params)
    assert response.status_code == 200, response.text
    return [slot["local"] for slot in response.json()["slots"]]


def test_services_list_providers(client) -> None:
    spa = seed_spa(client)
    response = client.get(spa.tenant.api("/services"))
    assert response.status_code == 200
    services = {item["name"]: item for item in response.json()}
    facial = services["Signature Facial"]
    assert facial["price"] == 6500
    assert facial["currency"] == "GBP"
    assert facial["duration_minutes"] == 60
    assert [p["name"] for p in facial["providers"]] == ["Ava", "Ben"]
    assert len(services["Back Massage"]["providers"]) == 3


def test_booking_happy_path(client) -> None:
    spa = seed_spa(client)
    body = spa.booking("10:00")
    response = client.post(spa.tenant.api("/bookings"), json=body)
    assert response.status_code == 201, response.text
    appointment = response.json()
    assert appointment["status"] == "booked"
    assert appointment["local"] == "10:00"
    assert appointment["local_end"] == "11:00"
    assert appointment["date"] == spa.day.isoformat()
    assert appointment["staff_name"] == "Ava"
    assert appointment["service_name"] == "Signature Facial"
    assert appointment["client_name"] == "Maya Lind"
    assert appointment["price"] == 6500
    assert appointment["note"] == "Prefer lavender scent, please."
    assert appointment["source"] == "online"
    assert datetime.fromisoformat(appointment["start"]) == datetime.fromisoformat(
        body["start"]
    )
    assert "cancel_token" not in appointment
    assert appointment["cancel_url"].startswith(
        f"http://127.0.0.1:8000/t/{spa.tenant.slug}/book/manage/"
    )

    # The slot is gone for Ava, and for "any provider" it moves to Ben.
    assert "10:00" not in _slot_times(client, spa)
    assert "10:45" not in _slot_times(client, spa)
    assert "11:00" in _slot_times(client, spa)
    any_slots = client.get(
        spa.tenant.api("/availability"),
        params={"service_id": spa.facial_id, "date": spa.day.isoformat()},
    ).json()["slots"]
    at_ten = [slot for slot in any_slots if slot["local"] == "10:00"]
    assert [slot["staff_name"] for slot in at_ten] == ["Ben"]

    history = _rows(spa, ClientHistory)
    assert [row["kind"] for row in history] == ["appointment.booked"]
    audit = [
        row for row in _rows(spa, AuditEntry) if row["action"] == "appointment.booked"
    ]
    assert len(audit) == 1
    events = [
        row for row in _rows(spa, OutboxEvent) if row["name"] == "appointment.booked"
    ]
    assert len(events) == 1
    payload = events[0]["payload"]
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert payload["appointment_id"] == appointment["id"]
    assert payload["client_name"] == "Maya Lind"
    assert payload["service_name"] == "Signature Facial"
    assert payload["staff_id"] == spa.staff["Ava"]


def test_confirmation_mail_has_cancel_link(client) -> None:
    spa = seed_spa(client)
    body = spa.booking("11:00")
    appointment = client.post(spa.tenant.api("/bookings"), json=body).json()
    mails = _rows(spa, MailMessage)
    assert len(mails) == 1
    mail = mails[0]
    assert mail["to_address"] == body["email"]
    assert mail["kind"] == "appointment.confirmation"
    assert "Signature Facial" in mail["subject"]
    assert appointment["cancel_url"] in mail["html"]
    assert appointment["cancel_url"] in mail["text"]
    assert "11:00" in mail["text"]
    assert "Ava" in mail["text"]
    assert "£65.00" in mail["text"]
    assert spa.tenant.scope.tenant.brand_colour in mail["html"]
    assert "lavender" in mail["html"]


def test_any_provider_picks_least_booked(client) -> None:
    spa = seed_spa(client)
    first = client.post(
        spa.tenant.api("/bookings"), json=spa.booking("10:00", staff_id=None)
    )
    assert first.status_code == 201, first.text
    # Both free with no bookings: the tie goes to the first by name.
    assert first.json()["staff_name"] == "Ava"
    second = client.post(
        spa.tenant.api("/bookings"), json=spa.booking("13:00", staff_id=None)
    )
    assert second.json()["staff_name"] == "Ben"
    third = client.post(
        spa.tenant.api("/bookings"), json=spa.booking("10:00", staff_id="any")
    )
    assert third.json()["staff_name"] == "Ben"
    fourth = client.post(
        spa.tenant.api("/bookings"), json=spa.booking("10:30", staff_id=None)
    )
    assert fourth.status_code == 409
    assert fourth.json()["code"] == "slot_unavailable"


BAD_BOOKINGS = [
    ("unknown service", {"service_id": str(uuid.uuid4())}, "service_id"),
    ("malformed service", {"service_id": "facial"}, "service_id"),
    ("missing service", {"service_id": None}, "service_id"),
    ("provider not performing", {"staff_id": "Cleo"}, "staff_id"),
    ("start in the past", {"start": "2020-01-06T10:00:00Z"}, "start"),
    ("start before opening", {"clock": "07:00"}, "start"),
    ("start after closing", {"clock": "16:30"}, "start"),
    ("start off the grid", {"clock": "10:05"}, "start"),
    ("start without offset", {"start": "2030-01-01T10:00:00"}, "start"),
    ("start not a time", {"start": "tomorrow"}, "start"),
    ("bad email", {"email": "maya-at-example"}, "email"),
    ("missing email", {"email": ""}, "email"),
    ("missing first name", {"first_name": " "}, "first_name"),
    ("bad phone", {"phone": "12"}, "phone"),
    ("note too long", {"note": "x" * 1001}, "note"),
    ("unknown field", {"deposit": 10}, "deposit"),
]


@pytest.mark.parametrize(
    ("case", "change", "field"), BAD_BOOKINGS, ids=[case for case, _, _ in BAD_BOOKINGS]
)
def test_bad_booking_rejected(
    client, case: str, change: dict[str, Any], field: str
) -> None:
    spa = seed_spa(client)
    change = dict(change)
    body = spa.booking(change.pop("clock", "10:00"))
    if change.get("staff_id") in spa.staff:
        change["staff_id"] = spa.staff[change["staff_id"]]
    body.update(change)
    before = _counts(spa)
    response = client.post(spa.tenant.api("/bookings"), json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "validation_failed"
    assert field in error["errors"], error
    assert _counts(spa) == before


BAD_SEARCHES = [
    ("bad date", {"date": "2026-13-01"}, "date"),
    ("date not a date", {"date": "soon"}, "date"),
    ("date too far ahead", {"date": "2099-01-01"}, "date"),
    ("unknown service", {"service_id": str(uuid.uuid4())}, "service_id"),
    ("no service", {"service_id": ""}, "service_id"),
    ("malformed provider", {"staff_id": "ava"}, "staff_id"),
]


@pytest.mark.parametrize(
    ("case", "change", "field"), BAD_SEARCHES, ids=[case for case, _, _ in BAD_SEARCHES]
)
def test_bad_availability_rejected(
    client, case: str, change: dict[str, Any], field: str
) -> None:
    spa = seed_spa(client)
    params = {"service_id": spa.facial_id, "date": spa.day.isoformat(), **change}
    response = client.get(spa.tenant.api("/availability"), params=params)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


def test_past_day_has_no_slots(client) -> None:
    spa = seed_spa(client)
    response = client.get(
        spa.tenant.api("/availability"),
        params={"service_id": spa.facial_id, "date": "2020-01-06"},
    )
    assert response.status_code == 200
    assert response.json()["slots"] == []


def test_concurrent_bookings_one_wins(client) -> None:
    spa = seed_spa(client)
    bodies = [spa.booking("14:00") for _ in range(20)]

    def post(body: dict[str, Any]) -> Any:
        return client.post(spa.tenant.api("/bookings"), json=body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(post, bodies))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "slot_unavailable"
            assert response.json()["staff_id"] == spa.staff["Ava"]
    live = [row for row in spa.appointments() if row["status"] == "booked"]
    assert len(live) == 1


def test_overlapping_booking_conflicts(client) -> None:
    spa = seed_spa(client)
    assert (
        client.post(spa.tenant.api("/bookings"), json=spa.booking("10:00")).status_code
        == 201
    )
    # 10:30 for 60 minutes overlaps 10:00-11:00 with the same provider.
    response = client.post(spa.tenant.api("/bookings"), json=spa.booking("10:30"))
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"
    # Ending exactly when the first starts is fine.
    response = client.post(spa.tenant.api("/bookings"), json=spa.booking("09:00"))
    assert response.status_code == 201


@pytest.mark.postgres
def test_exclusion_constraint_decides(client, monkeypatch) -> None:
    spa = seed_spa(client)
    assert (
        client.post(spa.tenant.api("/bookings"), json=spa.booking("15:00")).status_code
        == 201
    )

    async def never_busy(*args: Any) -> bool:
        return False

    # Without the application's own checks (slot search and the hold
    # overlap query), the database constraint on holds still rejects the
    # second booking and the caller sees a slot conflict.
    monkeypatch.setattr(holds, "_staff_busy", never_busy)
    monkeypatch.setattr(search.ServiceSearch, "check", lambda *a, **k: None)
    response = client.post(spa.tenant.api("/bookings"), json=spa.booking("15:00"))
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "slot_unavailable"
    assert len([row for row in spa.appointments() if row["status"] == "booked"]) == 1


def test_online_booking_needs_notice(client) -> None:
    spa = seed_spa(client)
    start = datetime.fromisoformat(spa.at("10:00"))
    scope = spa.tenant.scope
    details = NewClient("Maya", "Lind", "maya@example.com")

    async def book(source: str) -> dict[str, Any]:
        return await book_appointment(
            scope,
            service_id=spa.facial_id,
            staff_id=spa.staff["Ava"],
            start=start,
            client=details,
            source=source,
            now=start - timedelta(minutes=30),
        )

    with pytest.raises(ValidationFailed) as caught:
        spa.tenant.run(book, "online")
    assert "start" in caught.value.errors
    assert spa.tenant.run(book, "staff")["status"] == "booked"
    with pytest.raises(SlotUnavailable):
        spa.tenant.run(book, "staff")


def test_staff_books_existing_client(client) -> None:
    spa = seed_spa(client)
    first = client.post(spa.tenant.api("/bookings"), json=spa.booking("10:00")).json()
    response = spa.tenant.post(
        "/appointments",
        json={
            "service_id": spa.massage_id,
            "staff_id": spa.staff["Cleo"],
            "start": spa.at("12:00"),
            "client_id": first["client_id"],
            "note": "Walk-in regular",
        },
    )
    assert response.status_code == 201, response.text
    appointment = response.json()
    assert appointment["source"] == "staff"
    assert appointment["client_id"] == first["client_id"]
    assert appointment["duration_minutes"] == 30
    assert len(_rows(spa, Client)) == 1
    unknown = spa.tenant.post(
        "/appointments",
        json={
            "service_id": spa.massage_id,
            "staff_id": spa.staff["Cleo"],
            "start": spa.at("13:00"),
            "client_id": str(uuid.uuid4()),
        },
    )
    assert unknown.status_code == 422
    assert "client_id" in unknown.json()["errors"]


def test_appointments_of_day(client) -> None:
    spa = seed_spa(client)
    client.post(spa.tenant.api("/bookings"), json=spa.booking("11:00"))
    client.post(
        spa.tenant.api("/bookings"),
        json=spa.booking("09:00", staff_id=spa.staff["Ben"]),
    )
    response = spa.tenant.get("/appointments", params={"date": spa.day.isoformat()})
    assert response.status_code == 200
    items = response.json()["appointments"]
    assert [(item["local"], item["staff_name"]) for item in items] == [
        ("09:00", "Ben"),
        ("11:00", "Ava"),
    ]
    assert client.get(spa.tenant.api("/appointments")).status_code == 401
    bad = spa.tenant.get("/appointments", params={"date": "12/05/2026"})
    assert bad.status_code == 422
    assert "date" in bad.json()["errors"]


def test_appointment_detail_shows_client_context(client) -> None:
    spa = seed_spa(client)
    appointment = client.post(
        spa.tenant.api("/bookings"), json=spa.booking("10:00")
    ).json()
    scope = spa.tenant.scope
    client_id = uuid.UUID(appointment["client_id"])

    async def enrich() -> None:
        await scope.update(
            Client, {Client.preferences: "Lavender oil", Client.notes: "Sensitive skin"}
        ).where(Client.id == client_id)
        await give_package(
            spa, client_id, name="Five Facials", sessions_left=3, days=100
        )

    spa.tenant.run(enrich)
    response = spa.tenant.get(f"/appointments/{appointment['id']}")
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["client"]["preferences"] == "Lavender oil"
    assert detail["client"]["notes"] == "Sensitive skin"
    assert detail["client"]["email"]
    assert detail["note"] == "Prefer lavender scent, please."
    assert [item["kind"] for item in detail["history"]] == ["appointment.booked"]
    assert detail["packages"][0]["plan_name"] == "Five Facials"
    assert detail["packages"][0]["sessions_left"] == 3
    assert detail["packages"][0]["expired"] is False


def test_check_in_then_cancel_conflicts(client) -> None:
    spa = seed_spa(client)
    appointment = client.post(
        spa.tenant.api("/bookings"), json=spa.booking("10:00")
    ).json()
    path = f"/appointments/{appointment['id']}"
    response = spa.tenant.post(f"{path}/check-in")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "checked_in"
    assert response.json()["checked_in_at"]
    again = spa.tenant.post(f"{path}/check-in")
    assert again.status_code == 200
    assert again.json()["checked_in_at"] == response.json()["checked_in_at"]
    cancel = spa.tenant.post(f"{path}/cancel")
    assert cancel.status_code == 409
    names = [row["name"] for row in _rows(spa, OutboxEvent)]
    assert names.count("appointment.checked_in") == 1


def test_staff_cancel_frees_slot(client) -> None:
    spa = seed_spa(client)
    appointment = client.post(
        spa.tenant.api("/bookings"), json=spa.booking("10:00")
    ).json()
    response = spa.tenant.post(
        f"/appointments/{appointment['id']}/cancel", json={"reason": "Ill"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert "10:00" in _slot_times(client, spa)
    kinds = [row["kind"] for row in _rows(spa, MailMessage)]
    assert kinds.count("appointment.cancellation") == 1
    names = [row["name"] for row in _rows(spa, OutboxEvent)]
    assert "appointment.cancelled" in names
    rebooked = client.post(spa.tenant.api("/bookings"), json=spa.booking("10:00"))
    assert rebooked.status_code == 201


def test_front_desk_books_provider_reads(client) -> None:
    spa = seed_spa(client)
    desk = add_member(client, spa.tenant, Role.FRONT_DESK)
    body = spa.booking("10:00")
    body.pop("phone")
    response = client.post(spa.tenant.api("/appointments"), json=body, headers=desk)
    assert response.status_code == 201, response.text
    provider = add_member(client, spa.tenant, Role.PROVIDER)
    listing = client.get(
        spa.tenant.api("/appointments"),
        params={"date": spa.day.isoformat()},
        headers=provider,
    )
    assert listing.status_code == 200
    assert len(listing.json()["appointments"]) == 1


def test_other_tenant_appointment_is_not_found(client) -> None:
    spa = seed_spa(client)
    other = seed_spa(client)
    theirs = client.post(
        other.tenant.api("/bookings"), json=other.booking("10:00")
    ).json()
    path = f"/appointments/{theirs['id']}"
    assert spa.tenant.get(path).status_code == 404
    assert spa.tenant.post(f"{path}/check-in").status_code == 404
    assert spa.tenant.post(f"{path}/cancel").status_code == 404
    assert spa.tenant.get("/appointments/not-an-id").status_code == 404
    # Booking another tenant's service or provider is an unknown id here.
    body = spa.booking("10:00", service_id=other.facial_id)
    response = client.post(spa.tenant.api("/bookings"), json=body)
    assert response.status_code == 422
    assert "service_id" in response.json()["errors"]
    body = spa.booking("10:00", staff_id=other.staff["Ava"])
    response = client.post(spa.tenant.api("/bookings"), json=body)
    assert response.status_code == 422
    assert "staff_id" in response.json()["errors"]
    # Their booking is still live.
    assert other.appointments()[0]["status"] == "booked"
