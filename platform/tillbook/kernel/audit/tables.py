"""The append-only audit log."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Timestamptz, Varchar

from tillbook.db.base import TenantTable


class AuditEntry(TenantTable):
    """A record of one change: actor, time, subject and values before and after."""

    at = Timestamptz(index=True)
    actor_id = UUID(null=True, default=None)
    action = Varchar(length=60)
    subject_type = Varchar(length=40)
    subject_id = UUID(null=True, default=None)
    before = JSON(default="null")
    after = JSON(default="null")
