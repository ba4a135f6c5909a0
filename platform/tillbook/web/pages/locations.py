"""The locations pages: locations with time zones and opening hours,
resources, and closures. Owners and managers only.

On errors a form comes back (422) with the values entered and a message
under each bad field. After a change the browser goes back to the list.
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import available_timezones

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tillbook.db.base import utcnow
from tillbook.errors import Conflict, ValidationFailed
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.schedule.locations import (
    create_location,
    delete_location,
    get_location,
    list_locations,
    set_location_hours,
    update_location,
)
from tillbook.kernel.schedule.resources import (
    RESOURCE_KINDS,
    create_resource,
    delete_resource,
    get_resource,
    list_resources,
    update_resource,
)
from tillbook.kernel.schedule.tables import Location
from tillbook.kernel.schedule.timeoff import (
    add_closure,
    delete_closure,
    list_closures,
)
from tillbook.kernel.schedule.weekly import (
    WEEKDAY_NAMES,
    WeeklyInterval,
    check_no_overlap,
    format_day_text,
    parse_day_text,
)
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

MANAGE = {"roles": MANAGERS}
SAVED_MESSAGES = {
    "location": "Location saved.",
    "location-removed": "Location deleted.",
    "hours": "Opening hours saved.",
    "resource": "Resource saved.",
    "resource-removed": "Resource deleted.",
    "closure": "Closure saved.",
    "closure-removed": "Closure removed.",
}
ZONES = sorted(available_timezones())


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _location_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: _text(form, name) for name in ("name", "time_zone", "address", "phone")
    }
    values["active"] = "active" in form
    position = _text(form, "position")
    values["position"] = int(position) if is_whole_number(position) else position or 0
    return values


def _resource_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: _text(form, name) for name in ("name", "kind", "location_id")
    }
    values["active"] = "active" in form
    quantity = _text(form, "quantity")
    values["quantity"] = int(quantity) if is_whole_number(quantity) else quantity or 1
    values["location_id"] = values["location_id"] or None
    return values


async def _index_page(
    scope: TenantScope,
    actor: Actor,
    *,
    form_name: str = "",
    entered: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    affected: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Template:
    today = utcnow().astimezone(scope.tenant.zone).date()
    locations = await list_locations(scope)
    return page(
        "locations/index.html",
        scope,
        actor,
        status_code=status_code,
        locations=locations,
        location_names={item["id"]: item["name"] for item in locations},
        resources=await list_resources(scope),
        closures=await list_closures(scope, since=today),
        kinds=RESOURCE_KINDS,
        zones=ZONES,
        form_name=form_name,
        entered=entered or {},
        errors=errors or {},
        notice=notice,
        affected=affected,
    )


def _back(scope: TenantScope, saved: str, anchor: str) -> Redirect:
    return Redirect(
        f"/t/{scope.tenant.slug}/staff/locations?saved={saved}#{anchor}",
        status_code=303,
    )


@get(f"{STAFF}/locations", opt=MANAGE)
async def locations_index(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    saved: FromQuery[str] = "",
) -> Template:
    """List locations, resources and closures, with forms to add each."""
    return await _index_page(tenant_scope, actor, notice=SAVED_MESSAGES.get(saved, ""))


@post(f"{STAFF}/locations", opt=MANAGE)
async def location_add(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Add a location from the form."""
    values = _location_values(await request.form())
    try:
        await create_location(tenant_scope, values, actor_id=actor.account_id)
    except ValidationFailed as exc:
        return await _index_page(
            tenant_scope,
            actor,
            form_name="location",
            entered=values,
            errors=exc.errors,
            status_code=422,
        )
    return _back(tenant_scope, "location", "locations")


async def _location_page(
    scope: TenantScope,
    actor: Actor,
    location_id: uuid.UUID,
    *,
    values: dict[str, Any] | None = None,
    hours_text: dict[int, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    location = await get_location(scope, location_id)
    intervals = [
        WeeklyInterval(item["weekday"], item["start_minute"], item["end_minute"])
        for item in location["hours"]
    ]
    return page(
        "locations/location.html",
        scope,
        actor,
        status_code=status_code,
        location=location,
        values=values or location,
        weekdays=list(enumerate(WEEKDAY_NAMES)),
        hours_text=hours_text
        or {weekday: format_day_text(intervals, weekday) for weekday in range(7)},
        zones=ZONES,
        errors=errors or {},
    )


@get(f"{STAFF}/locations/{{location_id:uuid}}", opt=MANAGE)
async def location_show(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    location_id: FromPath[uuid.UUID],
) -> Template:
    """Show a location's details and opening hours to edit."""
    return await _location_page(tenant_scope, actor, location_id)


@post(f"{STAFF}/locations/{{location_id:uuid}}", opt=MANAGE)
async def location_save(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    location_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Save a location's details."""
    await tenant_scope.get(Location, location_id)
    values = _location_values(await request.form())
    try:
        await update_location(
            tenant_scope, location_id, values, actor_id=actor.account_id
        )
    except ValidationFailed as exc:
        return await _location_page(
            tenant_scope,
            actor,
            location_id,
            values=values,
            errors=exc.errors,
            status_code=422,
        )
    return _back(tenant_scope, "location", "locations")


@post(f"{STAFF}/locations/{{location_id:uuid}}/hours", opt=MANAGE)
async def location_hours(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    location_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Replace the opening hours from ``hours_0`` (Monday) to ``hours_6``."""
    await tenant_scope.get(Location, location_id)
    form = await request.form()
    text = {weekday: _text(form, f"hours_{weekday}") for weekday in range(7)}
    errors: dict[str, str] = {}
    labelled: list[tuple[str, WeeklyInterval]] = []
    for weekday, typed in text.items():
        field = f"hours_{weekday}"
        try:
            labelled.extend(
                (field, item) for item in parse_day_text(weekday, typed, field)
            )
        except ValidationFailed as exc:
            errors[field] = next(iter(exc.errors.values()))
    try:
        if errors:
            raise ValidationFailed(errors)
        check_no_overlap(labelled)
        await set_location_hours(
            tenant_scope,
            location_id,
            [item for _, item in labelled],
            actor_id=actor.account_id,
        )
    except ValidationFailed as exc:
        return await _location_page(
            tenant_scope,
            actor,
            location_id,
            hours_text=text,
            errors=exc.errors,
            status_code=422,
        )
    return _back(tenant_scope, "hours", "locations")


@post(f"{STAFF}/locations/{{location_id:uuid}}/delete", opt=MANAGE)
async def location_remove(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    location_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Delete a location, or explain (409) what still uses it."""
    await tenant_scope.get(Location, location_id)
    try:
        await delete_location(tenant_scope, location_id, actor_id=actor.account_id)
    except Conflict as exc:
        return await _index_page(
            tenant_scope,
            actor,
            errors={"location": exc.message},
            status_code=409,
        )
    return _back(tenant_scope, "location-removed", "locations")


@post(f"{STAFF}/resources", opt=MANAGE)
async def resource_add(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Add a resource from the form."""
    values = _resource_values(await request.form())
    try:
        await create_resource(tenant_scope, values, actor_id=actor.account_id)
    except ValidationFailed as exc:
        return await _index_page(
            tenant_scope,
            actor,
            form_name="resource",
            entered=values,
            errors=exc.errors,
            status_code=422,
        )
    return _back(tenant_scope, "resource", "resources")


async def _resource_page(
    scope: TenantScope,
    actor: Actor,
    resource_id: uuid.UUID,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    resource = await get_resource(scope, resource_id)
    return page(
        "locations/resource.html",
        scope,
        actor,
        status_code=status_code,
        resource=resource,
        values=values or resource,
        kinds=RESOURCE_KINDS,
        locations=await list_locations(scope),
        errors=errors or {},
    )


@get(f"{STAFF}/resources/{{resource_id:uuid}}", opt=MANAGE)
async def resource_show(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    resource_id: FromPath[uuid.UUID],
) -> Template:
    """Show a resource to edit."""
    return await _resource_page(tenant_scope, actor, resource_id)


@post(f"{STAFF}/resources/{{resource_id:uuid}}", opt=MANAGE)
async def resource_save(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    resource_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Save a resource."""
    await get_resource(tenant_scope, resource_id)
    values = _resource_values(await request.form())
    try:
        await update_resource(
            tenant_scope, resource_id, values, actor_id=actor.account_id
        )
    except ValidationFailed as exc:
        return await _resource_page(
            tenant_scope,
            actor,
            resource_id,
            values=values,
            errors=exc.errors,
            status_code=422,
        )
    return _back(tenant_scope, "resource", "resources")


@post(f"{STAFF}/resources/{{resource_id:uuid}}/delete", opt=MANAGE)
async def resource_remove(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    resource_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Delete a resource, or explain (409) which services need it."""
    await get_resource(tenant_scope, resource_id)
    try:
        await delete_resource(tenant_scope, resource_id, actor_id=actor.account_id)
    except Conflict as exc:
        return await _index_page(
            tenant_scope,
            actor,
            errors={"resource": exc.message},
            status_code=409,
        )
    return _back(tenant_scope, "resource-removed", "resources")


@post(f"{STAFF}/closures", opt=MANAGE)
async def closure_add(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Add a closure and list the appointments on the closed days."""
    form = await request.form()
    values: dict[str, Any] = {
        name: _text(form, name)
        for name in ("first_day", "last_day", "reason", "location_id")
    }
    values["location_id"] = values["location_id"] or None
    try:
        result = await add_closure(tenant_scope, values, actor_id=actor.account_id)
    except ValidationFailed as exc:
        return await _index_page(
            tenant_scope,
            actor,
            form_name="closure",
            entered=values,
            errors=exc.errors,
            status_code=422,
        )
    return await _index_page(
        tenant_scope,
        actor,
        notice=SAVED_MESSAGES["closure"],
        affected=result["affected_appointments"],
    )


@post(f"{STAFF}/closures/{{closure_id:uuid}}/delete", opt=MANAGE)
async def closure_remove(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    closure_id: FromPath[uuid.UUID],
) -> Redirect:
    """Remove a closure."""
    await delete_closure(tenant_scope, closure_id, actor_id=actor.account_id)
    return _back(tenant_scope, "closure-removed", "closures")


ROUTES: list[Any] = [
    locations_index,
    location_add,
    location_show,
    location_save,
    location_hours,
    location_remove,
    resource_add,
    resource_show,
    resource_save,
    resource_remove,
    closure_add,
    closure_remove,
]
