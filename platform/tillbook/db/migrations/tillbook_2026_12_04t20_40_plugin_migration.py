"""The record of plugin migration steps applied to the database.

The table is a frozen copy of
``tillbook.tenancy.plugin_migrations.AppliedPluginMigration``.
"""

from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.table import Table

from tillbook.db.migration_ops import create_tables, raw_migration, run_statements

ID = "2026-12-04T20:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "plugins: the applied plugin migration steps"


class AppliedPluginMigration(Table, tablename="plugin_migration"):
    id = UUID(primary_key=True)
    plugin = Varchar(length=100)
    migration_id = Varchar(length=200)
    applied_at = Timestamptz()


async def _run() -> None:
    await create_tables(AppliedPluginMigration)
    await run_statements(
        [
            "CREATE UNIQUE INDEX IF NOT EXISTS plugin_migration_step "
            "ON plugin_migration (plugin, migration_id)"
        ]
    )


async def forwards():  # type: ignore[no-untyped-def]
    return raw_migration(ID, DESCRIPTION, _run)
