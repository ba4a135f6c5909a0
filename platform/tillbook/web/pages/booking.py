"""The public booking pages: choose a service, provider and time, then book.

Everything works without JavaScript: choosing a service, provider or day
submits a GET form that re-renders the page with fresh slots, and booking is
an ordinary POST. A little script only resubmits the choice form on change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from tillbook.db.base import utcnow
from tillbook.errors import Conflict, SlotUnavailable, ValidationFailed
from tillbook.kernel.clients.directory import validate_contact
from tillbook.kernel.schedule.booking import (
    NewClient,
    appointment_by_token,
    book_appointment,
    cancel_by_token,
    parse_day,
    parse_instant,
)
from tillbook.kernel.schedule.notices import describe_when, format_price
from tillbook.kernel.schedule.search import (
    ONLINE_MIN_NOTICE,
    OfferedSlot,
    bookable_services,
    find_slots,
)
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import TENANT
from tillbook.web.templating import page

logger = logging.getLogger(__name__)

PUBLIC = {"public": True}
ANY = "any"
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "note")
DateQuery = Annotated[
    str, QueryParameter(name="date", description="Local date YYYY-MM-DD")
]


@dataclass
class BookingChoice:
    """The visitor's choice of service, provider and day, with its free slots."""

    services: list[dict[str, Any]]
    service: dict[str, Any] | None
    staff_id: str
    day: date
    today: date
    slots: list[OfferedSlot] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


async def choose(
    scope: TenantScope, service_id: str, staff_id: str, day_text: str
) -> BookingChoice:
    """Resolve the visitor's choice and search its slots.

    An unknown service or bad date becomes a message on that field rather
    than an error page. A provider who does not perform the chosen service
    falls back to "any available".
    """
    services = await bookable_services(scope)
    today = utcnow().astimezone(scope.tenant.zone).date()
    errors: dict[str, str] = {}
    day = today
    if day_text:
        try:
            day = parse_day(day_text)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if day < today:
        errors["date"] = "is in the past: choose today or a later day"
        day = today
    service = next((item for item in services if item["id"] == service_id), None)
    if service_id and service is None:
        errors["service_id"] = "is not on the menu: choose a service from the list"
    if service is None and services:
        service = services[0]
    provider_ids = {item["id"] for item in service["providers"]} if service else set()
    if staff_id not in provider_ids:
        staff_id = ANY
    choice = BookingChoice(services, service, staff_id, day, today, errors=errors)
    if service is not None and service["providers"]:
        try:
            choice.slots = await find_slots(
                scope,
                service_id=service["id"],
                day=day,
                staff_id=None if staff_id == ANY else staff_id,
                min_notice=ONLINE_MIN_NOTICE,
            )
        except ValidationFailed as exc:
            errors.update(exc.errors)
    return choice


def _booking_page(
    scope: TenantScope,
    choice: BookingChoice,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    return page(
        "booking/book.html",
        scope,
        status_code=status_code,
        choice=choice,
        values=values or {},
        errors={**choice.errors, **(errors or {})},
        notice=notice,
        price=lambda amount: format_price(scope.tenant, amount),
    )


@get(f"{TENANT}/book", opt=PUBLIC)
async def booking_form(
    tenant_scope: NamedDependency[TenantScope],
    service_id: FromQuery[str] = "",
    staff_id: FromQuery[str] = ANY,
    day: DateQuery = "",
) -> Template:
    """Show the booking page with the free slots for the chosen service and day."""
    choice = await choose(tenant_scope, service_id, staff_id, day)
    return _booking_page(tenant_scope, choice)


@post(f"{TENANT}/book", opt=PUBLIC)
async def booking_submit(
    request: Request[Any, Any, Any], tenant_scope: NamedDependency[TenantScope]
) -> Template | Redirect:
    """Book the chosen slot and go to the confirmation page.

    Bad fields come back under each field (422). A slot taken meanwhile
    comes back with a message and the fresh slots (409).
    """
    form = await request.form()
    values = {name: _form_text(form, name) for name in CONTACT_FIELDS}
    service_id = _form_text(form, "service_id")
    staff_id = _form_text(form, "staff_id") or ANY
    start_text = _form_text(form, "start")
    choice = await choose(tenant_scope, service_id, staff_id, _form_text(form, "date"))

    errors: dict[str, str] = {}
    if not start_text:
        errors["start"] = "choose a time"
    if not values["email"]:
        errors["email"] = "is required: the confirmation is sent there"
    try:
        validate_contact(
            values["first_name"], values["last_name"], values["email"], values["phone"]
        )
    except ValidationFailed as exc:
        errors = {**exc.errors, **errors}
    if errors:
        return _booking_page(
            tenant_scope, choice, values=values, errors=errors, status_code=422
        )

    try:
        appointment = await book_appointment(
            tenant_scope,
            service_id=service_id,
            staff_id=None if staff_id == ANY else staff_id,
            start=parse_instant(start_text),
            client=NewClient(
                values["first_name"],
                values["last_name"],
                values["email"],
                values["phone"],
            ),
            note=values["note"],
            source="online",
        )
    except ValidationFailed as exc:
        return _booking_page(
            tenant_scope, choice, values=values, errors=exc.errors, status_code=422
        )
    except SlotUnavailable as exc:
        logger.info(
            "online booking of tenant %s lost the race for %s: %s",
            tenant_scope.tenant_id,
            start_text,
            exc.message,
        )
        # Search again so the page no longer offers the taken time.
        choice = await choose(
            tenant_scope, service_id, staff_id, choice.day.isoformat()
        )
        return _booking_page(
            tenant_scope,
            choice,
            values=values,
            notice="Sorry, that time was just booked by someone else. "
            "Please choose another time.",
            status_code=409,
        )
    slug = tenant_scope.tenant.slug
    return Redirect(
        f"/t/{slug}/book/confirmation/{appointment['cancel_token']}", status_code=303
    )


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _details(scope: TenantScope, appointment: dict[str, Any]) -> dict[str, Any]:
    return {
        **appointment,
        "when": describe_when(
            date.fromisoformat(appointment["date"]), appointment["local"]
        ),
        "price_text": format_price(scope.tenant, appointment["price"]),
    }


@get(f"{TENANT}/book/confirmation/{{token:str}}", opt=PUBLIC)
async def booking_confirmation(
    tenant_scope: NamedDependency[TenantScope], token: FromPath[str]
) -> Template:
    """Show what was booked and where the confirmation email went."""
    appointment = await appointment_by_token(tenant_scope, token)
    return page(
        "booking/confirmed.html",
        tenant_scope,
        appointment=_details(tenant_scope, appointment),
        token=token,
    )


@get(f"{TENANT}/book/cancel/{{token:str}}", opt=PUBLIC)
async def cancel_form(
    tenant_scope: NamedDependency[TenantScope], token: FromPath[str]
) -> Template:
    """Show the appointment of a cancel link with a button to cancel it."""
    appointment = await appointment_by_token(tenant_scope, token)
    return _cancel_page(tenant_scope, appointment, token)


def _cancel_page(
    scope: TenantScope,
    appointment: dict[str, Any],
    token: str,
    *,
    error: str = "",
    cancelled_now: bool = False,
    status_code: int = 200,
) -> Template:
    started = parse_instant(appointment["start"]) <= utcnow()
    return page(
        "booking/cancel.html",
        scope,
        status_code=status_code,
        appointment=_details(scope, appointment),
        token=token,
        can_cancel=appointment["status"] == "booked" and not started,
        error=error,
        cancelled_now=cancelled_now,
    )


@post(f"{TENANT}/book/cancel/{{token:str}}", opt=PUBLIC, status_code=200)
async def cancel_submit(
    tenant_scope: NamedDependency[TenantScope], token: FromPath[str]
) -> Template:
    """Cancel the appointment of a cancel link and show the result (409 if too late)."""
    try:
        await cancel_by_token(tenant_scope, token)
    except Conflict as exc:
        appointment = await appointment_by_token(tenant_scope, token)
        return _cancel_page(
            tenant_scope, appointment, token, error=exc.message, status_code=409
        )
    appointment = await appointment_by_token(tenant_scope, token)
    logger.info(
        "client cancelled appointment %s of tenant %s",
        appointment["id"],
        tenant_scope.tenant_id,
    )
    return _cancel_page(tenant_scope, appointment, token, cancelled_now=True)


ROUTES: list[Any] = [
    booking_form,
    booking_submit,
    booking_confirmation,
    cancel_form,
    cancel_submit,
]
