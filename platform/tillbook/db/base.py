"""Base table classes shared by every kernel module."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from piccolo.columns import UUID, Timestamptz
from piccolo.table import Table

NO_TENANT = uuid.UUID(int=0)


def utcnow() -> datetime:
    """Return the current instant as an aware UTC datetime."""
    return datetime.now(UTC)


class TenantTable(Table):
    """A table whose every row belongs to one tenant.

    Kernel code reads and writes these tables only through a ``TenantScope``,
    which adds the ``tenant_id`` condition; ``tests/unit/test_isolation_source.py``
    fails on any other query of them.
    """

    # Rows start with the nil UUID, which no tenant has. ``TenantScope.insert``
    # replaces it, so a row saved any other way belongs to no tenant.
    tenant_id = UUID(index=True, default=NO_TENANT)
    id = UUID(primary_key=True, default=uuid.uuid4)


__all__ = ["TenantTable", "Timestamptz", "utcnow"]
