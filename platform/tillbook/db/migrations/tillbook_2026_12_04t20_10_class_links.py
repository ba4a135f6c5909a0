"""Class places get a secret for the client's own cancel link."""

from tillbook.db.migration_ops import raw_migration, run_statements

ID = "2026-12-04T20:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "classes: a cancel link secret per class place"

STATEMENTS = [
    "ALTER TABLE class_booking ADD COLUMN cancel_token VARCHAR(64) NOT NULL DEFAULT ''",
    "CREATE UNIQUE INDEX IF NOT EXISTS class_booking_cancel_token"
    " ON class_booking (tenant_id, cancel_token) WHERE cancel_token <> ''",
]


async def _run() -> None:
    await run_statements(STATEMENTS)


async def forwards():  # type: ignore[no-untyped-def]
    return raw_migration(ID, DESCRIPTION, _run)
