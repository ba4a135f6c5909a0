"""Class sessions and places as JSON: listing, one session's roster, counts.

Read-only helpers shared by the session and roster modules, the API and
the pages. Times are shown in the zone of the session's location, or the
tenant's when the location has none.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tillbook.errors import NotFound, invalid
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.tables import (
    ClassBooking,
    ClassSession,
    Location,
    Resource,
    Staff,
)
from tillbook.tenancy.scope import TenantScope

# Statuses that occupy a place: a no-show kept the place until the start.
TAKEN_STATUSES = ("booked", "attended", "no_show")
LIST_DAYS_MAX = 93


def parse_id(value: object, field: str, noun: str) -> uuid.UUID:
    """Parse an id from a request body; raise ValidationFailed naming ``field``."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise invalid(
            field, f"{value!r} is not a {noun} id: choose one from the list"
        ) from None


def path_id(value: uuid.UUID | str, kind: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound(kind, str(value)) from None


async def zone_of(scope: TenantScope, location_id: uuid.UUID | None) -> ZoneInfo:
    """Return the zone of a location, or the tenant's when it has none."""
    if location_id is not None:
        row = (
            await scope.select(Location, Location.time_zone)
            .where(Location.id == location_id)
            .first()
        )
        if row and row["time_zone"]:
            return ZoneInfo(row["time_zone"])
    return scope.tenant.zone


async def place_counts(
    scope: TenantScope, session_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Return, per session, the number of places taken and clients waiting."""
    ids = list(set(session_ids))
    counts = {key: {"taken": 0, "waiting": 0} for key in ids}
    if not ids:
        return counts
    rows = await scope.select(
        ClassBooking, ClassBooking.session_id, ClassBooking.status
    ).where(ClassBooking.session_id.is_in(ids))
    for row in rows:
        if row["status"] in TAKEN_STATUSES:
            counts[row["session_id"]]["taken"] += 1
        elif row["status"] == "waitlisted":
            counts[row["session_id"]]["waiting"] += 1
    return counts


async def sessions_json(
    scope: TenantScope, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return session rows as JSON with names, local times and place counts."""
    services = await scope.get_many(Service, (row["service_id"] for row in rows))
    staff = await scope.get_many(Staff, (row["staff_id"] for row in rows))
    location_ids = [row["location_id"] for row in rows if row["location_id"]]
    locations = await scope.get_many(Location, location_ids)
    resource_ids = [row["resource_id"] for row in rows if row["resource_id"]]
    resources = await scope.get_many(Resource, resource_ids)
    counts = await place_counts(scope, (row["id"] for row in rows))
    result = []
    for row in rows:
        location = locations.get(row["location_id"])
        zone_name = (location or {}).get("time_zone") or scope.tenant.time_zone
        result.append(
            _session_json(
                row,
                service=services.get(row["service_id"]),
                staff=staff.get(row["staff_id"]),
                location=location,
                resource=resources.get(row["resource_id"]),
                zone=ZoneInfo(zone_name),
                counts=counts[row["id"]],
            )
        )
    return result


def _session_json(
    row: dict[str, Any],
    *,
    service: dict[str, Any] | None,
    staff: dict[str, Any] | None,
    location: dict[str, Any] | None,
    resource: dict[str, Any] | None,
    zone: ZoneInfo,
    counts: dict[str, int],
) -> dict[str, Any]:
    start = row["start_at"].astimezone(zone)
    end = row["end_at"].astimezone(zone)
    occurrence = row["occurrence_start"]
    return {
        "id": str(row["id"]),
        "service_id": str(row["service_id"]),
        "service_name": service["name"] if service else "",
        "price": service["price"] if service else 0,
        "staff_id": str(row["staff_id"]),
        "staff_name": staff["name"] if staff else "",
        "location_id": _str_or_none(row["location_id"]),
        "location_name": location["name"] if location else "",
        "resource_id": _str_or_none(row["resource_id"]),
        "resource_name": resource["name"] if resource else "",
        "start": row["start_at"].isoformat(),
        "end": row["end_at"].isoformat(),
        "date": start.date().isoformat(),
        "local": start.strftime("%H:%M"),
        "local_end": end.strftime("%H:%M"),
        "duration_minutes": int(
            (row["end_at"] - row["start_at"]).total_seconds() // 60
        ),
        "time_zone": zone.key,
        "capacity": row["capacity"],
        "booked": counts["taken"],
        "waitlisted": counts["waiting"],
        "places_left": max(row["capacity"] - counts["taken"], 0),
        "status": row["status"],
        "series_id": _str_or_none(row["series_id"]),
        "occurrence_start": occurrence.isoformat() if occurrence else None,
        "note": row["note"],
    }


def _str_or_none(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


async def session_json(scope: TenantScope, row: dict[str, Any]) -> dict[str, Any]:
    """Return one session row as JSON."""
    return (await sessions_json(scope, [row]))[0]


async def get_session(
    scope: TenantScope, session_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return a session as JSON with its ``roster`` and ``waitlist``.

    The roster lists places taken (booked, attended, no-show) by booking
    time, and the waitlist the waiting clients in promotion order. Raises
    NotFound for an id of no session of this tenant.
    """
    row = await scope.get(ClassSession, path_id(session_id, "class_session"))
    result = await session_json(scope, row)
    bookings = await scope.select(ClassBooking).where(
        ClassBooking.session_id == row["id"]
    )
    clients = await scope.get_many(Client, (item["client_id"] for item in bookings))
    entries = [booking_json(item, clients.get(item["client_id"])) for item in bookings]
    result["roster"] = sorted(
        (item for item in entries if item["status"] in TAKEN_STATUSES),
        key=lambda item: item["created_at"],
    )
    result["waitlist"] = sorted(
        (item for item in entries if item["status"] == "waitlisted"),
        key=lambda item: item["waitlist_position"],
    )
    result["cancelled"] = [
        item for item in entries if item["status"] in ("cancelled", "late_cancelled")
    ]
    return result


def booking_json(row: dict[str, Any], client: dict[str, Any] | None) -> dict[str, Any]:
    """Return a class booking row as JSON with the client's name."""

    def stamp(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    name = f"{client['first_name']} {client['last_name']}".strip() if client else ""
    return {
        "id": str(row["id"]),
        "session_id": str(row["session_id"]),
        "client_id": str(row["client_id"]),
        "client_name": name,
        "status": row["status"],
        "waitlist_position": row["waitlist_position"],
        "created_at": stamp(row["created_at"]),
        "promoted_at": stamp(row["promoted_at"]),
        "cancelled_at": stamp(row["cancelled_at"]),
        "checked_in_at": stamp(row["checked_in_at"]),
        "source": row["source"],
        "note": row["note"],
    }


async def list_sessions(
    scope: TenantScope,
    first_day: date,
    last_day: date,
    *,
    service_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    include_cancelled: bool = True,
    online_only: bool = False,
) -> list[dict[str, Any]]:
    """Return the sessions starting on the tenant's local dates first to last.

    ``online_only`` keeps sessions of services offered online and drops
    cancelled ones, for the public timetable. Raises ValidationFailed naming
    ``to`` when the range is reversed or longer than ``LIST_DAYS_MAX`` days.
    """
    if last_day < first_day:
        raise invalid("to", "is before from: swap the two dates")
    if (last_day - first_day).days >= LIST_DAYS_MAX:
        raise invalid("to", f"is more than {LIST_DAYS_MAX} days after from")
    zone = scope.tenant.zone
    # Locations may use other zones, so search a day wider on both sides and
    # keep the sessions whose own local date is in range.
    low = datetime.combine(first_day - timedelta(days=1), datetime.min.time(), zone)
    high = datetime.combine(last_day + timedelta(days=2), datetime.min.time(), zone)
    query = (
        scope.select(ClassSession)
        .where(ClassSession.start_at >= low)
        .where(ClassSession.start_at < high)
        .order_by(ClassSession.start_at)
    )
    if service_id is not None:
        query = query.where(ClassSession.service_id == service_id)
    if staff_id is not None:
        query = query.where(ClassSession.staff_id == staff_id)
    if not include_cancelled or online_only:
        query = query.where(ClassSession.status == "scheduled")
    rows = await query
    sessions = await sessions_json(scope, rows)
    sessions = [
        item
        for item in sessions
        if first_day.isoformat() <= item["date"] <= last_day.isoformat()
    ]
    if online_only:
        services = await scope.get_many(
            Service, (uuid.UUID(item["service_id"]) for item in sessions)
        )
        sessions = [
            item
            for item in sessions
            if services[uuid.UUID(item["service_id"])]["online"]
            and services[uuid.UUID(item["service_id"])]["active"]
        ]
    return sessions


def plain(value: Any) -> Any:
    """Return ``value`` with ids and datetimes as strings, for plugin hooks."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
