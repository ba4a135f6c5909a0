"""Class sessions: meetings of a group service with a capacity and a room.

A session belongs to a service whose ``kind`` is ``"class"``. Its instructor
and its room (one unit of a resource, if any) are held for the session's
span through ``holds``, so an appointment cannot take the instructor or the
room at the same time. Each session may override the service's capacity, and
may change its room, instructor or time later: the roster is kept and the
holds are placed again, which fails with ``SlotUnavailable`` when the new
instructor or room is busy.

The roster (places, the waitlist, promotion, roll call) lives in
``class_roster``. Both modules lock the session row before they count
places, so every change to one session's roster is serialised: on
PostgreSQL by ``SELECT ... FOR UPDATE``, on SQLite by the write lock that
``write_transaction`` takes at its start.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from tillbook.db import is_postgres, write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.schedule.booking import parse_instant
from tillbook.kernel.schedule.class_notices import mail_client
from tillbook.kernel.schedule.class_views import (
    parse_id,
    path_id,
    session_json,
)
from tillbook.kernel.schedule.holds import place_session_holds, release_holds
from tillbook.kernel.schedule.tables import (
    ClassBooking,
    ClassSession,
    Location,
    Resource,
    Staff,
)
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

# The statuses of the unique index ``class_booking_one_live_place``.
LIVE_STATUSES = ("booked", "waitlisted", "attended")
MAX_CAPACITY = 1000
MAX_CLASS_LENGTH = timedelta(hours=12)
MAX_NOTE_LENGTH = 1000
SESSION_FIELDS = frozenset(
    {
        "service_id",
        "staff_id",
        "start",
        "end",
        "location_id",
        "resource_id",
        "capacity",
        "note",
    }
)
EDITABLE_FIELDS = SESSION_FIELDS - {"service_id"}


class ClassFull(Conflict):
    """Every place of the session is taken and the caller asked for no waitlist."""

    code = "class_full"

    def __init__(self, session_id: str) -> None:
        super().__init__(
            "the class is full: join the waitlist or choose another session",
            session_id=session_id,
        )


# -- reading -------------------------------------------------------------------


async def lock_session(
    scope: TenantScope, session_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return a session row, locked for this transaction on PostgreSQL.

    Call inside ``write_transaction()``. Raises NotFound for an id of no
    session of this tenant.
    """
    key = path_id(session_id, "class_session")
    query = scope.select(ClassSession).where(ClassSession.id == key)
    if is_postgres():
        query = query.lock_rows()
    row = await query.first()
    if row is None:
        raise NotFound("class_session", str(session_id))
    return row  # type: ignore[no-any-return]


# -- validating input ------------------------------------------------------------


async def class_service(scope: TenantScope, value: object) -> dict[str, Any]:
    """Return an active class service; raise ValidationFailed on ``service_id``."""
    if value in (None, ""):
        raise invalid("service_id", "is required: choose a class")
    key = parse_id(value, "service_id", "service")
    row = await scope.select(Service).where(Service.id == key).first()
    if row is None or not row["active"]:
        raise invalid("service_id", f"unknown service {value}: choose a class")
    if row["kind"] != "class":
        raise invalid(
            "service_id",
            f"{row['name']} is not a class: set its kind to class in the catalog",
        )
    return row  # type: ignore[no-any-return]


async def instructor(scope: TenantScope, value: object) -> uuid.UUID:
    """Return the id of an active staff member, or raise ValidationFailed."""
    if value in (None, ""):
        raise invalid("staff_id", "is required: choose an instructor")
    key = parse_id(value, "staff_id", "staff")
    row = await scope.select(Staff, Staff.active).where(Staff.id == key).first()
    if row is None or not row["active"]:
        raise invalid("staff_id", f"unknown staff member {value}: choose one")
    return key


async def _optional_row_id(
    scope: TenantScope, table: Any, value: object, field: str, noun: str
) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    key = parse_id(value, field, noun)
    row = await scope.select(table, table.active).where(table.id == key).first()
    if row is None or not row["active"]:
        raise invalid(field, f"unknown {noun} {value}: choose one from the list")
    return key


def parse_capacity(value: object, field: str = "capacity") -> int:
    """Return a capacity from 1 to ``MAX_CAPACITY``, or raise ValidationFailed."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and is_whole_number(value.strip()):
            value = int(value.strip())
        else:
            raise invalid(field, f"{value!r} is not a whole number of places")
    if not 1 <= value <= MAX_CAPACITY:
        raise invalid(field, f"must be from 1 to {MAX_CAPACITY} places")
    return value


def clean_note(value: object, field: str = "note") -> str:
    """Return stripped note text; raise ValidationFailed for non-text or too long."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(field, "must be text")
    text = value.strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise invalid(field, f"is longer than {MAX_NOTE_LENGTH} characters: shorten it")
    return text


def check_span(start: datetime, end: datetime) -> None:
    """Raise ValidationFailed on ``end`` unless it is after ``start`` and close."""
    if end <= start:
        raise invalid("end", "is not after the start: choose a later end")
    if end - start > MAX_CLASS_LENGTH:
        raise invalid("end", f"makes the class longer than {MAX_CLASS_LENGTH}")


# -- writing ---------------------------------------------------------------------


async def create_session(
    scope: TenantScope,
    data: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Schedule one class session and return it as JSON.

    ``data`` has ``service_id`` (a class service), ``staff_id`` (the
    instructor) and ``start`` (an aware datetime), and optionally ``end``
    (default: start plus the service's duration), ``location_id``,
    ``resource_id`` (the room), ``capacity`` (default: the service's) and
    ``note``. Raises ValidationFailed naming the field, and SlotUnavailable
    when the instructor or the room is already held then.
    """
    unknown = sorted(set(data) - SESSION_FIELDS)
    if unknown:
        raise invalid(unknown[0], "is not a session field")
    now = now or utcnow()
    service = await class_service(scope, data.get("service_id"))
    start = parse_instant(data.get("start"))
    if start < now:
        raise invalid("start", "is in the past: choose a later time")
    values = await session_values(scope, service, data, start)
    async with write_transaction():
        row = await insert_session(scope, values)
        result = await session_json(scope, row)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="class_session.created",
            subject_type="class_session",
            subject_id=row["id"],
            after=result,
        )
        await record_event(scope, "class_session.created", _event(result))
    logger.info("scheduled class session %s for tenant %s", row["id"], scope.tenant_id)
    return result


async def session_values(
    scope: TenantScope,
    service: dict[str, Any],
    data: Mapping[str, Any],
    start: datetime,
) -> dict[str, Any]:
    """Validate the optional session fields and return the column values."""
    if data.get("end") not in (None, ""):
        end = parse_instant(data.get("end"), "end")
    else:
        end = start + timedelta(minutes=service["duration_minutes"])
    check_span(start, end)
    capacity = data.get("capacity")
    return {
        "service_id": service["id"],
        "staff_id": await instructor(scope, data.get("staff_id")),
        "location_id": await _optional_row_id(
            scope, Location, data.get("location_id"), "location_id", "location"
        ),
        "resource_id": await _optional_row_id(
            scope, Resource, data.get("resource_id"), "resource_id", "room"
        ),
        "capacity": parse_capacity(
            service["capacity"] if capacity in (None, "") else capacity
        ),
        "start_at": start,
        "end_at": end,
        "note": clean_note(data.get("note")),
    }


async def insert_session(
    scope: TenantScope,
    values: Mapping[str, Any],
    *,
    series_id: uuid.UUID | None = None,
    occurrence_start: datetime | None = None,
) -> dict[str, Any]:
    """Insert a session and hold its instructor and room; return the row.

    Call inside ``write_transaction()``. Raises SlotUnavailable when a hold
    cannot be placed.
    """
    session = ClassSession(
        **values,
        series_id=series_id,
        occurrence_start=occurrence_start,
        status="scheduled",
        created_at=utcnow(),
    )
    await scope.insert(session)
    row = session.to_dict()
    await place_session_holds(scope, row)
    return row  # type: ignore[no-any-return]


async def update_session(
    scope: TenantScope,
    session_id: uuid.UUID | str,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
    hooks: Any = None,
    notify: bool = True,
) -> dict[str, Any]:
    """Change a session's capacity, instructor, room, location, time or note.

    The roster is kept. A lower capacity never removes booked clients; it
    only stops new bookings until places free up. A higher capacity promotes
    waiting clients into the new places. A new instructor, room or time
    releases the session's holds and places them again, and the clients on
    the roster and waitlist are emailed about a new time or instructor.
    Raises NotFound, ValidationFailed naming the field, Conflict for a
    cancelled session, and SlotUnavailable when the new holds do not fit.
    """
    from tillbook.kernel.schedule.class_roster import promote_waitlist

    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise invalid(
            unknown[0], f"is not a session field: use {_names(EDITABLE_FIELDS)}"
        )
    async with write_transaction():
        row = await lock_session(scope, session_id)
        if row["status"] != "scheduled":
            raise Conflict("the session is cancelled and can no longer change")
        before = await session_json(scope, row)
        values: dict[str, Any] = {}
        if "capacity" in changes:
            values["capacity"] = parse_capacity(changes["capacity"])
        if "staff_id" in changes:
            values["staff_id"] = await instructor(scope, changes["staff_id"])
        if "resource_id" in changes:
            values["resource_id"] = await _optional_row_id(
                scope, Resource, changes["resource_id"], "resource_id", "room"
            )
        if "location_id" in changes:
            values["location_id"] = await _optional_row_id(
                scope, Location, changes["location_id"], "location_id", "location"
            )
        if "note" in changes:
            values["note"] = clean_note(changes["note"])
        if "start" in changes:
            values["start_at"] = parse_instant(changes["start"])
            if values["start_at"] < utcnow() <= row["start_at"]:
                raise invalid("start", "is in the past: choose a later time")
            length = row["end_at"] - row["start_at"]
            values["end_at"] = values["start_at"] + length
        if changes.get("end") not in (None, ""):
            values["end_at"] = parse_instant(changes["end"], "end")
        updated = {**row, **values}
        check_span(updated["start_at"], updated["end_at"])

        columns = {getattr(ClassSession, name): value for name, value in values.items()}
        if columns:
            await scope.update(ClassSession, columns).where(
                ClassSession.id == row["id"]
            )
        moved = any(
            updated[name] != row[name]
            for name in ("staff_id", "resource_id", "start_at", "end_at")
        )
        if moved:
            await release_holds(scope, session_id=row["id"])
            await place_session_holds(scope, updated)
        await promote_waitlist(scope, updated, hooks=hooks)
        result = await session_json(scope, updated)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="class_session.updated",
            subject_type="class_session",
            subject_id=row["id"],
            before=before,
            after=result,
        )
        await record_event(scope, "class_session.updated", _event(result))
        if notify and (
            updated["start_at"] != row["start_at"]
            or updated["staff_id"] != row["staff_id"]
        ):
            await _mail_everyone(scope, row["id"], "session_moved", result)
    return result


async def cancel_session(
    scope: TenantScope,
    session_id: uuid.UUID | str,
    *,
    reason: str = "",
    actor_id: uuid.UUID | None = None,
    hooks: Any = None,
) -> dict[str, Any]:
    """Cancel a session, free its holds and cancel every place on it.

    Every client on the roster or the waitlist is emailed, and each place
    that was taken gets the ``cancelled`` hook call (so a plugin can return
    a class credit). Cancelling a cancelled session returns it unchanged.
    Raises NotFound for an id of no session of this tenant.
    """
    from tillbook.kernel.schedule.class_roster import cancel_places_of_session

    reason = clean_note(reason, "reason")
    async with write_transaction():
        row = await lock_session(scope, session_id)
        if row["status"] == "cancelled":
            return await session_json(scope, row)
        await scope.update(ClassSession, {ClassSession.status: "cancelled"}).where(
            ClassSession.id == row["id"]
        )
        await release_holds(scope, session_id=row["id"])
        row = {**row, "status": "cancelled"}
        result = await session_json(scope, row)
        await cancel_places_of_session(scope, row, result, reason=reason, hooks=hooks)
        result = await session_json(scope, row)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="class_session.cancelled",
            subject_type="class_session",
            subject_id=row["id"],
            before={"status": "scheduled"},
            after={"status": "cancelled", "reason": reason},
        )
        await record_event(
            scope, "class_session.cancelled", {**_event(result), "reason": reason}
        )
    logger.info("cancelled class session %s for tenant %s", row["id"], scope.tenant_id)
    return result


async def _mail_everyone(
    scope: TenantScope, session_id: uuid.UUID, kind: str, session: dict[str, Any]
) -> None:
    bookings = (
        await scope.select(ClassBooking, ClassBooking.client_id)
        .where(ClassBooking.session_id == session_id)
        .where(ClassBooking.status.is_in(["booked", "waitlisted"]))
    )
    clients = await scope.get_many(Client, (item["client_id"] for item in bookings))
    for client in clients.values():
        await mail_client(scope, kind, client, session)


def _event(session: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "service_id",
        "service_name",
        "staff_id",
        "staff_name",
        "start",
        "end",
        "date",
        "local",
        "capacity",
        "booked",
        "waitlisted",
        "status",
        "series_id",
    )
    return {"session_id": session["id"], **{key: session[key] for key in keys}}


def _names(fields: Iterable[str]) -> str:
    return ", ".join(sorted(fields))


__all__ = [
    "ClassFull",
    "cancel_session",
    "create_session",
    "update_session",
]
