"""Email reminders before appointments, at the offsets of the tenant's policy.

Booking, moving and cancelling an appointment (re)plan its ``Reminder``
rows: one per policy offset, due ``offset`` minutes before the start, for
offsets not already past. A reminder remembers the start it was planned
for (``for_start``). Sending happens in one write transaction that checks
the appointment is still booked at that start and moves the reminder from
``pending`` to ``sent`` with a conditional update. So a moved or cancelled
appointment is never reminded, and two workers sending the same reminder
send it once.

Due reminders are found by ``due_reminders``, a query across tenants (the
reminder table is a platform queue in that respect, like the event outbox),
and sent one by one through each tenant's own scope.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.columns import Column

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.mail import queue_mail
from tillbook.kernel.schedule.fees import describe_policy
from tillbook.kernel.schedule.notices import (
    AppointmentNotice,
    describe_when,
    format_price,
    manage_link,
    render_notification,
)
from tillbook.kernel.schedule.policy import Policy, load_policy
from tillbook.kernel.schedule.tables import Appointment, Reminder, Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import SystemScope, TenantScope
from tillbook.tenancy.tenants import tenant_by_id

logger = logging.getLogger(__name__)

PENDING = "pending"
SENT = "sent"
# The appointment moved after planning; a fresh reminder replaces this one.
SUPERSEDED = "superseded"
CANCELLED = "cancelled"
# Found due but no longer valid at send time (moved, cancelled, no email).
SKIPPED = "skipped"
# A reminder overdue by more than half its offset (at least this much) is
# skipped rather than sent late, because "see you tomorrow" a day late
# misleads more than it helps. A worker down for a shorter time loses none.
MIN_LATENESS = timedelta(minutes=15)
SWEEP_BATCH = 200


@dataclass(frozen=True)
class DueReminder:
    """A pending reminder whose time has come, with its tenant."""

    tenant_id: uuid.UUID
    reminder_id: uuid.UUID


async def plan_reminders(
    scope: TenantScope,
    appointment: dict[str, Any],
    *,
    now: datetime | None = None,
    policy: Policy | None = None,
) -> list[datetime]:
    """Replace an appointment's pending reminders with ones for its current start.

    ``appointment`` is the row as a dict (``id``, ``start_at``, ``status``).
    Pending reminders planned for another start become ``superseded``.
    Offsets whose due time is not after ``now`` are skipped. An appointment
    that is not booked gets no reminders. Call inside the transaction that
    books or moves the appointment. Returns the due instants planned.
    """
    return await plan_rows(
        scope,
        Reminder.appointment_id,
        appointment["id"],
        appointment["start_at"],
        active=appointment["status"] == "booked",
        now=now or utcnow(),
        policy=policy or await load_policy(scope),
    )


async def plan_rows(
    scope: TenantScope,
    owner: Column,
    owner_id: uuid.UUID,
    start: datetime,
    *,
    active: bool,
    now: datetime,
    policy: Policy,
) -> list[datetime]:
    """Plan the reminders of one appointment or class place (``owner`` column).

    See ``plan_reminders``; ``active`` false only supersedes old rows.
    """
    await (
        scope.update(Reminder, {Reminder.status: SUPERSEDED})
        .where(owner == owner_id)
        .where(Reminder.status == PENDING)
        .where(Reminder.for_start != start)
    )
    if not active:
        return []
    # Rows for this start may exist from before a move away and back. They
    # are revived rather than planned twice.
    existing = {
        row["offset_minutes"]: row
        for row in await scope.select(
            Reminder, Reminder.id, Reminder.offset_minutes, Reminder.status
        )
        .where(owner == owner_id)
        .where(Reminder.for_start == start)
    }
    rows = []
    planned = []
    for offset in policy.reminder_offsets:
        due = start - timedelta(minutes=offset)
        if due <= now:
            continue
        row = existing.get(offset)
        if row is None:
            fresh = Reminder(
                offset_minutes=offset, due_at=due, for_start=start, status=PENDING
            )
            setattr(fresh, owner._meta.name, owner_id)
            rows.append(fresh)
        elif row["status"] in (SUPERSEDED, CANCELLED):
            await scope.update(Reminder, {Reminder.status: PENDING}).where(
                Reminder.id == row["id"]
            )
        else:
            continue
        planned.append(due)
    await scope.insert(*rows)
    return planned


async def cancel_reminders(scope: TenantScope, appointment_id: uuid.UUID) -> None:
    """Mark an appointment's pending reminders cancelled; call in its transaction."""
    await (
        scope.update(Reminder, {Reminder.status: CANCELLED})
        .where(Reminder.appointment_id == appointment_id)
        .where(Reminder.status == PENDING)
    )


async def ensure_reminders(
    scope: TenantScope, appointment_id: uuid.UUID | str, *, now: datetime | None = None
) -> list[datetime]:
    """Plan reminders for a booked appointment that has none for its start.

    Safe to repeat: offsets already planned for the current start are kept.
    Returns the due instants added.
    """
    from tillbook.kernel.schedule.change_steps import lock_appointment

    async with write_transaction():
        # The lock orders this after (or before) a concurrent move.
        row = await lock_appointment(scope, appointment_id)
        return await plan_reminders(scope, row, now=now)


def _system() -> SystemScope:
    # The sweep reads reminders of every tenant; each send then runs through
    # the reminder's own tenant scope.
    return SystemScope()


async def due_reminders(
    now: datetime,
    limit: int = SWEEP_BATCH,
    *,
    tenant_id: uuid.UUID | None = None,
) -> list[DueReminder]:
    """Return pending reminders due at ``now``, oldest first.

    Looks across tenants unless ``tenant_id`` names one.
    """
    query = (
        _system()
        .select(Reminder, Reminder.tenant_id, Reminder.id)
        .where(Reminder.status == PENDING)
        .where(Reminder.due_at <= now)
    )
    if tenant_id is not None:
        query = query.where(Reminder.tenant_id == tenant_id)
    rows = await query.order_by(Reminder.due_at).limit(limit)
    return [DueReminder(row["tenant_id"], row["id"]) for row in rows]


async def send_due_reminders(
    now: datetime | None = None,
    *,
    tenant_id: uuid.UUID | None = None,
    hooks: TenantHooks | None = None,
) -> int:
    """Send every reminder due at ``now`` (default: the current time).

    ``tenant_id`` limits the sweep to one tenant. Returns how many were
    sent. Reminders that are no longer valid are marked skipped. Safe to
    run in several processes at once.
    """
    now = now or utcnow()
    sent = 0
    for due in await due_reminders(now, tenant_id=tenant_id):
        if await send_reminder(due.tenant_id, due.reminder_id, now=now, hooks=hooks):
            sent += 1
    return sent


async def send_reminder(
    tenant_id: uuid.UUID,
    reminder_id: uuid.UUID,
    *,
    now: datetime | None = None,
    hooks: TenantHooks | None = None,
) -> bool:
    """Send one reminder if it is still pending and valid; return whether it was.

    Without ``hooks`` the tenant's enabled plugins are loaded, so a plugin
    can replace the email through ``tillbook_notification_template``.
    """
    now = now or utcnow()
    scope = TenantScope(await tenant_by_id(tenant_id))
    if hooks is None:
        from tillbook.tenancy.plugin_settings import load_tenant_hooks

        hooks = await load_tenant_hooks(scope)
    async with write_transaction():
        reminder = (
            await scope.select(Reminder).where(Reminder.id == reminder_id).first()
        )
        if reminder is None or reminder["status"] != PENDING:
            return False
        if reminder["appointment_id"] is None:
            from tillbook.kernel.schedule.class_reminders import send_class_reminder

            return await send_class_reminder(scope, reminder, now=now, hooks=hooks)
        appointment = (
            await scope.select(Appointment)
            .where(Appointment.id == reminder["appointment_id"])
            .first()
        )
        client = (
            await scope.select(Client)
            .where(Client.id == appointment["client_id"])
            .first()
            if appointment is not None
            else None
        )
        reason = _skip_reason(reminder, appointment, client, now)
        if reason:
            logger.info(
                "skipped reminder %s of tenant %s: %s", reminder_id, tenant_id, reason
            )
            return await settle_reminder(scope, reminder, SKIPPED, now)
        if not await settle_reminder(scope, reminder, SENT, now):
            return False
        assert appointment is not None and client is not None
        subject, html, text = await render_notification(
            "appointment.reminder",
            scope.tenant,
            await _notice(scope, appointment, client),
            hooks,
        )
        await queue_mail(
            scope,
            to=client["email"],
            subject=subject,
            html=html,
            text=text,
            kind="appointment.reminder",
        )
    logger.info(
        "sent reminder %s for appointment %s of tenant %s",
        reminder_id,
        reminder["appointment_id"],
        tenant_id,
    )
    return True


def _skip_reason(
    reminder: dict[str, Any],
    appointment: dict[str, Any] | None,
    client: dict[str, Any] | None,
    now: datetime,
) -> str:
    if appointment is None:
        return "the appointment is gone"
    if appointment["status"] != "booked":
        return f"the appointment is {appointment['status']}"
    if appointment["start_at"] != reminder["for_start"]:
        return "the appointment moved"
    if appointment["start_at"] <= now:
        return "the appointment has started"
    if is_too_late(reminder, now):
        return "it is overdue by more than half its offset"
    if client is None or not client["email"]:
        return "the client has no email address"
    return ""


def is_too_late(reminder: dict[str, Any], now: datetime) -> bool:
    """Tell whether a reminder is overdue by more than it is still useful."""
    allowed = max(timedelta(minutes=reminder["offset_minutes"]) / 2, MIN_LATENESS)
    return now - reminder["due_at"] > allowed


async def settle_reminder(
    scope: TenantScope, reminder: dict[str, Any], status: str, now: datetime
) -> bool:
    """Move a pending reminder to ``status``; return True only when it became sent.

    False for ``sent`` means another sender claimed the reminder first.
    """
    claimed = (
        await scope.update(Reminder, {Reminder.status: status, Reminder.sent_at: now})
        .where(Reminder.id == reminder["id"])
        .where(Reminder.status == PENDING)
        .returning(Reminder.id)
    )
    return bool(claimed) and status == SENT


async def _notice(
    scope: TenantScope, appointment: dict[str, Any], client: dict[str, Any]
) -> AppointmentNotice:
    service = (
        await scope.select(Service, Service.name)
        .where(Service.id == appointment["service_id"])
        .first()
    )
    staff = (
        await scope.select(Staff, Staff.name)
        .where(Staff.id == appointment["staff_id"])
        .first()
    )
    local = appointment["start_at"].astimezone(scope.tenant.zone)
    manage = manage_link(scope.tenant, appointment["cancel_token"])
    minutes = (appointment["end_at"] - appointment["start_at"]).total_seconds() // 60
    return AppointmentNotice(
        client_first_name=client["first_name"],
        service_name=service["name"] if service else "",
        staff_name=staff["name"] if staff else "",
        when=describe_when(local.date(), local.strftime("%H:%M")),
        duration_minutes=int(minutes),
        price=format_price(scope.tenant, appointment["price"]),
        note=appointment["note"],
        cancel_url=f"{manage}/cancel",
        manage_url=manage,
        policy=describe_policy(scope, await load_policy(scope), appointment["price"]),
    )
