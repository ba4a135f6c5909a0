"""Editing a recurring series: one occurrence, this and following, or all.

See ``series`` for what the three scopes mean. Class series are edited in
one write transaction. A session whose local date the new rule still
produces moves to its new time with its roster. A session the rule no
longer produces is cancelled, and its clients are emailed. New dates get
new sessions. Appointment series are edited in one write transaction too:
the old future appointments are cancelled and the new occurrences booked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.schedule import recurrence
from tillbook.kernel.schedule.booking import parse_instant
from tillbook.kernel.schedule.class_views import parse_id
from tillbook.kernel.schedule.classes import (
    cancel_session,
    clean_note,
    parse_capacity,
    session_values,
    update_session,
)
from tillbook.kernel.schedule.recurrence import Occurrence
from tillbook.kernel.schedule.series import (
    ONE_CLASS_FIELDS,
    SERIES_EDIT_FIELDS,
    appointment_maker,
    exdate_list,
    expand_series,
    future_rows,
    occurrence_local,
    parse_flag,
    parse_scope,
    place_occurrences,
    row_at,
    series_json,
    series_row,
    session_maker,
)
from tillbook.kernel.schedule.series_appointments import (
    cancel_appointments,
    move_one,
    plan_occurrences,
)
from tillbook.kernel.schedule.tables import ClassSession, Series
from tillbook.tenancy.scope import TenantScope


async def edit_series(
    scope: TenantScope,
    series_id: uuid.UUID | str,
    changes: Mapping[str, Any],
    *,
    change_scope: object,
    occurrence_start: object = None,
    actor_id: uuid.UUID | None = None,
    hooks: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Edit one occurrence, this and the following ones, or the whole series.

    ``one`` (class series) changes one session as ``update_session`` does
    (``start``, ``end``, ``staff_id``, ``resource_id``, ``location_id``,
    ``capacity``, ``note``); the session keeps ``series_id`` and
    ``occurrence_start``. ``following`` and ``all`` take ``rule``,
    ``start_local``, ``staff_id``, ``location_id``, ``resource_id``,
    ``capacity``, ``duration_minutes`` and ``note``.

    For classes, an existing session whose local date the new rule still
    produces is moved to the new time with its roster kept. A session the
    rule no longer produces is cancelled and its clients are emailed. New
    dates get new sessions. For appointments the old future appointments are
    cancelled and the new occurrences booked. Returns the series, the
    ``created``, ``moved``, ``cancelled`` and ``skipped`` occurrences, and
    any ``adjusted`` for the clocks going forward.
    """
    now = now or utcnow()
    chosen = parse_scope(change_scope)
    first_row = await series_row(scope, series_id)
    if chosen == "one":
        return await _edit_one(
            scope, first_row, changes, occurrence_start, actor_id=actor_id, hooks=hooks
        )
    unknown = sorted(set(changes) - SERIES_EDIT_FIELDS)
    if unknown:
        raise invalid(unknown[0], "is not a field a series edit can change")
    strict = parse_flag(changes, "all_or_nothing")
    if first_row["kind"] == "appointment":
        return await _edit_appointments(
            scope,
            first_row,
            changes,
            chosen,
            occurrence_start,
            strict=strict,
            actor_id=actor_id,
            hooks=hooks,
            now=now,
        )
    async with write_transaction():
        old = await scope.get(Series, first_row["id"])
        zone = ZoneInfo(old["time_zone"])
        target, rows = await _retarget(
            scope, old, zone, chosen, occurrence_start, changes, now
        )
        occurrences = [item for item in expand_series(target, zone) if item.start > now]
        template = await _template_of(scope, target, changes)
        outcome = await _apply(
            scope,
            target,
            template,
            occurrences,
            rows,
            strict=strict,
            actor_id=actor_id,
            hooks=hooks,
        )
        result = {
            "series": series_json(target),
            **outcome,
            "adjusted": [item.to_json(zone) for item in occurrences if item.adjusted],
        }
        await record_audit(
            scope,
            actor_id=actor_id,
            action="series.edited",
            subject_type="series",
            subject_id=old["id"],
            before=series_json(old),
            after={"scope": chosen, **result["series"]},
        )
        await record_event(
            scope,
            "series.edited",
            {
                "series_id": str(old["id"]),
                "scope": chosen,
                "new_series_id": result["series"]["id"],
            },
        )
    return result


async def _edit_one(
    scope: TenantScope,
    series: dict[str, Any],
    changes: Mapping[str, Any],
    occurrence_start: object,
    *,
    actor_id: uuid.UUID | None,
    hooks: Any,
) -> dict[str, Any]:
    start = parse_instant(occurrence_start, "occurrence_start")
    row = await row_at(scope, series, start)
    if series["kind"] != "class":
        unknown = sorted(set(changes) - {"start", "staff_id"})
        if unknown:
            raise invalid(unknown[0], "is not a field of one appointment")
        moved = await move_one(
            scope, row, dict(changes), actor_id=actor_id, hooks=hooks
        )
        return {"series": series_json(series), "appointment": moved}
    unknown = sorted(set(changes) - ONE_CLASS_FIELDS)
    if unknown:
        raise invalid(unknown[0], "is not a field of one session")
    session = await update_session(
        scope, row["id"], changes, actor_id=actor_id, hooks=hooks
    )
    return {"series": series_json(series), "session": session}


async def _split(
    scope: TenantScope,
    old: dict[str, Any],
    zone: ZoneInfo,
    local: datetime,
    start: datetime,
    changes: Mapping[str, Any],
    now: datetime,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """End ``old`` before the occurrence and insert its successor; return the
    new series and the old rows it takes over."""
    rows = await future_rows(scope, old, start, now)

    # A COUNT rule keeps its total: the successor gets what is left of it.
    old_start = recurrence.parse_local(old["start_local"])
    rule_text = old["rule"]
    if "rule" not in changes and recurrence.rule_has_count(rule_text):
        rule = recurrence.parse_rule(rule_text, old_start, zone)
        done = recurrence.occurrences_before(rule, local)
        remaining = max(rule.count() - done, 1)
        rule_text = recurrence.rule_with_count(rule_text, remaining)

    await scope.update(
        Series, {Series.rule: recurrence.rule_ending_before(old["rule"], local)}
    ).where(Series.id == old["id"])

    later_exdates = [
        item
        for item in exdate_list(old["exdates"])
        if recurrence.parse_local(item, "exdates") >= local
    ]
    values = await _series_changes(scope, old, changes, zone, default_start=local)
    successor = Series(
        **{
            **{name: old[name] for name in _COPIED},
            "rule": rule_text,
            "start_local": recurrence.format_local(local),
            "exdates": ",".join(later_exdates),
            **values,
        },
        parent_id=old["id"],
        active=True,
        created_at=utcnow(),
    )
    await scope.insert(successor)
    return successor.to_dict(), rows


_COPIED = (
    "kind",
    "time_zone",
    "duration_minutes",
    "service_id",
    "staff_id",
    "client_id",
    "location_id",
    "resource_id",
    "capacity",
)


async def _rewrite(
    scope: TenantScope, series: dict[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    zone = ZoneInfo(series["time_zone"])
    values = await _series_changes(scope, series, changes, zone)
    if values:
        columns = {getattr(Series, name): value for name, value in values.items()}
        await scope.update(Series, columns).where(Series.id == series["id"])
    return {**series, **values}


async def _series_changes(
    scope: TenantScope,
    series: dict[str, Any],
    changes: Mapping[str, Any],
    zone: ZoneInfo,
    *,
    default_start: datetime | None = None,
) -> dict[str, Any]:
    """Validate a series edit and return the changed column values.

    ``default_start`` is the wall time the edited rule starts from when the
    edit gives no ``start_local`` (the split occurrence for ``following``).
    """
    values: dict[str, Any] = {}
    if "start_local" in changes:
        values["start_local"] = recurrence.format_local(
            recurrence.parse_local(changes["start_local"])
        )
    if "rule" in changes:
        values["rule"] = str(changes["rule"] or "").strip()
    start_local = recurrence.parse_local(
        values.get("start_local", default_start or series["start_local"])
    )
    if "rule" in changes or "start_local" in changes:
        # Parse and expand now, so a bad rule is a 422 naming the field.
        await recurrence.expand_with_deadline(
            recurrence.parse_rule(
                values.get("rule", series["rule"]), start_local, zone
            ),
            start_local,
            zone,
        )
    if "staff_id" in changes:
        values["staff_id"] = parse_id(changes["staff_id"], "staff_id", "staff")
    if "location_id" in changes:
        values["location_id"] = (
            parse_id(changes["location_id"], "location_id", "location")
            if changes["location_id"] not in (None, "")
            else None
        )
    if "resource_id" in changes:
        values["resource_id"] = (
            parse_id(changes["resource_id"], "resource_id", "room")
            if changes["resource_id"] not in (None, "")
            else None
        )
    if "capacity" in changes and series["kind"] == "class":
        values["capacity"] = parse_capacity(changes["capacity"])
    if "duration_minutes" in changes:
        minutes = changes["duration_minutes"]
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int)
            or not (5 <= minutes <= 720)
        ):
            raise invalid("duration_minutes", "must be a whole number from 5 to 720")
        values["duration_minutes"] = minutes
    return values


async def _template_of(
    scope: TenantScope, series: dict[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    duration = timedelta(minutes=series["duration_minutes"])
    if series["kind"] != "class":
        return {
            "staff_id": series["staff_id"],
            "location_id": series["location_id"],
            "resource_id": None,
            "capacity": None,
            "duration": duration,
            "note": changes.get("note") or "",
        }
    service = await scope.get(Service, series["service_id"])
    fields = {
        "staff_id": series["staff_id"],
        "location_id": series["location_id"],
        "resource_id": series["resource_id"],
        "capacity": series["capacity"],
        "note": changes.get("note"),
    }
    start = utcnow() + timedelta(days=1)
    fields["end"] = start + duration
    values = await session_values(scope, service, fields, start)
    return {**values, "duration": duration}


async def _apply(
    scope: TenantScope,
    series: dict[str, Any],
    template: Mapping[str, Any],
    occurrences: list[Occurrence],
    rows: list[dict[str, Any]],
    *,
    strict: bool,
    actor_id: uuid.UUID | None,
    hooks: Any,
) -> dict[str, Any]:
    """Bring the future sessions in line with ``occurrences`` of ``series``.

    Sessions are matched to occurrences by local date, so a client's place
    follows its session to the new time.
    """
    zone = ZoneInfo(series["time_zone"])
    moved: list[str] = []
    cancelled: list[str] = []
    remaining = {item.local.date(): item for item in occurrences}
    for row in rows:
        day = (row["occurrence_start"] or row["start_at"]).astimezone(zone).date()
        occurrence = remaining.pop(day, None)
        if occurrence is None:
            await cancel_session(scope, row["id"], actor_id=actor_id, hooks=hooks)
            cancelled.append(str(row["id"]))
            continue
        await _move_session(scope, row, series, template, occurrence, actor_id, hooks)
        moved.append(str(row["id"]))
    fresh = sorted(remaining.values(), key=lambda item: item.start)
    created, skipped = await place_occurrences(
        scope, series, fresh, session_maker(scope, series, template), strict=strict
    )
    return {
        "created": created,
        "moved": moved,
        "cancelled": cancelled,
        "skipped": skipped,
    }


async def _retarget(
    scope: TenantScope,
    old: dict[str, Any],
    zone: ZoneInfo,
    chosen: str,
    occurrence_start: object,
    changes: Mapping[str, Any],
    now: datetime,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Split or rewrite the series; return the series the edit applies to and
    the future rows it takes over. Call inside ``write_transaction()``."""
    if chosen == "following":
        start = parse_instant(occurrence_start, "occurrence_start")
        await row_at(scope, old, start)
        local = occurrence_local(old, zone, start)
        return await _split(scope, old, zone, local, start, changes, now)
    target = await _rewrite(scope, old, changes)
    return target, await future_rows(scope, old, None, now)


async def _edit_appointments(
    scope: TenantScope,
    first_row: dict[str, Any],
    changes: Mapping[str, Any],
    chosen: str,
    occurrence_start: object,
    *,
    strict: bool,
    actor_id: uuid.UUID | None,
    hooks: Any,
    now: datetime,
) -> dict[str, Any]:
    """Edit the following or all appointments of a series in one transaction.

    The old future appointments are cancelled and the new occurrences
    booked. An occurrence that cannot be booked is skipped, unless
    ``strict``: then its SlotUnavailable or ValidationFailed rolls back the
    whole edit. Any other failure also rolls back everything, so the series
    and its appointments are either all edited or unchanged.
    """
    note = clean_note(changes.get("note"))
    async with write_transaction():
        old = await scope.get(Series, first_row["id"])
        zone = ZoneInfo(old["time_zone"])
        target, rows = await _retarget(
            scope, old, zone, chosen, occurrence_start, changes, now
        )
        cancelled = await cancel_appointments(
            scope, rows, reason="series changed", actor_id=actor_id, hooks=hooks
        )
        occurrences = [item for item in expand_series(target, zone) if item.start > now]
        # The search runs inside this transaction, so it reads the holds
        # after the cancellations above released the old appointments' holds.
        plans, unplanned = await plan_occurrences(
            scope, target, occurrences, strict=strict, hooks=hooks, now=now
        )
        created, skipped = await place_occurrences(
            scope,
            target,
            [item for item in occurrences if item.start in plans],
            appointment_maker(
                scope, target, plans, note=note, actor_id=actor_id, hooks=hooks
            ),
            strict=strict,
        )
        await record_audit(
            scope,
            actor_id=actor_id,
            action="series.edited",
            subject_type="series",
            subject_id=old["id"],
            before=series_json(old),
            after={"scope": chosen, **series_json(target)},
        )
        await record_event(
            scope,
            "series.edited",
            {
                "series_id": str(old["id"]),
                "scope": chosen,
                "new_series_id": str(target["id"]),
            },
        )
    return {
        "series": series_json(target),
        "created": created,
        "moved": [],
        "cancelled": cancelled,
        "skipped": [*unplanned, *skipped],
        "adjusted": [item.to_json(zone) for item in occurrences if item.adjusted],
    }


async def _move_session(
    scope: TenantScope,
    row: dict[str, Any],
    series: dict[str, Any],
    template: Mapping[str, Any],
    occurrence: Occurrence,
    actor_id: uuid.UUID | None,
    hooks: Any,
) -> None:
    changes: dict[str, Any] = {
        "start": occurrence.start,
        "end": occurrence.start + template["duration"],
        "staff_id": template["staff_id"],
        "resource_id": template["resource_id"],
        "location_id": template["location_id"],
        "capacity": template["capacity"],
    }
    if template.get("note"):
        changes["note"] = template["note"]
    await update_session(scope, row["id"], changes, actor_id=actor_id, hooks=hooks)
    await scope.update(
        ClassSession,
        {
            ClassSession.series_id: series["id"],
            ClassSession.occurrence_start: occurrence.start,
        },
    ).where(ClassSession.id == row["id"])
