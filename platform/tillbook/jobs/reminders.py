"""Reminder jobs: planning reminders for new bookings and sending due ones.

- ``appointment.booked`` starts ``plan_appointment_reminders``, which plans
  the reminders of a new booking unless the booking already planned them.
  ``class_booking.booked`` and ``class_booking.promoted`` plan a class
  place's reminders, and ``class_session.updated`` re-plans a session's.
- ``ReminderSweeper`` is dramatiq middleware. In every worker (``tillbook
  worker`` and the in-process worker of ``tillbook serve``) it runs a thread
  that looks for due pending reminders every ``SWEEP_SECONDS`` and enqueues
  ``send_reminder`` for each. Reminders live in the database, so a restart
  loses none: the next sweep finds what was due meanwhile.

The sweep does not enqueue messages with a delay. On Redis, dramatiq counts
delayed messages as queued, so a reminder a day ahead would sit in the queue
for a day and ``Broker.join`` (used by tests and shutdown checks) would wait
for it. A reminder goes out at most ``SWEEP_SECONDS`` after it is due.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from tillbook.db.base import utcnow
from tillbook.jobs import actors, runtime
from tillbook.kernel.schedule import class_reminders, reminders
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tenants import tenant_by_id

logger = logging.getLogger("tillbook.jobs.reminders")

SWEEP_SECONDS = 60.0


@dramatiq.actor(max_retries=5, min_backoff=1_000, max_backoff=60_000)
def send_reminder(tenant_id: str, reminder_id: str) -> None:
    """Send one due reminder; a reminder already sent or skipped is left alone."""
    logger.info("sending reminder %s of tenant %s", reminder_id, tenant_id)
    runtime.run(reminders.send_reminder(uuid.UUID(tenant_id), uuid.UUID(reminder_id)))


async def _plan(tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> None:
    scope = TenantScope(await tenant_by_id(tenant_id))
    await reminders.ensure_reminders(scope, appointment_id)


@dramatiq.actor(max_retries=5, min_backoff=1_000, max_backoff=60_000)
def plan_appointment_reminders(tenant_id: str, appointment_id: str) -> None:
    """Plan the reminders of a booked appointment that has none yet."""
    logger.info(
        "planning reminders of appointment %s of tenant %s", appointment_id, tenant_id
    )
    runtime.run(_plan(uuid.UUID(tenant_id), uuid.UUID(appointment_id)))


@actors.on_event("appointment.booked")
def _plan_for_booking(tenant_id: str, payload: dict[str, Any]) -> None:
    plan_appointment_reminders.send(tenant_id, str(payload["appointment_id"]))


async def _plan_place(tenant_id: uuid.UUID, booking_id: uuid.UUID) -> None:
    scope = TenantScope(await tenant_by_id(tenant_id))
    await class_reminders.plan_class_reminders(scope, booking_id)


async def _replan_session(tenant_id: uuid.UUID, session_id: uuid.UUID) -> None:
    scope = TenantScope(await tenant_by_id(tenant_id))
    await class_reminders.replan_session_reminders(scope, session_id)


@dramatiq.actor(max_retries=5, min_backoff=1_000, max_backoff=60_000)
def plan_class_place_reminders(tenant_id: str, booking_id: str) -> None:
    """Plan the reminders of a booked (or promoted) class place."""
    logger.info(
        "planning reminders of class place %s of tenant %s", booking_id, tenant_id
    )
    runtime.run(_plan_place(uuid.UUID(tenant_id), uuid.UUID(booking_id)))


@dramatiq.actor(max_retries=5, min_backoff=1_000, max_backoff=60_000)
def replan_class_session_reminders(tenant_id: str, session_id: str) -> None:
    """Re-plan the reminders of every place of a changed class session."""
    logger.info(
        "re-planning reminders of session %s of tenant %s", session_id, tenant_id
    )
    runtime.run(_replan_session(uuid.UUID(tenant_id), uuid.UUID(session_id)))


@actors.on_event("class_booking.booked")
@actors.on_event("class_booking.promoted")
def _plan_for_class_place(tenant_id: str, payload: dict[str, Any]) -> None:
    plan_class_place_reminders.send(tenant_id, str(payload["booking_id"]))


@actors.on_event("class_session.updated")
def _replan_for_session(tenant_id: str, payload: dict[str, Any]) -> None:
    replan_class_session_reminders.send(tenant_id, str(payload["session_id"]))


async def enqueue_due_reminders() -> int:
    """Enqueue ``send_reminder`` for every due pending reminder; return how many."""
    due = await reminders.due_reminders(utcnow())
    for item in due:
        send_reminder.send(str(item.tenant_id), str(item.reminder_id))
    if due:
        logger.info("enqueued %d due reminders", len(due))
    return len(due)


class ReminderSweeper(Middleware):
    """Run the reminder sweep in a thread for as long as a worker runs."""

    def __init__(self, interval: float = SWEEP_SECONDS) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="tillbook-reminder-sweep", daemon=True
        )
        self._thread.start()
        logger.info("reminder sweep started, every %.0f seconds", self.interval)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        logger.info("reminder sweep stopped")

    def _run(self) -> None:
        # The first sweep waits one interval, so a worker that starts and
        # stops at once (as in tests) never touches the reminder table.
        while not self._stop.wait(self.interval):
            try:
                runtime.run(enqueue_due_reminders())
            except Exception:
                logger.exception("reminder sweep failed; retrying next interval")


def install_sweeper(broker: dramatiq.Broker) -> None:
    """Add the reminder sweep to ``broker`` once."""
    if not any(isinstance(item, ReminderSweeper) for item in broker.middleware):
        broker.add_middleware(ReminderSweeper())


for _actor in (
    send_reminder,
    plan_appointment_reminders,
    plan_class_place_reminders,
    replan_class_session_reminders,
):
    if _actor not in actors.ALL_ACTORS:
        actors.ALL_ACTORS.append(_actor)
