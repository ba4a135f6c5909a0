"""Staff calendar pages: the day view, live updates, booking and appointments.

The calendar page opens an EventSource on ``/calendar/stream``. Every domain
event of the tenant arrives there as JSON. On an ``appointment.*`` event for
the day shown (or ``ticket.closed``) the page fetches ``/calendar/fragment``
and swaps the columns in, so bookings from the public page appear without a
reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from tillbook.db.base import utcnow
from tillbook.errors import SlotUnavailable, ValidationFailed
from tillbook.jobs.dispatcher import tenant_channel
from tillbook.kernel.clients.directory import search_clients, validate_contact
from tillbook.kernel.schedule.appointments import appointment_detail, day_schedule
from tillbook.kernel.schedule.booking import (
    NewClient,
    book_appointment,
    cancel_appointment,
    check_in,
    parse_day,
    parse_instant,
)
from tillbook.kernel.schedule.notices import describe_day, describe_when, format_price
from tillbook.kernel.schedule.search import (
    STAFF_MIN_NOTICE,
    OfferedSlot,
    bookable_services,
    find_slots,
)
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

logger = logging.getLogger(__name__)

ANY = "any"
# Idle streams send a comment this often so proxies keep the connection open.
HEARTBEAT_SECONDS = 15.0
# Browsers wait this long before reconnecting a dropped stream.
RECONNECT_MILLISECONDS = 3000
CLIENT_MATCHES = 8
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "note")
STATUS_LABELS = {
    "booked": "Booked",
    "checked_in": "Checked in",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
}
DateQuery = Annotated[
    str,
    QueryParameter(name="date", description="Local date YYYY-MM-DD; today if omitted"),
]


def _day_from_query(scope: TenantScope, text: str) -> tuple[date, dict[str, str]]:
    today = utcnow().astimezone(scope.tenant.zone).date()
    if not text:
        return today, {}
    try:
        return parse_day(text), {}
    except ValidationFailed as exc:
        return today, exc.errors


# -- day view ------------------------------------------------------------------


@dataclass
class BookingPanel:
    """The staff booking form's state: choice, slots and client matches."""

    services: list[dict[str, Any]]
    service: dict[str, Any] | None
    staff_id: str
    query: str
    slots: list[OfferedSlot] = field(default_factory=list)
    clients: list[dict[str, Any]] = field(default_factory=list)
    client_id: str = ""
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    notice: str = ""
    open: bool = False


async def _booking_panel(
    scope: TenantScope,
    day: date,
    *,
    service_id: str,
    staff_id: str,
    query: str,
) -> BookingPanel:
    services = await bookable_services(scope)
    service = next((item for item in services if item["id"] == service_id), None)
    if service is None and services:
        service = services[0]
    provider_ids = {item["id"] for item in service["providers"]} if service else set()
    if staff_id not in provider_ids:
        staff_id = ANY
    panel = BookingPanel(services, service, staff_id, query.strip())
    panel.open = bool(service_id or query)
    if service is not None and service["providers"]:
        try:
            panel.slots = await find_slots(
                scope,
                service_id=service["id"],
                day=day,
                staff_id=None if staff_id == ANY else staff_id,
                min_notice=STAFF_MIN_NOTICE,
            )
        except ValidationFailed as exc:
            panel.errors.update(exc.errors)
    if panel.query:
        try:
            panel.clients, _total = await search_clients(
                scope, panel.query, limit=CLIENT_MATCHES
            )
        except ValidationFailed as exc:
            # The search box is the only input here, whatever field the
            # search function names.
            panel.errors["q"] = next(iter(exc.errors.values()))
    return panel


def _calendar_page(
    scope: TenantScope,
    actor: Actor,
    day: date,
    schedule: dict[str, Any],
    panel: BookingPanel,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    today = utcnow().astimezone(scope.tenant.zone).date()
    return page(
        "calendar/day.html",
        scope,
        actor,
        status_code=status_code,
        day=day,
        today=today,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        heading=describe_day(day),
        schedule=schedule,
        panel=panel,
        date_errors=errors or {},
        status_labels=STATUS_LABELS,
        price=lambda amount: format_price(scope.tenant, amount),
    )


@get(f"{STAFF}/calendar", opt={"roles": DESK})
async def calendar_day(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    day: DateQuery = "",
    service_id: FromQuery[str] = "",
    staff_id: FromQuery[str] = ANY,
    q: FromQuery[str] = "",
) -> Template:
    """Show one day with a column per provider and the staff booking form.

    ``service_id``, ``staff_id`` and ``q`` (a client search) fill in the
    booking form. Its "Find times and clients" button sends them.
    """
    shown, errors = _day_from_query(tenant_scope, day)
    schedule = await day_schedule(tenant_scope, shown)
    panel = await _booking_panel(
        tenant_scope, shown, service_id=service_id, staff_id=staff_id, query=q
    )
    return _calendar_page(tenant_scope, actor, shown, schedule, panel, errors=errors)


@get(f"{STAFF}/calendar/fragment", opt={"roles": DESK})
async def calendar_fragment(
    tenant_scope: NamedDependency[TenantScope], day: DateQuery = ""
) -> Template:
    """Return only the provider columns of a day, for the live refresh."""
    shown, _errors = _day_from_query(tenant_scope, day)
    return page(
        "calendar/columns.html",
        tenant_scope,
        schedule=await day_schedule(tenant_scope, shown),
        status_labels=STATUS_LABELS,
    )


@get(f"{STAFF}/calendar/stream", opt={"roles": DESK})
async def calendar_stream(
    request: Request[Any, Any, Any], tenant_scope: NamedDependency[TenantScope]
) -> ServerSentEvent:
    """Stream the tenant's domain events as server-sent events.

    Each message's data is the event JSON (``{"event": "appointment.booked",
    ...}``). A comment is sent first, once the subscription is live, and then
    every ``HEARTBEAT_SECONDS`` while idle.
    """
    channels = request.app.plugins.get(ChannelsPlugin)
    channel = tenant_channel(tenant_scope.tenant_id)
    return ServerSentEvent(
        _tenant_events(channels, channel), retry_duration=RECONNECT_MILLISECONDS
    )


async def _tenant_events(
    channels: ChannelsPlugin, channel: str
) -> AsyncIterator[ServerSentEventMessage]:
    async with channels.start_subscription([channel]) as subscriber:
        # A plain queue can be waited on with a timeout without ending the
        # subscriber's own iterator, which a cancelled read would close.
        inbox: asyncio.Queue[bytes] = asyncio.Queue()
        async with subscriber.run_in_background(inbox.put):
            yield ServerSentEventMessage(comment="connected", data=None)
            while True:
                try:
                    event = await asyncio.wait_for(inbox.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ServerSentEventMessage(comment="heartbeat", data=None)
                    continue
                yield ServerSentEventMessage(data=event.decode())


@dataclass
class StaffBookingForm:
    """The fields of the calendar's booking form as submitted."""

    day: date
    service_id: str
    staff_id: str
    start: str
    client_id: str
    text: dict[str, str]

    @classmethod
    def read(cls, scope: TenantScope, form: Any) -> StaffBookingForm:
        day, _errors = _day_from_query(scope, _form_text(form, "date"))
        return cls(
            day=day,
            service_id=_form_text(form, "service_id"),
            staff_id=_form_text(form, "staff_id") or ANY,
            start=_form_text(form, "start"),
            client_id=_form_text(form, "client_id"),
            text={name: _form_text(form, name) for name in (*CONTACT_FIELDS, "q")},
        )

    def check(self) -> dict[str, str]:
        """Return the errors visible before booking: no time, bad contact."""
        errors: dict[str, str] = {}
        if not self.start:
            errors["start"] = "choose a time"
        if not self.client_id:
            try:
                validate_contact(
                    self.text["first_name"],
                    self.text["last_name"],
                    self.text["email"],
                    self.text["phone"],
                )
            except ValidationFailed as exc:
                errors.update(exc.errors)
        return errors

    def client(self) -> str | NewClient:
        if self.client_id:
            return self.client_id
        return NewClient(
            self.text["first_name"],
            self.text["last_name"],
            self.text["email"],
            self.text["phone"],
        )


@post(f"{STAFF}/calendar/book", opt={"roles": DESK})
async def calendar_book(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Book from the calendar's form for a found client or new details.

    On success the browser goes back to the day. On errors the calendar
    comes back with the form open and a message under each bad field (422),
    or with fresh times when the slot was taken meanwhile (409).
    """
    submitted = StaffBookingForm.read(tenant_scope, await request.form())
    errors = submitted.check()
    if errors:
        return await _calendar_with_form(tenant_scope, actor, submitted, errors)
    try:
        appointment = await book_appointment(
            tenant_scope,
            service_id=submitted.service_id,
            staff_id=None if submitted.staff_id == ANY else submitted.staff_id,
            start=parse_instant(submitted.start),
            client=submitted.client(),
            note=submitted.text["note"],
            source="staff",
            actor_id=actor.account_id,
        )
    except ValidationFailed as exc:
        return await _calendar_with_form(tenant_scope, actor, submitted, exc.errors)
    except SlotUnavailable as exc:
        logger.info(
            "staff booking of tenant %s lost the race for %s: %s",
            tenant_scope.tenant_id,
            submitted.start,
            exc.message,
        )
        return await _calendar_with_form(
            tenant_scope,
            actor,
            submitted,
            {},
            notice="That time was just booked. Choose another time.",
            status_code=409,
        )
    slug = tenant_scope.tenant.slug
    return Redirect(
        f"/t/{slug}/staff/calendar?date={appointment['date']}", status_code=303
    )


async def _calendar_with_form(
    scope: TenantScope,
    actor: Actor,
    submitted: StaffBookingForm,
    errors: dict[str, str],
    *,
    notice: str = "",
    status_code: int = 422,
) -> Template:
    schedule = await day_schedule(scope, submitted.day)
    panel = await _booking_panel(
        scope,
        submitted.day,
        service_id=submitted.service_id,
        staff_id=submitted.staff_id,
        query=submitted.text["q"],
    )
    panel.values = {**submitted.text, "start": submitted.start}
    panel.client_id = submitted.client_id
    panel.errors.update(errors)
    panel.notice = notice
    panel.open = True
    return _calendar_page(
        scope, actor, submitted.day, schedule, panel, status_code=status_code
    )


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# -- appointment view ----------------------------------------------------------


@get(f"{STAFF}/appointments/{{appointment_id:str}}", opt={"roles": DESK})
async def appointment_view(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
) -> Template:
    """Show an appointment with the client's contact, preferences, notes,
    history and package balances, and the check-in and checkout actions."""
    detail = await appointment_detail(tenant_scope, appointment_id)
    return page(
        "calendar/appointment.html",
        tenant_scope,
        actor,
        appointment=detail,
        when=describe_when(date.fromisoformat(detail["date"]), detail["local"]),
        price_text=format_price(tenant_scope.tenant, detail["price"]),
        checked_in_at=(
            parse_instant(detail["checked_in_at"]) if detail["checked_in_at"] else None
        ),
        status_labels=STATUS_LABELS,
    )


@post(f"{STAFF}/appointments/{{appointment_id:str}}/check-in", opt={"roles": DESK})
async def appointment_check_in(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
) -> Redirect:
    """Check the client in and go back to the appointment."""
    appointment = await check_in(tenant_scope, appointment_id, actor)
    return _back_to(tenant_scope, appointment["id"])


@post(f"{STAFF}/appointments/{{appointment_id:str}}/cancel", opt={"roles": DESK})
async def appointment_cancel(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
) -> Redirect:
    """Cancel the appointment and go back to it."""
    appointment = await cancel_appointment(
        tenant_scope, appointment_id, actor_id=actor.account_id
    )
    return _back_to(tenant_scope, appointment["id"])


def _back_to(scope: TenantScope, appointment_id: str) -> Redirect:
    return Redirect(
        f"/t/{scope.tenant.slug}/staff/appointments/{appointment_id}", status_code=303
    )


ROUTES: list[Any] = [
    calendar_day,
    calendar_fragment,
    calendar_stream,
    calendar_book,
    appointment_view,
    appointment_check_in,
    appointment_cancel,
]
