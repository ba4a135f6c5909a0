"""The instructor's roll call and the payroll section built from class sessions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from tillbook import ClassBooking, ClassSession, Client, Service, Staff, TenantScope
from tillbook_fitness.passes import balance, describe_balance, owed_fees
from tillbook_fitness.rules import StudioRules

ROLL_STATUSES = ("booked", "attended", "no_show")


async def visit_counts(
    scope: TenantScope, client_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Return how many classes each client has attended."""
    counts = {client_id: 0 for client_id in client_ids}
    if not client_ids:
        return counts
    rows = (
        await scope.select(ClassBooking, ClassBooking.client_id)
        .where(ClassBooking.client_id.is_in(client_ids))
        .where(ClassBooking.status == "attended")
    )
    for row in rows:
        counts[row["client_id"]] = counts.get(row["client_id"], 0) + 1
    return counts


async def roll(scope: TenantScope, session_id: uuid.UUID | str) -> dict[str, Any]:
    """Return a session with each taken place: client, visits, credits, notes.

    Raises NotFound when the session is not this tenant's.
    """
    session = await scope.get(ClassSession, session_id)
    zone = scope.tenant.zone
    start = session["start_at"].astimezone(zone)
    service = await scope.get_many(Service, [session["service_id"]])
    staff = await scope.get_many(Staff, [session["staff_id"]])
    bookings = list(
        await scope.select(ClassBooking)
        .where(ClassBooking.session_id == session["id"])
        .where(ClassBooking.status.is_in(list(ROLL_STATUSES)))
        .order_by(ClassBooking.created_at)
    )
    client_ids = [booking["client_id"] for booking in bookings]
    clients = await scope.get_many(Client, client_ids)
    visits = await visit_counts(scope, client_ids)
    attendees = []
    for booking in bookings:
        client = clients.get(booking["client_id"])
        summary = await balance(scope, booking["client_id"], start.date())
        fees = await owed_fees(scope, booking["client_id"])
        attendees.append(
            {
                "booking_id": str(booking["id"]),
                "client_id": str(booking["client_id"]),
                "name": f"{client['first_name']} {client['last_name']}".strip()
                if client
                else "",
                "status": booking["status"],
                "visits": visits.get(booking["client_id"], 0),
                "credits": summary["credits"],
                "unlimited": summary["unlimited"],
                "balance": describe_balance(summary),
                "client_notes": client["notes"] if client else "",
                "booking_note": booking["note"],
                "fees_owed": sum(fee["amount"] for fee in fees),
            }
        )
    attendees.sort(key=lambda item: item["name"].lower())
    return {
        "id": str(session["id"]),
        "service": service[session["service_id"]]["name"] if service else "",
        "instructor": staff[session["staff_id"]]["name"] if staff else "",
        "start": start.isoformat(),
        "when": start.strftime("%a %d %b %H:%M"),
        "capacity": session["capacity"],
        "status": session["status"],
        "attendees": attendees,
    }


async def day_sessions(
    scope: TenantScope, day: date, staff_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    """Return the day's sessions, only ``staff_id``'s when given, by start."""
    zone = scope.tenant.zone
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    query = (
        scope.select(ClassSession)
        .where(ClassSession.start_at >= start)
        .where(ClassSession.start_at < start + timedelta(days=1))
        .order_by(ClassSession.start_at)
    )
    if staff_id is not None:
        query = query.where(ClassSession.staff_id == staff_id)
    sessions = list(await query)
    services = await scope.get_many(Service, [row["service_id"] for row in sessions])
    staff = await scope.get_many(Staff, [row["staff_id"] for row in sessions])
    result = []
    for row in sessions:
        booked = await (
            scope.count(ClassBooking)
            .where(ClassBooking.session_id == row["id"])
            .where(ClassBooking.status.is_in(list(ROLL_STATUSES)))
        )
        result.append(
            {
                "id": str(row["id"]),
                "time": row["start_at"].astimezone(zone).strftime("%H:%M"),
                "service": services[row["service_id"]]["name"]
                if row["service_id"] in services
                else "",
                "instructor": staff[row["staff_id"]]["name"]
                if row["staff_id"] in staff
                else "",
                "booked": booked,
                "capacity": row["capacity"],
                "status": row["status"],
            }
        )
    return result


async def payroll_section(
    scope: TenantScope, rules: StudioRules, first_day: date, last_day: date
) -> dict[str, Any]:
    """Return instructor pay for classes held between two local dates, inclusive.

    Pay is ``pay_per_class`` for each session that was not cancelled plus
    ``pay_per_attendee`` for each place marked attended.
    """
    zone = scope.tenant.zone
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(
        last_day + timedelta(days=1), datetime.min.time(), tzinfo=zone
    )
    sessions = list(
        await scope.select(ClassSession)
        .where(ClassSession.start_at >= start)
        .where(ClassSession.start_at < end)
        .where(ClassSession.status != "cancelled")
    )
    totals: dict[uuid.UUID, list[int]] = {}
    for session in sessions:
        attended = await (
            scope.count(ClassBooking)
            .where(ClassBooking.session_id == session["id"])
            .where(ClassBooking.status == "attended")
        )
        entry = totals.setdefault(session["staff_id"], [0, 0])
        entry[0] += 1
        entry[1] += attended
    staff = await scope.get_many(Staff, list(totals))
    rows = []
    for staff_id, (classes, attendees) in totals.items():
        pay = classes * rules.pay_per_class + attendees * rules.pay_per_attendee
        name = staff[staff_id]["name"] if staff_id in staff else str(staff_id)
        rows.append([name, classes, attendees, pay])
    rows.sort(key=lambda row: str(row[0]).lower())
    return {
        "title": "Instructor pay for classes",
        "columns": ["Instructor", "Classes", "Attendees", "Pay (minor units)"],
        "rows": rows,
    }


def fee_prompts(fees: Sequence[Mapping[str, Any]], money: Any) -> list[str]:
    """Return one checkout reminder per fee owed, with ``money`` formatting amounts."""
    reasons = {"late_cancel": "late-cancellation", "no_show": "no-show"}
    return [
        f"Class {reasons.get(fee['reason'], fee['reason'])} fee owed: "
        f"{money(fee['amount'])}"
        for fee in fees
    ]
