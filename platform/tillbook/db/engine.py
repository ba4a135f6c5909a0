"""Database engines for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

logger = logging.getLogger(__name__)


def engine_from_url(url: str | None = None) -> Engine:
    """Create an engine for ``url``, or for the configured database URL."""
    if url is None:
        from tillbook.config import get_settings

        url = get_settings().database_url
    if url.startswith("sqlite:///"):
        # A long busy timeout lets concurrent writers queue for the single
        # SQLite write lock instead of failing with "database is locked".
        return SQLiteEngine(path=url.removeprefix("sqlite:///"), timeout=30)
    parts = urlsplit(url)
    return PostgresEngine(
        config={
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": parts.username or "postgres",
            "password": parts.password or "",
            "database": parts.path.lstrip("/"),
        },
        log_queries=False,
    )
