"""Staff members, their weekly working hours and the services they perform."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from piccolo.columns import Column

from tillbook.db import write_transaction
from tillbook.errors import ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service, ServiceProvider
from tillbook.kernel.schedule.availability import MINUTES_PER_DAY, WorkingInterval
from tillbook.kernel.schedule.tables import Staff, WorkingHours
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import COLOUR_PATTERN, EMAIL_PATTERN

WEEKDAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
CLOCK_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})$")
MAX_INTERVALS_PER_WEEK = 7 * 12


def format_clock(minute: int) -> str:
    """Format minutes after midnight as ``HH:MM`` (1440 is ``24:00``)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_clock(value: object, field: str) -> int:
    """Parse ``HH:MM`` (``00:00`` to ``24:00``) into minutes after midnight.

    Raises ValidationFailed naming ``field`` for anything else.
    """
    match = CLOCK_PATTERN.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise invalid(field, f"{value!r} is not a time: use HH:MM, such as 09:30")
    hour, minute = int(match.group(1)), int(match.group(2))
    total = hour * 60 + minute
    if minute > 59 or total > MINUTES_PER_DAY:
        raise invalid(field, f"{value!r} is not a time between 00:00 and 24:00")
    return total


# -- staff members -----------------------------------------------------------


def clean_staff_fields(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validate staff fields from input and return the values to store.

    With ``partial`` only the fields present are checked (for updates);
    otherwise ``name`` is required. Unknown fields are rejected. Raises
    ValidationFailed naming every bad field.
    """
    allowed = {"name", "email", "title", "colour", "bookable", "active"}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in data:
        if key not in allowed:
            errors[key] = (
                f"is not a staff field: use one of {', '.join(sorted(allowed))}"
            )
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "is required: enter the name clients see"
        elif len(name.strip()) > 200:
            errors["name"] = "is longer than 200 characters"
        else:
            values["name"] = name.strip()
    for key, limit in (("email", 254), ("title", 100)):
        if key not in data:
            continue
        text = data[key]
        if text is None:
            text = ""
        if not isinstance(text, str):
            errors[key] = "must be text"
        elif len(text.strip()) > limit:
            errors[key] = f"is longer than {limit} characters"
        else:
            values[key] = text.strip()
    if values.get("email") and not EMAIL_PATTERN.match(values["email"]):
        errors["email"] = "is not a valid email address"
    elif "email" in values:
        values["email"] = values["email"].lower()
    if "colour" in data:
        colour = data["colour"]
        if not isinstance(colour, str) or not COLOUR_PATTERN.match(colour.strip()):
            errors["colour"] = "must be a hex colour such as #7a8b99"
        else:
            values["colour"] = colour.strip().lower()
    for key in ("bookable", "active"):
        if key in data:
            if not isinstance(data[key], bool):
                errors[key] = "must be true or false"
            else:
                values[key] = data[key]
    if errors:
        raise ValidationFailed(errors)
    return values


def staff_json(
    row: Mapping[str, Any], hours: Iterable[WorkingInterval]
) -> dict[str, Any]:
    """Return a staff row as the JSON the API and pages use."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "email": row["email"],
        "title": row["title"],
        "colour": row["colour"],
        "bookable": row["bookable"],
        "active": row["active"],
        "hours": [hours_json(interval) for interval in hours],
    }


def hours_json(interval: WorkingInterval) -> dict[str, Any]:
    """Return a working interval with ``HH:MM`` bounds."""
    return {
        "weekday": interval.weekday,
        "start": format_clock(interval.start_minute),
        "end": format_clock(interval.end_minute),
    }


async def create_staff(
    scope: TenantScope, data: Mapping[str, Any], *, actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Add a staff member; return it as JSON. Raises ValidationFailed."""
    values = clean_staff_fields(data, partial=False)
    row = Staff(**values)
    async with write_transaction():
        await scope.insert(row)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="staff.created",
            subject_type="staff",
            subject_id=row.id,
            after=values,
        )
    return await get_staff(scope, row.id)


async def update_staff(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Change some fields of a staff member; return it as JSON.

    Raises NotFound for an id of no staff member of this tenant and
    ValidationFailed for bad fields.
    """
    async with write_transaction():
        # Look the id up first, so another tenant's id is a 404 whatever the body.
        before = await scope.get(Staff, staff_id)
        values = clean_staff_fields(changes, partial=True)
        if values:
            columns: dict[Column | str, Any] = {key: v for key, v in values.items()}
            await scope.update(Staff, columns).where(Staff.id == before["id"])
            await record_audit(
                scope,
                actor_id=actor_id,
                action="staff.updated",
                subject_type="staff",
                subject_id=before["id"],
                before={key: before[key] for key in values},
                after=values,
            )
    return await get_staff(scope, before["id"])


async def get_staff(scope: TenantScope, staff_id: uuid.UUID | str) -> dict[str, Any]:
    """Return one staff member with weekly hours as JSON; raise NotFound."""
    row = await scope.get(Staff, staff_id)
    return staff_json(row, await weekly_hours(scope, row["id"]))


async def list_staff(
    scope: TenantScope, *, include_inactive: bool = True
) -> list[dict[str, Any]]:
    """Return the staff ordered by name, each with weekly hours, as JSON."""
    query = scope.select(Staff).order_by(Staff.name)
    if not include_inactive:
        query = query.where(Staff.active == True)  # noqa: E712 - piccolo SQL
    rows = await query
    hours = await _hours_by_staff(scope, [row["id"] for row in rows])
    return [staff_json(row, hours.get(row["id"], [])) for row in rows]


# -- weekly hours ------------------------------------------------------------


def parse_hours(entries: object) -> list[WorkingInterval]:
    """Parse ``[{"weekday": 0, "start": "09:00", "end": "17:00"}, ...]``.

    Raises ValidationFailed with fields such as ``hours[2].end`` for a bad
    entry, and ``hours[3]`` for an interval that overlaps an earlier one.
    """
    if not isinstance(entries, list):
        raise invalid(
            "hours",
            'must be a list of {"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}',
        )
    if len(entries) > MAX_INTERVALS_PER_WEEK:
        raise invalid("hours", f"has more than {MAX_INTERVALS_PER_WEEK} intervals")
    errors: dict[str, str] = {}
    parsed: list[tuple[str, WorkingInterval]] = []
    for index, entry in enumerate(entries):
        prefix = f"hours[{index}]"
        if not isinstance(entry, dict):
            errors[prefix] = (
                'must be {"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}'
            )
            continue
        try:
            interval = _parse_entry(entry, prefix)
        except ValidationFailed as exc:
            errors.update(exc.errors)
            continue
        parsed.append((prefix, interval))
    if errors:
        raise ValidationFailed(errors)
    validate_no_overlap(parsed)
    return sorted(
        (interval for _, interval in parsed),
        key=lambda item: (item.weekday, item.start_minute),
    )


def _parse_entry(entry: Mapping[str, Any], prefix: str) -> WorkingInterval:
    errors: dict[str, str] = {}
    extra = set(entry) - {"weekday", "start", "end"}
    if extra:
        errors[prefix] = f"has unknown keys {sorted(extra)}: use weekday, start, end"
    weekday = entry.get("weekday")
    if (
        isinstance(weekday, bool)
        or not isinstance(weekday, int)
        or not 0 <= weekday <= 6
    ):
        errors[f"{prefix}.weekday"] = (
            f"{weekday!r} is not a weekday: use 0 (Monday) to 6 (Sunday)"
        )
    bounds: dict[str, int] = {}
    for key in ("start", "end"):
        try:
            bounds[key] = parse_clock(entry.get(key), f"{prefix}.{key}")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if len(bounds) == 2 and not bounds["start"] < bounds["end"]:
        errors[f"{prefix}.end"] = (
            f"{format_clock(bounds['end'])} is not after the start "
            f"{format_clock(bounds['start'])}: the end must be later"
        )
    if errors:
        raise ValidationFailed(errors)
    return WorkingInterval(int(weekday), bounds["start"], bounds["end"])  # type: ignore[arg-type]


RANGE_PATTERN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-\u2013]\s*(\d{1,2}:\d{2})\s*$")


def parse_week_text(days: Mapping[int, str]) -> list[WorkingInterval]:
    """Parse a week typed as text, one entry per weekday, such as
    ``{0: "09:00-12:00, 13:00-17:00", 6: ""}`` (empty is a day off).

    Raises ValidationFailed keyed ``hours_<weekday>`` for each day whose
    text is malformed or has overlapping ranges.
    """
    errors: dict[str, str] = {}
    intervals: list[WorkingInterval] = []
    for weekday, text in sorted(days.items()):
        field = f"hours_{weekday}"
        try:
            day = _parse_day_text(weekday, text, field)
            validate_no_overlap([(field, item) for item in day])
        except ValidationFailed as exc:
            errors[field] = next(iter(exc.errors.values()))
            continue
        intervals.extend(day)
    if errors:
        raise ValidationFailed(errors)
    return intervals


def _parse_day_text(weekday: int, text: str, field: str) -> list[WorkingInterval]:
    intervals = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        match = RANGE_PATTERN.match(part)
        if match is None:
            raise invalid(
                field,
                f"{part.strip()!r} is not a range: use HH:MM-HH:MM, "
                "such as 09:00-12:00, 13:00-17:00",
            )
        start = parse_clock(match.group(1), field)
        end = parse_clock(match.group(2), field)
        if start >= end:
            raise invalid(field, f"{part.strip()!r} ends before it starts")
        intervals.append(WorkingInterval(weekday, start, end))
    return intervals


def format_day_text(intervals: Iterable[WorkingInterval], weekday: int) -> str:
    """Format one weekday's intervals as ``09:00-12:00, 13:00-17:00``."""
    return ", ".join(
        f"{format_clock(item.start_minute)}-{format_clock(item.end_minute)}"
        for item in sorted(intervals, key=lambda item: item.start_minute)
        if item.weekday == weekday
    )


def validate_no_overlap(labelled: Sequence[tuple[str, WorkingInterval]]) -> None:
    """Raise ValidationFailed naming the label of each interval that overlaps another.

    Intervals that only touch (09:00-12:00 and 12:00-17:00) do not overlap.
    """
    errors: dict[str, str] = {}
    ordered = sorted(labelled, key=lambda item: (item[1].weekday, item[1].start_minute))
    for (_, a), (label_b, b) in itertools.pairwise(ordered):
        if a.weekday == b.weekday and b.start_minute < a.end_minute:
            errors[label_b] = (
                f"{format_clock(b.start_minute)}-{format_clock(b.end_minute)} overlaps "
                f"{format_clock(a.start_minute)}-{format_clock(a.end_minute)} on "
                f"{WEEKDAY_NAMES[a.weekday]}: join them or move one"
            )
    if errors:
        raise ValidationFailed(errors)


async def set_weekly_hours(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    intervals: Sequence[WorkingInterval],
    *,
    actor_id: uuid.UUID | None,
) -> list[WorkingInterval]:
    """Replace a staff member's weekly hours; return them sorted.

    Existing appointments are kept even where they now fall outside the
    hours. Raises NotFound for an unknown staff id and ValidationFailed on
    ``hours`` for intervals out of range or overlapping.
    """
    async with write_transaction():
        staff = await scope.get(Staff, staff_id)
        _validate_intervals(intervals)
        before = await weekly_hours(scope, staff["id"])
        await scope.delete(WorkingHours).where(WorkingHours.staff_id == staff["id"])
        rows = [
            WorkingHours(
                staff_id=staff["id"],
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
            action="staff.hours_set",
            subject_type="staff",
            subject_id=staff["id"],
            before=[hours_json(item) for item in before],
            after=[hours_json(item) for item in intervals],
        )
    return sorted(intervals, key=lambda item: (item.weekday, item.start_minute))


def _validate_intervals(intervals: Sequence[WorkingInterval]) -> None:
    labelled = [(f"hours[{index}]", item) for index, item in enumerate(intervals)]
    for label, item in labelled:
        if not 0 <= item.weekday <= 6:
            raise invalid(f"{label}.weekday", "must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= item.start_minute < item.end_minute <= MINUTES_PER_DAY:
            raise invalid(f"{label}.end", "must be after the start, at most 24:00")
    validate_no_overlap(labelled)


async def weekly_hours(
    scope: TenantScope, staff_id: uuid.UUID
) -> list[WorkingInterval]:
    """Return a staff member's weekly hours sorted by weekday and start."""
    return (await _hours_by_staff(scope, [staff_id])).get(staff_id, [])


async def _hours_by_staff(
    scope: TenantScope, staff_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WorkingInterval]]:
    if not staff_ids:
        return {}
    rows = (
        await scope.select(WorkingHours)
        .where(WorkingHours.staff_id.is_in(staff_ids))
        .order_by(WorkingHours.weekday)
        .order_by(WorkingHours.start_minute)
    )
    result: dict[uuid.UUID, list[WorkingInterval]] = {}
    for row in rows:
        result.setdefault(row["staff_id"], []).append(
            WorkingInterval(row["weekday"], row["start_minute"], row["end_minute"])
        )
    return result


# -- services performed ------------------------------------------------------


async def staff_service_ids(scope: TenantScope, staff_id: uuid.UUID) -> set[uuid.UUID]:
    """Return the ids of the services a staff member performs."""
    rows = await scope.select(ServiceProvider, ServiceProvider.service_id).where(
        ServiceProvider.staff_id == staff_id
    )
    return {row["service_id"] for row in rows}


async def set_staff_services(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    service_ids: Iterable[uuid.UUID | str],
    *,
    actor_id: uuid.UUID | None,
) -> set[uuid.UUID]:
    """Replace the services a staff member performs; return their ids.

    Raises NotFound for an unknown staff id and ValidationFailed on
    ``service_ids`` for an id of no service of this tenant.
    """
    requested: set[uuid.UUID] = set()
    for value in service_ids:
        try:
            requested.add(
                value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
            )
        except ValueError:
            raise invalid("service_ids", f"{value!r} is not a service id") from None
    async with write_transaction():
        staff = await scope.get(Staff, staff_id)
        known = await scope.get_many(Service, requested)
        missing = requested - set(known)
        if missing:
            raise invalid(
                "service_ids", f"unknown service {sorted(map(str, missing))[0]}"
            )
        current = await staff_service_ids(scope, staff["id"])
        removed = current - requested
        if removed:
            await (
                scope.delete(ServiceProvider)
                .where(ServiceProvider.staff_id == staff["id"])
                .where(ServiceProvider.service_id.is_in(list(removed)))
            )
        added = [
            ServiceProvider(service_id=service_id, staff_id=staff["id"])
            for service_id in sorted(requested - current)
        ]
        if added:
            await scope.insert(*added)
        if added or removed:
            await record_audit(
                scope,
                actor_id=actor_id,
                action="staff.services_set",
                subject_type="staff",
                subject_id=staff["id"],
                before=sorted(map(str, current)),
                after=sorted(map(str, requested)),
            )
    return requested
