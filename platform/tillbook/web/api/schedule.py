"""Booking API: services, free slots, bookings and the desk's appointment routes.

``/services``, ``/availability`` and ``/bookings`` are public (the booking
page's data); the appointment routes need a desk role.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from tillbook.db.base import utcnow
from tillbook.errors import invalid
from tillbook.kernel.schedule.appointments import appointment_detail, appointments_on
from tillbook.kernel.schedule.booking import (
    NewClient,
    book_appointment,
    cancel_appointment,
    cancel_link,
    check_in,
    parse_day,
    parse_instant,
)
from tillbook.kernel.schedule.search import (
    ONLINE_MIN_NOTICE,
    bookable_services,
    find_slots,
)
from tillbook.kernel.schedule.tables import Appointment
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

PUBLIC = {"public": True}
BOOKING_FIELDS = frozenset(
    {
        "service_id",
        "staff_id",
        "start",
        "first_name",
        "last_name",
        "email",
        "phone",
        "note",
    }
)
STAFF_BOOKING_FIELDS = BOOKING_FIELDS | {"client_id"}

DateQuery = Annotated[
    str | None,
    QueryParameter(name="date", description="Local date YYYY-MM-DD; today if omitted"),
]


@get(f"{API}/services", opt=PUBLIC)
async def list_services(
    tenant_scope: NamedDependency[TenantScope],
) -> list[dict[str, Any]]:
    """Return the active services with price, duration and bookable providers."""
    return await bookable_services(tenant_scope)


@get(f"{API}/availability", opt=PUBLIC)
async def availability(
    tenant_scope: NamedDependency[TenantScope],
    service_id: FromQuery[str | None] = None,
    day: DateQuery = None,
    staff_id: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """Return the free slots of a service on a local date.

    Without ``staff_id`` (or with ``any``) each time appears once, with the
    provider a booking for "any provider" would get. Slots respect the online
    booking notice. Raises 422 naming ``service_id``, ``staff_id`` or ``date``.
    """
    target = (
        parse_day(day) if day else utcnow().astimezone(tenant_scope.tenant.zone).date()
    )
    slots = await find_slots(
        tenant_scope,
        service_id=service_id,
        day=target,
        staff_id=staff_id,
        min_notice=ONLINE_MIN_NOTICE,
    )
    return {
        "date": target.isoformat(),
        "time_zone": tenant_scope.tenant.time_zone,
        "service_id": service_id,
        "staff_id": staff_id or None,
        "slots": [slot.to_json() for slot in slots],
    }


def _booking_fields(data: object, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise invalid(
            unknown[0], f"is not a booking field: use {', '.join(sorted(allowed))}"
        )
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(key, "must be text")
    return value


def _new_client(data: dict[str, Any]) -> NewClient:
    return NewClient(
        first_name=_text(data, "first_name"),
        last_name=_text(data, "last_name"),
        email=_text(data, "email"),
        phone=_text(data, "phone"),
    )


@post(f"{API}/bookings", opt=PUBLIC)
async def create_booking(
    tenant_scope: NamedDependency[TenantScope], data: JSONBody[dict[str, Any]]
) -> dict[str, Any]:
    """Book online and respond 201 with the appointment and its ``cancel_url``.

    Body: ``service_id``, ``staff_id`` (or null for any provider), ``start``
    (ISO 8601 UTC), ``first_name``, ``last_name``, ``email``, ``phone``,
    ``note``. An email is required so the confirmation can be sent. Responds
    422 naming the bad field, and 409 ``slot_unavailable`` when the time was
    taken.
    """
    fields = _booking_fields(data, BOOKING_FIELDS)
    client = _new_client(fields)
    if not client.email.strip():
        raise invalid("email", "is required: the confirmation is sent there")
    appointment = await book_appointment(
        tenant_scope,
        service_id=fields.get("service_id"),  # type: ignore[arg-type]
        staff_id=fields.get("staff_id"),
        start=parse_instant(fields.get("start")),
        client=client,
        note=_text(fields, "note"),
        source="online",
    )
    return _with_cancel_url(tenant_scope, appointment)


def _with_cancel_url(scope: TenantScope, appointment: dict[str, Any]) -> dict[str, Any]:
    token = appointment.pop("cancel_token")
    return {**appointment, "cancel_url": cancel_link(scope, token)}


@get(f"{API}/appointments", opt={"roles": DESK})
async def list_appointments(
    tenant_scope: NamedDependency[TenantScope], day: DateQuery = None
) -> dict[str, Any]:
    """Return the appointments starting on a local date, by start time."""
    target = (
        parse_day(day) if day else utcnow().astimezone(tenant_scope.tenant.zone).date()
    )
    return {
        "date": target.isoformat(),
        "time_zone": tenant_scope.tenant.time_zone,
        "appointments": await appointments_on(tenant_scope, target),
    }


@post(f"{API}/appointments", opt={"roles": DESK})
async def create_appointment(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Book on behalf of a client and respond 201 with the appointment.

    Body as for ``/bookings``, plus ``client_id`` to book an existing client
    instead of giving contact details. Staff bookings need no notice, only a
    start that has not passed.
    """
    fields = _booking_fields(data, STAFF_BOOKING_FIELDS)
    client: Any = fields.get("client_id") or _new_client(fields)
    appointment = await book_appointment(
        tenant_scope,
        service_id=fields.get("service_id"),  # type: ignore[arg-type]
        staff_id=fields.get("staff_id"),
        start=parse_instant(fields.get("start")),
        client=client,
        note=_text(fields, "note"),
        source="staff",
        actor_id=actor.account_id,
    )
    return _with_cancel_url(tenant_scope, appointment)


@get(f"{API}/appointments/{{appointment_id:str}}", opt={"roles": DESK})
async def get_appointment(
    tenant_scope: NamedDependency[TenantScope], appointment_id: FromPath[str]
) -> dict[str, Any]:
    """Return an appointment with the client's preferences, notes, history and
    package balances; 404 for an id of no appointment of this business."""
    return await appointment_detail(tenant_scope, appointment_id)


@post(
    f"{API}/appointments/{{appointment_id:str}}/check-in",
    opt={"roles": DESK},
    status_code=200,
)
async def check_in_appointment(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
) -> dict[str, Any]:
    """Mark the client as arrived; 409 unless the appointment is booked."""
    return await check_in(tenant_scope, appointment_id, actor)


@post(
    f"{API}/appointments/{{appointment_id:str}}/cancel",
    opt={"roles": DESK},
    status_code=200,
)
async def cancel(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Cancel an appointment; optional body ``{"reason": "..."}``.

    Responds 409 for an appointment that is checked in or completed.
    """
    # Look the id up first, so another tenant's id is a 404 whatever the body.
    await tenant_scope.get(Appointment, appointment_id)
    reason = _text(data, "reason") if data else ""
    return await cancel_appointment(
        tenant_scope, appointment_id, actor_id=actor.account_id, reason=reason
    )


ROUTES: list[Any] = [
    list_services,
    availability,
    create_booking,
    list_appointments,
    create_appointment,
    get_appointment,
    check_in_appointment,
    cancel,
]
