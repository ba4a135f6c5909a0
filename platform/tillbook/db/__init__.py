"""Database set-up: engine selection, table binding and migrations."""

from __future__ import annotations

import os

os.environ.setdefault("PICCOLO_CONF", "tillbook.db.piccolo_conf")

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

_engine: Engine | None = None


def configure(url: str) -> Engine:
    """Bind every table and piccolo's migration runner to the database at ``url``."""
    global _engine
    from tillbook.db import piccolo_conf
    from tillbook.db.engine import engine_from_url
    from tillbook.db.tables import ALL_TABLES

    engine = engine_from_url(url)
    piccolo_conf.DB = engine
    for table in ALL_TABLES:
        table._meta.db = engine
    from tillbook.plugins import bind_plugin_tables

    bind_plugin_tables(engine)
    _engine = engine
    return engine


def get_engine() -> Engine:
    """Return the configured engine; configure from settings on first use."""
    if _engine is None:
        from tillbook.config import get_settings

        return configure(get_settings().database_url)
    return _engine


def is_postgres() -> bool:
    """Tell whether the configured database is PostgreSQL."""
    return isinstance(get_engine(), PostgresEngine)


def write_transaction():  # type: ignore[no-untyped-def]
    """Open a transaction that serialises writers.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` so it takes the
    write lock before its first read; a check-then-insert inside it cannot race
    another writer. On PostgreSQL it is an ordinary transaction, and constraints
    (unique keys, the appointment exclusion constraint) decide races.
    """
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def start(url: str | None = None) -> Engine:
    """Configure the engine and open a connection pool where the database has one."""
    engine = configure(url) if url else get_engine()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20)
    elif isinstance(engine, SQLiteEngine):
        # Write-ahead logging lets readers run while a writer commits and
        # syncs the disk less often than the default rollback journal. The
        # mode is stored in the database file, so setting it once suffices.
        await engine._run_in_new_connection("PRAGMA journal_mode=WAL")
    return engine


async def stop() -> None:
    """Close the connection pool, if any."""
    engine = _engine
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
