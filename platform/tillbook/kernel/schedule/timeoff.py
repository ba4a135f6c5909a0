"""Provider time away from the weekly pattern: schedule changes, time off, closures.

- A schedule change (``ScheduleOverride``) replaces a staff member's weekly
  hours on one local date; a single row from 0 to 0 means "not working".
- Time off is a span of instants with a reason. It is entered as local wall
  times in the staff member's zone and stored in UTC.
- A closure shuts one location (or every location) for a range of local
  dates.

Adding time off or a closure over existing appointments is allowed: the
result lists the appointments it touches, so the desk can move them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.schedule.locations import (
    check_location_id,
    effective_locations,
    lock_parent_row,
    staff_zone,
    zone_for_location,
)
from tillbook.kernel.schedule.tables import (
    Appointment,
    Closure,
    ScheduleOverride,
    Staff,
    TimeOff,
)
from tillbook.kernel.schedule.weekly import (
    WeeklyInterval,
    check_no_overlap,
    format_clock,
    parse_intervals,
)
from tillbook.tenancy.scope import TenantScope

TIME_OFF_REASONS = ("holiday", "sickness", "training", "personal", "other")
# Appointments in these states still need the provider, so time off or a
# closure over them is reported back.
OPEN_STATUSES = ("booked", "checked_in")
MAX_SPAN_DAYS = 366
MAX_NOTE = 1000


# -- parsing -----------------------------------------------------------------


def parse_date(value: object, field: str) -> date:
    """Parse ``YYYY-MM-DD``; raise ValidationFailed naming ``field`` otherwise.

    A ``date`` passes through, but it too must lie in the years 2000 to 2200.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise invalid(
                field, f"{value!r} is not a date: use YYYY-MM-DD, such as 2026-12-24"
            ) from None
    if not 2000 <= day.year <= 2200:
        raise invalid(field, f"{day.isoformat()} is out of range: use a nearer date")
    return day


def parse_local_instant(value: object, zone: tzinfo, field: str) -> datetime:
    """Parse a local wall time ``YYYY-MM-DDTHH:MM`` in ``zone``; return UTC.

    An ISO 8601 instant with an offset is taken as it is. A wall time that
    occurs twice (clocks going back) is its first occurrence; one that does
    not exist (clocks going forward) is rejected on ``field``.
    """
    text = value.strip() if isinstance(value, str) else ""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(
            field,
            f"{value!r} is not a date and time: use YYYY-MM-DDTHH:MM, "
            "such as 2026-12-24T09:00",
        ) from None
    if not 2000 <= parsed.year <= 2200:
        raise invalid(field, f"{value!r} is out of range: use a nearer date")
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    aware = parsed.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != parsed:
        raise invalid(
            field,
            f"{parsed:%Y-%m-%d %H:%M} does not exist in {zone} because the clocks "
            "go forward then: choose a time after the change",
        )
    return instant


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """Return the UTC instant at which local date ``day`` starts in ``zone``."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def wall_instant(day: date, minute: int, zone: tzinfo) -> datetime:
    """Return the UTC instant of ``minute`` after local midnight of ``day``.

    ``minute`` may pass 1440 into the next day. A repeated wall time is its
    first occurrence.
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _note(values: Mapping[str, Any], field: str, limit: int = MAX_NOTE) -> str:
    note = values.get(field, "")
    if note is None:
        return ""
    if not isinstance(note, str):
        raise invalid(field, "must be text")
    if len(note.strip()) > limit:
        raise invalid(field, f"is longer than {limit} characters")
    return note.strip()


def _check_keys(values: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(str(key) for key in values if key not in allowed)
    if unknown:
        raise ValidationFailed(
            {
                key: f"is not a known field; use one of: {', '.join(sorted(allowed))}"
                for key in unknown
            }
        )


# -- appointments in the way -------------------------------------------------


async def open_appointments(
    scope: TenantScope,
    start: datetime,
    end: datetime,
    *,
    staff_id: uuid.UUID | None = None,
    location_ids: list[uuid.UUID | None] | None = None,
) -> list[dict[str, Any]]:
    """Return booked or checked-in appointments overlapping ``[start, end)``.

    ``staff_id`` narrows to one provider and ``location_ids`` to some
    locations (``None`` in the list matches appointments without one).
    Each item carries the id, instants, local start, client, service and
    provider names.
    """
    query = (
        scope.select(Appointment)
        .where(Appointment.status.is_in(list(OPEN_STATUSES)))
        .where(Appointment.start_at < end)
        .where(Appointment.end_at > start)
        .order_by(Appointment.start_at)
    )
    if staff_id is not None:
        query = query.where(Appointment.staff_id == staff_id)
    rows = list(await query)
    if location_ids is not None:
        rows = [row for row in rows if row["location_id"] in location_ids]
    clients = await scope.get_many(Client, (row["client_id"] for row in rows))
    services = await scope.get_many(Service, (row["service_id"] for row in rows))
    staff = await scope.get_many(Staff, (row["staff_id"] for row in rows))
    zone = scope.tenant.zone
    result = []
    for row in rows:
        client = clients.get(row["client_id"])
        result.append(
            {
                "id": str(row["id"]),
                "start": row["start_at"].isoformat(),
                "end": row["end_at"].isoformat(),
                "local": row["start_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "status": row["status"],
                "client_name": (
                    f"{client['first_name']} {client['last_name']}".strip()
                    if client
                    else ""
                ),
                "service_name": services[row["service_id"]]["name"]
                if row["service_id"] in services
                else "",
                "staff_id": str(row["staff_id"]),
                "staff_name": staff[row["staff_id"]]["name"]
                if row["staff_id"] in staff
                else "",
            }
        )
    return result


# -- time off ----------------------------------------------------------------


def time_off_json(row: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    """Return a time-off row with UTC instants and local wall times."""
    return {
        "id": str(row["id"]),
        "staff_id": str(row["staff_id"]),
        "start": row["start_at"].isoformat(),
        "end": row["end_at"].isoformat(),
        "local_start": row["start_at"].astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "local_end": row["end_at"].astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "reason": row["reason"],
        "note": row["note"],
    }


async def add_time_off(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    values: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Record time off: ``start`` and ``end`` local wall times, ``reason``, ``note``.

    Returns ``{"time_off": ..., "affected_appointments": [...]}``, listing
    the provider's open appointments in the span. Raises NotFound for
    another tenant's staff id (before reading the body) and ValidationFailed
    on ``start``, ``end`` (not after the start, or more than 366 days
    later), ``reason`` (not one of TIME_OFF_REASONS) or ``note``.
    """
    staff = await scope.get(Staff, staff_id)
    _check_keys(values, {"start", "end", "reason", "note"})
    zone = await staff_zone(scope, staff["id"])
    errors: dict[str, str] = {}
    bounds: dict[str, datetime] = {}
    for key in ("start", "end"):
        try:
            bounds[key] = parse_local_instant(values.get(key), zone, key)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if len(bounds) == 2:
        if bounds["end"] <= bounds["start"]:
            errors["end"] = "must be after the start: check the date and time"
        elif bounds["end"] - bounds["start"] > timedelta(days=MAX_SPAN_DAYS):
            errors["end"] = f"is more than {MAX_SPAN_DAYS} days after the start"
    reason = values.get("reason")
    if reason not in TIME_OFF_REASONS:
        errors["reason"] = (
            f"{reason!r} is not a reason: use one of {', '.join(TIME_OFF_REASONS)}"
        )
    try:
        note = _note(values, "note")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    row = TimeOff(
        staff_id=staff["id"],
        start_at=bounds["start"],
        end_at=bounds["end"],
        reason=reason,
        note=note,
        created_at=utcnow(),
        created_by=actor_id,
    )
    async with write_transaction():
        await scope.insert(row)
        stored = await scope.get(TimeOff, row.id)
        shown = time_off_json(stored, zone)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="staff.time_off_added",
            subject_type="staff",
            subject_id=staff["id"],
            after=shown,
        )
        await record_event(
            scope, "staff.time_off_added", {"staff_id": str(staff["id"]), **shown}
        )
    affected = await open_appointments(
        scope, bounds["start"], bounds["end"], staff_id=staff["id"]
    )
    return {"time_off": shown, "affected_appointments": affected}


async def list_time_off(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    *,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Return a staff member's time off ending after ``since`` (default now)."""
    staff = await scope.get(Staff, staff_id)
    zone = await staff_zone(scope, staff["id"])
    rows = (
        await scope.select(TimeOff)
        .where(TimeOff.staff_id == staff["id"])
        .where(TimeOff.end_at > (since or utcnow()))
        .order_by(TimeOff.start_at)
    )
    return [time_off_json(row, zone) for row in rows]


async def delete_time_off(
    scope: TenantScope, time_off_id: uuid.UUID | str, *, actor_id: uuid.UUID | None
) -> None:
    """Delete one time-off entry; raise NotFound if it is not the tenant's."""
    async with write_transaction():
        row = await scope.get(TimeOff, time_off_id)
        await scope.delete(TimeOff).where(TimeOff.id == row["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="staff.time_off_deleted",
            subject_type="staff",
            subject_id=row["staff_id"],
            before=time_off_json(row, scope.tenant.zone),
        )
        await record_event(
            scope,
            "staff.time_off_deleted",
            {"staff_id": str(row["staff_id"]), "time_off_id": str(row["id"])},
        )


# -- one-off schedule changes ------------------------------------------------


def override_json(day: date, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return the schedule change of one date: its intervals, or not working."""
    off = all(row["start_minute"] == row["end_minute"] == 0 for row in rows)
    return {
        "date": day.isoformat(),
        "off": off,
        "note": rows[0]["note"] if rows else "",
        "hours": []
        if off
        else [
            {
                "start": format_clock(row["start_minute"]),
                "end": format_clock(row["end_minute"]),
                "start_minute": row["start_minute"],
                "end_minute": row["end_minute"],
                "location_id": str(row["location_id"]) if row["location_id"] else None,
            }
            for row in sorted(rows, key=lambda item: item["start_minute"])
        ],
    }


def parse_override(values: object, day: date) -> tuple[bool, list[WeeklyInterval], str]:
    """Parse ``{"off": true}`` or ``{"hours": [{"start", "end"}...], "note"}``.

    Returns (off, intervals, note). Raises ValidationFailed on ``off``,
    ``hours[i]...`` or ``note``.
    """
    if not isinstance(values, dict):
        raise invalid("body", 'must be an object such as {"off": true}')
    _check_keys(values, {"off", "hours", "note"})
    note = _note(values, "note", 200)
    off = values.get("off", False)
    if not isinstance(off, bool):
        raise invalid("off", "must be true or false")
    entries = values.get("hours", [])
    if off:
        if entries:
            raise invalid("hours", "must be empty when off is true")
        return True, [], note
    if not isinstance(entries, list) or not entries:
        raise invalid(
            "hours",
            'must list the hours of that day, such as [{"start": "10:00", '
            '"end": "14:00"}], or send {"off": true}',
        )
    weekday = day.weekday()
    dated = [
        {**entry, "weekday": weekday} if isinstance(entry, dict) else entry
        for entry in entries
    ]
    return False, parse_intervals(dated, "hours", with_location=True), note


async def set_day_override(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    day: date,
    values: object,
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Replace a staff member's hours on one local date.

    Returns ``{"override": ..., "affected_appointments": [...]}``, where the
    affected appointments are the provider's open ones that date outside the
    new hours. Raises NotFound for another tenant's staff id (before reading
    the body) and ValidationFailed on ``day`` outside the years 2000 to 2200,
    as ``parse_override`` does, or on ``hours[i].location_id`` for an unknown
    location.
    """
    staff = await scope.get(Staff, staff_id)
    day = parse_date(day, "day")
    off, intervals, note = parse_override(values, day)
    for index, item in enumerate(intervals):
        await check_location_id(scope, item.location_id, f"hours[{index}].location_id")
    check_no_overlap([(f"hours[{i}]", item) for i, item in enumerate(intervals)])
    if off:
        rows = [
            ScheduleOverride(
                staff_id=staff["id"], day=day, start_minute=0, end_minute=0, note=note
            )
        ]
    else:
        rows = [
            ScheduleOverride(
                staff_id=staff["id"],
                day=day,
                start_minute=item.start_minute,
                end_minute=item.end_minute,
                location_id=item.location_id,
                note=note,
            )
            for item in intervals
        ]
    async with write_transaction():
        await lock_parent_row(scope, Staff, staff["id"])
        before = await _override_rows(scope, staff["id"], day)
        await (
            scope.delete(ScheduleOverride)
            .where(ScheduleOverride.staff_id == staff["id"])
            .where(ScheduleOverride.day == day)
        )
        await scope.insert(*rows)
        after = override_json(day, await _override_rows(scope, staff["id"], day))
        await record_audit(
            scope,
            actor_id=actor_id,
            action="staff.schedule_changed",
            subject_type="staff",
            subject_id=staff["id"],
            before=override_json(day, before) if before else None,
            after=after,
        )
        await record_event(
            scope,
            "staff.schedule_changed",
            {"staff_id": str(staff["id"]), "date": day.isoformat()},
        )
    affected = await _outside_hours(scope, staff["id"], day, intervals)
    return {"override": after, "affected_appointments": affected}


async def _override_rows(
    scope: TenantScope, staff_id: uuid.UUID, day: date
) -> list[dict[str, Any]]:
    return list(
        await scope.select(ScheduleOverride)
        .where(ScheduleOverride.staff_id == staff_id)
        .where(ScheduleOverride.day == day)
    )


async def _outside_hours(
    scope: TenantScope,
    staff_id: uuid.UUID,
    day: date,
    intervals: list[WeeklyInterval],
) -> list[dict[str, Any]]:
    zone = await staff_zone(scope, staff_id)
    spans = []
    for item in intervals:
        # Hours at a location are wall times in that location's zone.
        item_zone = (
            await zone_for_location(scope, item.location_id)
            if item.location_id
            else zone
        )
        spans.append(
            (
                wall_instant(day, item.start_minute, item_zone),
                wall_instant(day, item.end_minute, item_zone),
            )
        )
    # The date's own day, and the new hours where they reach beyond it.
    windows = [
        (local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)),
        *spans,
    ]
    found = await open_appointments(
        scope,
        min(lo for lo, _ in windows),
        max(hi for _, hi in windows),
        staff_id=staff_id,
    )
    affected = []
    for appointment in found:
        begins = datetime.fromisoformat(appointment["start"])
        ends = datetime.fromisoformat(appointment["end"])
        inside = any(lo <= begins and ends <= hi for lo, hi in spans)
        touched = any(begins < hi and lo < ends for lo, hi in windows)
        if touched and not inside:
            affected.append(appointment)
    return affected


async def delete_day_override(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    day: date,
    *,
    actor_id: uuid.UUID | None,
) -> None:
    """Remove the schedule change of a date, so the weekly hours apply again."""
    async with write_transaction():
        staff = await scope.get(Staff, staff_id)
        before = await _override_rows(scope, staff["id"], day)
        if not before:
            return
        await (
            scope.delete(ScheduleOverride)
            .where(ScheduleOverride.staff_id == staff["id"])
            .where(ScheduleOverride.day == day)
        )
        await record_audit(
            scope,
            actor_id=actor_id,
            action="staff.schedule_change_removed",
            subject_type="staff",
            subject_id=staff["id"],
            before=override_json(day, before),
        )
        await record_event(
            scope,
            "staff.schedule_changed",
            {"staff_id": str(staff["id"]), "date": day.isoformat()},
        )


async def list_overrides(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    first: date,
    last: date,
) -> list[dict[str, Any]]:
    """Return a staff member's schedule changes between two local dates."""
    staff = await scope.get(Staff, staff_id)
    rows = (
        await scope.select(ScheduleOverride)
        .where(ScheduleOverride.staff_id == staff["id"])
        .where(ScheduleOverride.day >= first)
        .where(ScheduleOverride.day <= last)
        .order_by(ScheduleOverride.day)
    )
    by_day: dict[date, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(row["day"], []).append(row)
    return [override_json(day, items) for day, items in sorted(by_day.items())]


# -- closures ----------------------------------------------------------------


def closure_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a closure row as JSON."""
    return {
        "id": str(row["id"]),
        "location_id": str(row["location_id"]) if row["location_id"] else None,
        "first_day": row["first_day"].isoformat(),
        "last_day": row["last_day"].isoformat(),
        "reason": row["reason"],
    }


async def add_closure(
    scope: TenantScope, values: Mapping[str, Any], *, actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Close a location (``location_id``) or, without one, every location.

    Takes ``first_day`` and ``last_day`` (local dates, inclusive) and
    ``reason``. Returns ``{"closure": ..., "affected_appointments": [...]}``.
    Raises ValidationFailed on ``last_day`` before ``first_day`` or more than
    366 days later, and on an unknown ``location_id``.
    """
    _check_keys(values, {"location_id", "first_day", "last_day", "reason"})
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for key in ("first_day", "last_day"):
        try:
            days[key] = parse_date(values.get(key), key)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if len(days) == 2:
        if days["last_day"] < days["first_day"]:
            errors["last_day"] = "is before first_day: the closure must end later"
        elif (days["last_day"] - days["first_day"]).days >= MAX_SPAN_DAYS:
            errors["last_day"] = f"makes the closure longer than {MAX_SPAN_DAYS} days"
    try:
        reason = _note(values, "reason", 200)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        location_id = await check_location_id(
            scope, values.get("location_id"), "location_id"
        )
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    row = Closure(
        location_id=location_id,
        first_day=days["first_day"],
        last_day=days["last_day"],
        reason=reason,
    )
    async with write_transaction():
        await scope.insert(row)
        shown = closure_json(await scope.get(Closure, row.id))
        await record_audit(
            scope,
            actor_id=actor_id,
            action="closure.added",
            subject_type="closure",
            subject_id=row.id,
            after=shown,
        )
        await record_event(scope, "closure.added", shown)
    return {
        "closure": shown,
        "affected_appointments": await _closed_appointments(scope, shown),
    }


async def _closed_appointments(
    scope: TenantScope, closure: Mapping[str, Any]
) -> list[dict[str, Any]]:
    first = date.fromisoformat(closure["first_day"])
    last = date.fromisoformat(closure["last_day"])
    zone: tzinfo = scope.tenant.zone
    places: list[uuid.UUID | None] | None = None
    if closure["location_id"] is not None:
        location_id = uuid.UUID(closure["location_id"])
        zone = await zone_for_location(scope, location_id)
        places = [location_id]
        # Appointments without a location are at the first location.
        first_place = (await effective_locations(scope))[0]["id"]
        if first_place == closure["location_id"]:
            places = [location_id, None]
    return await open_appointments(
        scope,
        local_midnight(first, zone),
        local_midnight(last + timedelta(days=1), zone),
        location_ids=places,
    )


async def list_closures(
    scope: TenantScope, *, since: date | None = None
) -> list[dict[str, Any]]:
    """Return closures that end on or after ``since`` (default: all), by date."""
    query = scope.select(Closure).order_by(Closure.first_day)
    if since is not None:
        query = query.where(Closure.last_day >= since)
    return [closure_json(row) for row in await query]


async def delete_closure(
    scope: TenantScope, closure_id: uuid.UUID | str, *, actor_id: uuid.UUID | None
) -> None:
    """Delete a closure; raise NotFound if it is not the tenant's."""
    async with write_transaction():
        row = await scope.get(Closure, closure_id)
        await scope.delete(Closure).where(Closure.id == row["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="closure.deleted",
            subject_type="closure",
            subject_id=row["id"],
            before=closure_json(row),
        )
        await record_event(scope, "closure.deleted", closure_json(row))
