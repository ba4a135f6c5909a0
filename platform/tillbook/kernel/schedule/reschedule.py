"""Moving a booked appointment to a new start, and perhaps a new provider.

A move passes the checks of a new booking. The start must be on the
service's slot grid inside the provider's working hours, outside breaks,
time off and closures. It must respect the notice and advance window of the
source (``staff`` or ``online``) and pass the plugins'
``tillbook_validate_booking``. Then one write transaction releases the old
holds, updates the row and places the new holds. If the new time is taken,
``place_appointment_holds`` (or PostgreSQL's exclusion constraint) raises
SlotUnavailable, the transaction rolls back and nothing has changed.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, SlotUnavailable, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.schedule.change_steps import (
    actor_id_of,
    appointment_with_names,
    event_payload,
    lock_appointment,
    require_booked,
    send_notice,
)
from tillbook.kernel.schedule.holds import (
    is_exclusion_violation,
    place_appointment_holds,
    release_holds,
)
from tillbook.kernel.schedule.notices import describe_when, manage_link
from tillbook.kernel.schedule.policy import load_policy
from tillbook.kernel.schedule.reminders import plan_reminders
from tillbook.kernel.schedule.search import (
    ServiceSearch,
    load_search,
    parse_uuid,
    service_json,
)
from tillbook.kernel.schedule.tables import Appointment
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

SOURCES = ("staff", "online")
MIN_YEAR = 1900
MAX_YEAR = 2199
TIMING_COLUMNS = (
    "buffer_before_minutes",
    "buffer_after_minutes",
    "processing_after_minutes",
    "processing_minutes",
)


async def reschedule_appointment(
    scope: TenantScope,
    appointment_id: uuid.UUID | str,
    *,
    start: datetime | str,
    staff_id: uuid.UUID | str | None = None,
    actor: Actor | uuid.UUID | None,
    hooks: TenantHooks | None = None,
    source: str = "staff",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move a booked appointment to ``start``; return it as JSON.

    ``staff_id`` of ``None`` keeps the provider, ``"any"`` picks the free
    provider with the fewest booked minutes that day, and an id moves the
    appointment to that provider. The price stays as booked; with a new
    provider the duration and timing become that provider's. The move
    releases the old holds and places new ones in one transaction, re-plans
    the reminders, and appends history, audit, the ``appointment.moved``
    event and a change email to the client.

    Raises NotFound for an unknown appointment and ValidationFailed naming
    ``start``, ``staff_id``, ``source`` or a plugin's field. Raises Conflict
    unless the appointment is booked, and SlotUnavailable when the new time
    is taken. Nothing changes when it raises.
    """
    now = now or utcnow()
    if source not in SOURCES:
        raise invalid("source", f"{source!r} is not a source: use staff or online")
    row = await _booked_row(scope, appointment_id)
    start = _as_instant(start)
    any_provider = staff_id == "any"
    requested = row["staff_id"] if staff_id in (None, "") else staff_id
    if any_provider:
        requested = None
    else:
        requested = parse_uuid(requested, "staff_id", "provider")
    if start == row["start_at"] and requested == row["staff_id"]:
        raise invalid("start", "is the appointment's current time: choose another time")
    search, candidates = await _check_new_time(
        scope, row, start, requested, source=source, now=now, hooks=hooks
    )
    for index, chosen in enumerate(candidates):
        try:
            return await _move(
                scope,
                row["id"],
                start=start,
                staff_id=chosen,
                search=search,
                actor_id=actor_id_of(actor),
                source=source,
                hooks=hooks,
                now=now,
            )
        except SlotUnavailable:
            # With "any provider" the next free provider may still be open.
            if not any_provider or index == len(candidates) - 1:
                raise
    raise AssertionError("unreachable: candidates is never empty")


async def reschedule_by_token(
    scope: TenantScope,
    token: str,
    *,
    start: datetime | str,
    hooks: TenantHooks | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move the appointment of a client's link, as an online booking would.

    Clients may move an appointment online until the free-cancellation time
    of the tenant's policy, with the same provider. Raises NotFound for an
    unknown token, Conflict after that time, and the errors of
    ``reschedule_appointment``.
    """
    from tillbook.kernel.schedule.booking import appointment_by_token

    now = now or utcnow()
    found = await appointment_by_token(scope, token)
    row = await scope.get(Appointment, found["id"])
    require_booked(row, "moved")
    policy = await load_policy(scope)
    if policy.is_late_cancellation(row["start_at"], now):
        raise Conflict(
            f"online changes close {policy.free_cancel_hours} hours before the "
            "appointment: contact the business to move it"
        )
    return await reschedule_appointment(
        scope, row["id"], start=start, actor=None, hooks=hooks, source="online", now=now
    )


async def _booked_row(
    scope: TenantScope, appointment_id: uuid.UUID | str
) -> dict[str, Any]:
    row = await scope.get(Appointment, appointment_id)
    require_booked(row, "moved")
    return row


def _as_instant(value: object) -> datetime:
    from tillbook.kernel.schedule.booking import parse_instant

    message = (
        f"is outside the years {MIN_YEAR} to {MAX_YEAR}: choose a time from the list"
    )
    try:
        start = parse_instant(value, "start")
    except OverflowError:
        # Converting to UTC moved year 1 or 9999 out of datetime's range.
        raise invalid("start", f"{value!r} {message}") from None
    # The search spans a day either side, which overflows at year 1 and 9999.
    if not MIN_YEAR <= start.year <= MAX_YEAR:
        raise invalid("start", f"{start.date().isoformat()} {message}")
    return start


async def _check_new_time(
    scope: TenantScope,
    row: dict[str, Any],
    start: datetime,
    staff_id: uuid.UUID | None,
    *,
    source: str,
    now: datetime,
    hooks: TenantHooks | None,
) -> tuple[ServiceSearch, list[uuid.UUID]]:
    """Check a new start as a new booking is checked; return the providers to try.

    The search leaves out the appointment's own holds, so a new time that
    overlaps the current one counts as free when nothing else is booked there.
    """
    day = start.date()
    # Local dates around the UTC date cover every zone's offset.
    search = await load_search(
        scope,
        row["service_id"],
        day - timedelta(days=1),
        day + timedelta(days=1),
        staff_id=staff_id,
        location_id=row["location_id"],
        fields=stored_fields(row),
        hooks=hooks,
        ignore_appointment_id=row["id"],
    )
    service = search.service
    if source == "online" and not service.get("online", True):
        raise invalid(
            "start",
            f"{service['name']} cannot be booked online: "
            "contact the business to move it",
        )
    reasons = {
        person["id"]: search.check(person["id"], start, now=now, source=source)
        for person in search.providers
    }
    usable = [person for person, reason in reasons.items() if reason is None]
    if not usable:
        # Imported here: booking.py re-exports the change functions, which
        # import this module.
        from tillbook.kernel.schedule.booking import start_error

        raise start_error(search, start, set(reasons.values()), source)
    local_day = start.astimezone(search.zone).date()
    ordered = search.fairest(usable, local_day) if staff_id is None else usable
    await _validate_with_plugins(scope, row, search, ordered[0], start, hooks)
    return search, ordered


def stored_fields(row: dict[str, Any]) -> dict[str, Any]:
    """Return the plugin booking field values stored on an appointment row."""
    value = row.get("plugin_fields") or {}
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


async def _validate_with_plugins(
    scope: TenantScope,
    row: dict[str, Any],
    search: ServiceSearch,
    staff_id: uuid.UUID,
    start: datetime,
    hooks: TenantHooks | None,
) -> None:
    if hooks is None:
        return
    timing = search.timing(staff_id)
    booking = {
        "kind": "appointment",
        "service": service_json(search.service),
        "staff_id": str(staff_id),
        "client_id": str(row["client_id"]),
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=timing.duration_minutes)).isoformat(),
        "fields": stored_fields(row),
        "appointment_id": str(row["id"]),
    }
    errors: dict[str, str] = {}
    for result in await hooks.tillbook_validate_booking(scope=scope, booking=booking):
        if isinstance(result, dict):
            errors.update({str(k): str(v) for k, v in result.items()})
    if errors:
        raise ValidationFailed(errors)


async def _move(
    scope: TenantScope,
    appointment_id: uuid.UUID,
    *,
    start: datetime,
    staff_id: uuid.UUID,
    search: ServiceSearch,
    actor_id: uuid.UUID | None,
    source: str,
    hooks: TenantHooks | None,
    now: datetime,
) -> dict[str, Any]:
    try:
        async with write_transaction():
            before = await lock_appointment(scope, appointment_id)
            require_booked(before, "moved")
            values = _new_values(before, start, staff_id, search)
            await release_holds(scope, appointment_id=appointment_id)
            await scope.update(
                Appointment,
                {getattr(Appointment, name): value for name, value in values.items()},
            ).where(Appointment.id == appointment_id)
            moved = {**before, **values}
            await place_appointment_holds(scope, moved)
            await plan_reminders(scope, moved, now=now)
            result = await _record_move(scope, before, moved, actor_id, source, hooks)
    except SlotUnavailable:
        raise
    except Exception as exc:
        if is_exclusion_violation(exc):
            raise SlotUnavailable(str(staff_id), start.isoformat()) from exc
        raise
    logger.info(
        "moved appointment %s of tenant %s to %s with staff %s",
        appointment_id,
        scope.tenant_id,
        start.isoformat(),
        staff_id,
    )
    return result


def _new_values(
    before: dict[str, Any], start: datetime, staff_id: uuid.UUID, search: ServiceSearch
) -> dict[str, Any]:
    """Return the columns a move changes; a new provider brings their timing."""
    if staff_id == before["staff_id"]:
        length = before["end_at"] - before["start_at"]
        return {"start_at": start, "end_at": start + length}
    timing = search.timing(staff_id)
    values: dict[str, Any] = {
        "start_at": start,
        "end_at": start + timedelta(minutes=timing.duration_minutes),
        "staff_id": staff_id,
    }
    for name in TIMING_COLUMNS:
        values[name] = getattr(timing, name)
    return values


async def _record_move(
    scope: TenantScope,
    before: dict[str, Any],
    moved: dict[str, Any],
    actor_id: uuid.UUID | None,
    source: str,
    hooks: TenantHooks | None,
) -> dict[str, Any]:
    old, _ = await appointment_with_names(scope, before)
    result, client = await appointment_with_names(scope, moved)
    previous = describe_when(date.fromisoformat(old["date"]), old["local"])
    manage = manage_link(scope.tenant, moved["cancel_token"])
    summary = (
        f"Moved {result['service_name']} from {old['date']} at {old['local']} "
        f"with {old['staff_name']} to {result['date']} at {result['local']} "
        f"with {result['staff_name']}"
        + (" by the client" if source == "online" else "")
    )
    await add_history(
        scope, moved["client_id"], "appointment.moved", summary, moved["id"]
    )
    await record_audit(
        scope,
        actor_id=actor_id,
        action="appointment.moved",
        subject_type="appointment",
        subject_id=moved["id"],
        before={"start": old["start"], "end": old["end"], "staff_id": old["staff_id"]},
        after={
            "start": result["start"],
            "end": result["end"],
            "staff_id": result["staff_id"],
        },
    )
    await record_event(
        scope,
        "appointment.moved",
        event_payload(
            result,
            previous_start=old["start"],
            previous_date=old["date"],
            previous_staff_id=old["staff_id"],
            moved_by="client" if source == "online" else "staff",
        ),
    )
    await send_notice(
        scope,
        "appointment.moved",
        result,
        client,
        hooks,
        previous_when=previous,
        cancel_url=f"{manage}/cancel",
        manage_url=manage,
    )
    return result
