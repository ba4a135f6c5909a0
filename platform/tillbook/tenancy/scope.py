"""The tenant scope: the one gate through which kernel code touches tenant rows.

Every query of a tenant table is built here, with the ``tenant_id`` condition
already applied, so code holding a scope for tenant A cannot name a row of
tenant B. A lookup by id that misses (because the row does not exist or is
another tenant's) raises ``NotFound``, which the web layer turns into 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from piccolo.columns import Column
from piccolo.query import Count, Delete, Objects, Select, Update

from tillbook.db.base import TenantTable
from tillbook.errors import NotFound

T = TypeVar("T", bound=TenantTable)

# ISO 4217 minor units for the currencies a tenant can choose; anything not
# listed here has two.
_MINOR_DIGITS = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0,
    "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3,
    "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
    "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip


def minor_digits(currency: str) -> int:
    """Return the number of minor-unit digits of an ISO 4217 currency code."""
    return _MINOR_DIGITS.get(currency.upper(), 2)


@dataclass(frozen=True)
class TenantInfo:
    """The settings of a tenant that request handling needs on every call."""

    id: uuid.UUID
    slug: str
    name: str
    time_zone: str
    currency: str
    brand_colour: str
    logo_url: str
    prices_include_tax: bool
    loyalty_min_visits: int
    loyalty_percent: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def minor_digits(self) -> int:
        return minor_digits(self.currency)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TenantInfo:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


class TenantScope:
    """Queries and writes of tenant tables, restricted to one tenant."""

    def __init__(self, tenant: TenantInfo) -> None:
        self.tenant = tenant
        self.tenant_id = tenant.id

    def select(self, table: type[T], *columns: Column | str) -> Select:
        return table.select(*columns).where(table.tenant_id == self.tenant_id)

    def objects(self, table: type[T]) -> Objects:
        return table.objects().where(table.tenant_id == self.tenant_id)

    def count(self, table: type[T]) -> Count:
        return table.count().where(table.tenant_id == self.tenant_id)

    def update(self, table: type[T], values: dict[Column | str, Any]) -> Update:
        return table.update(values).where(table.tenant_id == self.tenant_id)

    def delete(self, table: type[T]) -> Delete:
        return table.delete().where(table.tenant_id == self.tenant_id)

    async def insert(self, *rows: TenantTable) -> list[dict[str, Any]]:
        """Insert rows after stamping them with this tenant's id."""
        if not rows:
            return []
        for row in rows:
            row.tenant_id = self.tenant_id
        table = type(rows[0])
        return await table.insert(*rows)

    async def get(self, table: type[T], row_id: uuid.UUID | str) -> dict[str, Any]:
        """Return one row by id, or raise NotFound naming the table."""
        key = _as_uuid(row_id, table)
        row = await self.select(table).where(table.id == key).first()
        if row is None:
            raise NotFound(table._meta.tablename, str(row_id))
        return row

    async def get_many(
        self, table: type[T], ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """Return rows by id; ids of other tenants are simply absent."""
        wanted: Sequence[uuid.UUID] = list(set(ids))
        if not wanted:
            return {}
        rows = await self.select(table).where(table.id.is_in(list(wanted)))
        return {row["id"]: row for row in rows}


def _as_uuid(value: uuid.UUID | str, table: type[TenantTable]) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(table._meta.tablename, str(value)) from None


class SystemScope:
    """Cross-tenant access for platform jobs that must see every tenant.

    Only the outbox dispatcher and sign-up use it; each call site states why.
    """

    def select(self, table: type[T], *columns: Column | str) -> Select:
        return table.select(*columns)

    def update(self, table: type[T], values: dict[Column | str, Any]) -> Update:
        return table.update(values)
