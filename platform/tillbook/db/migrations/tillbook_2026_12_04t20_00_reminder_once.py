"""One reminder per appointment (or class place), planned start and offset.

Planning reminders twice for the same start (a booking's own transaction and
the job that plans after ``appointment.booked``, say) must not produce two
rows, or the client would get two emails. Each partial index covers the rows
of one kind of owner.
"""

from tillbook.db.migration_ops import raw_migration, run_statements

ID = "2026-12-04T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one reminder per appointment or class place, start and offset"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS reminder_once"
    " ON reminder (tenant_id, appointment_id, for_start, offset_minutes)"
    " WHERE appointment_id IS NOT NULL",
    "CREATE UNIQUE INDEX IF NOT EXISTS reminder_once_per_place"
    " ON reminder (tenant_id, class_booking_id, for_start, offset_minutes)"
    " WHERE class_booking_id IS NOT NULL",
]


async def run() -> None:
    await run_statements(STATEMENTS)


async def forwards():
    return raw_migration(ID, DESCRIPTION, run)
