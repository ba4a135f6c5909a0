"""Staff members, their weekly hours and breaks, and the services they perform.

Weekly hours are wall-clock intervals in the zone of the location they are
at (the tenant's zone when there is none). A weekday may have several
intervals, and a shift may end on the next day (``end_minute`` up to 2880).
Breaks are weekly too and must lie inside the hours.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from piccolo.columns import Column

from tillbook.db import write_transaction
from tillbook.errors import ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service, ServiceProvider
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.schedule.locations import lock_parent_row
from tillbook.kernel.schedule.tables import Location, Staff, StaffBreak, WorkingHours
from tillbook.kernel.schedule.weekly import (
    MINUTES_PER_DAY,
    WeeklyInterval,
    check_no_overlap,
    covered,
    describe,
    interval_json,
    parse_day_text,
    parse_intervals,
    sort_intervals,
)
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import COLOUR_PATTERN, EMAIL_PATTERN

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
    row: Mapping[str, Any],
    hours: Iterable[WeeklyInterval],
    breaks: Iterable[WeeklyInterval] = (),
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
        "breaks": [break_json(interval) for interval in breaks],
        "has_feed": bool(row.get("feed_token")),
    }


def hours_json(interval: WeeklyInterval) -> dict[str, Any]:
    """Return a working interval with ``HH:MM`` bounds and its location."""
    shown = interval_json(interval)
    del shown["label"]
    return shown


def break_json(interval: WeeklyInterval) -> dict[str, Any]:
    """Return a weekly break with ``HH:MM`` bounds and its label."""
    shown = interval_json(interval)
    del shown["location_id"]
    return shown


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
    return staff_json(
        row,
        await weekly_hours(scope, row["id"]),
        await weekly_breaks(scope, row["id"]),
    )


async def list_staff(
    scope: TenantScope, *, include_inactive: bool = True
) -> list[dict[str, Any]]:
    """Return the staff ordered by name, each with weekly hours, as JSON."""
    query = scope.select(Staff).order_by(Staff.name)
    if not include_inactive:
        query = query.where(Staff.active == True)  # noqa: E712 - piccolo SQL
    rows = await query
    ids = [row["id"] for row in rows]
    hours = await hours_by_staff(scope, ids)
    breaks = await breaks_by_staff(scope, ids)
    return [
        staff_json(row, hours.get(row["id"], []), breaks.get(row["id"], []))
        for row in rows
    ]


# -- weekly hours ------------------------------------------------------------


def parse_hours(entries: object) -> list[WeeklyInterval]:
    """Parse weekly hours from JSON (see ``weekly.parse_intervals``).

    Each entry may name a ``location_id``. Raises ValidationFailed with
    fields such as ``hours[2].end`` for a bad entry, and ``hours[3]`` for an
    interval that overlaps an earlier one.
    """
    return parse_intervals(entries, "hours", with_location=True)


def parse_breaks(entries: object) -> list[WeeklyInterval]:
    """Parse weekly breaks from JSON; each entry may carry a ``label``."""
    return parse_intervals(entries, "breaks", with_label=True)


def parse_week_text(
    days: Mapping[int, str], locations: Mapping[int, uuid.UUID | None] | None = None
) -> list[WeeklyInterval]:
    """Parse a week typed as text, one entry per weekday, such as
    ``{0: "09:00-12:00, 13:00-17:00", 6: ""}`` (empty is a day off).

    ``locations`` gives each weekday's location. Raises ValidationFailed
    keyed ``hours_<weekday>`` for each malformed day, and for ranges that
    overlap, including an overnight range running into the next day.
    """
    errors: dict[str, str] = {}
    labelled: list[tuple[str, WeeklyInterval]] = []
    for weekday, text in sorted(days.items()):
        field = f"hours_{weekday}"
        location_id = (locations or {}).get(weekday)
        try:
            day = parse_day_text(weekday, text, field)
        except ValidationFailed as exc:
            errors[field] = next(iter(exc.errors.values()))
            continue
        labelled.extend(
            (
                field,
                WeeklyInterval(
                    item.weekday, item.start_minute, item.end_minute, location_id
                ),
            )
            for item in day
        )
    if errors:
        raise ValidationFailed(errors)
    check_no_overlap(labelled)
    return [item for _, item in labelled]


def _as_weekly(item: Any) -> WeeklyInterval:
    """Accept a ``WeeklyInterval`` or any object with weekday and minutes."""
    if isinstance(item, WeeklyInterval):
        return item
    return WeeklyInterval(
        item.weekday,
        item.start_minute,
        item.end_minute,
        getattr(item, "location_id", None),
    )


async def check_locations(
    scope: TenantScope, intervals: Sequence[WeeklyInterval], field: str
) -> None:
    """Raise ValidationFailed naming each interval at an unknown location."""
    wanted = {item.location_id for item in intervals if item.location_id}
    known = await scope.get_many(Location, wanted)
    errors = {
        f"{field}[{index}].location_id": (
            f"unknown location {item.location_id}: choose one of this business's"
        )
        for index, item in enumerate(intervals)
        if item.location_id and item.location_id not in known
    }
    if errors:
        raise ValidationFailed(errors)


async def set_weekly_hours(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    intervals: Sequence[Any],
    *,
    actor_id: uuid.UUID | None,
) -> list[WeeklyInterval]:
    """Replace a staff member's weekly hours; return them sorted.

    Breaks that no longer lie inside the new hours are removed (the audit
    entry lists them). Existing appointments are kept even where they now
    fall outside the hours. Raises NotFound for an unknown staff id and
    ValidationFailed on ``hours`` for intervals out of range, overlapping,
    or at a location of no such id.
    """
    weekly = [_as_weekly(item) for item in intervals]
    async with write_transaction():
        staff = await scope.get(Staff, staff_id)
        await lock_parent_row(scope, Staff, staff["id"])
        _validate_intervals(weekly, "hours")
        await check_locations(scope, weekly, "hours")
        before = await weekly_hours(scope, staff["id"])
        await scope.delete(WorkingHours).where(WorkingHours.staff_id == staff["id"])
        rows = [
            WorkingHours(
                staff_id=staff["id"],
                weekday=item.weekday,
                start_minute=item.start_minute,
                end_minute=item.end_minute,
                location_id=item.location_id,
            )
            for item in weekly
        ]
        if rows:
            await scope.insert(*rows)
        dropped = await _drop_breaks_outside(scope, staff["id"], weekly)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="staff.hours_set",
            subject_type="staff",
            subject_id=staff["id"],
            before=[hours_json(item) for item in before],
            after={
                "hours": [hours_json(item) for item in weekly],
                "removed_breaks": [break_json(item) for item in dropped],
            },
        )
        await record_event(scope, "staff.hours_set", {"staff_id": str(staff["id"])})
    return sort_intervals(weekly)


async def _drop_breaks_outside(
    scope: TenantScope, staff_id: uuid.UUID, hours: Sequence[WeeklyInterval]
) -> list[WeeklyInterval]:
    rows = await scope.select(StaffBreak).where(StaffBreak.staff_id == staff_id)
    outside = [row for row in rows if not covered(_break_from_row(row), hours)]
    if outside:
        await scope.delete(StaffBreak).where(
            StaffBreak.id.is_in([row["id"] for row in outside])
        )
    return [_break_from_row(row) for row in outside]


def _validate_intervals(intervals: Sequence[WeeklyInterval], field: str) -> None:
    labelled = [(f"{field}[{index}]", item) for index, item in enumerate(intervals)]
    for label, item in labelled:
        if not 0 <= item.weekday <= 6:
            raise invalid(f"{label}.weekday", "must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= item.start_minute < MINUTES_PER_DAY:
            raise invalid(f"{label}.start", "must be from 00:00 to 23:59")
        if (
            not item.start_minute
            < item.end_minute
            <= item.start_minute + MINUTES_PER_DAY
        ):
            raise invalid(
                f"{label}.end", "must be after the start and at most 24 hours later"
            )
    check_no_overlap(labelled)


async def weekly_hours(scope: TenantScope, staff_id: uuid.UUID) -> list[WeeklyInterval]:
    """Return a staff member's weekly hours sorted by weekday and start."""
    return (await hours_by_staff(scope, [staff_id])).get(staff_id, [])


async def hours_by_staff(
    scope: TenantScope, staff_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WeeklyInterval]]:
    """Return the weekly hours of several staff members, keyed by staff id."""
    if not staff_ids:
        return {}
    rows = (
        await scope.select(WorkingHours)
        .where(WorkingHours.staff_id.is_in(staff_ids))
        .order_by(WorkingHours.weekday)
        .order_by(WorkingHours.start_minute)
    )
    result: dict[uuid.UUID, list[WeeklyInterval]] = {}
    for row in rows:
        result.setdefault(row["staff_id"], []).append(
            WeeklyInterval(
                row["weekday"],
                row["start_minute"],
                row["end_minute"],
                row["location_id"],
            )
        )
    return result


# -- weekly breaks -----------------------------------------------------------


def _break_from_row(row: Mapping[str, Any]) -> WeeklyInterval:
    return WeeklyInterval(
        row["weekday"], row["start_minute"], row["end_minute"], label=row["label"]
    )


async def breaks_by_staff(
    scope: TenantScope, staff_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WeeklyInterval]]:
    """Return the weekly breaks of several staff members, keyed by staff id."""
    if not staff_ids:
        return {}
    rows = await scope.select(StaffBreak).where(StaffBreak.staff_id.is_in(staff_ids))
    result: dict[uuid.UUID, list[WeeklyInterval]] = {}
    for row in rows:
        result.setdefault(row["staff_id"], []).append(_break_from_row(row))
    return {key: sort_intervals(value) for key, value in result.items()}


async def weekly_breaks(
    scope: TenantScope, staff_id: uuid.UUID
) -> list[WeeklyInterval]:
    """Return a staff member's weekly breaks sorted by weekday and start."""
    return (await breaks_by_staff(scope, [staff_id])).get(staff_id, [])


async def set_weekly_breaks(
    scope: TenantScope,
    staff_id: uuid.UUID | str,
    breaks: Sequence[WeeklyInterval],
    *,
    actor_id: uuid.UUID | None,
) -> list[WeeklyInterval]:
    """Replace a staff member's weekly breaks; return them sorted.

    Raises NotFound for an unknown staff id and ValidationFailed on
    ``breaks[i]`` for a break that overlaps another or does not lie inside
    the staff member's weekly hours.
    """
    async with write_transaction():
        staff = await scope.get(Staff, staff_id)
        await lock_parent_row(scope, Staff, staff["id"])
        _validate_intervals(breaks, "breaks")
        hours = await weekly_hours(scope, staff["id"])
        errors = {
            f"breaks[{index}]": (
                f"{describe(item)} is outside the working hours: set hours for "
                "that time first or move the break inside them"
            )
            for index, item in enumerate(breaks)
            if not covered(item, hours)
        }
        if errors:
            raise ValidationFailed(errors)
        before = await weekly_breaks(scope, staff["id"])
        await scope.delete(StaffBreak).where(StaffBreak.staff_id == staff["id"])
        rows = [
            StaffBreak(
                staff_id=staff["id"],
                weekday=item.weekday,
                start_minute=item.start_minute,
                end_minute=item.end_minute,
                label=item.label,
            )
            for item in breaks
        ]
        if rows:
            await scope.insert(*rows)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="staff.breaks_set",
            subject_type="staff",
            subject_id=staff["id"],
            before=[break_json(item) for item in before],
            after=[break_json(item) for item in breaks],
        )
        await record_event(scope, "staff.breaks_set", {"staff_id": str(staff["id"])})
    return sort_intervals(breaks)


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
