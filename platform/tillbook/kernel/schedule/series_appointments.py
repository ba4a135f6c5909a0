"""The appointments of a recurring series, booked through the booking kernel.

Each occurrence is checked with ``booking.plan_booking``, inside a
transaction or outside it, where slot search runs its reads at once on
PostgreSQL. It is stored with ``booking.store_appointment`` inside the
caller's transaction, so the appointment, its holds and its link to the
series commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tillbook.errors import SlotUnavailable, ValidationFailed
from tillbook.kernel.schedule.booking import (
    PlannedBooking,
    plan_booking,
    store_appointment,
)
from tillbook.kernel.schedule.recurrence import Occurrence
from tillbook.kernel.schedule.tables import Appointment
from tillbook.tenancy.scope import TenantScope


async def plan_occurrences(
    scope: TenantScope,
    series: dict[str, Any],
    occurrences: Iterable[Occurrence],
    *,
    strict: bool,
    hooks: Any,
    now: datetime,
) -> tuple[dict[datetime, PlannedBooking], list[dict[str, Any]]]:
    """Check every occurrence with the booking rules; return the plans by
    start and the skipped occurrences with their reasons.

    With ``strict`` the first occurrence that cannot be booked raises its
    SlotUnavailable or ValidationFailed instead of being skipped.
    """
    zone = ZoneInfo(series["time_zone"])
    plans: dict[datetime, PlannedBooking] = {}
    skipped: list[dict[str, Any]] = []
    for occurrence in occurrences:
        try:
            plans[occurrence.start] = await plan_booking(
                scope,
                service_id=series["service_id"],
                staff_id=series["staff_id"],
                start=occurrence.start,
                location_id=series["location_id"],
                source="staff",
                hooks=hooks,
                now=now,
            )
        except (SlotUnavailable, ValidationFailed) as exc:
            if strict:
                raise
            skipped.append({**occurrence.to_json(zone), "reason": exc.message})
    return plans, skipped


async def store_occurrence(
    scope: TenantScope,
    series: dict[str, Any],
    plan: PlannedBooking,
    occurrence: Occurrence,
    *,
    note: str,
    actor_id: uuid.UUID | None,
    hooks: Any,
) -> dict[str, Any]:
    """Store one planned occurrence for the series' client; return its id and start.

    Call inside ``write_transaction()``. Raises SlotUnavailable when the
    provider or a resource was taken after planning.
    """
    booked = await store_appointment(
        scope,
        plan,
        staff_id=plan.candidates[0],
        start=plan.start,
        client_id=series["client_id"],
        note=note,
        actor_id=actor_id,
        hooks=hooks,
    )
    await scope.update(
        Appointment,
        {
            Appointment.series_id: series["id"],
            Appointment.occurrence_start: occurrence.start,
        },
    ).where(Appointment.id == uuid.UUID(str(booked["id"])))
    return {"id": str(booked["id"]), "start": occurrence.start.isoformat()}


async def move_one(
    scope: TenantScope,
    row: dict[str, Any],
    changes: dict[str, Any],
    *,
    actor_id: uuid.UUID | None,
    hooks: Any,
) -> dict[str, Any]:
    """Reschedule one appointment of a series to ``start`` and/or ``staff_id``.

    The appointment row is moved, so it keeps ``series_id`` and
    ``occurrence_start``. Raises as ``reschedule_appointment`` does.
    """
    from tillbook.kernel.schedule.reschedule import reschedule_appointment

    moved = await reschedule_appointment(
        scope,
        row["id"],
        start=changes.get("start", row["start_at"]),
        staff_id=changes.get("staff_id"),
        actor=actor_id,
        hooks=hooks,
    )
    moved.pop("cancel_token", None)
    return {
        **moved,
        "series_id": str(row["series_id"]),
        "occurrence_start": row["occurrence_start"].isoformat(),
    }


async def cancel_appointments(
    scope: TenantScope,
    rows: Iterable[dict[str, Any]],
    *,
    reason: str,
    actor_id: uuid.UUID | None,
    hooks: Any,
) -> list[str]:
    """Cancel booked appointments of a series; return their ids.

    The tenant's cancellation policy applies to each, as for any staff
    cancellation.
    """
    from tillbook.kernel.schedule.changes import cancel_appointment

    cancelled = []
    for row in rows:
        if row["status"] != "booked":
            continue
        await cancel_appointment(
            scope, row["id"], actor_id=actor_id, reason=reason, hooks=hooks
        )
        cancelled.append(str(row["id"]))
    return cancelled
