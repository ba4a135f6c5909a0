"""Composite indexes led by tenant_id, and the appointment overlap constraint.

On PostgreSQL an exclusion constraint over the time range makes it impossible
for two live appointments to hold one provider at once, whatever the
application does. SQLite has no such constraint; there the booking
transaction is serialised instead (``tillbook.db.write_transaction``).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-04T16:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenant-led indexes and the appointment overlap constraint"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS membership_tenant_account"
    " ON membership (tenant_id, account_id)",
    "CREATE INDEX IF NOT EXISTS appointment_tenant_staff_start"
    " ON appointment (tenant_id, staff_id, start_at)",
    "CREATE INDEX IF NOT EXISTS appointment_tenant_start"
    " ON appointment (tenant_id, start_at)",
    "CREATE INDEX IF NOT EXISTS client_tenant_name"
    " ON client (tenant_id, last_name, first_name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS gift_card_tenant_code"
    " ON gift_card (tenant_id, code)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ticket_tenant_number"
    " ON ticket (tenant_id, number)",
    "CREATE INDEX IF NOT EXISTS posting_tenant_at ON posting (tenant_id, at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idempotency_tenant_scope_key"
    " ON idempotency_record (tenant_id, scope, key)",
    "CREATE UNIQUE INDEX IF NOT EXISTS plugin_setting_tenant_plugin"
    " ON plugin_setting (tenant_id, plugin)",
    "CREATE INDEX IF NOT EXISTS outbox_event_pending"
    " ON outbox_event (created_at) WHERE dispatched_at IS NULL",
    "CREATE INDEX IF NOT EXISTS working_hours_tenant_staff"
    " ON working_hours (tenant_id, staff_id, weekday)",
]

POSTGRES_ONLY = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE appointment ADD CONSTRAINT appointment_no_overlap"
    " EXCLUDE USING gist ("
    " tenant_id WITH =, staff_id WITH =, tstzrange(start_at, end_at) WITH &&"
    " ) WHERE (status IN ('booked', 'checked_in', 'completed'))",
]


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="tillbook", description=DESCRIPTION
    )

    async def run():
        engine = engine_finder()
        for statement in INDEXES:
            await engine._run_in_new_connection(statement)
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES_ONLY:
                await engine._run_in_new_connection(statement)

    manager.add_raw(run)
    return manager
