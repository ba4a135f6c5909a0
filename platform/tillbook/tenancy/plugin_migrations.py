"""Applying a plugin's own migrations, once per database.

A plugin returns ``tillbook.PluginMigration`` steps from its
``tillbook_migrations`` hook. ``apply_plugin_migrations`` runs the steps not
yet recorded in the ``plugin_migration`` table, in list order, inside one
write transaction. The transaction first takes a lock (an advisory lock on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two requests enabling the
same plugin at once apply each step once: the second waits for the lock,
then finds the steps recorded.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref

from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from tillbook.db import get_engine, write_transaction
from tillbook.db.base import utcnow
from tillbook.plugins import PluginFailed, PluginMigration, call_plugin_hook

logger = logging.getLogger(__name__)

# Any fixed 64-bit number works; it only has to differ from other advisory
# locks taken on the same PostgreSQL database.
_ADVISORY_LOCK = 7_310_402_519
# One lock per event loop: an asyncio.Lock may only be awaited on the loop it
# first waited on, and tests run one loop per app.
_loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _process_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _loop_locks.get(loop)
    if lock is None:
        lock = _loop_locks[loop] = asyncio.Lock()
    return lock


class AppliedPluginMigration(Table, tablename="plugin_migration"):
    """A plugin migration step applied to this database (not a tenant row)."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    plugin = Varchar(length=100)
    migration_id = Varchar(length=200)
    applied_at = Timestamptz()


def plugin_migrations(plugin: str) -> list[PluginMigration]:
    """Return the steps ``plugin`` declares, checking their shape."""
    steps = call_plugin_hook(plugin, "tillbook_migrations") or []
    seen: set[str] = set()
    for step in steps:
        if not isinstance(step, PluginMigration) or not step.id or step.id in seen:
            logger.error("plugin %s returned a bad migration list: %r", plugin, steps)
            raise PluginFailed(plugin, "tillbook_migrations")
        seen.add(step.id)
    return list(steps)


async def applied_migrations(plugin: str) -> set[str]:
    """Return the ids of ``plugin``'s steps already applied to this database."""
    rows = await AppliedPluginMigration.select(
        AppliedPluginMigration.migration_id
    ).where(AppliedPluginMigration.plugin == plugin)
    return {row["migration_id"] for row in rows}


async def apply_plugin_migrations(plugin: str) -> list[str]:
    """Apply ``plugin``'s pending migration steps and return their ids.

    Raises ``PluginFailed`` (and applies nothing) when a step fails.
    """
    steps = plugin_migrations(plugin)
    if not steps:
        return []
    engine = get_engine()
    async with _process_lock():
        if {step.id for step in steps} <= await applied_migrations(plugin):
            return []
        applied: list[str] = []
        try:
            async with write_transaction():
                if isinstance(engine, PostgresEngine):
                    await engine.run_ddl(
                        f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK})"
                    )
                done = await applied_migrations(plugin)
                for step in steps:
                    if step.id in done:
                        continue
                    await _apply_step(step)
                    await AppliedPluginMigration.insert(
                        AppliedPluginMigration(
                            plugin=plugin, migration_id=step.id, applied_at=utcnow()
                        )
                    )
                    applied.append(step.id)
        except PluginFailed:
            raise
        except Exception:
            logger.exception("plugin %s failed in tillbook_migrations", plugin)
            raise PluginFailed(plugin, "tillbook_migrations") from None
    for step_id in applied:
        logger.info("applied migration %s of plugin %s", step_id, plugin)
    return applied


async def apply_all_plugin_migrations() -> dict[str, list[str]]:
    """Apply the pending steps of every installed plugin; return them by plugin.

    ``tb migrate`` runs this after the kernel's migrations, so every installed
    plugin's tables exist whether or not a tenant has enabled it yet.
    """
    from tillbook.plugins import plugin_names

    return {plugin: await apply_plugin_migrations(plugin) for plugin in plugin_names()}


async def _apply_step(step: PluginMigration) -> None:
    engine = get_engine()
    for table in step.tables:
        table._meta.db = engine
        await table.create_table(if_not_exists=True).run()
    for statement in step.statements:
        await engine.run_ddl(statement)
    if isinstance(engine, PostgresEngine):
        for statement in step.postgres_statements:
            await engine.run_ddl(statement)
    if step.run is not None:
        await step.run()
