"""Package plans: prepaid bundles of sessions of one or more services.

A plan is what the business offers ("5 facials or massages for £250, valid a
year"). A sale of a plan to a client creates a ``ClientPackage``, which
checkout handles. This module manages only the plans. ``service_ids`` lists
the services a plan covers; ``service_id`` (kept for older callers) is the
first of them, and either may be sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from tillbook.db import write_transaction
from tillbook.errors import invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader
from tillbook.kernel.catalog.tables import PackagePlan, PackagePlanService, Service
from tillbook.tenancy.scope import TenantScope

PLAN_FIELDS = frozenset(
    {"name", "service_id", "service_ids", "sessions", "price", "valid_days", "active"}
)


def clean_package_plan(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Return valid package plan fields, or raise ValidationFailed naming bad ones."""
    reader = FieldReader(values, PLAN_FIELDS, partial=partial)
    reader.text("name", required=True)
    has_list = bool(values.get("service_ids"))
    reader.uuid_value("service_id", required=not has_list and not partial)
    reader.uuid_list("service_ids")
    reader.integer("sessions", minimum=1, maximum=1000, required=True)
    reader.money("price", required=True)
    reader.integer("valid_days", minimum=1, maximum=3650, default=365)
    reader.boolean("active", default=True)
    cleaned = reader.finish()
    service_ids = list(cleaned.pop("service_ids", None) or [])
    first = cleaned.get("service_id")
    if first is not None and first not in service_ids:
        service_ids.insert(0, first)
    if service_ids:
        cleaned["service_id"] = service_ids[0]
        cleaned["service_ids"] = service_ids
    elif not partial:
        raise invalid("service_ids", "list at least one service the package covers")
    return cleaned


def package_plan_json(
    row: Mapping[str, Any],
    currency: str,
    service_name: str,
    service_ids: list[uuid.UUID] | None = None,
) -> dict[str, Any]:
    """Return a package plan row as the API shows it."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "service_id": str(row["service_id"]),
        "service_name": service_name,
        "service_ids": [str(item) for item in service_ids or [row["service_id"]]],
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
    covered = await _covered_services(scope, [row["id"] for row in rows])
    return [
        package_plan_json(
            row,
            scope.tenant.currency,
            services.get(row["service_id"], {}).get("name", ""),
            _with_first(row, covered.get(row["id"], [])),
        )
        for row in rows
    ]


def _with_first(row: Mapping[str, Any], linked: list[uuid.UUID]) -> list[uuid.UUID]:
    return [row["service_id"], *(item for item in linked if item != row["service_id"])]


async def _covered_services(
    scope: TenantScope, plan_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    if not plan_ids:
        return {}
    links = await scope.select(PackagePlanService).where(
        PackagePlanService.plan_id.is_in(plan_ids)
    )
    covered: dict[uuid.UUID, list[uuid.UUID]] = {}
    for link in links:
        covered.setdefault(link["plan_id"], []).append(link["service_id"])
    return covered


async def _replace_services(
    scope: TenantScope, plan_id: uuid.UUID, service_ids: list[uuid.UUID]
) -> None:
    found = await scope.get_many(Service, service_ids)
    missing = [str(item) for item in service_ids if item not in found]
    if missing:
        raise invalid(
            "service_ids", f"{', '.join(missing)} are not services of this business"
        )
    await scope.delete(PackagePlanService).where(PackagePlanService.plan_id == plan_id)
    await scope.insert(
        *(
            PackagePlanService(plan_id=plan_id, service_id=service_id)
            for service_id in service_ids
        )
    )


async def get_package_plan(scope: TenantScope, plan_id: uuid.UUID) -> dict[str, Any]:
    """Return one package plan; raise NotFound if it is not the tenant's."""
    row = await scope.get(PackagePlan, plan_id)
    services = await scope.get_many(Service, [row["service_id"]])
    service_name = services.get(row["service_id"], {}).get("name", "")
    covered = await _covered_services(scope, [row["id"]])
    return package_plan_json(
        row,
        scope.tenant.currency,
        service_name,
        _with_first(row, covered.get(row["id"], [])),
    )


async def create_package_plan(
    scope: TenantScope,
    values: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Validate and add a package plan, and return it as JSON.

    Required: ``name``, ``service_ids`` or ``service_id`` (services of this
    tenant), ``sessions`` (1 or more) and ``price``. Raises ValidationFailed
    naming each bad field.
    """
    cleaned = clean_package_plan(values, partial=False)
    service_ids = cleaned.pop("service_ids")
    async with write_transaction():
        await _check_service(scope, cleaned["service_id"])
        row = PackagePlan(**cleaned)
        await scope.insert(row)
        await _replace_services(scope, row.id, service_ids)
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
    service_ids = cleaned.pop("service_ids", None)
    async with write_transaction():
        before = await get_package_plan(scope, plan_id)
        if "service_id" in cleaned:
            await _check_service(scope, cleaned["service_id"])
        if service_ids is not None:
            await _replace_services(scope, plan_id, service_ids)
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
