"""Package plans: prepaid bundles of sessions of one service.

A plan is what the business offers ("5 facials for £250, valid a year"). A
sale of a plan to a client creates a ``ClientPackage``, which checkout
handles. This module manages only the plans.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from tillbook.db import write_transaction
from tillbook.errors import invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader
from tillbook.kernel.catalog.tables import PackagePlan, Service
from tillbook.tenancy.scope import TenantScope

PLAN_FIELDS = frozenset(
    {"name", "service_id", "sessions", "price", "valid_days", "active"}
)


def clean_package_plan(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Return valid package plan fields, or raise ValidationFailed naming bad ones."""
    reader = FieldReader(values, PLAN_FIELDS, partial=partial)
    reader.text("name", required=True)
    reader.uuid_value("service_id", required=True)
    reader.integer("sessions", minimum=1, maximum=1000, required=True)
    reader.money("price", required=True)
    reader.integer("valid_days", minimum=1, maximum=3650, default=365)
    reader.boolean("active", default=True)
    return reader.finish()


def package_plan_json(
    row: Mapping[str, Any], currency: str, service_name: str
) -> dict[str, Any]:
    """Return a package plan row as the API shows it."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "service_id": str(row["service_id"]),
        "service_name": service_name,
        "sessions": row["sessions"],
        "price": row["price"],
        "currency": currency,
        "valid_days": row["valid_days"],
        "active": row["active"],
    }


async def list_package_plans(
    scope: TenantScope, *, active: bool | None = None
) -> list[dict[str, Any]]:
    """Return the tenant's package plans by name, with their service names."""
    query = scope.select(PackagePlan).order_by(PackagePlan.name)
    if active is not None:
        query = query.where(PackagePlan.active == active)
    rows = await query
    services = await scope.get_many(Service, [row["service_id"] for row in rows])
    return [
        package_plan_json(
            row,
            scope.tenant.currency,
            services.get(row["service_id"], {}).get("name", ""),
        )
        for row in rows
    ]


async def get_package_plan(scope: TenantScope, plan_id: uuid.UUID) -> dict[str, Any]:
    """Return one package plan; raise NotFound if it is not the tenant's."""
    row = await scope.get(PackagePlan, plan_id)
    services = await scope.get_many(Service, [row["service_id"]])
    service_name = services.get(row["service_id"], {}).get("name", "")
    return package_plan_json(row, scope.tenant.currency, service_name)


async def create_package_plan(
    scope: TenantScope,
    values: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Validate and add a package plan, and return it as JSON.

    Required: ``name``, ``service_id`` (a service of this tenant),
    ``sessions`` (1 or more) and ``price``. Raises ValidationFailed naming
    each bad field.
    """
    cleaned = clean_package_plan(values, partial=False)
    async with write_transaction():
        await _check_service(scope, cleaned["service_id"])
        row = PackagePlan(**cleaned)
        await scope.insert(row)
        created = await get_package_plan(scope, row.id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="package_plan.created",
            subject_type="package_plan",
            subject_id=row.id,
            after=created,
        )
    return created


async def update_package_plan(
    scope: TenantScope,
    plan_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Change some fields of a package plan, and return it as JSON.

    Packages already sold keep their sessions, value and expiry. Raises
    NotFound for another tenant's plan (checked before the body) and
    ValidationFailed naming each bad field.
    """
    await scope.get(PackagePlan, plan_id)
    cleaned = clean_package_plan(changes, partial=True)
    async with write_transaction():
        before = await get_package_plan(scope, plan_id)
        if "service_id" in cleaned:
            await _check_service(scope, cleaned["service_id"])
        if cleaned:
            await scope.update(
                PackagePlan, {getattr(PackagePlan, k): v for k, v in cleaned.items()}
            ).where(PackagePlan.id == plan_id)
        after = await get_package_plan(scope, plan_id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="package_plan.updated",
            subject_type="package_plan",
            subject_id=plan_id,
            before=before,
            after=after,
        )
    return after


async def _check_service(scope: TenantScope, service_id: uuid.UUID) -> None:
    if not await scope.get_many(Service, [service_id]):
        raise invalid("service_id", f"{service_id} is not a service of this business")
