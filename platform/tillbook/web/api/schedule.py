"""Booking API: services, free slots, bookings and the desk's appointment routes.

``/services``, ``/availability`` and ``/bookings`` are public (the booking
page's data); the appointment routes need a desk role.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from tillbook.db.base import utcnow
from tillbook.errors import invalid
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.schedule.appointments import appointment_detail, appointments_on
from tillbook.kernel.schedule.booking import (
    NewClient,
    book_appointment,
    booking_fields,
    cancel_link,
    parse_day,
    parse_instant,
)
from tillbook.kernel.schedule.changes import check_in
from tillbook.kernel.schedule.search import (
    MAX_SEARCH_DAYS,
    active_service,
    bookable_services,
    booking_locations,
    parse_zone,
    search_slots,
)
from tillbook.kernel.schedule.visits import book_visit, parse_items, search_visit
from tillbook.plugins import TenantHooks
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
        "location_id",
        "fields",
        "payment_method",
    }
)
STAFF_BOOKING_FIELDS = BOOKING_FIELDS | {"client_id"}
VISIT_FIELDS = (BOOKING_FIELDS - {"service_id", "staff_id"}) | {"items"}
VISIT_SEARCH_FIELDS = frozenset({"items", "date", "last_date", "location_id", "fields"})

DateQuery = Annotated[
    str | None,
    QueryParameter(name="date", description="Local date YYYY-MM-DD; today if omitted"),
]
LastDateQuery = Annotated[
    str | None,
    QueryParameter(
        name="last_date",
        description=f"Last local date searched, at most {MAX_SEARCH_DAYS - 1} days "
        "after date; date if omitted",
    ),
]
ViewerZoneQuery = Annotated[
    str | None,
    QueryParameter(
        name="time_zone",
        description="IANA zone of the person viewing, such as America/New_York; "
        "adds each slot's date and time there",
    ),
]
FieldsQuery = Annotated[
    str | None,
    QueryParameter(
        name="fields",
        description="Plugin booking field values as a JSON object; they may "
        "change the duration",
    ),
]


@get(f"{API}/services", opt=PUBLIC)
async def list_services(
    tenant_scope: NamedDependency[TenantScope],
) -> list[dict[str, Any]]:
    """Return the active services with price, duration and bookable providers."""
    return await bookable_services(tenant_scope)


@get(f"{API}/booking/locations", opt=PUBLIC)
async def list_locations(
    tenant_scope: NamedDependency[TenantScope],
) -> list[dict[str, Any]]:
    """Return the active locations clients can book at, with their time zones."""
    return await booking_locations(tenant_scope)


@get(f"{API}/services/{{service_id:str}}/fields", opt=PUBLIC)
async def service_fields(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    service_id: FromPath[str],
) -> dict[str, Any]:
    """Return the extra booking fields plugins ask for this service.

    Responds 404 for an id of no service of this business.
    """
    await tenant_scope.get(Service, service_id)
    service = await active_service(tenant_scope, service_id)
    return {
        "service_id": str(service["id"]),
        "fields": await booking_fields(tenant_scope, service, hooks),
    }


def _parse_fields(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise invalid("fields", "is not JSON: send an object such as {}") from None
    if not isinstance(parsed, dict):
        raise invalid("fields", "must be a JSON object of field name to value")
    return parsed


def _date_range(scope: TenantScope, day: object, last_day: object) -> tuple[Any, Any]:
    first = parse_day(day) if day else utcnow().astimezone(scope.tenant.zone).date()
    last = parse_day(last_day, "last_date") if last_day else first
    if last < first:
        raise invalid(
            "last_date",
            f"{last.isoformat()} is before date {first.isoformat()}: swap them",
        )
    if last - first >= timedelta(days=MAX_SEARCH_DAYS):
        raise invalid(
            "last_date",
            f"is more than {MAX_SEARCH_DAYS - 1} days after date: search less at once",
        )
    return first, last


@get(f"{API}/availability", opt=PUBLIC)
async def availability(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    service_id: FromQuery[str | None] = None,
    day: DateQuery = None,
    last_day: LastDateQuery = None,
    staff_id: FromQuery[str | None] = None,
    location_id: FromQuery[str | None] = None,
    fields: FieldsQuery = None,
    time_zone: ViewerZoneQuery = None,
) -> dict[str, Any]:
    """Return the free slots of a service over local dates at one location.

    Without ``staff_id`` (or with ``any``) each time appears once, with the
    provider a booking for "any provider" would get (``staff_id`` of each
    slot). Slots respect the online notice and advance window. ``date``,
    ``local`` and the dates searched are the location's; with ``time_zone``
    each slot also has ``viewer_date`` and ``viewer_local`` in that zone.
    Responds 422 naming ``service_id``, ``staff_id``, ``location_id``,
    ``date``, ``last_date``, ``fields`` or ``time_zone``.
    """
    viewer = parse_zone(time_zone, "time_zone") if time_zone else None
    first, last = _date_range(tenant_scope, day, last_day)
    result = await search_slots(
        tenant_scope,
        service_id=service_id,
        first_day=first,
        last_day=last,
        staff_id=staff_id,
        location_id=location_id,
        fields=_parse_fields(fields),
        hooks=hooks,
    )
    return {
        "date": first.isoformat(),
        "last_date": last.isoformat(),
        "time_zone": str(result.zone),
        "service_id": service_id,
        "staff_id": staff_id or None,
        "location_id": str(result.location_id) if result.location_id else None,
        "slots": [_viewed(slot.to_json(), slot.start, viewer) for slot in result.slots],
    }


def _viewed(
    item: dict[str, Any], start: datetime, viewer: ZoneInfo | None
) -> dict[str, Any]:
    if viewer is not None:
        local = start.astimezone(viewer)
        item["viewer_date"] = local.date().isoformat()
        item["viewer_local"] = local.strftime("%H:%M")
    return item


@post(f"{API}/visits/availability", opt=PUBLIC, status_code=200)
async def visit_availability(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Return the starts at which several services fit back to back.

    Body: ``items``, ``date``, ``last_date``, ``location_id`` and ``fields``.
    ``items`` is a list of ``{"service_id", "staff_id", "fields"}``. A null
    ``staff_id`` means any provider, and an item's own ``fields`` replace
    the visit's for that service. Responds 422 naming the field, with
    ``items.N.<field>`` (``items.N.fields.<name>`` for a plugin field) for
    one service.
    """
    body = _booking_body(data, VISIT_SEARCH_FIELDS)
    first, last = _date_range(tenant_scope, body.get("date"), body.get("last_date"))
    options = await search_visit(
        tenant_scope,
        items=parse_items(body.get("items")),
        first_day=first,
        last_day=last,
        location_id=body.get("location_id"),
        fields=_object(body, "fields"),
        hooks=hooks,
    )
    return {
        "date": first.isoformat(),
        "last_date": last.isoformat(),
        "options": [option.to_json() for option in options],
    }


def _booking_body(data: object, allowed: frozenset[str]) -> dict[str, Any]:
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


def _object(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(key, "must be a JSON object of field name to value")
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
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Book online and respond 201 with the appointment and its ``cancel_url``.

    Body: ``service_id``, ``staff_id`` (or null for any provider), ``start``
    (ISO 8601 UTC), ``first_name``, ``last_name``, ``email``, ``phone``,
    ``note``, and optionally ``location_id``, ``fields`` (plugin booking
    fields) and ``payment_method`` (for a deposit). An email is required so
    the confirmation can be sent. Responds 422 naming the bad field, and 409
    ``slot_unavailable`` when the time was taken.
    """
    body = _booking_body(data, BOOKING_FIELDS)
    client = _new_client(body)
    if not client.email.strip():
        raise invalid("email", "is required: the confirmation is sent there")
    appointment = await book_appointment(
        tenant_scope,
        service_id=body.get("service_id"),  # type: ignore[arg-type]
        staff_id=body.get("staff_id"),
        start=parse_instant(body.get("start")),
        client=client,
        note=_text(body, "note"),
        source="online",
        location_id=body.get("location_id"),
        fields=_object(body, "fields"),
        hooks=hooks,
        payment_method=_text(body, "payment_method") or None,
    )
    return _with_cancel_url(tenant_scope, appointment)


@post(f"{API}/visits", opt=PUBLIC)
async def create_visit(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Book several services back to back online, all or nothing; respond 201.

    Body as for ``/bookings`` with ``items`` (a list of ``{"service_id",
    "staff_id", "fields"}``) in place of ``service_id`` and ``staff_id``.
    An item's own ``fields`` replace the visit-level ``fields`` for that
    service, so two pets can share one visit. Responds with ``visit_id``
    and the appointments, each with its ``cancel_url``; 422 names every
    rejected item as ``items.N.<field>`` and stores nothing.
    """
    body = _booking_body(data, VISIT_FIELDS)
    client = _new_client(body)
    if not client.email.strip():
        raise invalid("email", "is required: the confirmation is sent there")
    visit = await book_visit(
        tenant_scope,
        items=parse_items(body.get("items")),
        start=parse_instant(body.get("start")),
        client=client,
        note=_text(body, "note"),
        source="online",
        location_id=body.get("location_id"),
        fields=_object(body, "fields"),
        hooks=hooks,
        payment_method=_text(body, "payment_method") or None,
    )
    return {
        "visit_id": visit["visit_id"],
        "appointments": [
            _with_cancel_url(tenant_scope, item) for item in visit["appointments"]
        ],
    }


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
    hooks: NamedDependency[TenantHooks],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Book on behalf of a client and respond 201 with the appointment.

    Body as for ``/bookings``, plus ``client_id`` to book an existing client
    instead of giving contact details. Staff bookings need no notice, only a
    start that has not passed.
    """
    body = _booking_body(data, STAFF_BOOKING_FIELDS)
    client: Any = body.get("client_id") or _new_client(body)
    appointment = await book_appointment(
        tenant_scope,
        service_id=body.get("service_id"),  # type: ignore[arg-type]
        staff_id=body.get("staff_id"),
        start=parse_instant(body.get("start")),
        client=client,
        note=_text(body, "note"),
        source="staff",
        actor_id=actor.account_id,
        location_id=body.get("location_id"),
        fields=_object(body, "fields"),
        hooks=hooks,
        payment_method=_text(body, "payment_method") or None,
    )
    return _with_cancel_url(tenant_scope, appointment)


@post(f"{API}/appointments/visits", opt={"roles": DESK})
async def create_staff_visit(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Book several services back to back for a client at the desk; respond 201.

    Body as for ``/visits``, plus ``client_id`` to book an existing client.
    Staff bookings need no notice, only a start that has not passed.
    """
    body = _booking_body(data, VISIT_FIELDS | {"client_id"})
    client: Any = body.get("client_id") or _new_client(body)
    visit = await book_visit(
        tenant_scope,
        items=parse_items(body.get("items")),
        start=parse_instant(body.get("start")),
        client=client,
        note=_text(body, "note"),
        source="staff",
        location_id=body.get("location_id"),
        fields=_object(body, "fields"),
        hooks=hooks,
        actor_id=actor.account_id,
        payment_method=_text(body, "payment_method") or None,
    )
    return {
        "visit_id": visit["visit_id"],
        "appointments": [
            _with_cancel_url(tenant_scope, item) for item in visit["appointments"]
        ],
    }


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


ROUTES: list[Any] = [
    list_services,
    list_locations,
    service_fields,
    availability,
    visit_availability,
    create_booking,
    create_visit,
    list_appointments,
    create_appointment,
    create_staff_visit,
    get_appointment,
    check_in_appointment,
]
