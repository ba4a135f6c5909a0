"""A product's SKU is unique within its tenant when it is not empty.

The catalog checks this before writing; the index settles the race between
two concurrent writes on PostgreSQL, where the check and the insert do not
hold a table lock. Both SQLite and PostgreSQL support the partial index.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique non-empty product SKU per tenant"

STATEMENT = (
    "CREATE UNIQUE INDEX IF NOT EXISTS product_tenant_sku"
    " ON product (tenant_id, sku) WHERE sku <> ''"
)


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="tillbook", description=DESCRIPTION
    )

    async def run():
        await engine_finder()._run_in_new_connection(STATEMENT)

    manager.add_raw(run)
    return manager
