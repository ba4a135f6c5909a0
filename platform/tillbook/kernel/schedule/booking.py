"""Booking, cancelling and checking in appointments.

Two live appointments never hold one provider at once. On SQLite the
booking transaction takes the write lock first (``write_transaction``), so
its overlap check and insert cannot interleave with another booking. On
PostgreSQL the exclusion constraint ``appointment_no_overlap`` rejects the
second of two racing inserts, and that rejection becomes ``SlotUnavailable``.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tillbook.config import get_settings
from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, SlotUnavailable, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.directory import find_or_create_client, validate_contact
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.dates import FIRST_DAY, LAST_DAY
from tillbook.kernel.events.mail import queue_mail
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.schedule.appointments import (
    appointment_json,
    appointments_on,
    day_schedule,
)
from tillbook.kernel.schedule.notices import (
    AppointmentNotice,
    cancellation_email,
    confirmation_email,
    describe_when,
    format_price,
)
from tillbook.kernel.schedule.search import (
    BOOKING_HORIZON_DAYS,
    LIVE_STATUSES,
    LONGEST_APPOINTMENT,
    ONLINE_MIN_NOTICE,
    STAFF_MIN_NOTICE,
    ServiceDay,
    load_service_day,
    parse_uuid,
)
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

__all__ = [
    "NewClient",
    "appointments_on",
    "book_appointment",
    "cancel_appointment",
    "cancel_by_token",
    "check_in",
    "day_schedule",
]

SOURCES = ("online", "staff")
MAX_NOTE_LENGTH = 1000
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class NewClient:
    """Contact details of a client who may not be on file yet.

    Booking matches an existing client by email (case-insensitive) and
    creates one otherwise.
    """

    first_name: str
    last_name: str
    email: str
    phone: str = ""


def parse_instant(value: object, field: str = "start") -> datetime:
    """Parse an ISO 8601 instant with a UTC offset; return it in UTC.

    Raises ValidationFailed naming ``field`` for text that is not such an
    instant, including a time without an offset.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise invalid(
                field,
                f"{value!r} is not an ISO 8601 instant: use 2026-12-05T15:00:00Z",
            ) from None
    else:
        raise invalid(field, "is required: choose a time from the list")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise invalid(
            field, f"{value!r} has no UTC offset: add Z or +00:00 to the time"
        )
    return parsed.astimezone(UTC)


def parse_day(value: object, field: str = "date") -> date:
    """Parse ``YYYY-MM-DD``; raise ValidationFailed naming ``field`` otherwise."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise invalid(
                field, f"{value!r} is not a date: use YYYY-MM-DD, such as 2026-12-05"
            ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise invalid(
            field,
            f"{day.isoformat()} is outside the years 1900 to 2199: check the year",
        )
    return day


async def book_appointment(
    scope: TenantScope,
    *,
    service_id: uuid.UUID | str,
    staff_id: uuid.UUID | str | None,
    start: datetime,
    client: uuid.UUID | str | NewClient,
    note: str = "",
    source: str = "online",
    actor_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Book a service with a provider (or any free one) and return the appointment.

    The returned JSON also has ``cancel_token``, the secret of the client's
    cancel link (``cancel_link``). Show it only to the person who booked.

    ``staff_id`` of ``None`` (or ``"any"``) picks, among the free providers
    who perform the service, the one with the fewest booked minutes that day.
    ``client`` is an existing client id, or contact details matched by email.
    Online bookings need ``ONLINE_MIN_NOTICE``; staff bookings only need a
    start that has not passed. Duration and price come from the service.

    In the same transaction as the insert it appends the client's history,
    the audit log, the ``appointment.booked`` event and, when the client has
    an email, a confirmation mail with a cancel link.

    Raises ValidationFailed naming ``service_id``, ``staff_id``, ``start``,
    ``client_id``, ``note``, ``source`` or a contact field (``first_name``,
    ``email``, ...). Raises SlotUnavailable when the provider (or every
    provider, for "any") is already booked at that time.
    """
    now = now or utcnow()
    if source not in SOURCES:
        raise invalid("source", f"{source!r} is not a source: use online or staff")
    note = _clean_note(note)
    start = parse_instant(start)
    if isinstance(client, NewClient):
        validate_contact(
            client.first_name, client.last_name, client.email, client.phone
        )
        client_ref: uuid.UUID | NewClient = client
    else:
        client_ref = await _existing_client_id(scope, client)

    notice = ONLINE_MIN_NOTICE if source == "online" else STAFF_MIN_NOTICE
    _check_start(scope, start, now, notice)
    any_provider = staff_id in (None, "", "any")
    day = start.astimezone(scope.tenant.zone).date()
    service_day = await load_service_day(
        scope, service_id, day, None if any_provider else staff_id
    )
    candidates = _free_providers(service_day, start, now, notice, staff_id)

    for index, chosen in enumerate(candidates):
        try:
            return await _insert_booking(
                scope,
                service_day,
                staff_id=chosen,
                start=start,
                client=client_ref,
                note=note,
                source=source,
                actor_id=actor_id,
            )
        except SlotUnavailable:
            # Another booking took this provider after the search. With "any
            # provider" the next free one may still be open.
            if not any_provider or index == len(candidates) - 1:
                raise
    raise AssertionError("unreachable: candidates is never empty")


def _clean_note(note: object) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise invalid("note", "must be text")
    note = note.strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise invalid(
            "note", f"is longer than {MAX_NOTE_LENGTH} characters: shorten it"
        )
    return note


async def _existing_client_id(scope: TenantScope, value: object) -> uuid.UUID:
    client_id = parse_uuid(value, "client_id", "client")
    row = await scope.select(Client, Client.id).where(Client.id == client_id).first()
    if row is None:
        raise invalid("client_id", f"unknown client {value}: search again or add one")
    return client_id


def _check_start(
    scope: TenantScope, start: datetime, now: datetime, notice: timedelta
) -> None:
    if start < now:
        raise invalid("start", "is in the past: choose a time from the list")
    if start < now + notice:
        minutes = int(notice.total_seconds() // 60)
        raise invalid(
            "start",
            f"is less than {minutes} minutes from now: choose a later time",
        )
    today = now.astimezone(scope.tenant.zone).date()
    if start.astimezone(scope.tenant.zone).date() > today + timedelta(
        days=BOOKING_HORIZON_DAYS
    ):
        raise invalid(
            "start",
            f"is more than {BOOKING_HORIZON_DAYS} days ahead: choose an earlier date",
        )


def _free_providers(
    service_day: ServiceDay,
    start: datetime,
    now: datetime,
    notice: timedelta,
    staff_id: object,
) -> list[uuid.UUID]:
    """Return the providers to try at ``start``, fairest first.

    Raises ValidationFailed on ``start`` when no provider works at that time
    on the slot grid, and SlotUnavailable when they all are booked.
    """
    if not service_day.providers:
        field = "service_id" if staff_id in (None, "", "any") else "staff_id"
        raise invalid(
            field,
            f"nobody takes bookings for {service_day.service['name']} yet: "
            "ask the business",
        )
    grid = service_day.slots(now=now, min_notice=notice, ignore_bookings=True)
    working = [slot.staff_id for slot in grid if slot.start == start]
    if not working:
        raise invalid(
            "start",
            "is outside working hours or not a slot start: choose a time from the list",
        )
    free = {
        slot.staff_id
        for slot in service_day.slots(now=now, min_notice=notice)
        if slot.start == start
    }
    ordered = [staff for staff in service_day.fairest(working) if staff in free]
    if not ordered:
        raise SlotUnavailable(str(working[0]), start.isoformat())
    return ordered


async def _insert_booking(
    scope: TenantScope,
    service_day: ServiceDay,
    *,
    staff_id: uuid.UUID,
    start: datetime,
    client: uuid.UUID | NewClient,
    note: str,
    source: str,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    service = service_day.service
    end = start + timedelta(minutes=service["duration_minutes"])
    if end - start > LONGEST_APPOINTMENT:
        raise invalid(
            "service_id",
            f"{service['name']} lasts longer than {LONGEST_APPOINTMENT}: "
            "shorten the service or split it",
        )
    try:
        async with write_transaction():
            if await _overlaps(scope, staff_id, start, end):
                raise SlotUnavailable(str(staff_id), start.isoformat())
            if isinstance(client, NewClient):
                client_id = await find_or_create_client(
                    scope,
                    first_name=client.first_name,
                    last_name=client.last_name,
                    email=client.email,
                    phone=client.phone,
                )
            else:
                client_id = client
            client_row = await scope.get(Client, client_id)
            appointment = Appointment(
                client_id=client_id,
                service_id=service["id"],
                staff_id=staff_id,
                start_at=start,
                end_at=end,
                status="booked",
                note=note,
                source=source,
                price=service["price"],
                cancel_token=secrets.token_urlsafe(24),
                created_at=utcnow(),
            )
            await scope.insert(appointment)
            row = appointment.to_dict()
            staff_row = {"name": service_day.provider_names[staff_id]}
            result = appointment_json(
                scope, row, client=client_row, service=service, staff=staff_row
            )
            await _record_booking(scope, result, client_row, row, actor_id)
            result["cancel_token"] = row["cancel_token"]
    except SlotUnavailable:
        raise
    except Exception as exc:
        if _is_exclusion_violation(exc):
            raise SlotUnavailable(str(staff_id), start.isoformat()) from exc
        raise
    logger.info(
        "booked appointment %s with staff %s for tenant %s",
        result["id"],
        staff_id,
        scope.tenant_id,
    )
    return result


async def _overlaps(
    scope: TenantScope, staff_id: uuid.UUID, start: datetime, end: datetime
) -> bool:
    row = (
        await scope.select(Appointment, Appointment.id)
        .where(Appointment.staff_id == staff_id)
        .where(Appointment.status.is_in(list(LIVE_STATUSES)))
        .where(Appointment.start_at < end)
        .where(Appointment.end_at > start)
        .first()
    )
    return row is not None


def _is_exclusion_violation(exc: BaseException) -> bool:
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


async def _record_booking(
    scope: TenantScope,
    result: dict[str, Any],
    client_row: dict[str, Any],
    row: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> None:
    appointment_id = row["id"]
    summary = (
        f"Booked {result['service_name']} with {result['staff_name']} "
        f"on {result['date']} at {result['local']}"
    )
    await add_history(
        scope, client_row["id"], "appointment.booked", summary, appointment_id
    )
    await record_audit(
        scope,
        actor_id=actor_id,
        action="appointment.booked",
        subject_type="appointment",
        subject_id=appointment_id,
        after=result,
    )
    await record_event(scope, "appointment.booked", _event_payload(result))
    if client_row["email"]:
        cancel_url = cancel_link(scope, row["cancel_token"])
        subject, html, text = confirmation_email(
            scope.tenant, _notice(scope, result, client_row, cancel_url)
        )
        await queue_mail(
            scope,
            to=client_row["email"],
            subject=subject,
            html=html,
            text=text,
            kind="appointment.confirmation",
        )


def _event_payload(result: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "status",
        "start",
        "end",
        "date",
        "local",
        "client_id",
        "client_name",
        "service_id",
        "service_name",
        "staff_id",
        "staff_name",
        "source",
    )
    return {"appointment_id": result["id"], **{key: result[key] for key in keys}}


def _notice(
    scope: TenantScope,
    result: dict[str, Any],
    client_row: dict[str, Any],
    cancel_url: str,
) -> AppointmentNotice:
    return AppointmentNotice(
        client_first_name=client_row["first_name"],
        service_name=result["service_name"],
        staff_name=result["staff_name"],
        when=describe_when(date.fromisoformat(result["date"]), result["local"]),
        duration_minutes=result["duration_minutes"],
        price=format_price(scope.tenant, result["price"]),
        note=result["note"],
        cancel_url=cancel_url,
    )


def cancel_link(scope: TenantScope, token: str) -> str:
    """Return the public URL at which a client cancels with ``token``."""
    base = get_settings().public_url.rstrip("/")
    return f"{base}/t/{scope.tenant.slug}/book/cancel/{token}"


# -- after booking -------------------------------------------------------------


async def appointment_by_token(scope: TenantScope, token: str) -> dict[str, Any]:
    """Return the appointment of a client's cancel link as JSON.

    Adds ``client_first_name`` and ``client_email`` for the client's own
    pages. Raises NotFound for a malformed token or one of no appointment of
    this tenant.
    """
    row = await _row_by_token(scope, token)
    result, client = await _with_names(scope, row)
    result["client_first_name"] = client["first_name"] if client else ""
    result["client_email"] = client["email"] if client else ""
    return result


async def _row_by_token(scope: TenantScope, token: str) -> dict[str, Any]:
    if not TOKEN_PATTERN.match(token or ""):
        raise NotFound("appointment", "for this link")
    row = (
        await scope.select(Appointment).where(Appointment.cancel_token == token).first()
    )
    if row is None:
        raise NotFound("appointment", "for this link")
    return row  # type: ignore[no-any-return]


async def _with_names(
    scope: TenantScope, row: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    client = await scope.select(Client).where(Client.id == row["client_id"]).first()
    service = await scope.select(Service).where(Service.id == row["service_id"]).first()
    staff = await scope.select(Staff).where(Staff.id == row["staff_id"]).first()
    result = appointment_json(scope, row, client=client, service=service, staff=staff)
    return result, client


async def cancel_appointment(
    scope: TenantScope,
    appointment_id: uuid.UUID | str,
    *,
    actor_id: uuid.UUID | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """Cancel a booked appointment for staff; return it as JSON.

    The provider's time is free again at once. Cancelling an appointment
    that is already cancelled returns it unchanged. Appends history, audit,
    the ``appointment.cancelled`` event and a cancellation mail to a client
    with an email.

    Raises NotFound for an id of no appointment of this tenant, and Conflict
    for an appointment that is checked in, completed or a no-show.
    """
    async with write_transaction():
        row = await scope.get(Appointment, appointment_id)
        return await _cancel(scope, row, actor_id=actor_id, by="staff", reason=reason)


async def cancel_by_token(
    scope: TenantScope, token: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Cancel the appointment of a client's cancel link; return it as JSON.

    Raises NotFound for an unknown token, and Conflict once the appointment
    has started or is no longer booked.
    """
    now = now or utcnow()
    async with write_transaction():
        row = await _row_by_token(scope, token)
        if row["status"] == "booked" and row["start_at"] <= now:
            raise Conflict("the appointment has already started: contact the business")
        return await _cancel(scope, row, actor_id=None, by="client", reason="")


async def _cancel(
    scope: TenantScope,
    row: dict[str, Any],
    *,
    actor_id: uuid.UUID | None,
    by: str,
    reason: str,
) -> dict[str, Any]:
    if row["status"] == "cancelled":
        return (await _with_names(scope, row))[0]
    if row["status"] != "booked":
        raise Conflict(
            f"the appointment is {row['status'].replace('_', ' ')} "
            "and can no longer be cancelled"
        )
    await scope.update(Appointment, {Appointment.status: "cancelled"}).where(
        Appointment.id == row["id"]
    )
    row = {**row, "status": "cancelled"}
    result, client = await _with_names(scope, row)
    summary = (
        f"Cancelled {result['service_name']} with {result['staff_name']} "
        f"on {result['date']} at {result['local']}"
        + (" by the client" if by == "client" else "")
        + (f": {reason.strip()[:200]}" if reason.strip() else "")
    )
    await add_history(
        scope, row["client_id"], "appointment.cancelled", summary, row["id"]
    )
    await record_audit(
        scope,
        actor_id=actor_id,
        action="appointment.cancelled",
        subject_type="appointment",
        subject_id=row["id"],
        before={"status": "booked"},
        after={"status": "cancelled", "by": by, "reason": reason},
    )
    await record_event(
        scope,
        "appointment.cancelled",
        {**_event_payload(result), "cancelled_by": by},
    )
    if client is not None and client["email"]:
        subject, html, text = cancellation_email(
            scope.tenant, _notice(scope, result, client, "")
        )
        await queue_mail(
            scope,
            to=client["email"],
            subject=subject,
            html=html,
            text=text,
            kind="appointment.cancellation",
        )
    return result


async def check_in(
    scope: TenantScope,
    appointment_id: uuid.UUID | str,
    actor: Actor | uuid.UUID | None = None,
) -> dict[str, Any]:
    """Mark a booked appointment as checked in (arrived); return it as JSON.

    Checking in twice returns the appointment unchanged. Appends history,
    audit and the ``appointment.checked_in`` event. Raises NotFound for an id
    of no appointment of this tenant, and Conflict for an appointment that is
    cancelled, completed or a no-show.
    """
    actor_id = actor.account_id if isinstance(actor, Actor) else actor
    async with write_transaction():
        row = await scope.get(Appointment, appointment_id)
        if row["status"] == "checked_in":
            return (await _with_names(scope, row))[0]
        if row["status"] != "booked":
            raise Conflict(
                f"the appointment is {row['status'].replace('_', ' ')} "
                "and cannot be checked in"
            )
        at = utcnow()
        await scope.update(
            Appointment,
            {Appointment.status: "checked_in", Appointment.checked_in_at: at},
        ).where(Appointment.id == row["id"])
        row = {**row, "status": "checked_in", "checked_in_at": at}
        result, _client = await _with_names(scope, row)
        await add_history(
            scope,
            row["client_id"],
            "appointment.checked_in",
            f"Checked in for {result['service_name']} with {result['staff_name']}",
            row["id"],
        )
        await record_audit(
            scope,
            actor_id=actor_id,
            action="appointment.checked_in",
            subject_type="appointment",
            subject_id=row["id"],
            before={"status": "booked"},
            after={"status": "checked_in", "checked_in_at": at},
        )
        await record_event(
            scope,
            "appointment.checked_in",
            {**_event_payload(result), "checked_in_at": at.isoformat()},
        )
    return result
