"""Appending to the audit log."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tillbook.db.base import utcnow
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.tenancy.scope import TenantScope


async def record_audit(
    scope: TenantScope,
    *,
    actor_id: uuid.UUID | None,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID | None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one audit entry; call it inside the transaction of the change."""
    await scope.insert(
        AuditEntry(
            at=utcnow(),
            actor_id=actor_id,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            before=json.dumps(before, default=str),
            after=json.dumps(after, default=str),
        )
    )
