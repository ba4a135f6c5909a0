"""Appending to a client's history timeline."""

from __future__ import annotations

import uuid

from tillbook.db.base import utcnow
from tillbook.kernel.clients.tables import ClientHistory
from tillbook.tenancy.scope import TenantScope


async def add_history(
    scope: TenantScope,
    client_id: uuid.UUID,
    kind: str,
    summary: str,
    ref_id: uuid.UUID | None = None,
) -> None:
    """Append a time-stamped entry such as ``appointment.booked`` to a client."""
    await scope.insert(
        ClientHistory(
            client_id=client_id, at=utcnow(), kind=kind, summary=summary, ref_id=ref_id
        )
    )
