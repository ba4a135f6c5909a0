"""Every query of a tenant table in the source goes through a TenantScope."""

from __future__ import annotations

import ast
from pathlib import Path

from tillbook.db.tables import TENANT_TABLES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    ROOT / "platform" / "tillbook",
    *sorted((ROOT / "plugins").glob("*/tillbook_*")),
]
QUERY_METHODS = {
    "select",
    "objects",
    "insert",
    "update",
    "delete",
    "count",
    "exists",
    "raw",
    "create_table",
    "alter",
}
# The scope itself is the one place allowed to build tenant queries.
ALLOWED = {ROOT / "platform" / "tillbook" / "tenancy" / "scope.py"}
TENANT_TABLE_NAMES = {table.__name__ for table in TENANT_TABLES}


def _unscoped_queries(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in TENANT_TABLE_NAMES
        ):
            call = f"{node.func.value.id}.{node.func.attr}()"
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {call}")
    return found


def test_no_unscoped_tenant_queries() -> None:
    offenders: list[str] = []
    for source in SOURCES:
        for path in source.rglob("*.py"):
            if path in ALLOWED or "migrations" in path.parts:
                continue
            offenders.extend(_unscoped_queries(path))
    assert offenders == [], "query tenant tables through a TenantScope:\n" + "\n".join(
        offenders
    )


def test_checker_catches_unscoped_query(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("async def leak():\n    return await Client.select()\n")
    assert _unscoped_queries_relative(sample) == ["Client.select()"]


def _unscoped_queries_relative(path: Path) -> list[str]:
    global ROOT
    saved = ROOT
    ROOT = path.parent
    try:
        return [entry.split(" ", 1)[1] for entry in _unscoped_queries(path)]
    finally:
        ROOT = saved
