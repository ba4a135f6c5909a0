"""Locations: where a business works, each with its own time zone and hours.

A tenant with no ``Location`` rows works as one place in the tenant's time
zone. ``effective_locations`` returns that place as a location without an
id, so callers need no special case for it. Opening hours are weekly
intervals like staff hours (several a day, overnight allowed).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from tillbook.db import is_postgres, write_transaction
from tillbook.errors import Conflict, ValidationFailed
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader
from tillbook.kernel.schedule.tables import (
    Closure,
    Location,
    LocationHours,
    Resource,
    ScheduleOverride,
    WorkingHours,
)
from tillbook.kernel.schedule.weekly import (
    WeeklyInterval,
    check_no_overlap,
    interval_json,
    parse_intervals,
    sort_intervals,
)
from tillbook.tenancy.scope import TenantScope

LOCATION_FIELDS = frozenset(
    {"name", "time_zone", "address", "phone", "position", "active"}
)


def valid_zone(name: str) -> bool:
    """Tell whether ``name`` is an IANA time zone that ``zoneinfo`` can load."""
    if name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def clean_location(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Return valid location fields, or raise ValidationFailed naming each bad one.

    ``time_zone`` is an IANA name such as ``Europe/London``; empty means the
    tenant's zone.
    """
    reader = FieldReader(values, LOCATION_FIELDS, partial=partial)
    reader.text("name", required=True)
    reader.text("time_zone", max_length=64)
    reader.text("address", max_length=1000)
    reader.text("phone", max_length=40)
    reader.integer("position", minimum=0, maximum=10_000, default=0)
    reader.boolean("active", default=True)
    zone = reader.cleaned.get("time_zone")
    if zone and not valid_zone(zone):
        reader.errors["time_zone"] = (
            f"{zone!r} is not an IANA time zone: use a name such as Europe/London"
        )
    return reader.finish()


def location_json(
    row: Mapping[str, Any], tenant_zone: str, hours: list[WeeklyInterval]
) -> dict[str, Any]:
    """Return a location with its effective zone and opening hours."""
    return {
        "id": str(row["id"]) if row["id"] else None,
        "name": row["name"],
        "time_zone": row["time_zone"],
        "effective_time_zone": row["time_zone"] or tenant_zone,
        "address": row["address"],
        "phone": row["phone"],
        "position": row["position"],
        "active": row["active"],
        "hours": [_opening_json(item) for item in hours],
    }


def _opening_json(interval: WeeklyInterval) -> dict[str, Any]:
    shown = interval_json(interval)
    del shown["location_id"], shown["label"]
    return shown


async def _hours_of(
    scope: TenantScope, location_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WeeklyInterval]]:
    if not location_ids:
        return {}
    rows = await scope.select(LocationHours).where(
        LocationHours.location_id.is_in(location_ids)
    )
    result: dict[uuid.UUID, list[WeeklyInterval]] = {}
    for row in rows:
        result.setdefault(row["location_id"], []).append(
            WeeklyInterval(row["weekday"], row["start_minute"], row["end_minute"])
        )
    return {key: sort_intervals(value) for key, value in result.items()}


async def lock_parent_row(scope: TenantScope, table: Any, row_id: uuid.UUID) -> None:
    """Lock one row until commit on PostgreSQL; call inside ``write_transaction``.

    A replace of a row's child rows (delete them, insert the new ones) takes
    this lock first. Otherwise two concurrent replaces both delete nothing and
    both insert. SQLite's write transaction already serialises them.
    """
    if is_postgres():
        await (
            scope.select(table, table.id)
            .where(table.id == row_id)
            .lock_rows("NO KEY UPDATE")
            .first()
        )


async def list_locations(scope: TenantScope) -> list[dict[str, Any]]:
    """Return the tenant's locations by position, then name, with their hours."""
    rows = (
        await scope.select(Location).order_by(Location.position).order_by(Location.name)
    )
    hours = await _hours_of(scope, [row["id"] for row in rows])
    zone = scope.tenant.time_zone
    return [location_json(row, zone, hours.get(row["id"], [])) for row in rows]


async def effective_locations(scope: TenantScope) -> list[dict[str, Any]]:
    """Return the active locations, or one id-less location in the tenant zone."""
    active = [item for item in await list_locations(scope) if item["active"]]
    if active:
        return active
    default = {
        "id": None,
        "name": scope.tenant.name,
        "time_zone": "",
        "address": "",
        "phone": "",
        "position": 0,
        "active": True,
    }
    return [location_json(default, scope.tenant.time_zone, [])]


async def get_location(
    scope: TenantScope, location_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return one location with its hours; raise NotFound if not the tenant's."""
    row = await scope.get(Location, location_id)
    hours = await _hours_of(scope, [row["id"]])
    return location_json(row, scope.tenant.time_zone, hours.get(row["id"], []))


async def zone_for_location(
    scope: TenantScope, location_id: uuid.UUID | None
) -> ZoneInfo:
    """Return the time zone of a location, or the tenant's for ``None``."""
    if location_id is not None:
        row = (
            await scope.select(Location, Location.time_zone)
            .where(Location.id == location_id)
            .first()
        )
        if row is not None and row["time_zone"]:
            return ZoneInfo(row["time_zone"])
    return scope.tenant.zone


async def staff_zone(scope: TenantScope, staff_id: uuid.UUID) -> ZoneInfo:
    """Return the zone a staff member's times are entered in.

    That is the zone of the one location all of their weekly hours are at,
    and the tenant's zone otherwise.
    """
    rows = await scope.select(WorkingHours, WorkingHours.location_id).where(
        WorkingHours.staff_id == staff_id
    )
    places = {row["location_id"] for row in rows}
    if len(places) == 1:
        return await zone_for_location(scope, places.pop())
    return scope.tenant.zone


async def create_location(
    scope: TenantScope, values: Mapping[str, Any], *, actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Add a location and return it as JSON. Raises ValidationFailed."""
    cleaned = clean_location(values, partial=False)
    row = Location(**cleaned)
    async with write_transaction():
        await scope.insert(row)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="location.created",
            subject_type="location",
            subject_id=row.id,
            after=cleaned,
        )
    return await get_location(scope, row.id)


async def update_location(
    scope: TenantScope,
    location_id: uuid.UUID | str,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Change some fields of a location and return it.

    Raises NotFound for another tenant's id (before reading the body) and
    ValidationFailed naming each bad field.
    """
    async with write_transaction():
        before = await scope.get(Location, location_id)
        cleaned = clean_location(changes, partial=True)
        if cleaned:
            await scope.update(
                Location, {getattr(Location, k): v for k, v in cleaned.items()}
            ).where(Location.id == before["id"])
            await record_audit(
                scope,
                actor_id=actor_id,
                action="location.updated",
                subject_type="location",
                subject_id=before["id"],
                before={key: before[key] for key in cleaned},
                after=cleaned,
            )
    return await get_location(scope, before["id"])


async def delete_location(
    scope: TenantScope, location_id: uuid.UUID | str, *, actor_id: uuid.UUID | None
) -> None:
    """Delete a location that nothing refers to, with its opening hours.

    Raises NotFound for another tenant's id, and Conflict while staff hours,
    schedule changes, closures or resources still refer to it (deactivate
    it instead, or move those first).
    """
    async with write_transaction():
        row = await scope.get(Location, location_id)
        users = []
        for table, what in (
            (WorkingHours, "staff hours"),
            (ScheduleOverride, "schedule changes"),
            (Closure, "closures"),
            (Resource, "resources"),
        ):
            found = await scope.count(table).where(table.location_id == row["id"])
            if found:
                users.append(f"{found} {what}")
        if users:
            raise Conflict(
                f"location {row['name']} is still used by {', '.join(users)}: "
                "move them or set the location inactive instead",
                location_id=str(row["id"]),
            )
        await scope.delete(LocationHours).where(LocationHours.location_id == row["id"])
        await scope.delete(Location).where(Location.id == row["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="location.deleted",
            subject_type="location",
            subject_id=row["id"],
            before={"name": row["name"], "time_zone": row["time_zone"]},
        )


async def set_location_hours(
    scope: TenantScope,
    location_id: uuid.UUID | str,
    intervals: list[WeeklyInterval],
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Replace a location's weekly opening hours; return the location.

    Raises NotFound for another tenant's id and ValidationFailed on
    ``hours[i]`` for overlapping intervals.
    """
    async with write_transaction():
        row = await scope.get(Location, location_id)
        check_no_overlap(
            [(f"hours[{index}]", item) for index, item in enumerate(intervals)]
        )
        await lock_parent_row(scope, Location, row["id"])
        before = (await _hours_of(scope, [row["id"]])).get(row["id"], [])
        await scope.delete(LocationHours).where(LocationHours.location_id == row["id"])
        rows = [
            LocationHours(
                location_id=row["id"],
                weekday=item.weekday,
                start_minute=item.start_minute,
                end_minute=item.end_minute,
            )
            for item in intervals
        ]
        if rows:
            await scope.insert(*rows)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="location.hours_set",
            subject_type="location",
            subject_id=row["id"],
            before=[_opening_json(item) for item in before],
            after=[_opening_json(item) for item in intervals],
        )
    return await get_location(scope, row["id"])


def parse_location_hours(entries: object) -> list[WeeklyInterval]:
    """Parse opening hours JSON; raises ValidationFailed keyed ``hours[i]...``."""
    return parse_intervals(entries, "hours")


async def check_location_id(
    scope: TenantScope, value: object, field: str
) -> uuid.UUID | None:
    """Return a location id from input (``None`` for empty), or raise 422 on ``field``.

    Another tenant's location is reported like one that does not exist.
    """
    if value in (None, ""):
        return None
    try:
        key = uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed(
            {field: f"{value!r} is not a location id: choose one from the list"}
        ) from None
    found = await scope.select(Location, Location.id).where(Location.id == key).first()
    if found is None:
        raise ValidationFailed(
            {field: f"unknown location {value}: choose one of this business's"}
        )
    return key
