"""Reminder emails: planned at the policy's offsets, sent once, never stale.

The clock is driven by passing ``now`` to the sweep, never by sleeping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.integration.class_studio import seed_studio
from tests.integration.test_appointment_changes import book, mails, rows, set_policy
from tests.integration.test_booking_setup import Spa, seed_spa
from tillbook.config import Settings
from tillbook.db.base import utcnow
from tillbook.jobs.broker import join_queues
from tillbook.jobs.reminders import enqueue_due_reminders
from tillbook.kernel.schedule.reminders import (
    ensure_reminders,
    send_due_reminders,
    send_reminder,
)
from tillbook.kernel.schedule.tables import Appointment, Reminder


def reminders_of(spa: Spa, appointment_id: str) -> list[dict[str, Any]]:
    found = rows(spa, Reminder, Reminder.appointment_id == uuid.UUID(appointment_id))
    return sorted(found, key=lambda row: row["due_at"])


def settle(spa: Spa) -> None:
    """Dispatch pending events and wait for their jobs (such as planning)."""
    spa.tenant.run(spa.tenant.client.app.state.dispatcher.dispatch_batch)
    join_queues()


def plan(spa: Spa, appointment_id: str, now: datetime | None = None) -> None:
    settle(spa)
    spa.tenant.run(lambda: ensure_reminders(spa.tenant.scope, appointment_id, now=now))


def forget_reminders(spa: Spa, appointment_id: str) -> None:
    """Delete the reminders the booking planned, to plan again at another now."""
    settle(spa)
    scope = spa.tenant.scope

    async def delete() -> None:
        await scope.delete(Reminder).where(
            Reminder.appointment_id == uuid.UUID(appointment_id)
        )

    spa.tenant.run(delete)


def sweep(spa: Spa, now: datetime) -> int:
    tenant_id = spa.tenant.scope.tenant_id
    return spa.tenant.run(  # type: ignore[no-any-return]
        lambda: send_due_reminders(now, tenant_id=tenant_id)
    )


def start_of(appointment: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(appointment["start"])


def test_booking_plans_reminders_through_the_event(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")

    settle(spa)

    planned = reminders_of(spa, appointment["id"])
    start = start_of(appointment)
    assert [row["offset_minutes"] for row in planned] == [1440, 120]
    assert [row["due_at"] for row in planned] == [
        start - timedelta(hours=24),
        start - timedelta(hours=2),
    ]
    assert {row["status"] for row in planned} == {"pending"}
    assert {row["for_start"] for row in planned} == {start}

    # Planned three hours ahead, the 24-hour offset is already past. Planning
    # twice adds nothing.
    forget_reminders(spa, appointment["id"])
    plan(spa, appointment["id"], now=start - timedelta(hours=3))
    plan(spa, appointment["id"], now=start - timedelta(hours=3))
    replanned = reminders_of(spa, appointment["id"])
    assert [row["offset_minutes"] for row in replanned] == [120]

    # The policy's offsets decide the plan.
    set_policy(spa, reminder_offsets="2880,30")
    forget_reminders(spa, appointment["id"])
    plan(spa, appointment["id"], now=start - timedelta(days=3))
    offsets = [row["offset_minutes"] for row in reminders_of(spa, appointment["id"])]
    assert offsets == [2880, 30]


def test_due_reminder_is_sent_once(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    plan(spa, appointment["id"])
    start = start_of(appointment)
    tenant_id = spa.tenant.scope.tenant_id

    async def two_sweeps(now: datetime) -> list[int]:
        return list(
            await asyncio.gather(
                send_due_reminders(now, tenant_id=tenant_id),
                send_due_reminders(now, tenant_id=tenant_id),
            )
        )

    early = sweep(spa, start - timedelta(hours=25))
    first = sweep(spa, start - timedelta(hours=24) + timedelta(minutes=1))
    again = sweep(spa, start - timedelta(hours=24) + timedelta(minutes=2))
    sent_after_first = mails(spa, "appointment.reminder")
    concurrent = spa.tenant.run(
        lambda: two_sweeps(start - timedelta(hours=2) + timedelta(minutes=1))
    )

    assert (early, first, again) == (0, 1, 0)
    [mail] = sent_after_first
    assert mail["subject"].startswith("Reminder: Signature Facial")
    assert "/book/manage/" in mail["text"]
    assert sorted(concurrent) == [0, 1]
    assert len(mails(spa, "appointment.reminder")) == 2
    statuses = [row["status"] for row in reminders_of(spa, appointment["id"])]
    assert statuses == ["sent", "sent"]


def test_overdue_reminder_is_skipped(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    plan(spa, appointment["id"])
    start = start_of(appointment)

    # Both are due, but the 24-hour one is overdue by more than 12 hours.
    sent = sweep(spa, start - timedelta(hours=2) + timedelta(minutes=1))

    assert sent == 1
    statuses = [row["status"] for row in reminders_of(spa, appointment["id"])]
    assert statuses == ["skipped", "sent"]


def test_worker_sweep_sends_through_the_actor(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    plan(spa, appointment["id"])
    [first, _second] = reminders_of(spa, appointment["id"])
    scope = spa.tenant.scope

    async def make_due_now() -> None:
        await scope.update(
            Reminder, {Reminder.due_at: utcnow() - timedelta(minutes=1)}
        ).where(Reminder.id == first["id"])

    spa.tenant.run(make_due_now)
    enqueued = spa.tenant.run(enqueue_due_reminders)
    join_queues()

    assert enqueued >= 1
    assert reminders_of(spa, appointment["id"])[0]["status"] == "sent"
    assert len(mails(spa, "appointment.reminder")) == 1


def test_no_reminder_after_cancel_or_move(client) -> None:
    spa = seed_spa(client)
    cancelled = book(spa, "10:00")
    moving = book(spa, "12:00")
    stale = book(spa, "16:00")
    for appointment in (cancelled, moving, stale):
        plan(spa, appointment["id"])
    scope = spa.tenant.scope

    spa.tenant.post(f"/appointments/{cancelled['id']}/cancel")
    moved = spa.tenant.post(
        f"/appointments/{moving['id']}/reschedule", {"start": spa.at("15:00")}
    ).json()

    async def move_behind_its_back() -> None:
        # A start changed without re-planning must still not be reminded.
        await scope.update(
            Appointment,
            {Appointment.start_at: start_of(stale) + timedelta(minutes=30)},
        ).where(Appointment.id == uuid.UUID(stale["id"]))

    spa.tenant.run(move_behind_its_back)
    two_hours = timedelta(hours=2) - timedelta(minutes=1)
    at_cancelled_time = sweep(spa, start_of(cancelled) - two_hours)
    at_old_time = sweep(spa, start_of(moving) - two_hours)
    at_new_time = sweep(spa, start_of(moved) - two_hours)
    at_stale_time = sweep(spa, start_of(stale) - two_hours)

    assert (at_cancelled_time, at_old_time, at_stale_time) == (0, 0, 0)
    assert at_new_time == 1
    [mail] = mails(spa, "appointment.reminder")
    assert "15:00" in mail["subject"]
    statuses = {row["status"] for row in reminders_of(spa, cancelled["id"])}
    assert statuses == {"cancelled"}
    live = [
        row
        for row in reminders_of(spa, moving["id"])
        if row["status"] in ("pending", "sent")
    ]
    assert {row["for_start"] for row in live} == {start_of(moved)}
    assert "skipped" in {row["status"] for row in reminders_of(spa, stale["id"])}


class TemplatePlugin:
    """Hook callers with one plugin that replaces the reminder's subject."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def tillbook_notification_template(
        self, *, name: str, context: dict[str, Any]
    ) -> dict[str, str]:
        self.calls.append((name, context))
        return {"subject": f"See you, {context['appointment']['client_first_name']}"}


def test_plugin_replaces_the_reminder_template(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    plan(spa, appointment["id"])
    [first, _second] = reminders_of(spa, appointment["id"])
    hooks = TemplatePlugin()

    spa.tenant.run(
        lambda: send_reminder(
            spa.tenant.scope.tenant_id,
            first["id"],
            now=first["due_at"],
            hooks=hooks,  # type: ignore[arg-type]
        )
    )

    [mail] = mails(spa, "appointment.reminder")
    assert mail["subject"] == "See you, Maya"
    assert "Signature Facial" in mail["html"]
    [(name, context)] = hooks.calls
    assert name == "appointment.reminder"
    assert context["default"]["subject"].startswith("Reminder:")


class TestOverSmtp:
    """Reminders delivered to a real SMTP server (aiosmtpd) on loopback."""

    @pytest.fixture
    def app_settings(self, settings: Settings, smtp_server: Any) -> Settings:
        return dataclasses.replace(settings, smtp_url=smtp_server.url)

    def test_reminder_reaches_smtp(self, client, smtp_server) -> None:
        spa = seed_spa(client)
        appointment = book(spa, "10:00")
        plan(spa, appointment["id"])
        settle(spa)
        before = len(smtp_server.messages)
        start = start_of(appointment)

        sweep(spa, start - timedelta(hours=2) + timedelta(minutes=1))
        settle(spa)

        messages = smtp_server.wait_for(before + 1)
        reminder = [m for m in messages if m["Subject"].startswith("Reminder:")]
        assert len(reminder) == 1
        assert reminder[0]["To"] == appointment_email(spa, appointment)


def appointment_email(spa: Spa, appointment: dict[str, Any]) -> str:
    from tillbook.kernel.clients.tables import Client

    [row] = rows(spa, Client, Client.id == uuid.UUID(appointment["client_id"]))
    return str(row["email"])


def test_class_places_get_reminders(client) -> None:
    studio = seed_studio(client, capacity=1)
    session = studio.new_session()
    ann, bea = studio.new_client("Ann"), studio.new_client("Bea")
    studio_spa = Spa(studio.tenant, "", "", {}, utcnow().date())
    first = studio.book(session["id"], ann).json()
    settle(studio_spa)
    studio.book(session["id"], bea)
    studio.tenant.post(f"/classes/bookings/{first['id']}/cancel")
    settle(studio_spa)
    start = datetime.fromisoformat(session["start"])

    sent = sweep(studio_spa, start - timedelta(hours=2) + timedelta(minutes=1))

    places = {str(row["client_id"]): row["id"] for row in studio.bookings()}
    planned = [
        row for row in studio.rows(Reminder) if row["class_booking_id"] is not None
    ]
    # Ann's place was planned, then cancelled; Bea was promoted in her stead.
    assert {row["class_booking_id"] for row in planned} == {places[ann], places[bea]}
    assert sent == 1
    [mail] = [row for row in studio.mails_to(bea) if row["kind"] == "class.reminder"]
    assert mail["subject"].startswith("Reminder:")
    ann_reminders = [
        row for row in studio.mails_to(ann) if row["kind"] == "class.reminder"
    ]
    assert ann_reminders == []
