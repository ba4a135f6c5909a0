"""Booking appointments, and (until they move) cancelling and checking in.

A booking passes every check of the slot search again at the moment it is
made: the provider works then (inside weekly hours or an override, outside
breaks, time off and closures), the start is on the slot grid, inside the
notice and advance window, and the provider and each required resource
have free time. The last check is made by placing holds
(``tillbook.kernel.schedule.holds``) inside the booking transaction: on
SQLite that transaction holds the write lock, and on PostgreSQL the holds'
exclusion constraints reject the second of two racing bookings. Either way
the loser gets ``SlotUnavailable``.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import (
    NotFound,
    SlotUnavailable,
    ValidationFailed,
    invalid,
)
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
from tillbook.kernel.schedule.availability import Timing
from tillbook.kernel.schedule.deposits import take_deposit
from tillbook.kernel.schedule.holds import (
    is_exclusion_violation,
    place_appointment_holds,
)
from tillbook.kernel.schedule.notices import (
    AppointmentNotice,
    describe_when,
    format_price,
    manage_link,
    render_notification,
)
from tillbook.kernel.schedule.search import (
    ANY,
    LONGEST_APPOINTMENT,
    ServiceSearch,
    active_service,
    load_search,
    parse_uuid,
    service_json,
)
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

__all__ = [
    "NewClient",
    "PlannedBooking",
    "appointments_on",
    "book_appointment",
    "booking_fields",
    "cancel_appointment",
    "cancel_by_token",
    "check_in",
    "clean_fields",
    "day_schedule",
    "plan_booking",
]

SOURCES = ("online", "staff")
MAX_NOTE_LENGTH = 1000
MAX_FIELD_LENGTH = 500
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FIELD_TYPES = ("text", "number", "select", "date")


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


@dataclass
class PlannedBooking:
    """A checked start of one service, with the providers to try, fairest first.

    ``search`` contains the loaded data and ``fields`` the cleaned plugin
    booking fields.
    """

    search: ServiceSearch
    start: datetime
    candidates: list[uuid.UUID]
    any_provider: bool
    source: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def service(self) -> dict[str, Any]:
        return self.search.service

    def timing(self, staff_id: uuid.UUID) -> Timing:
        return self.search.timing(staff_id)

    def end(self, staff_id: uuid.UUID) -> datetime:
        return self.start + timedelta(minutes=self.timing(staff_id).duration_minutes)

    def next_start(self, staff_id: uuid.UUID) -> datetime:
        """Return when the client is free for the next service of a visit."""
        timing = self.timing(staff_id)
        return self.end(staff_id) + timedelta(minutes=timing.buffer_after_minutes)


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
    elif value is None or isinstance(value, str):
        raise invalid(field, "is required: choose a time from the list")
    else:
        raise invalid(
            field,
            f"{value!r} is not an ISO 8601 instant: use 2026-12-05T15:00:00Z",
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise invalid(
            field, f"{value!r} has no UTC offset: add Z or +00:00 to the time"
        )
    # Bookings live within a few years of today; far years also overflow
    # the arithmetic of buffers and slot grids at the ends of the calendar.
    if not FIRST_DAY.year <= parsed.year <= LAST_DAY.year:
        raise invalid(
            field,
            f"{value!r} is out of range: use a time between {FIRST_DAY.year}"
            f" and {LAST_DAY.year}",
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise invalid(field, f"{value!r} is out of range") from None


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


# -- plugin booking fields -----------------------------------------------------


async def booking_fields(
    scope: TenantScope, service: dict[str, Any], hooks: TenantHooks | None = None
) -> list[dict[str, Any]]:
    """Return the extra fields plugins ask for when booking ``service``.

    Fields without a usable ``name`` or with an unknown ``type`` are dropped
    and logged, so a faulty plugin cannot break the booking form.
    """
    if hooks is None:
        return []
    results = await hooks.tillbook_booking_fields(
        scope=scope, service=service_json(service)
    )
    fields = []
    for result in results or []:
        for item in result or []:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                logger.warning("dropped a booking field without a name: %r", item)
                continue
            kind = item.get("type", "text")
            if kind not in FIELD_TYPES:
                logger.warning(
                    "dropped booking field %s of unknown type %r", item["name"], kind
                )
                continue
            fields.append(
                {
                    "name": item["name"],
                    "label": str(item.get("label") or item["name"]),
                    "type": kind,
                    "required": bool(item.get("required", False)),
                    "choices": list(item.get("choices") or []),
                    "help": str(item.get("help") or ""),
                }
            )
    return fields


def clean_fields(declared: list[dict[str, Any]], submitted: object) -> dict[str, Any]:
    """Check submitted booking field values against the declared fields.

    Returns the values by name: numbers as int or float, dates as ISO text.
    Raises ValidationFailed naming every field that is missing, unknown or
    of the wrong type.
    """
    if submitted in (None, ""):
        submitted = {}
    if not isinstance(submitted, dict):
        raise invalid("fields", "must be an object of field name to value")
    known = {item["name"]: item for item in declared}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in submitted:
        if name not in known:
            errors[str(name)] = "is not a booking field of this service: remove it"
    for name, item in known.items():
        value = submitted.get(name)
        if value in (None, ""):
            if item["required"]:
                errors[name] = f"is required: enter {item['label']}"
            continue
        try:
            values[name] = _field_value(item, value)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    return values


def _field_value(item: dict[str, Any], value: object) -> Any:
    kind = item["type"]
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a number: enter digits") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return int(number) if number.is_integer() else number
    if kind == "date":
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD") from None
    text = str(value).strip()
    if len(text) > MAX_FIELD_LENGTH:
        raise ValueError(f"is longer than {MAX_FIELD_LENGTH} characters: shorten it")
    if kind == "select":
        allowed = {str(choice.get("value")) for choice in item["choices"]}
        if text not in allowed:
            raise ValueError(f"{text!r} is not one of the choices: pick one")
    return text


# -- booking -------------------------------------------------------------------


async def book_appointment(
    scope: TenantScope,
    *,
    service_id: uuid.UUID | str,
    staff_id: uuid.UUID | str | None,
    start: datetime | str,
    client: uuid.UUID | str | NewClient,
    note: str = "",
    source: str = "online",
    actor_id: uuid.UUID | None = None,
    now: datetime | None = None,
    location_id: uuid.UUID | str | None = None,
    fields: dict[str, Any] | None = None,
    hooks: TenantHooks | None = None,
    payment_method: str | None = None,
) -> dict[str, Any]:
    """Book a service with a provider (or any free one) and return the appointment.

    The returned JSON also has ``cancel_token``, the secret of the client's
    manage link (``cancel_link``), where the client moves or cancels. Show it
    only to the person who booked.

    ``staff_id`` of ``None`` (or ``"any"``) picks, among the free providers
    who perform the service, the one with the fewest booked minutes that
    local day; the result has ``any_provider`` true. ``client`` is an
    existing client id, or contact details matched by email. Online
    bookings keep the service's (or the policy's) notice and advance window;
    staff bookings only need a start that has not passed. Duration and
    price come from the service, the provider's override and then the
    ``tillbook_service_timing`` hook. ``fields`` are the values of the
    plugin booking fields. ``payment_method`` pays an online deposit.

    In the same transaction as the insert it places the holds, appends the
    client's history, the audit log, the ``appointment.booked`` event and,
    when the client has an email, a confirmation mail with the manage link;
    it calls ``tillbook_validate_booking`` and ``tillbook_booking_made`` and
    takes the deposit.

    Raises ValidationFailed naming ``service_id``, ``staff_id``,
    ``location_id``, ``start``, ``client_id``, ``note``, ``source``, a
    plugin field or a contact field (``first_name``, ``email``, ...).
    Raises SlotUnavailable when the provider (or every provider, for "any")
    or a required resource is already taken at that time.
    """
    now = now or utcnow()
    if source not in SOURCES:
        raise invalid("source", f"{source!r} is not a source: use online or staff")
    note = clean_note(note)
    client_ref = await client_reference(scope, client)
    plan = await plan_booking(
        scope,
        service_id=service_id,
        staff_id=staff_id,
        start=start,
        location_id=location_id,
        fields=fields,
        source=source,
        hooks=hooks,
        now=now,
    )
    for index, chosen in enumerate(plan.candidates):
        try:
            async with write_transaction():
                client_id = await resolve_client(scope, client_ref)
                result = await store_appointment(
                    scope,
                    plan,
                    staff_id=chosen,
                    start=plan.start,
                    client_id=client_id,
                    note=note,
                    actor_id=actor_id,
                    hooks=hooks,
                    payment_method=payment_method,
                )
        except SlotUnavailable:
            # Another booking took this provider after the search. With "any
            # provider" the next free one may still be open.
            if not plan.any_provider or index == len(plan.candidates) - 1:
                raise
            continue
        except Exception as exc:
            if is_exclusion_violation(exc):
                if not plan.any_provider or index == len(plan.candidates) - 1:
                    raise SlotUnavailable(str(chosen), plan.start.isoformat()) from exc
                continue
            raise
        logger.info(
            "booked appointment %s with staff %s for tenant %s",
            result["id"],
            chosen,
            scope.tenant_id,
        )
        return result
    raise AssertionError("unreachable: candidates is never empty")


def clean_note(note: object) -> str:
    """Return a booking note stripped; raise ValidationFailed on ``note``."""
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


async def client_reference(scope: TenantScope, client: object) -> uuid.UUID | NewClient:
    """Check a booking's client (an id or contact details) before booking."""
    if isinstance(client, NewClient):
        validate_contact(
            client.first_name, client.last_name, client.email, client.phone
        )
        return client
    client_id = parse_uuid(client, "client_id", "client")
    row = await scope.select(Client, Client.id).where(Client.id == client_id).first()
    if row is None:
        raise invalid("client_id", f"unknown client {client}: search again or add one")
    return client_id


async def resolve_client(
    scope: TenantScope, client: uuid.UUID | NewClient
) -> uuid.UUID:
    """Return the client's id, creating the client from contact details if new.

    Call inside the booking transaction, so a failed booking adds no client.
    """
    if not isinstance(client, NewClient):
        return client
    return await find_or_create_client(
        scope,
        first_name=client.first_name,
        last_name=client.last_name,
        email=client.email,
        phone=client.phone,
    )


async def plan_booking(
    scope: TenantScope,
    *,
    service_id: object,
    staff_id: object,
    start: object,
    location_id: object = None,
    fields: object = None,
    source: str = "online",
    hooks: TenantHooks | None = None,
    now: datetime,
    on_grid: bool = True,
    search: ServiceSearch | None = None,
) -> PlannedBooking:
    """Check a start for a service and return the providers to try.

    ``on_grid`` false accepts a start between grid times (the second and
    later services of a visit). ``search`` reuses loaded data.

    Raises ValidationFailed naming ``start`` for a start in the past, inside
    the notice, beyond the advance window, off the grid or outside working
    hours (including breaks, time off and closures), and naming other
    fields as ``load_search`` and ``clean_fields`` do. Raises
    SlotUnavailable when every provider that works then is taken.
    """
    instant = parse_instant(start)
    any_provider = staff_id in ANY
    # Plugin fields are checked first, so the timing hook receives clean values.
    service = search.service if search else await active_service(scope, service_id)
    declared = await booking_fields(scope, service, hooks)
    cleaned = clean_fields(declared, fields)
    if search is None:
        # Local dates around the UTC date cover every zone's offset.
        day = instant.date()
        search = await load_search(
            scope,
            service_id,
            day - timedelta(days=1),
            day + timedelta(days=1),
            staff_id=staff_id,
            location_id=location_id,
            fields=cleaned,
            hooks=hooks,
        )
    if source == "online" and not service.get("online", True):
        raise invalid(
            "service_id",
            f"{service['name']} cannot be booked online: call the business",
        )
    if not search.providers:
        raise invalid(
            "staff_id" if not any_provider else "service_id",
            f"nobody takes bookings for {service['name']} here yet: "
            "ask the business or choose another location",
        )
    reasons = {
        person["id"]: search.check(
            person["id"], instant, now=now, source=source, on_grid=on_grid
        )
        for person in search.providers
    }
    free = [staff for staff, reason in reasons.items() if reason is None]
    if not free:
        raise start_error(search, instant, set(reasons.values()), source)
    day = instant.astimezone(search.zone).date()
    ordered = search.fairest(free, day) if any_provider else free
    for staff in ordered:
        length = search.timing(staff)
        total = timedelta(
            minutes=length.duration_minutes
            + length.buffer_before_minutes
            + length.buffer_after_minutes
        )
        if total > LONGEST_APPOINTMENT:
            raise invalid(
                "service_id",
                f"{service['name']} lasts longer than {LONGEST_APPOINTMENT}: "
                "shorten the service or split it",
            )
    return PlannedBooking(search, instant, ordered, any_provider, source, cleaned)


def start_error(
    search: ServiceSearch, start: datetime, reasons: set[str | None], source: str
) -> Exception:
    """Turn the reasons ``ServiceSearch.check`` gave for ``start`` into an error."""
    rules = search.rules(source)
    if "busy" in reasons:
        staff = search.providers[0]["id"]
        return SlotUnavailable(str(staff), start.isoformat())
    if "past" in reasons:
        return invalid("start", "is in the past: choose a time from the list")
    if "notice" in reasons:
        minutes = int(rules.min_notice.total_seconds() // 60)
        return invalid(
            "start", f"is less than {minutes} minutes from now: choose a later time"
        )
    if "advance" in reasons:
        return invalid(
            "start",
            f"is more than {rules.max_advance_days} days ahead, beyond the "
            "advance booking window: choose an earlier date",
        )
    if "grid" in reasons:
        return invalid(
            "start",
            f"is not on the {rules.granularity_minutes}-minute slot grid: "
            "choose a time from the list",
        )
    return invalid(
        "start",
        "is outside working hours, or during a break, time off or closure: "
        "choose a time from the list",
    )


async def store_appointment(
    scope: TenantScope,
    plan: PlannedBooking,
    *,
    staff_id: uuid.UUID,
    start: datetime,
    client_id: uuid.UUID,
    note: str,
    actor_id: uuid.UUID | None,
    hooks: TenantHooks | None = None,
    payment_method: str | None = None,
    visit_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Insert one planned appointment with its holds, records and hooks.

    Call inside ``write_transaction()``: a failure anywhere rolls back the
    appointment, its holds and everything recorded with it. Raises
    SlotUnavailable when a hold cannot be placed, and ValidationFailed when
    ``tillbook_validate_booking`` reports errors.
    """
    service = plan.service
    timing = plan.timing(staff_id)
    end = start + timedelta(minutes=timing.duration_minutes)
    booking = {
        "kind": "appointment",
        "service": service_json(service),
        "staff_id": str(staff_id),
        "client_id": str(client_id),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "fields": plan.fields,
    }
    if hooks is not None:
        results = await hooks.tillbook_validate_booking(scope=scope, booking=booking)
        errors: dict[str, str] = {}
        for result in results or []:
            errors.update(result or {})
        if errors:
            raise ValidationFailed(errors)
    online_deposit = service.get("deposit") or 0
    deposit = online_deposit if plan.source == "online" else 0
    client_row = await scope.get(Client, client_id)
    appointment = Appointment(
        client_id=client_id,
        service_id=service["id"],
        staff_id=staff_id,
        start_at=start,
        end_at=end,
        status="booked",
        note=note,
        source=plan.source,
        price=plan.search.prices.get(staff_id, service["price"]),
        cancel_token=secrets.token_urlsafe(24),
        created_at=utcnow(),
        location_id=plan.search.location_id,
        visit_id=visit_id,
        any_provider=plan.any_provider,
        buffer_before_minutes=timing.buffer_before_minutes,
        buffer_after_minutes=timing.buffer_after_minutes,
        processing_after_minutes=timing.processing_after_minutes,
        processing_minutes=timing.processing_minutes,
        plugin_fields=plan.fields,
    )
    await scope.insert(appointment)
    row = appointment.to_dict()
    await place_appointment_holds(scope, row)
    staff_row = {"name": plan.search.provider_names[staff_id]}
    result = appointment_json(
        scope, row, client=client_row, service=service, staff=staff_row
    )
    result["deposit"] = deposit
    await _record_booking(scope, result, client_row, row, actor_id, hooks)
    if hooks is not None:
        await hooks.tillbook_booking_made(
            scope=scope, booking={**booking, "appointment_id": str(row["id"])}
        )
    if deposit > 0:
        await take_deposit(
            scope, appointment=row, payment_method=payment_method, hooks=hooks
        )
        taken = (
            await scope.select(Appointment, Appointment.deposit)
            .where(Appointment.id == row["id"])
            .first()
        )
        result["deposit"] = taken["deposit"] if taken else 0
    result["cancel_token"] = row["cancel_token"]
    return result


async def _record_booking(
    scope: TenantScope,
    result: dict[str, Any],
    client_row: dict[str, Any],
    row: dict[str, Any],
    actor_id: uuid.UUID | None,
    hooks: TenantHooks | None,
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
        manage_url = cancel_link(scope, row["cancel_token"])
        subject, html, text = await render_notification(
            "appointment.confirmation",
            scope.tenant,
            _notice(scope, result, client_row, manage_url),
            hooks,
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
    manage_url: str,
) -> AppointmentNotice:
    return AppointmentNotice(
        client_first_name=client_row["first_name"],
        service_name=result["service_name"],
        staff_name=result["staff_name"],
        when=describe_when(date.fromisoformat(result["date"]), result["local"]),
        duration_minutes=result["duration_minutes"],
        price=format_price(scope.tenant, result["price"]),
        note=result["note"],
        cancel_url=f"{manage_url}/cancel",
        manage_url=manage_url,
    )


def cancel_link(scope: TenantScope, token: str) -> str:
    """Return the client's manage page for ``token``, where they move or cancel.

    The name stays from when the link led to a cancel-only page.
    """
    return manage_link(scope.tenant, token)


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


# Cancelling and checking in moved to ``changes``; these names stay importable
# from here for callers written before the move.
from tillbook.kernel.schedule.changes import (  # noqa: E402
    cancel_appointment,
    cancel_by_token,
    check_in,
)
