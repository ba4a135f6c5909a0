"""Class rosters: booking a place, the waitlist, promotion and roll call.

Every function here locks the session row (``classes.lock_session``) before
it counts places, so two bookings, or a cancellation with its promotion and
a new booking, never both take the last place. Plugins see each change
through ``tillbook_class_booking_changed`` inside the same transaction and
may reject it with ``invalid(...)``, and the whole change then rolls back.
A promotion that a plugin rejects (because the client has no credit left,
for example) is rolled back to a savepoint alone. That client stays first on
the waitlist and the next one is tried, so a plugin's rejection of one
client's promotion does not fail another client's cancellation.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from tillbook.config import get_settings
from tillbook.db import get_engine, write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.directory import find_or_create_client, validate_contact
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.schedule.booking import NewClient
from tillbook.kernel.schedule.class_notices import mail_client
from tillbook.kernel.schedule.class_views import (
    TAKEN_STATUSES,
    booking_json,
    get_session,
    parse_id,
    plain,
    session_json,
)
from tillbook.kernel.schedule.classes import ClassFull, clean_note, lock_session
from tillbook.kernel.schedule.tables import ClassBooking, SchedulePolicy
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

SOURCES = ("online", "staff")
ROLL_CALL_STATUSES = ("attended", "no_show")
DEFAULT_LATE_CANCEL_HOURS = 12
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def cancel_link(scope: TenantScope, token: str) -> str:
    """Return the public URL at which a client cancels a class place."""
    base = get_settings().public_url.rstrip("/")
    return f"{base}/t/{scope.tenant.slug}/classes/cancel/{token}"


async def booking_by_token(scope: TenantScope, token: str) -> dict[str, Any]:
    """Return the class booking row of a cancel link, or raise NotFound."""
    if not TOKEN_PATTERN.match(token or ""):
        raise NotFound("class_booking", "for this link")
    row = (
        await scope.select(ClassBooking)
        .where(ClassBooking.cancel_token == token)
        .first()
    )
    if row is None:
        raise NotFound("class_booking", "for this link")
    return row  # type: ignore[no-any-return]


# -- hooks and savepoints ----------------------------------------------------------


async def _validate_with_plugins(
    scope: TenantScope, hooks: TenantHooks | None, booking: dict[str, Any]
) -> None:
    if hooks is None:
        return
    errors: dict[str, str] = {}
    for result in await hooks.tillbook_validate_booking(scope=scope, booking=booking):
        errors.update(result or {})
    if errors:
        raise ValidationFailed(errors)


async def _notify_plugins(
    scope: TenantScope,
    hooks: TenantHooks | None,
    booking: dict[str, Any],
    session: dict[str, Any],
    change: str,
) -> None:
    if hooks is not None:
        await hooks.tillbook_class_booking_changed(
            scope=scope,
            booking=plain(booking),
            session=plain(session),
            change=change,
        )


@asynccontextmanager
async def savepoint() -> AsyncIterator[None]:
    """Roll back to a savepoint when the block raises, keeping the transaction."""
    transaction = get_engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError("a savepoint needs an open write_transaction()")
    point = await transaction.savepoint()
    try:
        yield
    except BaseException:
        await point.rollback_to()
        raise
    await point.release()


# -- booking a place ----------------------------------------------------------------


async def book_place(
    scope: TenantScope,
    session_id: uuid.UUID | str,
    *,
    client: uuid.UUID | str | NewClient,
    waitlist: bool = True,
    source: str = "staff",
    note: str = "",
    actor_id: uuid.UUID | None = None,
    hooks: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Give a client a place in a session, or a place on its waitlist.

    With a free place the booking's status is ``booked``. A full session
    puts the client on the waitlist with the next ``waitlist_position``, or
    raises ClassFull (409) when ``waitlist`` is false. Online bookings close
    at the session's start; staff may add clients until its end. Returns the
    booking JSON with the ``session`` JSON and ``cancel_token``, the secret
    of the client's cancel link (``cancel_link``): show it only to the
    person who booked.

    Raises NotFound for an unknown session. Raises ValidationFailed naming
    the field: ``client_id``, a contact field, ``source``, ``note`` or a
    plugin's field. Raises Conflict when the session is cancelled or over,
    or when the client already has a place or waiting place in it.
    """
    now = now or utcnow()
    if source not in SOURCES:
        raise invalid("source", f"{source!r} is not a source: use online or staff")
    note = clean_note(note)
    if isinstance(client, NewClient):
        validate_contact(
            client.first_name, client.last_name, client.email, client.phone
        )
    async with write_transaction():
        session = await lock_session(scope, session_id)
        _check_open(session, source, now)
        client_id = await _client_id(scope, client)
        current = (
            await scope.select(ClassBooking, ClassBooking.status)
            .where(ClassBooking.session_id == session["id"])
            .where(ClassBooking.client_id == client_id)
            .where(ClassBooking.status.is_in([*TAKEN_STATUSES, "waitlisted"]))
            .first()
        )
        if current is not None:
            raise Conflict(
                f"the client is already {current['status']} in this class",
                client_id=str(client_id),
            )
        service = await scope.get(Service, session["service_id"])
        await _validate_with_plugins(
            scope, hooks, _hook_booking(session, service, client_id)
        )
        taken = (
            await scope.count(ClassBooking)
            .where(ClassBooking.session_id == session["id"])
            .where(ClassBooking.status.is_in(list(TAKEN_STATUSES)))
        )
        if taken < session["capacity"]:
            status, position = "booked", None
        elif waitlist:
            status, position = "waitlisted", await _next_position(scope, session["id"])
        else:
            raise ClassFull(str(session["id"]))
        booking = ClassBooking(
            session_id=session["id"],
            client_id=client_id,
            status=status,
            waitlist_position=position,
            created_at=utcnow(),
            source=source,
            note=note,
            cancel_token=secrets.token_urlsafe(24),
        )
        await scope.insert(booking)
        row = booking.to_dict()
        summary = await session_json(scope, session)
        if status == "booked":
            await _notify_plugins(scope, hooks, row, session, "booked")
        client_row = await scope.get(Client, client_id)
        result = booking_json(row, client_row)
        await _record(
            scope,
            f"class_booking.{status}",
            result,
            summary,
            client_row,
            actor_id=actor_id,
            before=None,
        )
        await mail_client(
            scope,
            status,
            client_row,
            summary,
            position=position,
            cancel_url=cancel_link(scope, row["cancel_token"]),
        )
    logger.info(
        "class booking %s is %s in session %s for tenant %s",
        row["id"],
        status,
        session["id"],
        scope.tenant_id,
    )
    return {**result, "session": summary, "cancel_token": row["cancel_token"]}


def _check_open(session: dict[str, Any], source: str, now: datetime) -> None:
    if session["status"] != "scheduled":
        raise Conflict("the session is cancelled: choose another session")
    closes = session["start_at"] if source == "online" else session["end_at"]
    if now >= closes:
        raise Conflict(
            "the session has already started: choose a later session"
            if source == "online"
            else "the session is over: choose a later session"
        )


async def _client_id(
    scope: TenantScope, client: uuid.UUID | str | NewClient
) -> uuid.UUID:
    if isinstance(client, NewClient):
        return await find_or_create_client(
            scope,
            first_name=client.first_name,
            last_name=client.last_name,
            email=client.email,
            phone=client.phone,
        )
    if client in (None, ""):
        raise invalid(
            "client_id", "is required: choose a client or give contact details"
        )
    key = parse_id(client, "client_id", "client")
    row = await scope.select(Client, Client.id).where(Client.id == key).first()
    if row is None:
        raise invalid("client_id", f"unknown client {client}: search again or add one")
    return key


async def _next_position(scope: TenantScope, session_id: uuid.UUID) -> int:
    rows = await scope.select(ClassBooking, ClassBooking.waitlist_position).where(
        ClassBooking.session_id == session_id
    )
    positions = [row["waitlist_position"] or 0 for row in rows]
    return max(positions, default=0) + 1


def _hook_booking(
    session: dict[str, Any], service: dict[str, Any], client_id: uuid.UUID
) -> dict[str, Any]:
    return {
        "kind": "class",
        "service": plain(service),
        "staff_id": str(session["staff_id"]),
        "client_id": str(client_id),
        "start": session["start_at"].isoformat(),
        "end": session["end_at"].isoformat(),
        "fields": {},
        "session_id": str(session["id"]),
    }


async def _record(
    scope: TenantScope,
    action: str,
    booking: dict[str, Any],
    session: dict[str, Any],
    client: dict[str, Any] | None,
    *,
    actor_id: uuid.UUID | None,
    before: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Append history, audit and the outbox event of one roster change."""
    verb = action.split(".", 1)[1].replace("_", " ")
    summary = (
        f"Class {session['service_name']} on {session['date']} at "
        f"{session['local']}: {verb}"
    )
    booking_id = uuid.UUID(booking["id"])
    if client is not None:
        await add_history(scope, client["id"], action, summary, booking_id)
    await record_audit(
        scope,
        actor_id=actor_id,
        action=action,
        subject_type="class_booking",
        subject_id=booking_id,
        before=before,
        after=booking,
    )
    payload = {
        "booking_id": booking["id"],
        "session_id": session["id"],
        "client_id": booking["client_id"],
        "client_name": booking["client_name"],
        "status": booking["status"],
        "waitlist_position": booking["waitlist_position"],
        "service_name": session["service_name"],
        "start": session["start"],
        "date": session["date"],
        "local": session["local"],
        **(extra or {}),
    }
    await record_event(scope, action, payload)


# -- cancelling and promotion ---------------------------------------------------------


async def _late_cancel_hours(scope: TenantScope) -> int:
    row = await scope.select(
        SchedulePolicy, SchedulePolicy.class_late_cancel_hours
    ).first()
    return row["class_late_cancel_hours"] if row else DEFAULT_LATE_CANCEL_HOURS


async def _booking_row(
    scope: TenantScope, booking_id: uuid.UUID | str
) -> dict[str, Any]:
    try:
        key = (
            booking_id
            if isinstance(booking_id, uuid.UUID)
            else uuid.UUID(str(booking_id))
        )
    except ValueError:
        raise NotFound("class_booking", str(booking_id)) from None
    return await scope.get(ClassBooking, key)


async def cancel_place(
    scope: TenantScope,
    booking_id: uuid.UUID | str,
    *,
    by: str = "staff",
    waive_late: bool = False,
    actor_id: uuid.UUID | None = None,
    hooks: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Cancel a place or a waiting place; return the booking JSON with
    ``session`` and the ``promoted`` bookings.

    A taken place cancelled within the policy's ``class_late_cancel_hours``
    of the start becomes ``late_cancelled`` (staff may pass ``waive_late``),
    otherwise ``cancelled``. Freeing a place promotes the first waiting
    clients at once, in the same transaction, and emails them. Cancelling a
    cancelled booking returns it unchanged.

    Raises NotFound for an unknown booking, and Conflict when the client
    cancels after the start or the booking is already marked at roll call.
    """
    now = now or utcnow()
    first = await _booking_row(scope, booking_id)
    async with write_transaction():
        session = await lock_session(scope, first["session_id"])
        row = await scope.get(ClassBooking, first["id"])
        client = await scope.select(Client).where(Client.id == row["client_id"]).first()
        if row["status"] in ("cancelled", "late_cancelled"):
            return {
                **booking_json(row, client),
                "session": await session_json(scope, session),
                "promoted": [],
            }
        if row["status"] not in ("booked", "waitlisted"):
            raise Conflict(
                f"the place is marked {row['status'].replace('_', ' ')} "
                "and can no longer be cancelled"
            )
        if by == "client" and now >= session["start_at"]:
            raise Conflict("the class has already started: contact the business")
        hours = await _late_cancel_hours(scope)
        status = "cancelled"
        late = now > session["start_at"] - timedelta(hours=hours)
        if row["status"] == "booked" and late and not waive_late:
            status = "late_cancelled"
        await scope.update(
            ClassBooking,
            {
                ClassBooking.status: status,
                ClassBooking.cancelled_at: now,
                ClassBooking.waitlist_position: None,
            },
        ).where(ClassBooking.id == row["id"])
        updated = {
            **row,
            "status": status,
            "cancelled_at": now,
            "waitlist_position": None,
        }
        if row["status"] == "booked":
            await _notify_plugins(
                scope, hooks, {**updated, "previous_status": "booked"}, session, status
            )
        summary = await session_json(scope, session)
        result = booking_json(updated, client)
        await _record(
            scope,
            f"class_booking.{status}",
            result,
            summary,
            client,
            actor_id=actor_id,
            before={"status": row["status"]},
            extra={"cancelled_by": by},
        )
        await mail_client(scope, status, client, summary, hours=hours)
        promoted = await promote_waitlist(scope, session, hooks=hooks, now=now)
        summary = await session_json(scope, session)
    logger.info(
        "class booking %s %s by %s for tenant %s; %d promoted",
        row["id"],
        status,
        by,
        scope.tenant_id,
        len(promoted),
    )
    return {**result, "session": summary, "promoted": promoted}


async def promote_waitlist(
    scope: TenantScope,
    session: dict[str, Any],
    *,
    hooks: Any = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Move waiting clients into free places, first position first.

    Call inside ``write_transaction()`` with the session row locked. Nothing
    moves once the session has started or is cancelled. Each promoted client
    gets the ``promoted`` hook call, an email and a ``class_booking.promoted``
    event. Returns the promoted bookings as JSON.
    """
    now = now or utcnow()
    if session["status"] != "scheduled" or session["start_at"] <= now:
        return []
    taken = (
        await scope.count(ClassBooking)
        .where(ClassBooking.session_id == session["id"])
        .where(ClassBooking.status.is_in(list(TAKEN_STATUSES)))
    )
    if taken >= session["capacity"]:
        return []
    waiting = (
        await scope.select(ClassBooking)
        .where(ClassBooking.session_id == session["id"])
        .where(ClassBooking.status == "waitlisted")
        .order_by(ClassBooking.waitlist_position)
    )
    promoted: list[dict[str, Any]] = []
    for row in waiting:
        if taken >= session["capacity"]:
            break
        updated = {
            **row,
            "status": "booked",
            "promoted_at": now,
            "waitlist_position": None,
        }
        try:
            async with savepoint():
                await scope.update(
                    ClassBooking,
                    {
                        ClassBooking.status: "booked",
                        ClassBooking.promoted_at: now,
                        ClassBooking.waitlist_position: None,
                    },
                ).where(ClassBooking.id == row["id"])
                await _notify_plugins(scope, hooks, updated, session, "promoted")
        except ValidationFailed as exc:
            logger.info(
                "a plugin kept class booking %s of tenant %s on the waitlist: %s",
                row["id"],
                scope.tenant_id,
                exc.message,
            )
            continue
        taken += 1
        client = await scope.select(Client).where(Client.id == row["client_id"]).first()
        result = booking_json(updated, client)
        summary = await session_json(scope, session)
        await _record(
            scope,
            "class_booking.promoted",
            result,
            summary,
            client,
            actor_id=None,
            before={
                "status": "waitlisted",
                "waitlist_position": row["waitlist_position"],
            },
        )
        await mail_client(scope, "promoted", client, summary)
        promoted.append(result)
    return promoted


async def cancel_places_of_session(
    scope: TenantScope,
    session: dict[str, Any],
    summary: dict[str, Any],
    *,
    reason: str,
    hooks: Any,
) -> None:
    """Cancel every place and waiting place of a cancelled session.

    Call inside the transaction that cancels the session. Each client is
    emailed; each taken place gets the ``cancelled`` hook call.
    """
    now = utcnow()
    rows = (
        await scope.select(ClassBooking)
        .where(ClassBooking.session_id == session["id"])
        .where(ClassBooking.status.is_in(["booked", "waitlisted"]))
    )
    clients = await scope.get_many(Client, (row["client_id"] for row in rows))
    for row in rows:
        await scope.update(
            ClassBooking,
            {
                ClassBooking.status: "cancelled",
                ClassBooking.cancelled_at: now,
                ClassBooking.waitlist_position: None,
            },
        ).where(ClassBooking.id == row["id"])
        updated = {**row, "status": "cancelled", "cancelled_at": now}
        if row["status"] == "booked":
            await _notify_plugins(
                scope,
                hooks,
                {**updated, "previous_status": "booked"},
                session,
                "cancelled",
            )
        client = clients.get(row["client_id"])
        await _record(
            scope,
            "class_booking.cancelled",
            booking_json(updated, client),
            summary,
            client,
            actor_id=None,
            before={"status": row["status"]},
            extra={"cancelled_by": "business"},
        )
        await mail_client(scope, "session_cancelled", client, summary, reason=reason)


# -- roll call ----------------------------------------------------------------------


async def mark_attendance(
    scope: TenantScope,
    booking_id: uuid.UUID | str,
    status: str,
    *,
    actor_id: uuid.UUID | None = None,
    hooks: Any = None,
) -> dict[str, Any]:
    """Mark a taken place ``attended`` or ``no_show``; return the booking JSON.

    A mark may be corrected (attended to no-show and back); marking the same
    status twice changes nothing. Raises NotFound, ValidationFailed naming
    ``status``, and Conflict for a cancelled or waiting place.
    """
    first = await _booking_row(scope, booking_id)
    async with write_transaction():
        session = await lock_session(scope, first["session_id"])
        return await _mark(scope, session, first["id"], status, actor_id, hooks)


async def roll_call(
    scope: TenantScope,
    session_id: uuid.UUID | str,
    marks: Mapping[str, object],
    *,
    actor_id: uuid.UUID | None = None,
    hooks: Any = None,
) -> dict[str, Any]:
    """Mark several places of one session in one transaction; return the session.

    ``marks`` maps booking ids to ``attended`` or ``no_show``. Raises
    ValidationFailed naming ``marks.<id>`` for a booking of another session
    or a bad status; nothing is marked then.
    """
    async with write_transaction():
        session = await lock_session(scope, session_id)
        if not isinstance(marks, Mapping) or not marks:
            raise invalid("marks", "must map booking ids to attended or no_show")
        for key, status in marks.items():
            try:
                booking_key = uuid.UUID(str(key))
            except ValueError:
                raise invalid(f"marks.{key}", "is not a booking id") from None
            row = (
                await scope.select(ClassBooking)
                .where(ClassBooking.id == booking_key)
                .first()
            )
            if row is None or row["session_id"] != session["id"]:
                raise invalid(f"marks.{key}", "is not a booking of this session")
            await _mark(
                scope, session, booking_key, status, actor_id, hooks, f"marks.{key}"
            )
    return await get_session(scope, session["id"])


async def _mark(
    scope: TenantScope,
    session: dict[str, Any],
    booking_id: uuid.UUID,
    status: object,
    actor_id: uuid.UUID | None,
    hooks: Any,
    field: str = "status",
) -> dict[str, Any]:
    if status not in ROLL_CALL_STATUSES:
        raise invalid(
            field, f"{status!r} is not a roll call mark: use attended or no_show"
        )
    if session["status"] != "scheduled":
        raise Conflict("the session is cancelled: there is no roll call")
    row = await scope.get(ClassBooking, booking_id)
    client = await scope.select(Client).where(Client.id == row["client_id"]).first()
    if row["status"] == status:
        return booking_json(row, client)
    if row["status"] not in TAKEN_STATUSES:
        raise Conflict(
            f"the place is {row['status'].replace('_', ' ')}: only booked places "
            "take a roll call mark"
        )
    checked_in = utcnow() if status == "attended" else None
    await scope.update(
        ClassBooking,
        {ClassBooking.status: status, ClassBooking.checked_in_at: checked_in},
    ).where(ClassBooking.id == row["id"])
    updated = {**row, "status": status, "checked_in_at": checked_in}
    await _notify_plugins(
        scope,
        hooks,
        {**updated, "previous_status": row["status"]},
        session,
        str(status),
    )
    result = booking_json(updated, client)
    await _record(
        scope,
        f"class_booking.{status}",
        result,
        await session_json(scope, session),
        client,
        actor_id=actor_id,
        before={"status": row["status"]},
    )
    return result
