"""Holds: the spans during which appointments and classes occupy people and units.

A live appointment occupies its provider from ``start - buffer_before`` to
``end + buffer_after``, except during its processing gap, which splits that
hold in two because the provider is free then. It also holds ``quantity``
distinct units of every resource its service needs (``ServiceResource``) for
the whole span, gap included, because the client still occupies the room.

Call these functions inside ``write_transaction()``. On SQLite that
transaction holds the write lock, so the overlap check below cannot race
another writer. On PostgreSQL the exclusion constraints
``hold_staff_no_overlap`` and ``hold_resource_no_overlap`` reject the second
of two racing inserts, and the rejection becomes ``SlotUnavailable``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from tillbook.db import is_postgres
from tillbook.errors import SlotUnavailable
from tillbook.kernel.schedule.tables import Hold, Resource, ServiceResource
from tillbook.tenancy.scope import TenantScope

__all__ = [
    "appointment_spans",
    "is_exclusion_violation",
    "linked_resources",
    "place_appointment_holds",
    "place_session_holds",
    "release_holds",
    "resources_at",
    "service_resources",
]

Span = tuple[datetime, datetime]


def appointment_spans(
    start: datetime,
    end: datetime,
    *,
    buffer_before_minutes: int = 0,
    buffer_after_minutes: int = 0,
    processing_after_minutes: int | None = None,
    processing_minutes: int = 0,
) -> tuple[list[Span], Span]:
    """Return the provider's busy spans and the whole span of an appointment.

    The whole span runs from ``start - buffer_before`` to ``end + buffer_after``
    and is what the client and resources occupy. The provider spans are the
    whole span minus the processing gap (``start + processing_after`` for
    ``processing_minutes``), clipped to the whole span.
    """
    first = start - timedelta(minutes=buffer_before_minutes or 0)
    last = end + timedelta(minutes=buffer_after_minutes or 0)
    if processing_after_minutes is None or not processing_minutes:
        return [(first, last)], (first, last)
    gap_start = max(start + timedelta(minutes=processing_after_minutes), first)
    gap_end = min(gap_start + timedelta(minutes=processing_minutes), last)
    spans = [(a, b) for a, b in ((first, gap_start), (gap_end, last)) if a < b]
    return spans, (first, last)


async def place_appointment_holds(
    scope: TenantScope, appointment: dict[str, Any]
) -> None:
    """Insert the live holds of an appointment row (a dict as piccolo returns it).

    Reads ``id``, ``staff_id``, ``service_id``, ``start_at``, ``end_at`` and the
    timing columns (``buffer_before_minutes``, ``buffer_after_minutes``,
    ``processing_after_minutes``, ``processing_minutes``; missing means none).
    Raises SlotUnavailable when the provider already has a live hold in one
    of the spans, when a required resource has too few free units, or when
    PostgreSQL's exclusion constraint rejects the insert.
    """
    staff_id = _as_uuid(appointment["staff_id"])
    start, end = appointment["start_at"], appointment["end_at"]
    provider_spans, whole = appointment_spans(
        start,
        end,
        buffer_before_minutes=appointment.get("buffer_before_minutes") or 0,
        buffer_after_minutes=appointment.get("buffer_after_minutes") or 0,
        processing_after_minutes=appointment.get("processing_after_minutes"),
        processing_minutes=appointment.get("processing_minutes") or 0,
    )
    appointment_id = _as_uuid(appointment["id"])
    needs = await service_resources(
        scope, appointment["service_id"], appointment.get("location_id")
    )
    await _lock_resources(scope, [need[0] for need in needs])
    for span_start, span_end in provider_spans:
        if await _staff_busy(scope, staff_id, span_start, span_end):
            raise SlotUnavailable(str(staff_id), start.isoformat())
    holds = [
        Hold(
            appointment_id=appointment_id,
            staff_id=staff_id,
            start_at=span_start,
            end_at=span_end,
        )
        for span_start, span_end in provider_spans
    ]
    for resource_id, quantity, units in needs:
        chosen = await _free_units(scope, resource_id, units, quantity, whole)
        if chosen is None:
            raise SlotUnavailable(str(staff_id), start.isoformat())
        holds.extend(
            Hold(
                appointment_id=appointment_id,
                resource_id=resource_id,
                unit=unit,
                start_at=whole[0],
                end_at=whole[1],
            )
            for unit in chosen
        )
    await _insert(scope, holds, str(staff_id), start)


async def place_session_holds(scope: TenantScope, session: dict[str, Any]) -> None:
    """Insert the live holds of a class session: its instructor and its room.

    The room (``resource_id``, if any) is held as one unit for the session
    span. Raises SlotUnavailable as ``place_appointment_holds`` does.
    """
    staff_id = _as_uuid(session["staff_id"])
    start, end = session["start_at"], session["end_at"]
    session_id = _as_uuid(session["id"])
    if await _staff_busy(scope, staff_id, start, end):
        raise SlotUnavailable(str(staff_id), start.isoformat())
    holds = [Hold(session_id=session_id, staff_id=staff_id, start_at=start, end_at=end)]
    if session.get("resource_id"):
        resource_id = _as_uuid(session["resource_id"])
        await _lock_resources(scope, [resource_id])
        units = await _unit_count(scope, resource_id)
        chosen = await _free_units(scope, resource_id, units, 1, (start, end))
        if chosen is None:
            raise SlotUnavailable(str(staff_id), start.isoformat())
        holds.append(
            Hold(
                session_id=session_id,
                resource_id=resource_id,
                unit=chosen[0],
                start_at=start,
                end_at=end,
            )
        )
    await _insert(scope, holds, str(staff_id), start)


async def release_holds(
    scope: TenantScope,
    *,
    appointment_id: uuid.UUID | str | None = None,
    session_id: uuid.UUID | str | None = None,
) -> None:
    """Mark the live holds of an appointment or a session as no longer live.

    Raises ValueError unless exactly one of the two ids is given.
    """
    if (appointment_id is None) == (session_id is None):
        raise ValueError("pass exactly one of appointment_id and session_id")
    query = scope.update(Hold, {Hold.live: False}).where(Hold.live == True)  # noqa: E712
    if appointment_id is not None:
        query = query.where(Hold.appointment_id == _as_uuid(appointment_id))
    else:
        query = query.where(Hold.session_id == _as_uuid(session_id))  # type: ignore[arg-type]
    await query


def is_exclusion_violation(exc: BaseException) -> bool:
    """Tell whether ``exc`` or an exception in its chain is PostgreSQL's
    exclusion violation (SQLSTATE 23P01), however a driver wrapped it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) == "23P01":
            return True
        if type(current).__name__ == "ExclusionViolationError":
            return True
        current = current.__cause__ or current.__context__
    return False


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def _insert(
    scope: TenantScope, holds: Sequence[Hold], staff_id: str, start: datetime
) -> None:
    try:
        await scope.insert(*holds)
    except Exception as exc:
        if is_exclusion_violation(exc):
            raise SlotUnavailable(staff_id, start.isoformat()) from exc
        raise


async def _lock_resources(scope: TenantScope, resource_ids: list[uuid.UUID]) -> None:
    """Lock resource rows until the transaction ends (PostgreSQL only).

    Two bookings that both see unit 0 free would otherwise both insert it,
    and the exclusion constraint would reject one although unit 1 was free.
    The lock makes the second wait and then see the first one's holds.
    Locks are taken in id order before any hold is inserted, so two
    bookings cannot wait on each other. SQLite needs no lock because its
    write transaction already excludes other writers.
    """
    if not resource_ids or not is_postgres():
        return
    await (
        scope.select(Resource, Resource.id)
        .where(Resource.id.is_in(sorted(resource_ids)))
        .order_by(Resource.id)
        .lock_rows()
    )


async def _staff_busy(
    scope: TenantScope, staff_id: uuid.UUID, start: datetime, end: datetime
) -> bool:
    row = (
        await scope.select(Hold, Hold.id)
        .where(Hold.staff_id == staff_id)
        .where(Hold.live == True)  # noqa: E712 - piccolo builds SQL from ==
        .where(Hold.start_at < end)
        .where(Hold.end_at > start)
        .first()
    )
    return row is not None


async def service_resources(
    scope: TenantScope,
    service_id: uuid.UUID | str,
    location_id: uuid.UUID | str | None = None,
) -> list[tuple[uuid.UUID, int, int]]:
    """Return (resource id, units needed, units owned) for each resource a
    service needs at a location; see ``resources_at``."""
    rows = await linked_resources(scope, service_id)
    return resources_at(rows, None if location_id is None else _as_uuid(location_id))


async def linked_resources(
    scope: TenantScope, service_id: uuid.UUID | str
) -> list[dict[str, Any]]:
    """Return the resources a service needs: ``resource_id``, ``needed``,
    ``units`` (0 for an inactive resource) and ``location_id``."""
    links = await scope.select(
        ServiceResource, ServiceResource.resource_id, ServiceResource.quantity
    ).where(ServiceResource.service_id == _as_uuid(service_id))
    if not links:
        return []
    owned = {
        row["id"]: row
        for row in await scope.select(
            Resource,
            Resource.id,
            Resource.quantity,
            Resource.active,
            Resource.location_id,
        ).where(Resource.id.is_in([link["resource_id"] for link in links]))
    }
    rows = []
    for link in links:
        resource = owned.get(link["resource_id"])
        rows.append(
            {
                "resource_id": link["resource_id"],
                "needed": max(link["quantity"], 1),
                "units": resource["quantity"] if resource and resource["active"] else 0,
                "location_id": resource["location_id"] if resource else None,
            }
        )
    return rows


def resources_at(
    rows: list[dict[str, Any]], location_id: uuid.UUID | None
) -> list[tuple[uuid.UUID, int, int]]:
    """Return (resource id, units needed, units owned) of the resources used
    at a location.

    A resource placed at another location is skipped, so a service linked to
    one room per location needs only the room where it takes place. With
    ``location_id`` None every linked resource counts.
    """
    return [
        (row["resource_id"], row["needed"], row["units"])
        for row in rows
        if location_id is None or row["location_id"] in (None, location_id)
    ]


async def _unit_count(scope: TenantScope, resource_id: uuid.UUID) -> int:
    row = (
        await scope.select(Resource, Resource.quantity, Resource.active)
        .where(Resource.id == resource_id)
        .first()
    )
    return row["quantity"] if row and row["active"] else 0


async def _free_units(
    scope: TenantScope, resource_id: uuid.UUID, units: int, needed: int, span: Span
) -> list[int] | None:
    """Return ``needed`` unit numbers of a resource free during ``span``, or None."""
    taken = (
        await scope.select(Hold, Hold.unit)
        .where(Hold.resource_id == resource_id)
        .where(
            Hold.live == True  # noqa: E712 - piccolo builds SQL from ==
        )
        .where(Hold.start_at < span[1])
        .where(Hold.end_at > span[0])
    )
    busy = _units(taken)
    free = [unit for unit in range(units) if unit not in busy]
    return free[:needed] if len(free) >= needed else None


def _units(rows: Iterable[dict[str, Any]]) -> set[int]:
    return {row["unit"] for row in rows}
