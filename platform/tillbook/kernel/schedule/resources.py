"""Resources (rooms, chairs, tables, equipment) and the services that need them.

A resource has a quantity of interchangeable units: a room is one unit, a
set of four pedicure chairs is four. A service requires some units of some
resources for its whole length (``ServiceResource``), so a booking needs a
free unit of each on top of a free provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from tillbook.db import write_transaction
from tillbook.errors import Conflict, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader, parse_uuid
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.schedule.locations import check_location_id, lock_parent_row
from tillbook.kernel.schedule.tables import Resource, ServiceResource
from tillbook.tenancy.scope import TenantScope

RESOURCE_KINDS = ("room", "chair", "table", "equipment")
RESOURCE_FIELDS = frozenset({"name", "kind", "quantity", "location_id", "active"})
MAX_QUANTITY = 500


def clean_resource(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Return valid resource fields except the location, or raise ValidationFailed.

    ``check_location_id`` checks ``location_id`` against the tenant.
    """
    reader = FieldReader(values, RESOURCE_FIELDS, partial=partial)
    reader.text("name", required=True)
    reader.text("kind", default="room", max_length=20)
    reader.integer("quantity", minimum=1, maximum=MAX_QUANTITY, default=1)
    reader.boolean("active", default=True)
    kind = reader.cleaned.get("kind")
    if kind is not None and kind not in RESOURCE_KINDS:
        reader.errors["kind"] = (
            f"{kind!r} is not a resource kind: use one of {', '.join(RESOURCE_KINDS)}"
        )
    return reader.finish()


def resource_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a resource row as JSON."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "kind": row["kind"],
        "quantity": row["quantity"],
        "location_id": str(row["location_id"]) if row["location_id"] else None,
        "active": row["active"],
    }


async def list_resources(
    scope: TenantScope, *, active: bool | None = None
) -> list[dict[str, Any]]:
    """Return the tenant's resources by name, optionally only active ones."""
    query = scope.select(Resource).order_by(Resource.name)
    if active is not None:
        query = query.where(Resource.active == active)
    return [resource_json(row) for row in await query]


async def get_resource(
    scope: TenantScope, resource_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return one resource; raise NotFound if it is not the tenant's."""
    return resource_json(await scope.get(Resource, resource_id))


async def create_resource(
    scope: TenantScope, values: Mapping[str, Any], *, actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Add a resource and return it. Raises ValidationFailed naming each bad field."""
    cleaned = clean_resource(
        {k: v for k, v in values.items() if k != "location_id"}, partial=False
    )
    async with write_transaction():
        cleaned["location_id"] = await check_location_id(
            scope, values.get("location_id"), "location_id"
        )
        row = Resource(**cleaned)
        await scope.insert(row)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="resource.created",
            subject_type="resource",
            subject_id=row.id,
            after=cleaned,
        )
    return await get_resource(scope, row.id)


async def update_resource(
    scope: TenantScope,
    resource_id: uuid.UUID | str,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Change some fields of a resource and return it.

    Lowering ``quantity`` below what a service requires is rejected on
    ``quantity``. Raises NotFound for another tenant's id.
    """
    async with write_transaction():
        before = await scope.get(Resource, resource_id)
        cleaned = clean_resource(
            {k: v for k, v in changes.items() if k != "location_id"}, partial=True
        )
        if "location_id" in changes:
            cleaned["location_id"] = await check_location_id(
                scope, changes["location_id"], "location_id"
            )
        if "quantity" in cleaned:
            needed = await _largest_requirement(scope, before["id"])
            if cleaned["quantity"] < needed:
                raise invalid(
                    "quantity",
                    f"a service needs {needed} units of {before['name']}: lower "
                    "that service's requirement first",
                )
        if cleaned:
            await scope.update(
                Resource, {getattr(Resource, k): v for k, v in cleaned.items()}
            ).where(Resource.id == before["id"])
            await record_audit(
                scope,
                actor_id=actor_id,
                action="resource.updated",
                subject_type="resource",
                subject_id=before["id"],
                before={key: before[key] for key in cleaned},
                after=cleaned,
            )
    return await get_resource(scope, before["id"])


async def _largest_requirement(scope: TenantScope, resource_id: uuid.UUID) -> int:
    rows = await scope.select(ServiceResource, ServiceResource.quantity).where(
        ServiceResource.resource_id == resource_id
    )
    return max((row["quantity"] for row in rows), default=0)


async def delete_resource(
    scope: TenantScope, resource_id: uuid.UUID | str, *, actor_id: uuid.UUID | None
) -> None:
    """Delete a resource no service requires.

    Raises NotFound for another tenant's id, and Conflict while services
    still require it (remove it from them or set it inactive instead).
    """
    async with write_transaction():
        row = await scope.get(Resource, resource_id)
        links = await scope.select(ServiceResource, ServiceResource.service_id).where(
            ServiceResource.resource_id == row["id"]
        )
        if links:
            services = await scope.get_many(
                Service, (link["service_id"] for link in links)
            )
            names = sorted(item["name"] for item in services.values())
            raise Conflict(
                f"resource {row['name']} is required by {', '.join(names)}: remove "
                "it from those services or set it inactive instead",
                resource_id=str(row["id"]),
            )
        await scope.delete(Resource).where(Resource.id == row["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="resource.deleted",
            subject_type="resource",
            subject_id=row["id"],
            before=resource_json(row),
        )


# -- resources a service requires --------------------------------------------


def parse_requirements(value: object, field: str) -> list[tuple[uuid.UUID, int]]:
    """Parse ``[{"resource_id": "…", "quantity": 1}, ...]`` into pairs.

    Raises ValidationFailed on ``field`` for a malformed list, a repeated
    resource or a quantity outside 1 to 500.
    """
    if value is None:
        return []
    shape = 'must be a list like [{"resource_id": "…", "quantity": 1}]'
    if not isinstance(value, list):
        raise invalid(field, shape)
    pairs: dict[uuid.UUID, int] = {}
    for item in value:
        if not isinstance(item, dict) or set(item) - {"resource_id", "quantity"}:
            raise invalid(field, shape)
        resource_id = parse_uuid(item.get("resource_id"))
        if resource_id is None:
            raise invalid(
                field, f"contains resource_id {item.get('resource_id')!r}, not an id"
            )
        quantity = item.get("quantity", 1)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_QUANTITY
        ):
            raise invalid(
                field, f"quantity must be a whole number from 1 to {MAX_QUANTITY}"
            )
        if resource_id in pairs:
            raise invalid(field, f"lists resource {resource_id} twice: give it once")
        pairs[resource_id] = quantity
    return list(pairs.items())


async def check_requirements(
    scope: TenantScope, pairs: list[tuple[uuid.UUID, int]], field: str
) -> None:
    """Raise ValidationFailed on ``field`` for an unknown resource or too many units."""
    resources = await scope.get_many(Resource, (rid for rid, _ in pairs))
    errors: list[str] = []
    for resource_id, quantity in pairs:
        row = resources.get(resource_id)
        if row is None:
            errors.append(f"{resource_id} is not a resource of this business")
        elif quantity > row["quantity"]:
            errors.append(
                f"{row['name']} has {row['quantity']} units, fewer than {quantity}"
            )
    if errors:
        raise ValidationFailed({field: "; ".join(errors)})


async def service_requirements(
    scope: TenantScope, service_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Return each service's required resources as ``{resource_id, quantity}``."""
    if not service_ids:
        return {}
    rows = await scope.select(ServiceResource).where(
        ServiceResource.service_id.is_in(service_ids)
    )
    result: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row["service_id"], []).append(
            {"resource_id": str(row["resource_id"]), "quantity": row["quantity"]}
        )
    for items in result.values():
        items.sort(key=lambda item: item["resource_id"])
    return result


async def replace_requirements(
    scope: TenantScope, service_id: uuid.UUID, pairs: list[tuple[uuid.UUID, int]]
) -> None:
    """Replace a service's required resources; call inside a write transaction."""
    await scope.delete(ServiceResource).where(ServiceResource.service_id == service_id)
    rows = [
        ServiceResource(service_id=service_id, resource_id=rid, quantity=quantity)
        for rid, quantity in pairs
    ]
    if rows:
        await scope.insert(*rows)


async def set_service_resources(
    scope: TenantScope,
    service_id: uuid.UUID | str,
    value: object,
    *,
    actor_id: uuid.UUID | None,
) -> list[dict[str, Any]]:
    """Replace the resources a service requires and return them.

    Raises NotFound for another tenant's service (before reading the body)
    and ValidationFailed on ``resources``.
    """
    async with write_transaction():
        service = await scope.get(Service, service_id)
        pairs = parse_requirements(value, "resources")
        await check_requirements(scope, pairs, "resources")
        await lock_parent_row(scope, Service, service["id"])
        before = (await service_requirements(scope, [service["id"]])).get(
            service["id"], []
        )
        await replace_requirements(scope, service["id"], pairs)
        after = (await service_requirements(scope, [service["id"]])).get(
            service["id"], []
        )
        await record_audit(
            scope,
            actor_id=actor_id,
            action="service.resources_set",
            subject_type="service",
            subject_id=service["id"],
            before=before,
            after=after,
        )
    return after
