"""Locations, their opening hours, resources, and the resources services need.

Every staff role may read; owners and managers may change. A tenant with no
locations works as one place in its own time zone.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from tillbook.errors import invalid
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.schedule.locations import (
    create_location,
    delete_location,
    effective_locations,
    get_location,
    list_locations,
    parse_location_hours,
    set_location_hours,
    update_location,
)
from tillbook.kernel.schedule.resources import (
    create_resource,
    delete_resource,
    get_resource,
    list_resources,
    service_requirements,
    set_service_resources,
    update_resource,
)
from tillbook.kernel.schedule.tables import Location
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

READ = {"roles": DESK}
WRITE = {"roles": MANAGERS}


def _object(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    return data


@get(f"{API}/locations", opt=READ)
async def locations_index(
    tenant_scope: NamedDependency[TenantScope], effective: FromQuery[bool] = False
) -> list[dict[str, Any]]:
    """List the locations by position, each with its opening hours.

    With ``?effective=true`` only active ones are listed, and a business with
    none gets one location without an id in the business's time zone.
    """
    if effective:
        return await effective_locations(tenant_scope)
    return await list_locations(tenant_scope)


@post(f"{API}/locations", opt=WRITE)
async def locations_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Add a location: ``name`` (required), ``time_zone`` (IANA name, empty
    for the business's zone), ``address``, ``phone``, ``position``,
    ``active``. Responds 201, or 422 naming each bad field."""
    return await create_location(tenant_scope, _object(data), actor_id=actor.account_id)


@get(f"{API}/locations/{{location_id:uuid}}", opt=READ)
async def locations_show(
    tenant_scope: NamedDependency[TenantScope], location_id: FromPath[uuid.UUID]
) -> dict[str, Any]:
    """Return one location with its hours; 404 if it is not this business's."""
    return await get_location(tenant_scope, location_id)


@patch(f"{API}/locations/{{location_id:uuid}}", opt=WRITE)
async def locations_update(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    location_id: FromPath[uuid.UUID],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Change some fields of a location; 422 names each bad field."""
    await tenant_scope.get(Location, location_id)
    return await update_location(
        tenant_scope, location_id, _object(data), actor_id=actor.account_id
    )


@delete(f"{API}/locations/{{location_id:uuid}}", opt=WRITE)
async def locations_delete(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    location_id: FromPath[uuid.UUID],
) -> None:
    """Delete a location nothing refers to (204); 409 while staff hours,
    closures or resources still use it."""
    await delete_location(tenant_scope, location_id, actor_id=actor.account_id)


@put(f"{API}/locations/{{location_id:uuid}}/hours", opt=WRITE)
async def locations_hours(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    location_id: FromPath[uuid.UUID],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Replace the opening hours with ``[{"weekday": 0, "start": "09:00",
    "end": "17:00"}, ...]`` (``end`` may be ``02:00+1``; ``{"hours": [...]}``
    is accepted too). 422 names the entry, such as ``hours[1].end``."""
    await tenant_scope.get(Location, location_id)
    entries = data.get("hours") if isinstance(data, dict) else data
    intervals = parse_location_hours(entries)
    return await set_location_hours(
        tenant_scope, location_id, intervals, actor_id=actor.account_id
    )


@get(f"{API}/resources", opt=READ)
async def resources_index(
    tenant_scope: NamedDependency[TenantScope], active: FromQuery[bool | None] = None
) -> list[dict[str, Any]]:
    """List resources by name, filtered by ``?active=``."""
    return await list_resources(tenant_scope, active=active)


@post(f"{API}/resources", opt=WRITE)
async def resources_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Add a resource: ``name``, ``kind`` (room, chair, table, equipment),
    ``quantity`` (1 to 500), ``location_id``, ``active``. 422 names each bad
    field."""
    return await create_resource(tenant_scope, _object(data), actor_id=actor.account_id)


@get(f"{API}/resources/{{resource_id:uuid}}", opt=READ)
async def resources_show(
    tenant_scope: NamedDependency[TenantScope], resource_id: FromPath[uuid.UUID]
) -> dict[str, Any]:
    """Return one resource; 404 if it is not this business's."""
    return await get_resource(tenant_scope, resource_id)


@patch(f"{API}/resources/{{resource_id:uuid}}", opt=WRITE)
async def resources_update(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    resource_id: FromPath[uuid.UUID],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Change some fields of a resource; 422 names each bad field."""
    await get_resource(tenant_scope, resource_id)
    return await update_resource(
        tenant_scope, resource_id, _object(data), actor_id=actor.account_id
    )


@delete(f"{API}/resources/{{resource_id:uuid}}", opt=WRITE)
async def resources_delete(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    resource_id: FromPath[uuid.UUID],
) -> None:
    """Delete a resource no service needs (204); 409 while one does."""
    await delete_resource(tenant_scope, resource_id, actor_id=actor.account_id)


@get(f"{API}/catalog/services/{{service_id:uuid}}/resources", opt=READ)
async def service_resources_show(
    tenant_scope: NamedDependency[TenantScope], service_id: FromPath[uuid.UUID]
) -> list[dict[str, Any]]:
    """Return the resources a service needs: ``[{"resource_id", "quantity"}]``."""
    service = await tenant_scope.get(Service, service_id)
    found = await service_requirements(tenant_scope, [service["id"]])
    return found.get(service["id"], [])


@put(f"{API}/catalog/services/{{service_id:uuid}}/resources", opt=WRITE)
async def service_resources_set(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    service_id: FromPath[uuid.UUID],
    data: JSONBody[Any],
) -> list[dict[str, Any]]:
    """Replace the resources a service needs with ``[{"resource_id": "…",
    "quantity": 1}]``; 422 on ``resources`` for an unknown resource or more
    units than it has."""
    await tenant_scope.get(Service, service_id)
    entries = data.get("resources") if isinstance(data, dict) else data
    return await set_service_resources(
        tenant_scope, service_id, entries, actor_id=actor.account_id
    )


ROUTES: list[Any] = [
    locations_index,
    locations_create,
    locations_show,
    locations_update,
    locations_delete,
    locations_hours,
    resources_index,
    resources_create,
    resources_show,
    resources_update,
    resources_delete,
    service_resources_show,
    service_resources_set,
]
