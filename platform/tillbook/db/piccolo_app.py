"""The piccolo app that owns the kernel's tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from tillbook.db.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="tillbook",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=ALL_TABLES,
    migration_dependencies=[],
    commands=[],
)
