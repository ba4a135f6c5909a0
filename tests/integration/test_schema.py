"""The migrated database has every column of every table class."""

from __future__ import annotations

from tests.support import make_tenant
from tillbook.db.tables import ALL_TABLES
from tillbook.plugins import get_plugin_manager


def _table_classes() -> list[type]:
    plugin_tables = [
        table
        for tables in get_plugin_manager().hook.tillbook_tables()
        for table in tables
    ]
    return [*ALL_TABLES, *plugin_tables]


def test_every_table_class_matches_the_migrated_schema(client) -> None:
    tenant = make_tenant(client)

    async def read_every_column() -> list[str]:
        failures = []
        for table in _table_classes():
            try:
                await table.select(*table._meta.columns).limit(1).run()
            except Exception as exc:
                failures.append(f"{table._meta.tablename}: {exc}")
        return failures

    assert tenant.run(read_every_column) == []
