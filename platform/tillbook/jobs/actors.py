"""Dramatiq actors, and the table of which events start which jobs.

Each actor takes ids only and loads current state itself, so a retried job
sees the latest data. Feature modules register their job for an event with
``on_event``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import dramatiq

from tillbook.jobs import mail, runtime

logger = logging.getLogger("tillbook.jobs")

# Event name -> functions that enqueue jobs for it, each called with
# (tenant_id, payload).
_ROUTES: dict[str, list[Callable[[str, dict[str, Any]], None]]] = {}


def on_event(name: str) -> Callable[[Callable[[str, dict[str, Any]], None]], Any]:
    """Register a function that enqueues jobs when event ``name`` is dispatched."""

    def register(fn: Callable[[str, dict[str, Any]], None]) -> Any:
        _ROUTES.setdefault(name, []).append(fn)
        return fn

    return register


def enqueue_for_event(tenant_id: uuid.UUID, name: str, payload: dict[str, Any]) -> None:
    """Enqueue the jobs registered for event ``name``."""
    for route in _ROUTES.get(name, []):
        route(str(tenant_id), payload)


@dramatiq.actor(max_retries=5, min_backoff=1_000, max_backoff=60_000)
def deliver_mail(tenant_id: str, mail_id: str) -> None:
    """Send one stored email through SMTP, or keep it in the local outbox."""
    logger.info("delivering mail %s of tenant %s", mail_id, tenant_id)
    runtime.run(mail.deliver(uuid.UUID(tenant_id), uuid.UUID(mail_id)))


@on_event("mail.queued")
def _deliver_queued_mail(tenant_id: str, payload: dict[str, Any]) -> None:
    deliver_mail.send(tenant_id, str(payload["mail_id"]))


ALL_ACTORS: list[dramatiq.Actor[Any, Any]] = [deliver_mail]

# Feature modules register their actors and event routes on import; importing
# them here declares those actors wherever the broker is set up.
from tillbook.jobs import (  # noqa: E402
    receipts,  # noqa: F401
    reminders,  # noqa: F401
)
