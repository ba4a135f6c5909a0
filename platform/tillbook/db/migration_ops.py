"""Building blocks for hand-written migrations.

A migration that adds tables declares frozen copies of them inside its own
module, so that later changes to the live table classes do not change what an
old migration creates. ``create_tables`` creates those copies on the database
the migration runs against; ``run_statements`` runs raw SQL, optionally only
on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table


def _engine() -> Engine:
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("no database engine is configured")
    return engine


async def create_tables(*tables: type[Table]) -> None:
    """Create ``tables`` (with their indexes) if they do not exist yet."""
    engine = _engine()
    for table in tables:
        table._meta.db = engine
        await table.create_table(if_not_exists=True).run()


async def run_statements(
    statements: Sequence[str], postgres_only: Sequence[str] = ()
) -> None:
    """Run ``statements``, then ``postgres_only`` when the database is PostgreSQL."""
    engine = _engine()
    for statement in statements:
        await engine.run_ddl(statement)
    if isinstance(engine, PostgresEngine):
        for statement in postgres_only:
            await engine.run_ddl(statement)


def raw_migration(
    migration_id: str, description: str, run: Callable[[], Awaitable[None]]
) -> MigrationManager:
    """Return a migration manager that runs ``run`` when applied."""
    manager = MigrationManager(
        migration_id=migration_id, app_name="tillbook", description=description
    )
    manager.add_raw(run)
    return manager
