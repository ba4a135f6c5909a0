"""Rescheduling, cancelling and no-shows, with the tenant's fee policy."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from tests.integration.test_booking_setup import Spa, add_member, seed_spa
from tests.support import make_tenant
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.clients.tables import ClientHistory
from tillbook.kernel.events.tables import MailMessage, OutboxEvent
from tillbook.kernel.ledger.tables import JournalEntry, Posting, Ticket, TicketLine
from tillbook.kernel.schedule.changes import mark_no_show
from tillbook.kernel.schedule.tables import Appointment, Hold
from tillbook.tenancy.roles import Role


def rows(spa: Spa, table: Any, *conditions: Any) -> list[dict[str, Any]]:
    """Return the spa's rows of ``table`` matching ``conditions``."""
    scope = spa.tenant.scope

    async def fetch() -> list[dict[str, Any]]:
        query = scope.select(table)
        for condition in conditions:
            query = query.where(condition)
        return list(await query)

    return spa.tenant.run(fetch)  # type: ignore[no-any-return]


def book(spa: Spa, clock: str = "10:00", staff: str = "Ava") -> dict[str, Any]:
    """Book the facial online at local ``clock`` on the spa's day."""
    body = spa.booking(clock, staff_id=spa.staff[staff])
    response = spa.tenant.client.post(spa.tenant.api("/bookings"), json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def token_of(appointment: dict[str, Any]) -> str:
    return str(appointment["cancel_url"].rsplit("/", 1)[1])


def set_policy(spa: Spa, **values: Any) -> dict[str, Any]:
    response = spa.tenant.patch("/policy", values)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def live_holds(spa: Spa, appointment_id: str) -> list[dict[str, Any]]:
    return rows(
        spa,
        Hold,
        Hold.appointment_id == uuid.UUID(appointment_id),
        Hold.live == True,  # noqa: E712 - piccolo builds SQL from ==
    )


def mails(spa: Spa, kind: str) -> list[dict[str, Any]]:
    return rows(spa, MailMessage, MailMessage.kind == kind)


def history(spa: Spa, client_id: str) -> list[str]:
    found = rows(spa, ClientHistory, ClientHistory.client_id == uuid.UUID(client_id))
    return [row["summary"] for row in found]


# -- reschedule ----------------------------------------------------------------


def test_reschedule_moves_holds_and_records(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    path = f"/appointments/{appointment['id']}/reschedule"

    response = spa.tenant.post(path, {"start": spa.at("14:00")})
    overlapping = spa.tenant.post(path, {"start": spa.at("14:30")})
    other_provider = spa.tenant.post(
        path, {"start": spa.at("14:30"), "staff_id": spa.staff["Ben"]}
    )

    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["local"] == "14:00"
    assert moved["staff_name"] == "Ava"
    sent = mails(spa, "appointment.moved")
    assert len(sent) == 3
    [first_move] = [
        mail for mail in sent if "Was: " in mail["text"] and "10:00" in mail["text"]
    ]
    assert "14:00" in first_move["subject"]
    assert "/book/manage/" in first_move["text"]
    lines = history(spa, appointment["client_id"])
    assert any(line.startswith("Moved Signature Facial") for line in lines)
    events = rows(spa, OutboxEvent, OutboxEvent.name == "appointment.moved")
    assert len(events) == 3
    audits = rows(spa, AuditEntry, AuditEntry.action == "appointment.moved")
    assert len(audits) == 3
    # A move may overlap the appointment's own old time.
    assert overlapping.status_code == 200, overlapping.text
    assert overlapping.json()["local"] == "14:30"
    assert other_provider.status_code == 200, other_provider.text
    assert other_provider.json()["staff_name"] == "Ben"
    [hold] = live_holds(spa, appointment["id"])
    assert hold["start_at"] == datetime.fromisoformat(spa.at("14:30"))
    assert str(hold["staff_id"]) == spa.staff["Ben"]


def test_reschedule_into_taken_slot_changes_nothing(client) -> None:
    spa = seed_spa(client)
    first = book(spa, "10:00")
    book(spa, "14:00")

    response = spa.tenant.post(
        f"/appointments/{first['id']}/reschedule", {"start": spa.at("14:30")}
    )

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "slot_unavailable"
    [row] = rows(spa, Appointment, Appointment.id == uuid.UUID(first["id"]))
    assert row["start_at"] == datetime.fromisoformat(spa.at("10:00"))
    [hold] = live_holds(spa, first["id"])
    assert hold["start_at"] == datetime.fromisoformat(spa.at("10:00"))
    assert mails(spa, "appointment.moved") == []
    assert rows(spa, OutboxEvent, OutboxEvent.name == "appointment.moved") == []


def test_parallel_moves_into_one_slot(client) -> None:
    spa = seed_spa(client)
    booked = [book(spa, clock) for clock in ("09:00", "10:00", "11:00", "12:00")]
    target = spa.at("15:00")

    def move(appointment: dict[str, Any]) -> Any:
        return spa.tenant.post(
            f"/appointments/{appointment['id']}/reschedule", {"start": target}
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(move, booked))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 409, 409, 409], [r.text for r in responses]
    at_target = [
        row
        for row in rows(spa, Hold, Hold.live == True)  # noqa: E712
        if row["start_at"] == datetime.fromisoformat(target)
    ]
    assert len(at_target) == 1
    assert len(rows(spa, Hold, Hold.live == True)) == 4  # noqa: E712


def test_reschedule_bad_input_names_field(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    path = f"/appointments/{appointment['id']}/reschedule"
    cases = [
        ({}, "start"),
        ({"start": "tomorrow at ten"}, "start"),
        ({"start": "2026-12-05T10:00:00"}, "start"),
        ({"start": spa.at("20:00")}, "start"),
        ({"start": spa.at("10:07")}, "start"),
        ({"start": spa.at("10:00")}, "start"),
        ({"start": spa.at("11:00"), "staff_id": "nobody"}, "staff_id"),
        ({"start": spa.at("11:00"), "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = spa.tenant.post(path, body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["errors"], (body, response.text)
    [row] = rows(spa, Appointment, Appointment.id == uuid.UUID(appointment["id"]))
    assert row["start_at"] == datetime.fromisoformat(spa.at("10:00"))
    other = make_tenant(client)
    foreign = other.post(path, {"start": spa.at("11:00")})
    assert foreign.status_code == 404


# -- cancel --------------------------------------------------------------------


def test_cancel_free_then_late_with_fee(client) -> None:
    spa = seed_spa(client)
    set_policy(spa, free_cancel_hours=24, late_cancel_fee=1500)
    early = book(spa, "10:00")
    late = book(spa, "14:00")

    free = spa.tenant.post(
        f"/appointments/{early['id']}/cancel", {"reason": "Client is unwell"}
    )
    # The spa's day is two days ahead, inside a 72-hour window.
    set_policy(spa, free_cancel_hours=72)
    preview = spa.tenant.get(f"/appointments/{late['id']}/cancellation").json()
    charged = spa.tenant.post(f"/appointments/{late['id']}/cancel")

    assert free.status_code == 200, free.text
    assert free.json()["status"] == "cancelled"
    assert free.json()["fee"]["fee"] == 0
    assert free.json()["fee_ticket_id"] is None
    assert live_holds(spa, early["id"]) == []
    assert preview["fee"] == 1500
    assert "£15.00" in preview["explanation"]
    assert charged.status_code == 200, charged.text
    ticket_id = charged.json()["fee_ticket_id"]
    [row] = rows(spa, Appointment, Appointment.id == uuid.UUID(late["id"]))
    assert str(row["fee_ticket_id"]) == ticket_id
    [line] = rows(spa, TicketLine, TicketLine.ticket_id == uuid.UUID(ticket_id))
    assert line["kind"] == "fee"
    assert line["total"] == 1500
    assert len(rows(spa, Ticket)) == 1
    lines = history(spa, early["client_id"]) + history(spa, late["client_id"])
    assert any(line.endswith("Client is unwell") for line in lines)
    fee_lines = [line for line in lines if "fee" in line]
    assert len(fee_lines) == 1
    assert fee_lines[0].startswith("Late cancellation fee £15.00")
    audits = rows(spa, AuditEntry, AuditEntry.action == "appointment.fee_late_cancel")
    assert len(audits) == 1
    notices = mails(spa, "appointment.cancellation")
    assert len(notices) == 2
    assert sum("£15.00" in mail["text"] for mail in notices) == 1


def test_cancel_waiver_repeats_and_bad_input(client) -> None:
    spa = seed_spa(client)
    set_policy(spa, free_cancel_hours=72, late_cancel_fee_percent=50)
    first = book(spa, "10:00")
    second = book(spa, "14:00")
    path = f"/appointments/{first['id']}/cancel"
    for body, field in [
        ({"reason": 5}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"waive_fee": "yes"}, "waive_fee"),
        ({"fee": 0}, "fee"),
    ]:
        response = spa.tenant.post(path, body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["errors"]
    [row] = rows(spa, Appointment, Appointment.id == uuid.UUID(first["id"]))
    assert row["status"] == "booked"

    waived = spa.tenant.post(path, {"waive_fee": True})
    again = spa.tenant.post(path)
    checked = spa.tenant.post(f"/appointments/{second['id']}/check-in")
    after_check_in = spa.tenant.post(f"/appointments/{second['id']}/cancel")

    assert waived.status_code == 200, waived.text
    assert waived.json()["fee"]["fee"] == 0
    assert rows(spa, Ticket) == []
    assert again.status_code == 200
    assert checked.status_code == 200
    assert after_check_in.status_code == 409
    assert len(mails(spa, "appointment.cancellation")) == 1


def test_deposit_is_applied_before_the_fee(client) -> None:
    spa = seed_spa(client)
    set_policy(spa, free_cancel_hours=72, late_cancel_fee=1500)
    appointment = book(spa, "10:00")
    scope = spa.tenant.scope

    async def paid_deposit() -> None:
        await scope.update(
            Appointment, {Appointment.deposit: 1000, Appointment.deposit_ref: "pi_x"}
        ).where(Appointment.id == uuid.UUID(appointment["id"]))

    spa.tenant.run(paid_deposit)

    response = spa.tenant.post(f"/appointments/{appointment['id']}/cancel")

    assert response.status_code == 200, response.text
    fee = response.json()["fee"]
    assert (fee["fee"], fee["from_deposit"], fee["due"]) == (1500, 1000, 500)
    [line] = rows(spa, TicketLine, TicketLine.ticket_id == uuid.UUID(fee["ticket_id"]))
    assert line["total"] == 500
    lines = history(spa, appointment["client_id"])
    assert any("£10.00 taken from the deposit" in line for line in lines)
    [entry] = rows(spa, JournalEntry, JournalEntry.kind == "deposit_forfeit")
    postings = rows(spa, Posting, Posting.entry_id == entry["id"])
    assert {p["account"]: p["amount"] for p in postings} == {
        "client_deposits": 1000,
        "fee_revenue": -1000,
    }


# -- no-show -------------------------------------------------------------------


def test_no_show_charges_fee_after_start(client) -> None:
    spa = seed_spa(client)
    set_policy(spa, no_show_fee_percent=50)
    appointment = book(spa, "10:00")
    early = spa.tenant.post(f"/appointments/{appointment['id']}/no-show")
    start = datetime.fromisoformat(spa.at("10:00"))

    result = spa.tenant.run(
        lambda: mark_no_show(
            spa.tenant.scope,
            appointment["id"],
            actor=spa.tenant.owner_id,
            now=start + timedelta(minutes=15),
        )
    )

    assert early.status_code == 409
    assert result["status"] == "no_show"
    assert result["fee"]["fee"] == 3250
    [line] = rows(spa, TicketLine, TicketLine.kind == "fee")
    assert line["total"] == 3250
    lines = history(spa, appointment["client_id"])
    assert any(line.startswith("No-show fee £32.50") for line in lines)
    assert live_holds(spa, appointment["id"]) == []
    assert len(mails(spa, "appointment.no_show")) == 1


# -- policy --------------------------------------------------------------------


def test_policy_api_reads_changes_and_rejects(client) -> None:
    spa = seed_spa(client)
    desk = add_member(client, spa.tenant, Role.FRONT_DESK)
    cases = [
        ({"late_cancel_fee": -1}, "late_cancel_fee"),
        ({"late_cancel_fee_percent": 101}, "late_cancel_fee_percent"),
        ({"free_cancel_hours": "soon"}, "free_cancel_hours"),
        ({"reminder_offsets": "1440,abc"}, "reminder_offsets"),
        ({"reminder_offsets": "0"}, "reminder_offsets"),
        ({"reminder_offsets": "10,20,30,40,50,60"}, "reminder_offsets"),
        ({"no_show_fee": 500, "no_show_fee_percent": 10}, "no_show_fee_percent"),
        ({"deposit": 5}, "deposit"),
    ]

    before = spa.tenant.get("/policy").json()
    for body, field in cases:
        response = spa.tenant.patch("/policy", body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["errors"], (body, response.text)
    unchanged = spa.tenant.get("/policy").json()
    after = set_policy(spa, reminder_offsets="120, 1440", no_show_fee=2000)
    desk_read = client.get(spa.tenant.api("/policy"), headers=desk)
    desk_change = client.patch(
        spa.tenant.api("/policy"), json={"no_show_fee": 100}, headers=desk
    )

    assert before["free_cancel_hours"] == 24
    assert before["reminder_offsets"] == [1440, 120]
    assert unchanged == before
    assert after["reminder_offsets"] == [1440, 120]
    assert after["no_show_fee"] == 2000
    assert spa.tenant.get("/policy").json()["no_show_fee"] == 2000
    assert desk_read.status_code == 200
    assert desk_change.status_code == 403


def test_policy_page_saves_fees_in_major_units(client) -> None:
    spa = seed_spa(client)
    form = {
        "free_cancel_hours": "48",
        "late_cancel_fee": "12.50",
        "late_cancel_fee_percent": "0",
        "no_show_fee": "0",
        "no_show_fee_percent": "100",
        "reminder_offsets": "1440,60",
        "granularity_minutes": "15",
        "min_notice_minutes": "60",
        "max_advance_days": "365",
        "class_late_cancel_hours": "12",
    }
    url = spa.tenant.page("/staff/policy")
    headers = spa.tenant.headers

    page = client.get(url, headers=headers)
    saved = client.post(url, data=form, headers=headers, follow_redirects=False)
    bad = client.post(url, data={**form, "late_cancel_fee": "-3"}, headers=headers)

    assert page.status_code == 200
    assert 'id="policy-form"' in page.text
    assert saved.status_code == 303
    policy = spa.tenant.get("/policy").json()
    assert policy["late_cancel_fee"] == 1250
    assert policy["reminder_offsets"] == [1440, 60]
    assert bad.status_code == 422
    assert 'id="error-late_cancel_fee"' in bad.text


# -- the client's own link -----------------------------------------------------


def test_client_cancel_page_explains_fee_first(client) -> None:
    spa = seed_spa(client)
    set_policy(spa, free_cancel_hours=72, late_cancel_fee=1500)
    appointment = book(spa, "10:00")
    base = spa.tenant.page(f"/book/manage/{token_of(appointment)}")

    manage = client.get(base)
    blocked_move = client.post(
        spa.tenant.api(f"/bookings/{token_of(appointment)}/reschedule"),
        json={"start": spa.at("15:00")},
    )
    form = client.get(f"{base}/cancel")
    stale = client.post(f"{base}/cancel", data={"expected_fee": "0"})
    done = client.post(f"{base}/cancel", data={"expected_fee": "1500"})

    assert manage.status_code == 200
    assert "£15.00" in manage.text
    assert 'id="move-closed"' in manage.text
    assert blocked_move.status_code == 409
    assert "contact the business" in blocked_move.json()["message"]
    assert form.status_code == 200
    assert "late cancellation fee of £15.00" in form.text
    assert stale.status_code == 409
    assert done.status_code == 200, done.text
    assert 'id="cancelled"' in done.text
    [row] = rows(spa, Appointment, Appointment.id == uuid.UUID(appointment["id"]))
    assert row["status"] == "cancelled"
    assert row["fee_ticket_id"] is not None


def test_client_moves_by_link(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    token = token_of(appointment)
    base = spa.tenant.page(f"/book/manage/{token}")

    times = client.get(f"{base}/move", params={"day": spa.day.isoformat()})
    moved = client.post(f"{base}/move", data={"start": spa.at("15:00")})
    api = client.post(
        spa.tenant.api(f"/bookings/{token}/reschedule"), json={"start": spa.at("16:00")}
    )

    assert times.status_code == 200
    assert 'id="move-slots"' in times.text
    assert moved.status_code == 200, moved.text
    assert 'id="moved"' in moved.text
    assert api.status_code == 200, api.text
    assert api.json()["local"] == "16:00"
    assert len(mails(spa, "appointment.moved")) == 2


def test_staff_confirmation_pages(client) -> None:
    spa = seed_spa(client)
    set_policy(spa, free_cancel_hours=72, late_cancel_fee=1500)
    first = book(spa, "10:00")
    second = book(spa, "12:00")
    headers = spa.tenant.headers
    base = spa.tenant.page("/staff/appointments")

    cancel_page = client.get(f"{base}/{first['id']}/changes/cancel", headers=headers)
    no_show_page = client.get(f"{base}/{first['id']}/changes/no-show", headers=headers)
    move_page = client.get(
        f"{base}/{second['id']}/changes/move",
        params={"start": spa.at("15:00")},
        headers=headers,
    )
    moved = client.post(
        f"{base}/{second['id']}/changes/move",
        data={"start": spa.at("15:00")},
        headers=headers,
        follow_redirects=False,
    )
    cancelled = client.post(
        f"{base}/{first['id']}/changes/cancel",
        data={"reason": "Called in", "waive_fee": "on"},
        headers=headers,
        follow_redirects=False,
    )

    assert cancel_page.status_code == 200
    assert "£15.00" in cancel_page.text
    assert no_show_page.status_code == 200
    assert 'id="confirm-no-show"' in no_show_page.text
    assert move_page.status_code == 200
    assert 'id="confirm-move"' in move_page.text
    assert moved.status_code == 303
    [row] = rows(spa, Appointment, Appointment.id == uuid.UUID(second["id"]))
    assert row["start_at"] == datetime.fromisoformat(spa.at("15:00"))
    assert cancelled.status_code == 303
    assert rows(spa, Ticket) == []
