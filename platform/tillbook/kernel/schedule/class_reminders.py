"""Email reminders for places on class rosters.

A booked place (``ClassBooking`` with status ``booked``) gets reminders at
the policy's offsets before its session's start, planned like an
appointment's (``reminders.plan_rows``). At send time the place must still
be booked, its session still scheduled and at the start the reminder was
planned for. So a cancelled place, a cancelled session or a moved session
is never reminded. Waitlisted places get reminders once promoted.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.mail import queue_mail
from tillbook.kernel.schedule.notices import (
    AppointmentNotice,
    describe_when,
    format_price,
    render_notification,
)
from tillbook.kernel.schedule.policy import load_policy
from tillbook.kernel.schedule.reminders import (
    SENT,
    SKIPPED,
    is_too_late,
    plan_rows,
    settle_reminder,
)
from tillbook.kernel.schedule.tables import ClassBooking, ClassSession, Reminder, Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)


async def plan_class_reminders(
    scope: TenantScope, booking_id: uuid.UUID | str, *, now: datetime | None = None
) -> list[datetime]:
    """Plan (or re-plan) the reminders of one class place; return the due times.

    Safe to repeat. A place that is not booked, or whose session is not
    scheduled, only has its pending reminders superseded.
    """
    async with write_transaction():
        booking = await scope.get(ClassBooking, booking_id)
        session = await scope.get(ClassSession, booking["session_id"])
        active = booking["status"] == "booked" and session["status"] == "scheduled"
        return await plan_rows(
            scope,
            Reminder.class_booking_id,
            booking["id"],
            session["start_at"],
            active=active,
            now=now or utcnow(),
            policy=await load_policy(scope),
        )


async def replan_session_reminders(
    scope: TenantScope, session_id: uuid.UUID | str, *, now: datetime | None = None
) -> int:
    """Re-plan the reminders of every booked place of a session; return how many."""
    session = await scope.get(ClassSession, session_id)
    places = await scope.select(ClassBooking, ClassBooking.id).where(
        ClassBooking.session_id == session["id"]
    )
    for place in places:
        await plan_class_reminders(scope, place["id"], now=now)
    return len(places)


async def send_class_reminder(
    scope: TenantScope,
    reminder: dict[str, Any],
    *,
    now: datetime,
    hooks: TenantHooks | None,
) -> bool:
    """Send one class place's reminder if still valid; return whether it was sent.

    Call inside the transaction of ``reminders.send_reminder``, which has
    checked that the reminder is pending.
    """
    booking = (
        await scope.select(ClassBooking)
        .where(ClassBooking.id == reminder["class_booking_id"])
        .first()
    )
    session = (
        await scope.select(ClassSession)
        .where(ClassSession.id == booking["session_id"])
        .first()
        if booking is not None
        else None
    )
    client = (
        await scope.select(Client).where(Client.id == booking["client_id"]).first()
        if booking is not None
        else None
    )
    reason = _skip_reason(reminder, booking, session, client, now)
    if reason:
        logger.info(
            "skipped class reminder %s of tenant %s: %s",
            reminder["id"],
            scope.tenant_id,
            reason,
        )
        await settle_reminder(scope, reminder, SKIPPED, now)
        return False
    if not await settle_reminder(scope, reminder, SENT, now):
        return False
    assert session is not None and client is not None
    subject, html, text = await render_notification(
        "class.reminder", scope.tenant, await _notice(scope, session, client), hooks
    )
    await queue_mail(
        scope,
        to=client["email"],
        subject=subject,
        html=html,
        text=text,
        kind="class.reminder",
    )
    return True


def _skip_reason(
    reminder: dict[str, Any],
    booking: dict[str, Any] | None,
    session: dict[str, Any] | None,
    client: dict[str, Any] | None,
    now: datetime,
) -> str:
    if booking is None or session is None:
        return "the class place is gone"
    if booking["status"] != "booked":
        return f"the place is {booking['status']}"
    if session["status"] != "scheduled":
        return f"the session is {session['status']}"
    if session["start_at"] != reminder["for_start"]:
        return "the session moved"
    if session["start_at"] <= now:
        return "the session has started"
    if is_too_late(reminder, now):
        return "it is overdue by more than half its offset"
    if client is None or not client["email"]:
        return "the client has no email address"
    return ""


async def _notice(
    scope: TenantScope, session: dict[str, Any], client: dict[str, Any]
) -> AppointmentNotice:
    service = (
        await scope.select(Service, Service.name, Service.price)
        .where(Service.id == session["service_id"])
        .first()
    )
    staff = (
        await scope.select(Staff, Staff.name)
        .where(Staff.id == session["staff_id"])
        .first()
    )
    local = session["start_at"].astimezone(scope.tenant.zone)
    minutes = (session["end_at"] - session["start_at"]).total_seconds() // 60
    return AppointmentNotice(
        client_first_name=client["first_name"],
        service_name=service["name"] if service else "",
        staff_name=staff["name"] if staff else "",
        when=describe_when(local.date(), local.strftime("%H:%M")),
        duration_minutes=int(minutes),
        price=format_price(scope.tenant, service["price"] if service else 0),
        note="",
        cancel_url="",
    )
