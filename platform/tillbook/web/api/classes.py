"""Classes API: sessions, rosters, waitlists, roll call and recurring series.

Managers schedule, change and cancel sessions and class series; everyone at
the desk (providers included) books clients, cancels places and takes the
roll call. Recurring appointment series need a desk role. The public
timetable and online class booking are under ``/classes/timetable`` and
``/classes/sessions/{id}/book``. Every route with an id looks the id up
before it reads the body, so another tenant's id gets 404.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from tillbook.db.base import utcnow
from tillbook.errors import NotFound, invalid
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.schedule.booking import NewClient, parse_day
from tillbook.kernel.schedule.class_roster import (
    book_place,
    cancel_link,
    cancel_place,
    mark_attendance,
    roll_call,
)
from tillbook.kernel.schedule.class_views import get_session, list_sessions, parse_id
from tillbook.kernel.schedule.classes import (
    cancel_session,
    create_session,
    update_session,
)
from tillbook.kernel.schedule.series import cancel_series, create_series, get_series
from tillbook.kernel.schedule.series_edits import edit_series
from tillbook.kernel.schedule.tables import ClassBooking, ClassSession, Series
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

PUBLIC = {"public": True}
CLASSES = f"{API}/classes"
DEFAULT_RANGE_DAYS = 7
PLACE_FIELDS = frozenset(
    {"client_id", "first_name", "last_name", "email", "phone", "note", "waitlist"}
)
ONLINE_PLACE_FIELDS = PLACE_FIELDS - {"client_id"}

FromDate = Annotated[
    str | None,
    QueryParameter(name="from", description="First local date YYYY-MM-DD; today"),
]
ToDate = Annotated[
    str | None,
    QueryParameter(name="to", description="Last local date YYYY-MM-DD; from + 6"),
]


def _body(data: object, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    if allowed is not None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise invalid(
                unknown[0], f"is not a field here: use {', '.join(sorted(allowed))}"
            )
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(key, "must be text")
    return value


def _flag(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise invalid(key, "must be true or false")
    return value


def _range(
    scope: TenantScope, first: str | None, last: str | None
) -> tuple[date, date]:
    today = utcnow().astimezone(scope.tenant.zone).date()
    first_day = parse_day(first, "from") if first else today
    last_day = (
        parse_day(last, "to")
        if last
        else first_day + timedelta(days=DEFAULT_RANGE_DAYS - 1)
    )
    return first_day, last_day


def _client_of(data: dict[str, Any]) -> Any:
    if data.get("client_id") not in (None, ""):
        return data["client_id"]
    return NewClient(
        first_name=_text(data, "first_name"),
        last_name=_text(data, "last_name"),
        email=_text(data, "email"),
        phone=_text(data, "phone"),
    )


# -- sessions -------------------------------------------------------------------------


@get(f"{CLASSES}/sessions", opt={"roles": DESK})
async def list_class_sessions(
    tenant_scope: NamedDependency[TenantScope],
    first: FromDate = None,
    last: ToDate = None,
    service_id: FromQuery[str | None] = None,
    staff_id: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """Return the sessions on the local dates ``from`` to ``to`` (a week by default).

    Optional ``service_id`` and ``staff_id`` filter. Responds 422 naming
    ``from``, ``to``, ``service_id`` or ``staff_id``.
    """
    first_day, last_day = _range(tenant_scope, first, last)
    sessions = await list_sessions(
        tenant_scope,
        first_day,
        last_day,
        service_id=parse_id(service_id, "service_id", "service")
        if service_id
        else None,
        staff_id=parse_id(staff_id, "staff_id", "staff") if staff_id else None,
    )
    return {
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "sessions": sessions,
    }


@post(f"{CLASSES}/sessions", opt={"roles": MANAGERS})
async def create_class_session(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Schedule one session and respond 201 with it.

    Body: ``service_id`` (a class), ``staff_id``, ``start`` (ISO 8601 with
    offset), optional ``end``, ``location_id``, ``resource_id``,
    ``capacity`` and ``note``. Responds 422 naming the field and 409
    ``slot_unavailable`` when the instructor or the room is busy.
    """
    return await create_session(tenant_scope, _body(data), actor_id=actor.account_id)


@get(f"{CLASSES}/sessions/{{class_session_id:uuid}}", opt={"roles": DESK})
async def get_class_session(
    tenant_scope: NamedDependency[TenantScope], class_session_id: FromPath[uuid.UUID]
) -> dict[str, Any]:
    """Return a session with its ``roster``, ``waitlist`` and cancelled places."""
    return await get_session(tenant_scope, class_session_id)


@patch(f"{CLASSES}/sessions/{{class_session_id:uuid}}", opt={"roles": MANAGERS})
async def update_class_session(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_session_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Change ``capacity``, ``staff_id``, ``resource_id``, ``location_id``,
    ``start``, ``end`` or ``note`` of one session, keeping its roster.

    Responds 409 for a cancelled session or a busy instructor or room.
    """
    await tenant_scope.get(ClassSession, class_session_id)
    return await update_session(
        tenant_scope,
        class_session_id,
        _body(data),
        actor_id=actor.account_id,
        hooks=hooks,
    )


@post(
    f"{CLASSES}/sessions/{{class_session_id:uuid}}/cancel",
    opt={"roles": MANAGERS},
    status_code=200,
)
async def cancel_class_session(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_session_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Cancel a session and every place on it; optional body ``{"reason": ...}``.

    Everyone on the roster and the waitlist is emailed.
    """
    await tenant_scope.get(ClassSession, class_session_id)
    body = _body(data, frozenset({"reason"}))
    return await cancel_session(
        tenant_scope,
        class_session_id,
        reason=_text(body, "reason"),
        actor_id=actor.account_id,
        hooks=hooks,
    )


# -- places ----------------------------------------------------------------------------


@post(f"{CLASSES}/sessions/{{class_session_id:uuid}}/bookings", opt={"roles": DESK})
async def book_class_place(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_session_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Book a client into a session and respond 201 with the place.

    Body: ``client_id`` or contact details (``first_name``, ``last_name``,
    ``email``, ``phone``), ``note``, and ``waitlist`` (default true). A full
    session gives a ``waitlisted`` place, or 409 ``class_full`` when
    ``waitlist`` is false.
    """
    await tenant_scope.get(ClassSession, class_session_id)
    body = _body(data, PLACE_FIELDS)
    result = await book_place(
        tenant_scope,
        class_session_id,
        client=_client_of(body),
        waitlist=_flag(body, "waitlist", True),
        source="staff",
        note=_text(body, "note"),
        actor_id=actor.account_id,
        hooks=hooks,
    )
    token = result.pop("cancel_token")
    return {**result, "cancel_url": cancel_link(tenant_scope, token)}


@post(
    f"{CLASSES}/bookings/{{class_booking_id:uuid}}/cancel",
    opt={"roles": DESK},
    status_code=200,
)
async def cancel_class_place(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_booking_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Cancel a place or waiting place; optional body ``{"waive_late": true}``.

    Inside the late-cancellation window the place becomes ``late_cancelled``
    unless ``waive_late`` is true. The first waiting clients are promoted
    into the freed place and listed under ``promoted``.
    """
    await tenant_scope.get(ClassBooking, class_booking_id)
    body = _body(data, frozenset({"waive_late"}))
    return await cancel_place(
        tenant_scope,
        class_booking_id,
        by="staff",
        waive_late=_flag(body, "waive_late", False),
        actor_id=actor.account_id,
        hooks=hooks,
    )


@post(
    f"{CLASSES}/bookings/{{class_booking_id:uuid}}/attendance",
    opt={"roles": DESK},
    status_code=200,
)
async def mark_class_attendance(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_booking_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Mark one place: body ``{"status": "attended" | "no_show"}``."""
    await tenant_scope.get(ClassBooking, class_booking_id)
    body = _body(data, frozenset({"status"}))
    return await mark_attendance(
        tenant_scope,
        class_booking_id,
        body.get("status"),  # type: ignore[arg-type]
        actor_id=actor.account_id,
        hooks=hooks,
    )


@post(
    f"{CLASSES}/sessions/{{class_session_id:uuid}}/roll-call",
    opt={"roles": DESK},
    status_code=200,
)
async def take_roll_call(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_session_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Mark many places at once: body ``{"marks": {booking_id: status}}``.

    All marks are stored together or, on any bad one, none (422 naming
    ``marks.<booking id>``). Responds with the session and its roster.
    """
    await tenant_scope.get(ClassSession, class_session_id)
    body = _body(data, frozenset({"marks"}))
    return await roll_call(
        tenant_scope,
        class_session_id,
        body.get("marks"),  # type: ignore[arg-type]
        actor_id=actor.account_id,
        hooks=hooks,
    )


# -- series ----------------------------------------------------------------------------


@post(f"{CLASSES}/series", opt={"roles": DESK})
async def create_class_series(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Create a recurring series and respond 201 with what was placed.

    Body: ``kind`` (``class``, managers only, or ``appointment``), ``rule``
    (RFC 5545, such as ``FREQ=WEEKLY;BYDAY=TU;COUNT=12``), ``start_local``
    (``YYYY-MM-DDTHH:MM`` wall time), ``time_zone``, ``service_id``,
    ``staff_id``, ``exdates``, ``all_or_nothing``, and for classes
    ``location_id``, ``resource_id``, ``capacity``, ``duration_minutes``, for
    appointments ``client_id``. The response lists ``created``, ``skipped``
    (with the reason) and ``adjusted`` occurrences (a wall time that does not
    exist because the clocks go forward starts at the change).
    """
    body = _body(data)
    if body.get("kind") == "class":
        actor.require(MANAGERS)
    return await create_series(
        tenant_scope, body, actor_id=actor.account_id, hooks=hooks
    )


@get(f"{CLASSES}/series/{{series_id:uuid}}", opt={"roles": DESK})
async def get_class_series(
    tenant_scope: NamedDependency[TenantScope], series_id: FromPath[uuid.UUID]
) -> dict[str, Any]:
    """Return a series with its sessions or appointments."""
    return await get_series(tenant_scope, series_id)


@post(f"{CLASSES}/series/{{series_id:uuid}}/edit", opt={"roles": DESK}, status_code=200)
async def edit_class_series(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    series_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Edit a series: body ``scope`` (one, following or all),
    ``occurrence_start`` (for one and following) and ``changes``.

    Class series need a manager. Responds 422 naming the field.
    """
    row = await tenant_scope.get(Series, series_id)
    if row["kind"] == "class":
        actor.require(MANAGERS)
    body = _body(data, frozenset({"scope", "occurrence_start", "changes"}))
    changes = body.get("changes") or {}
    if not isinstance(changes, dict):
        raise invalid("changes", "must be a JSON object of the fields to change")
    return await edit_series(
        tenant_scope,
        series_id,
        changes,
        change_scope=body.get("scope"),
        occurrence_start=body.get("occurrence_start"),
        actor_id=actor.account_id,
        hooks=hooks,
    )


@post(
    f"{CLASSES}/series/{{series_id:uuid}}/cancel", opt={"roles": DESK}, status_code=200
)
async def cancel_class_series(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    series_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Cancel a series: body ``scope`` (one, following or all),
    ``occurrence_start`` (for one and following) and ``reason``."""
    row = await tenant_scope.get(Series, series_id)
    if row["kind"] == "class":
        actor.require(MANAGERS)
    body = _body(data, frozenset({"scope", "occurrence_start", "reason"}))
    return await cancel_series(
        tenant_scope,
        series_id,
        change_scope=body.get("scope"),
        occurrence_start=body.get("occurrence_start"),
        reason=_text(body, "reason"),
        actor_id=actor.account_id,
        hooks=hooks,
    )


# -- public ----------------------------------------------------------------------------


@get(f"{CLASSES}/timetable", opt=PUBLIC)
async def public_timetable(
    tenant_scope: NamedDependency[TenantScope],
    first: FromDate = None,
    last: ToDate = None,
) -> dict[str, Any]:
    """Return the scheduled sessions of online classes, without rosters."""
    first_day, last_day = _range(tenant_scope, first, last)
    sessions = await list_sessions(tenant_scope, first_day, last_day, online_only=True)
    hidden = ("note", "series_id", "occurrence_start", "resource_id")
    return {
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "sessions": [
            {key: value for key, value in item.items() if key not in hidden}
            for item in sessions
        ],
    }


@post(f"{CLASSES}/sessions/{{class_session_id:uuid}}/book", opt=PUBLIC)
async def book_class_online(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    class_session_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Book a place online and respond 201 with it and its ``cancel_url``.

    Body: ``first_name``, ``last_name``, ``email`` (required, for the
    confirmation), ``phone``, ``note`` and ``waitlist`` (default true).
    Sessions of services not offered online get 404.
    """
    session = await tenant_scope.get(ClassSession, class_session_id)
    service = await tenant_scope.get(Service, session["service_id"])
    if not service["online"] or session["status"] != "scheduled":
        raise NotFound("class_session", str(class_session_id))
    body = _body(data, ONLINE_PLACE_FIELDS)
    if not _text(body, "email").strip():
        raise invalid("email", "is required: the confirmation is sent there")
    result = await book_place(
        tenant_scope,
        class_session_id,
        client=_client_of(body),
        waitlist=_flag(body, "waitlist", True),
        source="online",
        note=_text(body, "note"),
        hooks=hooks,
    )
    token = result.pop("cancel_token")
    return {
        "id": result["id"],
        "status": result["status"],
        "waitlist_position": result["waitlist_position"],
        "session": {
            key: result["session"][key]
            for key in ("id", "service_name", "staff_name", "date", "local", "start")
        },
        "cancel_url": cancel_link(tenant_scope, token),
    }


ROUTES: list[Any] = [
    list_class_sessions,
    create_class_session,
    get_class_session,
    update_class_session,
    cancel_class_session,
    book_class_place,
    cancel_class_place,
    mark_class_attendance,
    take_roll_call,
    create_class_series,
    get_class_series,
    edit_class_series,
    cancel_class_series,
    public_timetable,
    book_class_online,
]
