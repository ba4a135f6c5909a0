"""Staff class pages: the week's class schedule, a session's roster and roll call.

Everything works without JavaScript. Each form posts and redirects back to
the page it came from (303), with a ``notice`` or ``error`` message in the
query string. Every route with an id looks the id up before it reads the
form, so another tenant's id gets 404.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from tillbook.db.base import utcnow
from tillbook.errors import TillbookError, ValidationFailed
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.schedule.booking import NewClient, parse_day
from tillbook.kernel.schedule.class_roster import (
    book_place,
    cancel_place,
    roll_call,
)
from tillbook.kernel.schedule.class_views import get_session, list_sessions
from tillbook.kernel.schedule.classes import cancel_session, create_session
from tillbook.kernel.schedule.recurrence import parse_local, to_instant
from tillbook.kernel.schedule.series import create_series
from tillbook.kernel.schedule.tables import ClassBooking, ClassSession, Resource, Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

logger = logging.getLogger(__name__)

WeekQuery = Annotated[
    str,
    QueryParameter(name="week", description="Any local date YYYY-MM-DD of the week"),
]
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _back(path: str, **message: str) -> Redirect:
    query = urlencode({key: value for key, value in message.items() if value})
    return Redirect(f"{path}?{query}" if query else path, status_code=303)


def _describe(exc: TillbookError) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{field}: {message}" for field, message in exc.errors.items())
    return exc.message


def _week_start(scope: TenantScope, text: str) -> tuple[date, str]:
    today = utcnow().astimezone(scope.tenant.zone).date()
    error = ""
    day = today
    if text:
        try:
            day = parse_day(text, "week")
        except ValidationFailed as exc:
            error = exc.errors["week"]
    return day - timedelta(days=day.weekday()), error


# -- the week --


@get(f"{STAFF}/classes", opt={"roles": DESK})
async def class_week(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    week: WeekQuery = "",
    notice: FromQuery[str] = "",
    error: FromQuery[str] = "",
) -> Template:
    """Show the class sessions of one week, Monday first, with a form to add one."""
    first, week_error = _week_start(tenant_scope, week)
    sessions = await list_sessions(tenant_scope, first, first + timedelta(days=6))
    days = [first + timedelta(days=offset) for offset in range(7)]
    by_day: dict[str, list[dict[str, Any]]] = {day.isoformat(): [] for day in days}
    for item in sessions:
        by_day.setdefault(item["date"], []).append(item)
    services = (
        await tenant_scope.select(Service)
        .where(Service.kind == "class")
        .where(Service.active == True)  # noqa: E712 - piccolo builds SQL from ==
        .order_by(Service.name)
    )
    staff = (
        await tenant_scope.select(Staff)
        .where(Staff.active == True)  # noqa: E712
        .order_by(Staff.name)
    )
    rooms = (
        await tenant_scope.select(Resource)
        .where(Resource.active == True)  # noqa: E712
        .order_by(Resource.name)
    )
    return page(
        "classes/week.html",
        tenant_scope,
        actor,
        days=days,
        by_day=by_day,
        previous_week=(first - timedelta(days=7)).isoformat(),
        next_week=(first + timedelta(days=7)).isoformat(),
        services=services,
        staff=staff,
        rooms=rooms,
        can_manage=actor.role in MANAGERS,
        notice=notice,
        error=error or week_error,
    )


@post(f"{STAFF}/classes", opt={"roles": MANAGERS})
async def class_create(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Redirect:
    """Schedule one session, or a weekly series, from the week page's form.

    ``start_local`` is a wall time in the tenant's zone; a time that does
    not exist (the clocks go forward) starts at the change. ``weeks`` above
    1 makes a weekly series of that many sessions.
    """
    form = await request.form()
    path = f"/t/{tenant_scope.tenant.slug}/staff/classes"
    weeks = _text(form, "weeks")
    if weeks and weeks != "1":
        return await _create_weekly(tenant_scope, actor, form, weeks, path)
    try:
        local = parse_local(_text(form, "start_local"), "start_local")
        start, _moved = to_instant(local, tenant_scope.tenant.zone)
        data = {
            "service_id": _text(form, "service_id"),
            "staff_id": _text(form, "staff_id"),
            "start": start,
            "resource_id": _text(form, "resource_id") or None,
            "capacity": _text(form, "capacity") or None,
            "note": _text(form, "note"),
        }
        session = await create_session(tenant_scope, data, actor_id=actor.account_id)
    except TillbookError as exc:
        return _back(path, error=_describe(exc))
    return _back(
        f"{path}/{session['id']}", notice=f"Scheduled {session['service_name']}."
    )


async def _create_weekly(
    scope: TenantScope, actor: Actor, form: Any, weeks: str, path: str
) -> Redirect:
    data: dict[str, Any] = {
        "kind": "class",
        "rule": f"FREQ=WEEKLY;COUNT={weeks}",
        "start_local": _text(form, "start_local"),
        "service_id": _text(form, "service_id"),
        "staff_id": _text(form, "staff_id"),
        "resource_id": _text(form, "resource_id") or None,
        "capacity": _text(form, "capacity") or None,
        "note": _text(form, "note"),
    }
    try:
        result = await create_series(scope, data, actor_id=actor.account_id)
    except TillbookError as exc:
        return _back(path, error=_describe(exc))
    message = f"Scheduled {len(result['created'])} weekly sessions."
    if result["skipped"]:
        days = ", ".join(item["occurrence_local"][:10] for item in result["skipped"])
        message += f" Skipped, because the instructor or room is busy: {days}."
    for item in result["adjusted"]:
        message += f" {item['note']}."
    first_day = result["created"][0]["start"][:10]
    return _back(path, week=first_day, notice=message)


# -- one session --


@get(f"{STAFF}/classes/{{class_session_id:uuid}}", opt={"roles": DESK})
async def class_session_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    class_session_id: FromPath[uuid.UUID],
    notice: FromQuery[str] = "",
    error: FromQuery[str] = "",
) -> Template:
    """Show a session with its roster, waitlist and the roll call form."""
    session = await get_session(tenant_scope, class_session_id)
    return page(
        "classes/session.html",
        tenant_scope,
        actor,
        session=session,
        can_manage=actor.role in MANAGERS,
        started=datetime.fromisoformat(session["start"]) <= utcnow(),
        notice=notice,
        error=error,
    )


@post(f"{STAFF}/classes/{{class_session_id:uuid}}/book", opt={"roles": DESK})
async def class_book(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_session_id: FromPath[uuid.UUID],
) -> Redirect:
    """Add a client (by contact details) to the roster or the waitlist."""
    await tenant_scope.get(ClassSession, class_session_id)
    form = await request.form()
    path = f"/t/{tenant_scope.tenant.slug}/staff/classes/{class_session_id}"
    client = NewClient(*(_text(form, name) for name in CONTACT_FIELDS))
    try:
        place = await book_place(
            tenant_scope,
            class_session_id,
            client=client,
            waitlist=_text(form, "waitlist") != "no",
            source="staff",
            actor_id=actor.account_id,
            hooks=hooks,
        )
    except TillbookError as exc:
        return _back(path, error=_describe(exc))
    outcome = "booked" if place["status"] == "booked" else "added to the waitlist"
    return _back(path, notice=f"{place['client_name']} is {outcome}.")


@post(f"{STAFF}/classes/bookings/{{class_booking_id:uuid}}/cancel", opt={"roles": DESK})
async def class_place_cancel(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_booking_id: FromPath[uuid.UUID],
) -> Redirect:
    """Cancel a place from the session page; the waitlist moves up."""
    row = await tenant_scope.get(ClassBooking, class_booking_id)
    form = await request.form()
    path = f"/t/{tenant_scope.tenant.slug}/staff/classes/{row['session_id']}"
    try:
        result = await cancel_place(
            tenant_scope,
            class_booking_id,
            by="staff",
            waive_late=_text(form, "waive_late") == "yes",
            actor_id=actor.account_id,
            hooks=hooks,
        )
    except TillbookError as exc:
        return _back(path, error=_describe(exc))
    promoted = ", ".join(item["client_name"] for item in result["promoted"])
    message = f"{result['client_name']}: {result['status'].replace('_', ' ')}."
    if promoted:
        message += f" Moved up from the waitlist: {promoted}."
    return _back(path, notice=message)


@post(f"{STAFF}/classes/{{class_session_id:uuid}}/roll-call", opt={"roles": DESK})
async def class_roll_call(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_session_id: FromPath[uuid.UUID],
) -> Redirect:
    """Store the roll call form: one ``mark-<booking id>`` field per place."""
    await tenant_scope.get(ClassSession, class_session_id)
    form = await request.form()
    path = f"/t/{tenant_scope.tenant.slug}/staff/classes/{class_session_id}"
    marks = {
        key.removeprefix("mark-"): value
        for key, value in form.items()
        if key.startswith("mark-") and value
    }
    if not marks:
        return _back(path, error="Mark at least one client attended or no-show.")
    try:
        await roll_call(
            tenant_scope,
            class_session_id,
            marks,
            actor_id=actor.account_id,
            hooks=hooks,
        )
    except TillbookError as exc:
        return _back(path, error=_describe(exc))
    return _back(path, notice=f"Roll call saved for {len(marks)} clients.")


@post(f"{STAFF}/classes/{{class_session_id:uuid}}/cancel", opt={"roles": MANAGERS})
async def class_session_cancel(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    class_session_id: FromPath[uuid.UUID],
) -> Redirect:
    """Cancel the whole session; everyone on it is emailed."""
    await tenant_scope.get(ClassSession, class_session_id)
    form = await request.form()
    path = f"/t/{tenant_scope.tenant.slug}/staff/classes/{class_session_id}"
    try:
        await cancel_session(
            tenant_scope,
            class_session_id,
            reason=_text(form, "reason"),
            actor_id=actor.account_id,
            hooks=hooks,
        )
    except TillbookError as exc:
        return _back(path, error=_describe(exc))
    return _back(path, notice="The session is cancelled and its clients emailed.")


ROUTES: list[Any] = [
    class_week,
    class_create,
    class_session_page,
    class_book,
    class_place_cancel,
    class_roll_call,
    class_session_cancel,
]
