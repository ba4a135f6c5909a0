"""Writing domain events to the outbox inside the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

from tillbook.db.base import utcnow
from tillbook.kernel.events.tables import OutboxEvent
from tillbook.tenancy.scope import TenantScope


async def record_event(scope: TenantScope, name: str, payload: dict[str, Any]) -> None:
    """Append ``name`` (past tense, such as ``ticket.closed``) to the outbox.

    Call it inside the transaction that makes the change, so the event exists
    exactly when the change committed. Values in ``payload`` must be JSON-safe
    after ``str()`` of ids and datetimes.
    """
    body = json.dumps(payload, default=str)
    await scope.insert(
        OutboxEvent(name=name, payload=body, created_at=utcnow(), dispatched_at=None)
    )
