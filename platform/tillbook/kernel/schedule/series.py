"""Recurring series: class sessions and one client's appointments from one rule.

A ``Series`` row keeps the RFC 5545 rule, the first occurrence's local wall
time and the zone, so its occurrences can be expanded again at any time
(``recurrence``). Every row made from a series (a ``ClassSession`` or an
``Appointment``) carries ``series_id`` and ``occurrence_start``, the UTC
start the rule gave it, which identifies the occurrence even after the row
is moved.

Changes take a scope:

- ``one`` changes or cancels the single row; cancelling also adds the
  occurrence to the series' exceptions (EXDATE);
- ``following`` splits the series: the old rule gets an UNTIL just before the
  occurrence, and a new series with ``parent_id`` starts at it;
- ``all`` changes the series in place from the next occurrence that has not
  started; rows in the past are kept as they were.

Every operation runs in one write transaction. Occurrences that cannot be
placed (the instructor, room or provider is busy, or the time is outside
working hours) are listed under ``skipped`` and left out, unless the caller
asks for ``all_or_nothing``: then the first conflict rejects the request.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import (
    Conflict,
    NotFound,
    SlotUnavailable,
    ValidationFailed,
    invalid,
)
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.schedule import recurrence
from tillbook.kernel.schedule.booking import PlannedBooking, parse_instant
from tillbook.kernel.schedule.class_roster import savepoint
from tillbook.kernel.schedule.class_views import parse_id, sessions_json
from tillbook.kernel.schedule.classes import (
    cancel_session,
    class_service,
    clean_note,
    insert_session,
    instructor,
    session_values,
)
from tillbook.kernel.schedule.recurrence import Occurrence
from tillbook.kernel.schedule.series_appointments import (
    cancel_appointments,
    plan_occurrences,
    store_occurrence,
)
from tillbook.kernel.schedule.tables import (
    Appointment,
    ClassSession,
    Location,
    Series,
)
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

KINDS = ("class", "appointment")
SCOPES = ("one", "following", "all")
COMMON_FIELDS = frozenset(
    {
        "kind",
        "rule",
        "start_local",
        "time_zone",
        "service_id",
        "staff_id",
        "location_id",
        "exdates",
        "note",
        "all_or_nothing",
    }
)
CLASS_FIELDS = COMMON_FIELDS | {"resource_id", "capacity", "duration_minutes"}
APPOINTMENT_FIELDS = COMMON_FIELDS | {"client_id"}
# Fields a ``following`` or ``all`` edit may change.
SERIES_EDIT_FIELDS = frozenset(
    {
        "rule",
        "start_local",
        "staff_id",
        "location_id",
        "resource_id",
        "capacity",
        "duration_minutes",
        "note",
        "all_or_nothing",
    }
)
# Fields an edit of one class session may change (see classes.update_session).
ONE_CLASS_FIELDS = frozenset(
    {"start", "end", "staff_id", "resource_id", "location_id", "capacity", "note"}
)


# -- reading ----------------------------------------------------------------------


def series_json(row: dict[str, Any]) -> dict[str, Any]:
    """Return a series row as JSON; ``exdates`` becomes a list of wall times."""

    def text(value: uuid.UUID | None) -> str | None:
        return str(value) if value is not None else None

    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "rule": row["rule"],
        "start_local": row["start_local"],
        "time_zone": row["time_zone"],
        "duration_minutes": row["duration_minutes"],
        "service_id": str(row["service_id"]),
        "staff_id": str(row["staff_id"]),
        "client_id": text(row["client_id"]),
        "location_id": text(row["location_id"]),
        "resource_id": text(row["resource_id"]),
        "capacity": row["capacity"],
        "exdates": exdate_list(row["exdates"]),
        "parent_id": text(row["parent_id"]),
        "active": row["active"],
    }


def exdate_list(text: str) -> list[str]:
    return [item for item in text.split(",") if item]


async def get_series(scope: TenantScope, series_id: uuid.UUID | str) -> dict[str, Any]:
    """Return a series with its rows (``sessions`` or ``appointments``) by start."""
    row = await series_row(scope, series_id)
    result = series_json(row)
    if row["kind"] == "class":
        sessions = (
            await scope.select(ClassSession)
            .where(ClassSession.series_id == row["id"])
            .order_by(ClassSession.start_at)
        )
        result["sessions"] = await sessions_json(scope, sessions)
    else:
        appointments = (
            await scope.select(
                Appointment,
                Appointment.id,
                Appointment.start_at,
                Appointment.status,
                Appointment.occurrence_start,
            )
            .where(Appointment.series_id == row["id"])
            .order_by(Appointment.start_at)
        )
        result["appointments"] = [
            {
                "id": str(item["id"]),
                "start": item["start_at"].isoformat(),
                "status": item["status"],
                "occurrence_start": _iso(item["occurrence_start"]),
            }
            for item in appointments
        ]
    return result


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def series_row(scope: TenantScope, series_id: uuid.UUID | str) -> dict[str, Any]:
    try:
        key = (
            series_id if isinstance(series_id, uuid.UUID) else uuid.UUID(str(series_id))
        )
    except ValueError:
        raise NotFound("series", str(series_id)) from None
    return await scope.get(Series, key)


# -- the rule and its occurrences ---------------------------------------------------


async def _zone(scope: TenantScope, data: Mapping[str, Any]) -> ZoneInfo:
    """Return the series zone: given, else the location's, else the tenant's."""
    if data.get("time_zone") not in (None, ""):
        return recurrence.parse_zone(data.get("time_zone"))
    location = data.get("location_id")
    if location not in (None, ""):
        key = parse_id(location, "location_id", "location")
        row = (
            await scope.select(Location, Location.time_zone)
            .where(Location.id == key)
            .first()
        )
        if row is None:
            raise invalid("location_id", f"unknown location {location}: choose one")
        if row["time_zone"]:
            return ZoneInfo(row["time_zone"])
    return scope.tenant.zone


def _parse_exdates(value: object) -> list[datetime]:
    if value in (None, "", []):
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise invalid("exdates", "must be a list of local wall times YYYY-MM-DDTHH:MM")
    return [recurrence.parse_local(item, "exdates") for item in items]


def expand_series(row: Mapping[str, Any], zone: ZoneInfo) -> list[Occurrence]:
    start_local = recurrence.parse_local(row["start_local"])
    rule = recurrence.parse_rule(row["rule"], start_local, zone)
    exdates = frozenset(
        recurrence.parse_local(item, "exdates") for item in exdate_list(row["exdates"])
    )
    try:
        return recurrence.expand(rule, start_local, zone, exdates=exdates)
    except ValidationFailed:
        # A series split or cancelled before its first occurrence has none.
        return []


def parse_flag(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise invalid(name, "must be true or false")
    return value


# -- creating ---------------------------------------------------------------------


async def create_series(
    scope: TenantScope,
    data: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
    hooks: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Create a series and its rows; return the series with ``created``,
    ``skipped`` and ``adjusted`` occurrences.

    ``data``: ``kind`` (``class`` or ``appointment``), ``rule`` (an RRULE
    such as ``FREQ=WEEKLY;BYDAY=TU;COUNT=12``), ``start_local`` (the first
    occurrence's wall time, ``YYYY-MM-DDTHH:MM``), ``time_zone`` (default:
    the location's or the tenant's), ``service_id``, ``staff_id``,
    ``location_id``, ``exdates`` (wall times to leave out), ``note`` and
    ``all_or_nothing``. Classes also take ``resource_id``, ``capacity`` and
    ``duration_minutes``; appointments take ``client_id``.

    ``adjusted`` lists the occurrences whose wall time did not exist (the
    clocks went forward) and so start at the change instead. Raises
    ValidationFailed naming the field (an unknown zone, a rule that does not
    parse, yields nothing, runs past two years or 500 occurrences), and
    SlotUnavailable (or ValidationFailed on ``start``) for the first conflict
    when ``all_or_nothing`` is set. Raises Conflict, listing ``skipped``, when
    no occurrence at all can be placed; nothing is stored then.
    """
    now = now or utcnow()
    kind = data.get("kind")
    if kind not in KINDS:
        raise invalid(
            "kind", f"{kind!r} is not a series kind: use class or appointment"
        )
    allowed = CLASS_FIELDS if kind == "class" else APPOINTMENT_FIELDS
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise invalid(
            unknown[0],
            f"is not a field of {kind} series: use {', '.join(sorted(allowed))}",
        )
    zone = await _zone(scope, data)
    start_local = recurrence.parse_local(data.get("start_local"))
    exdates = _parse_exdates(data.get("exdates"))
    rule_text = str(data.get("rule") or "").strip()
    rule = recurrence.parse_rule(data.get("rule"), start_local, zone)
    occurrences = await recurrence.expand_with_deadline(
        rule, start_local, zone, exdates=frozenset(exdates)
    )
    if occurrences[0].start < now:
        raise invalid("start_local", "is in the past: start the series later")
    strict = parse_flag(data, "all_or_nothing")

    if kind == "class":
        service = await class_service(scope, data.get("service_id"))
        template = await _class_template(scope, service, data, occurrences[0].start)
        client_id = None
    else:
        service = await _appointment_service(scope, data.get("service_id"))
        client_id = await _client(scope, data.get("client_id"))
        location = data.get("location_id")
        template = {
            "staff_id": await instructor(scope, data.get("staff_id")),
            "location_id": (
                parse_id(location, "location_id", "location") if location else None
            ),
            "resource_id": None,
            "capacity": None,
            "duration": timedelta(minutes=service["duration_minutes"]),
            "note": clean_note(data.get("note")),
        }
    series = Series(
        kind=kind,
        rule=rule_text,
        start_local=recurrence.format_local(start_local),
        time_zone=zone.key,
        duration_minutes=int(template["duration"].total_seconds() // 60),
        service_id=service["id"],
        staff_id=template["staff_id"],
        client_id=client_id,
        location_id=template["location_id"],
        resource_id=template["resource_id"],
        capacity=template["capacity"],
        exdates=",".join(recurrence.format_local(item) for item in exdates),
        created_at=utcnow(),
    )
    plans: dict[datetime, PlannedBooking] = {}
    unplanned: list[dict[str, Any]] = []
    if kind == "appointment":
        # Planning reads outside the transaction; see series_appointments.
        plans, unplanned = await plan_occurrences(
            scope, series.to_dict(), occurrences, strict=strict, hooks=hooks, now=now
        )
    async with write_transaction():
        await scope.insert(series)
        row = series.to_dict()
        if kind == "class":
            make = session_maker(scope, row, template)
            placeable = occurrences
        else:
            make = appointment_maker(
                scope, row, plans, note=template["note"], actor_id=actor_id, hooks=hooks
            )
            placeable = [item for item in occurrences if item.start in plans]
        created, skipped = await place_occurrences(
            scope, row, placeable, make, strict=strict
        )
        if not created:
            # Nothing to keep: the exception rolls the series row back too.
            raise Conflict(
                "none of the occurrences can be booked: see skipped for why",
                skipped=[*unplanned, *skipped],
            )
        result = _outcome(row, zone, occurrences, created, [*unplanned, *skipped])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="series.created",
            subject_type="series",
            subject_id=row["id"],
            after=result["series"],
        )
        await record_event(scope, "series.created", _event(result))
    logger.info(
        "created %s series %s for tenant %s: %d placed, %d skipped",
        kind,
        row["id"],
        scope.tenant_id,
        len(created),
        len(skipped),
    )
    return result


async def _class_template(
    scope: TenantScope,
    service: dict[str, Any],
    data: Mapping[str, Any],
    first_start: datetime,
) -> dict[str, Any]:
    """Validate the fields every session of a class series shares."""
    minutes = data.get("duration_minutes")
    duration = timedelta(minutes=service["duration_minutes"])
    if minutes not in (None, ""):
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int)
            or not (5 <= minutes <= 720)
        ):
            raise invalid("duration_minutes", "must be a whole number from 5 to 720")
        duration = timedelta(minutes=minutes)
    fields = {
        key: data.get(key)
        for key in ("staff_id", "location_id", "resource_id", "capacity", "note")
    }
    fields["end"] = first_start + duration
    values = await session_values(scope, service, fields, first_start)
    return {
        "staff_id": values["staff_id"],
        "location_id": values["location_id"],
        "resource_id": values["resource_id"],
        "capacity": values["capacity"],
        "duration": duration,
        "note": values["note"],
        "service_id": service["id"],
    }


async def _appointment_service(scope: TenantScope, value: object) -> dict[str, Any]:
    if value in (None, ""):
        raise invalid("service_id", "is required: choose a service")
    key = parse_id(value, "service_id", "service")
    row = await scope.select(Service).where(Service.id == key).first()
    if row is None or not row["active"]:
        raise invalid("service_id", f"unknown service {value}: choose one")
    if row["kind"] == "class":
        raise invalid("service_id", f"{row['name']} is a class: make a class series")
    return row  # type: ignore[no-any-return]


async def _client(scope: TenantScope, value: object) -> uuid.UUID:
    if value in (None, ""):
        raise invalid(
            "client_id", "is required: a recurring appointment is for one client"
        )
    key = parse_id(value, "client_id", "client")
    row = await scope.select(Client, Client.id).where(Client.id == key).first()
    if row is None:
        raise invalid("client_id", f"unknown client {value}: search again or add one")
    return key


async def place_occurrences(
    scope: TenantScope,
    series: dict[str, Any],
    occurrences: Iterable[Occurrence],
    make: Callable[[Occurrence], Awaitable[dict[str, Any]]],
    *,
    strict: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Create the row of each occurrence with ``make``; return (created, skipped).

    Call inside ``write_transaction()``. Each row is made under its own
    savepoint, so a conflict undoes only that occurrence. With ``strict``
    the conflict is raised instead, which rolls the whole request back.
    """
    created: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    zone = ZoneInfo(series["time_zone"])
    for occurrence in occurrences:
        try:
            async with savepoint():
                created.append(await make(occurrence))
        except (SlotUnavailable, ValidationFailed) as exc:
            if strict:
                raise
            skipped.append({**occurrence.to_json(zone), "reason": exc.message})
    return created, skipped


def session_maker(
    scope: TenantScope, series: dict[str, Any], template: Mapping[str, Any]
) -> Callable[[Occurrence], Awaitable[dict[str, Any]]]:
    """Return a function that inserts the class session of one occurrence."""

    async def make(occurrence: Occurrence) -> dict[str, Any]:
        values = {
            "service_id": series["service_id"],
            "staff_id": template["staff_id"],
            "location_id": template["location_id"],
            "resource_id": template["resource_id"],
            "capacity": template["capacity"],
            "start_at": occurrence.start,
            "end_at": occurrence.start + template["duration"],
            "note": template["note"],
        }
        row = await insert_session(
            scope, values, series_id=series["id"], occurrence_start=occurrence.start
        )
        return {"id": str(row["id"]), "start": occurrence.start.isoformat()}

    return make


def appointment_maker(
    scope: TenantScope,
    series: dict[str, Any],
    plans: Mapping[datetime, PlannedBooking],
    *,
    note: str,
    actor_id: uuid.UUID | None,
    hooks: Any,
) -> Callable[[Occurrence], Awaitable[dict[str, Any]]]:
    """Return a function that stores the planned appointment of one occurrence."""

    async def make(occurrence: Occurrence) -> dict[str, Any]:
        return await store_occurrence(
            scope,
            series,
            plans[occurrence.start],
            occurrence,
            note=note,
            actor_id=actor_id,
            hooks=hooks,
        )

    return make


def _outcome(
    series: dict[str, Any],
    zone: ZoneInfo,
    occurrences: list[Occurrence],
    created: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "series": series_json(series),
        "created": created,
        "skipped": skipped,
        "adjusted": [item.to_json(zone) for item in occurrences if item.adjusted],
    }


def _event(result: dict[str, Any]) -> dict[str, Any]:
    series = result["series"]
    return {
        "series_id": series["id"],
        "kind": series["kind"],
        "service_id": series["service_id"],
        "staff_id": series["staff_id"],
        "created": len(result["created"]),
        "skipped": len(result["skipped"]),
    }


# -- finding the rows of a series ------------------------------------------------------


async def future_rows(
    scope: TenantScope, series: dict[str, Any], first: datetime | None, now: datetime
) -> list[dict[str, Any]]:
    """Return the live rows of a series whose occurrence is at or after ``first``
    (every one when None) and that have not started."""
    if series["kind"] == "class":
        query = (
            scope.select(ClassSession)
            .where(ClassSession.series_id == series["id"])
            .where(ClassSession.status == "scheduled")
            .where(ClassSession.start_at > now)
        )
        if first is not None:
            query = query.where(ClassSession.occurrence_start >= first)
        return await query.order_by(ClassSession.start_at)  # type: ignore[no-any-return]
    query = (
        scope.select(Appointment)
        .where(Appointment.series_id == series["id"])
        .where(Appointment.status == "booked")
        .where(Appointment.start_at > now)
    )
    if first is not None:
        query = query.where(Appointment.occurrence_start >= first)
    return await query.order_by(Appointment.start_at)  # type: ignore[no-any-return]


async def row_at(
    scope: TenantScope, series: dict[str, Any], occurrence_start: datetime
) -> dict[str, Any]:
    table: Any = ClassSession if series["kind"] == "class" else Appointment
    row = (
        await scope.select(table)
        .where(table.series_id == series["id"])
        .where(table.occurrence_start == occurrence_start)
        .first()
    )
    if row is None:
        raise invalid(
            "occurrence_start",
            f"{occurrence_start.isoformat()} is not an occurrence of this series",
        )
    return row  # type: ignore[no-any-return]


def parse_scope(value: object) -> str:
    if value not in SCOPES:
        raise invalid("scope", f"{value!r} is not a scope: use one, following or all")
    return str(value)


# -- cancelling ------------------------------------------------------------------------


async def cancel_series(
    scope: TenantScope,
    series_id: uuid.UUID | str,
    *,
    change_scope: object,
    occurrence_start: object = None,
    reason: str = "",
    actor_id: uuid.UUID | None = None,
    hooks: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Cancel one occurrence, this and the following ones, or the whole series.

    ``occurrence_start`` (the UTC start the rule gave the occurrence) is
    required for ``one`` and ``following``. Rows that have already started
    are kept. Returns the series with ``cancelled``, the ids of the rows
    cancelled. Raises NotFound for an unknown series and ValidationFailed
    naming ``scope`` or ``occurrence_start``.
    """
    now = now or utcnow()
    chosen = parse_scope(change_scope)
    first_row = await series_row(scope, series_id)
    async with write_transaction():
        series = await scope.get(Series, first_row["id"])
        zone = ZoneInfo(series["time_zone"])
        if chosen == "all":
            rows = await future_rows(scope, series, None, now)
            await scope.update(Series, {Series.active: False}).where(
                Series.id == series["id"]
            )
        else:
            start = parse_instant(occurrence_start, "occurrence_start")
            target = await row_at(scope, series, start)
            local = occurrence_local(series, zone, start)
            if chosen == "one":
                rows = [target]
                exdates = [
                    *exdate_list(series["exdates"]),
                    recurrence.format_local(local),
                ]
                await scope.update(Series, {Series.exdates: ",".join(exdates)}).where(
                    Series.id == series["id"]
                )
            else:
                rows = await future_rows(scope, series, start, now)
                await scope.update(
                    Series,
                    {Series.rule: recurrence.rule_ending_before(series["rule"], local)},
                ).where(Series.id == series["id"])
        if series["kind"] == "class":
            cancelled = []
            for row in rows:
                await cancel_session(
                    scope, row["id"], reason=reason, actor_id=actor_id, hooks=hooks
                )
                cancelled.append(str(row["id"]))
        else:
            cancelled = await cancel_appointments(
                scope, rows, reason=reason, actor_id=actor_id, hooks=hooks
            )
        await record_audit(
            scope,
            actor_id=actor_id,
            action="series.cancelled",
            subject_type="series",
            subject_id=series["id"],
            before=series_json(series),
            after={"scope": chosen, "cancelled": cancelled},
        )
        await record_event(
            scope,
            "series.cancelled",
            {
                "series_id": str(series["id"]),
                "scope": chosen,
                "cancelled": len(cancelled),
            },
        )
    result = await get_series(scope, series["id"])
    return {"series": result, "cancelled": cancelled}


def occurrence_local(
    series: dict[str, Any], zone: ZoneInfo, start: datetime
) -> datetime:
    """Return the rule's wall time for the occurrence that starts at ``start``."""
    for occurrence in expand_series(series, zone):
        if occurrence.start == start:
            return occurrence.local
    # The occurrence may already be an exception; its wall time is then the
    # instant read in the zone.
    return start.astimezone(zone).replace(tzinfo=None)
