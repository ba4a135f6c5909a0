"""Applying piccolo migrations to the configured database."""

from __future__ import annotations

import logging

from piccolo.apps.migrations.commands.forwards import run_forwards

from tillbook import db

logger = logging.getLogger(__name__)


async def migrate(url: str | None = None) -> None:
    """Bring the schema at ``url`` (or the configured database) up to date."""
    if url is not None:
        db.configure(url)
    else:
        db.get_engine()
    response = await run_forwards(app_name="all", migration_id="all", fake=False)
    if not response.success:
        raise RuntimeError(f"migration failed: {response.message}")
    from tillbook.tenancy.plugin_migrations import apply_all_plugin_migrations

    await apply_all_plugin_migrations()
    logger.info("database schema is up to date")
