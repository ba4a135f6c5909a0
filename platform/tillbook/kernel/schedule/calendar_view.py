"""The staff calendar's contents for a run of local days, by provider or by resource.

For each column (a provider, or a resource) and each day it lists the
working hours and, in time order, appointments (with their processing gap),
class sessions, weekly breaks, time off, and closures of the day. Times are
the tenant's wall-clock ``HH:MM``; spans that cross midnight are cut at the
day's edges. Reads only: every query goes through the tenant scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.resources import service_requirements
from tillbook.kernel.schedule.staff import breaks_by_staff, hours_by_staff
from tillbook.kernel.schedule.tables import (
    Appointment,
    ClassBooking,
    ClassSession,
    Closure,
    Hold,
    Location,
    Resource,
    ScheduleOverride,
    Staff,
    TimeOff,
)
from tillbook.kernel.schedule.weekly import MINUTES_PER_DAY, format_clock
from tillbook.tenancy.scope import TenantScope

BY_STAFF = "staff"
BY_RESOURCE = "resource"
# Class places that count against capacity.
TAKEN_PLACES = ("booked", "attended")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


class _Window:
    """The local days shown and their UTC bounds."""

    def __init__(self, first: date, days: int, zone: ZoneInfo) -> None:
        self.zone = zone
        self.days = [first + timedelta(days=offset) for offset in range(days)]
        self.bounds = {
            day: (_midnight(day, zone), _midnight(day + timedelta(days=1), zone))
            for day in self.days
        }
        self.start = self.bounds[self.days[0]][0]
        self.end = self.bounds[self.days[-1]][1]

    def clip(
        self, start: datetime, end: datetime
    ) -> Iterable[tuple[date, str, str, bool]]:
        """Yield (day, local start, local end, continues) per day the span touches."""
        for day in self.days:
            lo, hi = self.bounds[day]
            if start >= hi or end <= lo:
                continue
            shown_start = max(start, lo).astimezone(self.zone).strftime("%H:%M")
            shown_end = (
                "24:00" if end >= hi else end.astimezone(self.zone).strftime("%H:%M")
            )
            yield day, shown_start, shown_end, end > hi


async def _location_matcher(
    scope: TenantScope, location_id: uuid.UUID
) -> Callable[[uuid.UUID | None], bool]:
    """Return a test of whether a row's ``location_id`` means this location.

    A row without a location is at the first active location.
    """
    first = (
        await scope.select(Location, Location.id)
        .where(Location.active == True)  # noqa: E712 - piccolo builds SQL from ==
        .order_by(Location.position)
        .order_by(Location.name)
        .first()
    )
    is_first = first is not None and first["id"] == location_id
    return lambda value: value == location_id or (value is None and is_first)


def _item(kind: str, start: str, end: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "start": start, "end": end, "label": label, **extra}


async def calendar_range(
    scope: TenantScope,
    first: date,
    days: int,
    *,
    by: str = BY_STAFF,
    location_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Return the calendar of ``days`` local days from ``first``.

    ``by`` is ``staff`` (a column per active bookable provider, plus anyone
    with an appointment shown) or ``resource`` (a column per resource, with
    the appointments and classes that use it). Cancelled appointments are
    included so the desk can see them. With ``location_id`` the calendar
    shows that location only, in its time zone: its appointments, classes
    and resources, and the staff whose weekly hours are there. Rows without
    a location belong to the first location. Raises NotFound for an unknown
    location.
    """
    zone = scope.tenant.zone
    at_location = None
    if location_id is not None:
        place = await scope.get(Location, location_id)
        if place["time_zone"]:
            zone = ZoneInfo(place["time_zone"])
        at_location = await _location_matcher(scope, place["id"])
    window = _Window(first, days, zone)
    appointments = list(
        await scope.select(Appointment)
        .where(Appointment.start_at < window.end)
        .where(Appointment.end_at > window.start)
        .order_by(Appointment.start_at)
    )
    sessions = list(
        await scope.select(ClassSession)
        .where(ClassSession.start_at < window.end)
        .where(ClassSession.end_at > window.start)
        .order_by(ClassSession.start_at)
    )
    if at_location is not None:
        appointments = [row for row in appointments if at_location(row["location_id"])]
        sessions = [row for row in sessions if at_location(row["location_id"])]
    names = await _names(scope, appointments, sessions)
    closures = await _closures(scope, window, location_id)
    day_json = [
        {
            "date": day.isoformat(),
            "label": f"{day:%a} {day.day} {day:%b}",
            "weekday": day.weekday(),
            "closures": closures.get(day, []),
        }
        for day in window.days
    ]
    if by == BY_RESOURCE:
        columns = await _resource_columns(scope, window, appointments, sessions, names)
        if location_id is not None:
            columns = [c for c in columns if c["location_id"] in (None, location_id)]
    else:
        columns = await _staff_columns(
            scope, window, appointments, sessions, names, at_location
        )
    for column in columns:
        for entries in column["days"].values():
            entries["items"].sort(key=lambda item: (item["start"], item["end"]))
    return {
        "first": first.isoformat(),
        "last": window.days[-1].isoformat(),
        "time_zone": str(zone),
        "location_id": str(location_id) if location_id else None,
        "by": by,
        "days": day_json,
        "columns": columns,
    }


async def _names(
    scope: TenantScope,
    appointments: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
) -> dict[str, Any]:
    service_ids = [row["service_id"] for row in [*appointments, *sessions]]
    booked: dict[uuid.UUID, int] = {}
    if sessions:
        places = await scope.select(
            ClassBooking, ClassBooking.session_id, ClassBooking.status
        ).where(ClassBooking.session_id.is_in([row["id"] for row in sessions]))
        for place in places:
            if place["status"] in TAKEN_PLACES:
                booked[place["session_id"]] = booked.get(place["session_id"], 0) + 1
    return {
        "clients": await scope.get_many(
            Client, (row["client_id"] for row in appointments)
        ),
        "services": await scope.get_many(Service, service_ids),
        "booked": booked,
    }


def _appointment_items(
    window: _Window, row: Mapping[str, Any], names: Mapping[str, Any]
) -> Iterable[tuple[date, dict[str, Any]]]:
    client = names["clients"].get(row["client_id"])
    service = names["services"].get(row["service_id"])
    client_name = (
        f"{client['first_name']} {client['last_name']}".strip() if client else ""
    )
    gap = None
    if row["processing_after_minutes"] is not None and row["processing_minutes"]:
        gap_start = row["start_at"] + timedelta(minutes=row["processing_after_minutes"])
        gap_end = gap_start + timedelta(minutes=row["processing_minutes"])
        gap = (
            gap_start.astimezone(window.zone).strftime("%H:%M"),
            gap_end.astimezone(window.zone).strftime("%H:%M"),
        )
    for day, start, end, _ in window.clip(row["start_at"], row["end_at"]):
        yield (
            day,
            _item(
                "appointment",
                start,
                end,
                service["name"] if service else "",
                id=str(row["id"]),
                status=row["status"],
                client_name=client_name,
                service_name=service["name"] if service else "",
                staff_id=str(row["staff_id"]),
                gap=gap,
            ),
        )


def _session_items(
    window: _Window, row: Mapping[str, Any], names: Mapping[str, Any]
) -> Iterable[tuple[date, dict[str, Any]]]:
    service = names["services"].get(row["service_id"])
    booked = names["booked"].get(row["id"], 0)
    for day, start, end, _ in window.clip(row["start_at"], row["end_at"]):
        yield (
            day,
            _item(
                "class",
                start,
                end,
                service["name"] if service else "Class",
                id=str(row["id"]),
                status=row["status"],
                booked=booked,
                capacity=row["capacity"],
            ),
        )


def _empty_days(window: _Window) -> dict[str, dict[str, Any]]:
    return {day.isoformat(): {"working": [], "items": []} for day in window.days}


async def _staff_columns(
    scope: TenantScope,
    window: _Window,
    appointments: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
    names: Mapping[str, Any],
    at_location: Callable[[uuid.UUID | None], bool] | None = None,
) -> list[dict[str, Any]]:
    staff_rows = await scope.select(Staff).order_by(Staff.name)
    busy = {row["staff_id"] for row in [*appointments, *sessions]}
    shown = [
        row
        for row in staff_rows
        if (row["active"] and row["bookable"]) or row["id"] in busy
    ]
    hours = await hours_by_staff(scope, [row["id"] for row in shown])
    if at_location is not None:
        shown = [
            row
            for row in shown
            if row["id"] in busy
            or any(at_location(item.location_id) for item in hours.get(row["id"], []))
        ]
    ids = [row["id"] for row in shown]
    breaks = await breaks_by_staff(scope, ids)
    overrides = await _overrides(scope, ids, window)
    time_off = await _time_off(scope, ids, window)
    columns = []
    for row in shown:
        days = _empty_days(window)
        for day in window.days:
            entry = days[day.isoformat()]
            changed = overrides.get((row["id"], day))
            if changed is not None:
                entry["working"] = [
                    f"{format_clock(s)}-{format_clock(e)}" for s, e in changed if e > s
                ]
                entry["changed"] = True
                if not entry["working"]:
                    entry["items"].append(_item("off", "00:00", "24:00", "Not working"))
            else:
                entry["working"] = _weekly_working(hours.get(row["id"], []), day)
                for pause in breaks.get(row["id"], []):
                    if pause.weekday == day.weekday():
                        entry["items"].append(
                            _item(
                                "break",
                                format_clock(pause.start_minute),
                                format_clock(min(pause.end_minute, MINUTES_PER_DAY)),
                                pause.label or "Break",
                            )
                        )
        for away in time_off.get(row["id"], []):
            for day, start, end, _ in window.clip(away["start_at"], away["end_at"]):
                days[day.isoformat()]["items"].append(
                    _item(
                        "time_off",
                        start,
                        end,
                        away["reason"].capitalize(),
                        note=away["note"],
                    )
                )
        for appointment in appointments:
            if appointment["staff_id"] == row["id"]:
                for day, booking in _appointment_items(window, appointment, names):
                    days[day.isoformat()]["items"].append(booking)
        for session in sessions:
            if session["staff_id"] == row["id"]:
                for day, meeting in _session_items(window, session, names):
                    days[day.isoformat()]["items"].append(meeting)
        columns.append(
            {
                "id": str(row["id"]),
                "name": row["name"],
                "title": row["title"],
                "colour": row["colour"],
                "kind": BY_STAFF,
                "days": days,
            }
        )
    return columns


def _weekly_working(intervals: Iterable[Any], day: date) -> list[str]:
    """Return the day's working ranges, including last night's overnight tail."""
    ranges = []
    previous = (day.weekday() - 1) % 7
    for item in intervals:
        if item.weekday == previous and item.end_minute > MINUTES_PER_DAY:
            ranges.append((0, item.end_minute - MINUTES_PER_DAY))
        if item.weekday == day.weekday():
            ranges.append((item.start_minute, item.end_minute))
    return [f"{format_clock(s)}-{format_clock(e)}" for s, e in sorted(ranges)]


async def _overrides(
    scope: TenantScope, staff_ids: list[uuid.UUID], window: _Window
) -> dict[tuple[uuid.UUID, date], list[tuple[int, int]]]:
    if not staff_ids:
        return {}
    rows = (
        await scope.select(ScheduleOverride)
        .where(ScheduleOverride.staff_id.is_in(staff_ids))
        .where(ScheduleOverride.day >= window.days[0])
        .where(ScheduleOverride.day <= window.days[-1])
    )
    result: dict[tuple[uuid.UUID, date], list[tuple[int, int]]] = {}
    for row in rows:
        result.setdefault((row["staff_id"], row["day"]), []).append(
            (row["start_minute"], row["end_minute"])
        )
    return {key: sorted(value) for key, value in result.items()}


async def _time_off(
    scope: TenantScope, staff_ids: list[uuid.UUID], window: _Window
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    if not staff_ids:
        return {}
    rows = (
        await scope.select(TimeOff)
        .where(TimeOff.staff_id.is_in(staff_ids))
        .where(TimeOff.start_at < window.end)
        .where(TimeOff.end_at > window.start)
    )
    result: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row["staff_id"], []).append(row)
    return result


async def _closures(
    scope: TenantScope, window: _Window, location_id: uuid.UUID | None
) -> dict[date, list[str]]:
    rows = (
        await scope.select(Closure)
        .where(Closure.first_day <= window.days[-1])
        .where(Closure.last_day >= window.days[0])
    )
    if location_id is not None:
        rows = [row for row in rows if row["location_id"] in (None, location_id)]
    places = await scope.get_many(
        Location, (row["location_id"] for row in rows if row["location_id"])
    )
    result: dict[date, list[str]] = {}
    for row in rows:
        where = places.get(row["location_id"], {}).get("name", "")
        text = f"Closed{' at ' + where if where else ''}"
        if row["reason"]:
            text = f"{text}: {row['reason']}"
        for day in window.days:
            if row["first_day"] <= day <= row["last_day"]:
                result.setdefault(day, []).append(text)
    return result


async def _resource_columns(
    scope: TenantScope,
    window: _Window,
    appointments: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
    names: Mapping[str, Any],
) -> list[dict[str, Any]]:
    resources = (
        await scope.select(Resource)
        .where(Resource.active == True)  # noqa: E712 - piccolo builds SQL from ==
        .order_by(Resource.name)
    )
    uses = await _resource_uses(scope, window, appointments)
    columns = []
    for resource in resources:
        days = _empty_days(window)
        for appointment in appointments:
            if resource["id"] in uses.get(appointment["id"], set()):
                for day, item in _appointment_items(window, appointment, names):
                    days[day.isoformat()]["items"].append(item)
        for session in sessions:
            if session["resource_id"] == resource["id"]:
                for day, item in _session_items(window, session, names):
                    days[day.isoformat()]["items"].append(item)
        columns.append(
            {
                "id": str(resource["id"]),
                "name": resource["name"],
                "title": f"{resource['kind']} · {resource['quantity']}",
                "colour": "#7a8b99",
                "kind": BY_RESOURCE,
                "location_id": resource["location_id"],
                "days": days,
            }
        )
    return columns


async def _resource_uses(
    scope: TenantScope, window: _Window, appointments: list[dict[str, Any]]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Return the resources each appointment uses.

    Live ``Hold`` rows record which resources a booking took. An appointment
    without resource ``Hold`` rows (booked before they existed) is shown on
    the resources its service requires.
    """
    ids = [row["id"] for row in appointments]
    uses: dict[uuid.UUID, set[uuid.UUID]] = {}
    if not ids:
        return uses
    holds = (
        await scope.select(Hold, Hold.appointment_id, Hold.resource_id)
        .where(Hold.appointment_id.is_in(ids))
        .where(Hold.resource_id.is_not_null())
    )
    for hold in holds:
        uses.setdefault(hold["appointment_id"], set()).add(hold["resource_id"])
    needs = await service_requirements(
        scope, list({row["service_id"] for row in appointments})
    )
    for row in appointments:
        if row["id"] not in uses:
            uses[row["id"]] = {
                uuid.UUID(item["resource_id"])
                for item in needs.get(row["service_id"], [])
            }
    return uses
