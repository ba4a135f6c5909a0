"""Holds replace the appointment overlap constraint.

Provider time is now guarded by holds (``hold_staff_no_overlap`` on
PostgreSQL), so ``appointment_no_overlap`` goes: with buffers and processing
gaps an appointment's row span is no longer the provider's busy time. Every
live appointment already booked gets its provider holds here.

The table classes are frozen copies of the columns this migration reads and
writes, as they were when it was written.
"""

import uuid
from datetime import timedelta

from piccolo.columns import UUID, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table

from tillbook.db.migration_ops import raw_migration, run_statements

ID = "2026-12-04T19:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "holds replace the appointment overlap constraint"

LIVE_STATUSES = ["booked", "checked_in", "completed"]
BATCH = 500


class Appointment(Table, tablename="appointment"):
    tenant_id = UUID()
    id = UUID(primary_key=True)
    staff_id = UUID()
    start_at = Timestamptz()
    end_at = Timestamptz()
    status = Varchar(length=20)
    buffer_before_minutes = Integer()
    buffer_after_minutes = Integer()
    processing_after_minutes = Integer(null=True)
    processing_minutes = Integer()


class Hold(Table, tablename="hold"):
    tenant_id = UUID()
    id = UUID(primary_key=True)
    appointment_id = UUID(null=True, default=None)
    session_id = UUID(null=True, default=None)
    staff_id = UUID(null=True, default=None)
    resource_id = UUID(null=True, default=None)
    unit = Integer(default=0)
    start_at = Timestamptz()
    end_at = Timestamptz()
    live = Boolean(default=True)


POSTGRES_ONLY = [
    "ALTER TABLE appointment DROP CONSTRAINT IF EXISTS appointment_no_overlap",
]


def _provider_holds(row: dict) -> list[Hold]:
    """Return the provider holds of one appointment: its span minus the gap."""
    first = row["start_at"] - timedelta(minutes=row["buffer_before_minutes"] or 0)
    last = row["end_at"] + timedelta(minutes=row["buffer_after_minutes"] or 0)
    spans = [(first, last)]
    if row["processing_after_minutes"] is not None and row["processing_minutes"]:
        gap_start = max(
            row["start_at"] + timedelta(minutes=row["processing_after_minutes"]), first
        )
        gap_end = min(gap_start + timedelta(minutes=row["processing_minutes"]), last)
        spans = [(a, b) for a, b in ((first, gap_start), (gap_end, last)) if a < b]
    return [
        Hold(
            tenant_id=row["tenant_id"],
            id=uuid.uuid4(),
            appointment_id=row["id"],
            staff_id=row["staff_id"],
            start_at=start,
            end_at=end,
            live=True,
        )
        for start, end in spans
    ]


async def run() -> None:
    await run_statements([], POSTGRES_ONLY)
    # Appointments that already have holds (none, unless this runs twice by
    # hand) are skipped, so the backfill places each hold once.
    held = Hold.select(Hold.appointment_id).where(Hold.appointment_id.is_not_null())
    rows = (
        await Appointment.select()
        .where(Appointment.status.is_in(LIVE_STATUSES))
        .where(Appointment.id.not_in(held))
    )
    holds = [hold for row in rows for hold in _provider_holds(row)]
    for index in range(0, len(holds), BATCH):
        await Hold.insert(*holds[index : index + BATCH])


async def forwards():
    return raw_migration(ID, DESCRIPTION, run)
