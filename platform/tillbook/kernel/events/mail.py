"""Queueing an email inside the caller's transaction."""

from __future__ import annotations

import uuid

from tillbook.db.base import utcnow
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.events.tables import MailMessage
from tillbook.tenancy.scope import TenantScope


async def queue_mail(
    scope: TenantScope, *, to: str, subject: str, html: str, text: str, kind: str
) -> uuid.UUID:
    """Store an email and a ``mail.queued`` event; a job delivers it after commit."""
    row = MailMessage(
        to_address=to,
        subject=subject,
        html=html,
        text=text,
        kind=kind,
        created_at=utcnow(),
    )
    await scope.insert(row)
    await record_event(scope, "mail.queued", {"mail_id": str(row.id), "kind": kind})
    return row.id  # type: ignore[no-any-return]
