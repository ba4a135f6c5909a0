"""Plugin booking field values stored on each appointment.

A move runs the timing and validation hooks again with the values given at
booking, so a plugin's duration and rules still apply.
"""

from tillbook.db.migration_ops import raw_migration, run_statements

ID = "2026-12-04T20:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "appointment plugin field values"

STATEMENTS = ["ALTER TABLE appointment ADD COLUMN plugin_fields JSON NOT NULL DEFAULT '{}'"]


async def run() -> None:
    await run_statements(STATEMENTS)


async def forwards():
    return raw_migration(ID, DESCRIPTION, run)
