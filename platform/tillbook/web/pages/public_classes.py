"""The public class timetable, online class booking and the client's cancel link.

Clients see the week's scheduled sessions of classes offered online, book
a place (or a waitlist place) with their contact details, and cancel it
from the link in their email. Nothing needs JavaScript.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, ValidationFailed
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.directory import validate_contact
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.booking import NewClient, parse_day
from tillbook.kernel.schedule.class_roster import (
    book_place,
    booking_by_token,
    cancel_place,
)
from tillbook.kernel.schedule.class_views import (
    booking_json,
    list_sessions,
    session_json,
)
from tillbook.kernel.schedule.notices import format_price
from tillbook.kernel.schedule.tables import ClassSession
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import TENANT
from tillbook.web.templating import page

logger = logging.getLogger(__name__)

PUBLIC = {"public": True}
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "note")
WeekQuery = Annotated[
    str, QueryParameter(name="week", description="First local date YYYY-MM-DD")
]


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _bookable_session(
    scope: TenantScope, session_id: uuid.UUID
) -> dict[str, Any]:
    """Return a scheduled session of an online class as JSON, else NotFound."""
    row = await scope.get(ClassSession, session_id)
    service = await scope.get(Service, row["service_id"])
    if row["status"] != "scheduled" or not service["online"] or not service["active"]:
        raise NotFound("class_session", str(session_id))
    return await session_json(scope, row)


@get(f"{TENANT}/classes", opt=PUBLIC)
async def timetable(
    tenant_scope: NamedDependency[TenantScope], week: WeekQuery = ""
) -> Template:
    """Show seven days of classes from ``week`` (today by default)."""
    today = utcnow().astimezone(tenant_scope.tenant.zone).date()
    error = ""
    first = today
    if week:
        try:
            first = max(parse_day(week, "week"), today)
        except ValidationFailed as exc:
            error = exc.errors["week"]
    last = first + timedelta(days=6)
    sessions = await list_sessions(tenant_scope, first, last, online_only=True)
    now = utcnow()
    days: dict[str, list[dict[str, Any]]] = {}
    for item in sessions:
        if datetime.fromisoformat(item["start"]) > now:
            days.setdefault(item["date"], []).append(item)
    return page(
        "public_classes/timetable.html",
        tenant_scope,
        days=days,
        first=first,
        previous_week=(first - timedelta(days=7)).isoformat() if first > today else "",
        next_week=(first + timedelta(days=7)).isoformat(),
        price=lambda amount: format_price(tenant_scope.tenant, amount),
        error=error,
    )


def _session_page(
    scope: TenantScope,
    session: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    return page(
        "public_classes/session.html",
        scope,
        status_code=status_code,
        session=session,
        values=values or {},
        errors=errors or {},
        notice=notice,
        price=format_price(scope.tenant, session["price"]),
    )


@get(f"{TENANT}/classes/{{class_session_id:uuid}}", opt=PUBLIC)
async def class_session_form(
    tenant_scope: NamedDependency[TenantScope], class_session_id: FromPath[uuid.UUID]
) -> Template:
    """Show one session with the booking form."""
    session = await _bookable_session(tenant_scope, class_session_id)
    return _session_page(tenant_scope, session)


@post(f"{TENANT}/classes/{{class_session_id:uuid}}", opt=PUBLIC)
async def class_session_submit(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    class_session_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Book a place and go to its page.

    Bad fields come back under each field (422). A class that filled up or
    started meanwhile comes back with a message (409).
    """
    session = await _bookable_session(tenant_scope, class_session_id)
    form = await request.form()
    values = {name: _text(form, name) for name in CONTACT_FIELDS}
    errors: dict[str, str] = {}
    if not values["email"]:
        errors["email"] = "is required: the confirmation is sent there"
    try:
        validate_contact(
            values["first_name"], values["last_name"], values["email"], values["phone"]
        )
    except ValidationFailed as exc:
        errors = {**exc.errors, **errors}
    if errors:
        return _session_page(
            tenant_scope, session, values=values, errors=errors, status_code=422
        )
    try:
        place = await book_place(
            tenant_scope,
            class_session_id,
            client=NewClient(
                values["first_name"],
                values["last_name"],
                values["email"],
                values["phone"],
            ),
            waitlist=_text(form, "waitlist") != "no",
            source="online",
            note=values["note"],
            hooks=hooks,
        )
    except ValidationFailed as exc:
        return _session_page(
            tenant_scope, session, values=values, errors=exc.errors, status_code=422
        )
    except Conflict as exc:
        session = await session_json(
            tenant_scope, await tenant_scope.get(ClassSession, class_session_id)
        )
        return _session_page(
            tenant_scope, session, values=values, notice=exc.message, status_code=409
        )
    slug = tenant_scope.tenant.slug
    return Redirect(
        f"/t/{slug}/classes/cancel/{place['cancel_token']}", status_code=303
    )


async def _place_page(
    scope: TenantScope,
    token: str,
    *,
    error: str = "",
    cancelled_now: bool = False,
    status_code: int = 200,
) -> Template:
    row = await booking_by_token(scope, token)
    client = await scope.select(Client).where(Client.id == row["client_id"]).first()
    session = await session_json(
        scope, await scope.get(ClassSession, row["session_id"])
    )
    place = booking_json(row, client)
    started = datetime.fromisoformat(session["start"]) <= utcnow()
    return page(
        "public_classes/place.html",
        scope,
        status_code=status_code,
        place=place,
        session=session,
        token=token,
        can_cancel=place["status"] in ("booked", "waitlisted") and not started,
        error=error,
        cancelled_now=cancelled_now,
    )


@get(f"{TENANT}/classes/cancel/{{token:str}}", opt=PUBLIC)
async def class_place(
    tenant_scope: NamedDependency[TenantScope], token: FromPath[str]
) -> Template:
    """Show a client's place (the page after booking and the email's link)."""
    return await _place_page(tenant_scope, token)


@post(f"{TENANT}/classes/cancel/{{token:str}}", opt=PUBLIC, status_code=200)
async def class_place_cancel(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    token: FromPath[str],
) -> Template:
    """Cancel the place of a cancel link; inside the late window it counts as
    a late cancellation. Responds 409 once the class has started."""
    row = await booking_by_token(tenant_scope, token)
    try:
        await cancel_place(tenant_scope, row["id"], by="client", hooks=hooks)
    except Conflict as exc:
        return await _place_page(
            tenant_scope, token, error=exc.message, status_code=409
        )
    logger.info(
        "client cancelled class place %s of tenant %s",
        row["id"],
        tenant_scope.tenant_id,
    )
    return await _place_page(tenant_scope, token, cancelled_now=True)


ROUTES: list[Any] = [
    timetable,
    class_session_form,
    class_session_submit,
    class_place,
    class_place_cancel,
]
