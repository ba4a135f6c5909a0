"""Staff calendar pages: day and week views, live updates, booking, moving.

The calendar shows one day or one week, with a column per provider or per
resource (``by=resource``): appointments with their processing gaps, class
sessions, breaks, time off, schedule changes and closures.

The page opens an EventSource on ``/calendar/stream``, where every domain
event of the tenant arrives as JSON. On an appointment, class or ticket event
the page fetches ``/calendar/fragment`` with the same view and swaps the
columns in, so bookings from the public page appear without a reload.

Moving an appointment needs no dragging: its "Move" page lists free times
for a chosen day and provider, and picking one reschedules it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from tillbook.db.base import utcnow
from tillbook.errors import Conflict, SlotUnavailable, ValidationFailed
from tillbook.jobs.dispatcher import tenant_channel
from tillbook.kernel.clients.directory import search_clients, validate_contact
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.appointments import appointment_detail
from tillbook.kernel.schedule.booking import (
    NewClient,
    book_appointment,
    booking_fields,
    parse_day,
    parse_instant,
)
from tillbook.kernel.schedule.calendar_view import (
    BY_RESOURCE,
    BY_STAFF,
    calendar_range,
)
from tillbook.kernel.schedule.changes import (
    check_in,
    reschedule_appointment,
)
from tillbook.kernel.schedule.locations import list_locations
from tillbook.kernel.schedule.notices import describe_day, describe_when, format_price
from tillbook.kernel.schedule.search import (
    STAFF_MIN_NOTICE,
    OfferedSlot,
    bookable_services,
    find_slots,
    search_slots,
)
from tillbook.kernel.schedule.tables import Appointment, Location
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK
from tillbook.tenancy.scope import TenantScope
from tillbook.web.pages.booking import FIELD_PREFIX
from tillbook.web.paths import STAFF
from tillbook.web.templating import client_panels, page

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
DAY_VIEW = "day"
WEEK_VIEW = "week"
VIEWS = (DAY_VIEW, WEEK_VIEW)


def _day_from_query(scope: TenantScope, text: str) -> tuple[date, dict[str, str]]:
    today = utcnow().astimezone(scope.tenant.zone).date()
    if not text:
        return today, {}
    try:
        return parse_day(text), {}
    except ValidationFailed as exc:
        return today, exc.errors


# -- day and week views --------------------------------------------------------


@dataclass(frozen=True)
class CalendarView:
    """The calendar's view: a day or a week, by provider or by resource,
    at every location or one (``location`` is an id, or empty for all)."""

    day: date
    view: str
    by: str
    location: str = ""

    @classmethod
    def read(
        cls, scope: TenantScope, day_text: str, view: str, by: str, location: str = ""
    ) -> tuple[CalendarView, dict[str, str]]:
        day, errors = _day_from_query(scope, day_text)
        return (
            cls(
                day,
                view if view in VIEWS else DAY_VIEW,
                by if by in (BY_STAFF, BY_RESOURCE) else BY_STAFF,
                location.strip(),
            ),
            errors,
        )

    @property
    def first(self) -> date:
        """The first day shown: the day itself, or the Monday of its week."""
        if self.view == WEEK_VIEW:
            return self.day - timedelta(days=self.day.weekday())
        return self.day

    @property
    def length(self) -> int:
        return 7 if self.view == WEEK_VIEW else 1

    @property
    def step(self) -> timedelta:
        return timedelta(days=self.length)

    def query(self, day: date | None = None, **changes: str) -> str:
        """Return the query string of this view, with some values changed."""
        values = {
            "date": (day or self.day).isoformat(),
            "view": self.view,
            "by": self.by,
            "location": self.location,
            **changes,
        }
        return urlencode({key: value for key, value in values.items() if value})

    async def load(self, scope: TenantScope) -> dict[str, Any]:
        """Return the calendar contents; raise NotFound for an unknown location."""
        location_id = None
        if self.location:
            location_id = (await scope.get(Location, self.location))["id"]
        return await calendar_range(
            scope, self.first, self.length, by=self.by, location_id=location_id
        )


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
    # Plugin booking fields of the service; inputs are named FIELD_PREFIX + name.
    fields: list[dict[str, Any]] = field(default_factory=list)
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
    hooks: TenantHooks | None,
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
    if service is not None:
        panel.fields = await booking_fields(scope, service, hooks)
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


async def _calendar_page(
    scope: TenantScope,
    actor: Actor,
    shown: CalendarView,
    schedule: dict[str, Any],
    panel: BookingPanel,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    today = utcnow().astimezone(scope.tenant.zone).date()
    day = shown.day
    locations = [item for item in await list_locations(scope) if item["active"]]
    if shown.view == WEEK_VIEW:
        last = shown.first + timedelta(days=6)
        heading = f"Week of {describe_day(shown.first)} to {describe_day(last)}"
    else:
        heading = describe_day(day)
    return page(
        "calendar/day.html",
        scope,
        actor,
        status_code=status_code,
        day=day,
        shown=shown,
        today=today,
        previous_day=day - shown.step,
        next_day=day + shown.step,
        heading=heading,
        schedule=schedule,
        locations=locations,
        panel=panel,
        date_errors=errors or {},
        field_prefix=FIELD_PREFIX,
        status_labels=STATUS_LABELS,
        price=lambda amount: format_price(scope.tenant, amount),
    )


@get(f"{STAFF}/calendar", opt={"roles": DESK})
async def calendar_day(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    day: DateQuery = "",
    view: FromQuery[str] = DAY_VIEW,
    by: FromQuery[str] = BY_STAFF,
    location: FromQuery[str] = "",
    service_id: FromQuery[str] = "",
    staff_id: FromQuery[str] = ANY,
    q: FromQuery[str] = "",
) -> Template:
    """Show a day (or ``view=week``) with a column per provider (or
    ``by=resource``), and the staff booking form.

    ``service_id``, ``staff_id`` and ``q`` (a client search) fill in the
    booking form. Its "Find times and clients" button sends them.
    """
    shown, errors = CalendarView.read(tenant_scope, day, view, by, location)
    schedule = await shown.load(tenant_scope)
    panel = await _booking_panel(
        tenant_scope,
        shown.day,
        service_id=service_id,
        staff_id=staff_id,
        query=q,
        hooks=hooks,
    )
    return await _calendar_page(
        tenant_scope, actor, shown, schedule, panel, errors=errors
    )


@get(f"{STAFF}/calendar/fragment", opt={"roles": DESK})
async def calendar_fragment(
    tenant_scope: NamedDependency[TenantScope],
    day: DateQuery = "",
    view: FromQuery[str] = DAY_VIEW,
    by: FromQuery[str] = BY_STAFF,
    location: FromQuery[str] = "",
) -> Template:
    """Return only the columns of a view, for the live refresh."""
    shown, _errors = CalendarView.read(tenant_scope, day, view, by, location)
    return page(
        "calendar/columns.html",
        tenant_scope,
        shown=shown,
        schedule=await shown.load(tenant_scope),
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
    # Plugin booking field values by field name (without FIELD_PREFIX).
    fields: dict[str, str]

    @classmethod
    def read(cls, scope: TenantScope, form: Any) -> StaffBookingForm:
        day, _errors = _day_from_query(scope, _form_text(form, "date"))
        fields = {
            name[len(FIELD_PREFIX) :]: _form_text(form, name)
            for name in form
            if name.startswith(FIELD_PREFIX) and _form_text(form, name)
        }
        return cls(
            day=day,
            service_id=_form_text(form, "service_id"),
            staff_id=_form_text(form, "staff_id") or ANY,
            start=_form_text(form, "start"),
            client_id=_form_text(form, "client_id"),
            text={name: _form_text(form, name) for name in (*CONTACT_FIELDS, "q")},
            fields=fields,
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
    hooks: NamedDependency[TenantHooks],
) -> Template | Redirect:
    """Book from the calendar's form for a found client or new details.

    Plugin booking fields arrive as ``field:<name>`` inputs and are checked,
    with the plugins' other booking hooks, as on the public booking page.

    On success the browser goes back to the day. On errors the calendar
    comes back with the form open and a message under each bad field (422),
    or with fresh times when the slot was taken meanwhile (409).
    """
    submitted = StaffBookingForm.read(tenant_scope, await request.form())
    errors = submitted.check()
    if errors:
        return await _calendar_with_form(tenant_scope, actor, hooks, submitted, errors)
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
            fields=submitted.fields,
            hooks=hooks,
        )
    except ValidationFailed as exc:
        return await _calendar_with_form(
            tenant_scope, actor, hooks, submitted, exc.errors
        )
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
            hooks,
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
    hooks: TenantHooks,
    submitted: StaffBookingForm,
    errors: dict[str, str],
    *,
    notice: str = "",
    status_code: int = 422,
) -> Template:
    shown = CalendarView(submitted.day, DAY_VIEW, BY_STAFF)
    schedule = await shown.load(scope)
    panel = await _booking_panel(
        scope,
        submitted.day,
        service_id=submitted.service_id,
        staff_id=submitted.staff_id,
        query=submitted.text["q"],
        hooks=hooks,
    )
    panel.values = {
        **submitted.text,
        **{FIELD_PREFIX + name: value for name, value in submitted.fields.items()},
        "start": submitted.start,
    }
    panel.client_id = submitted.client_id
    # Errors on plugin fields name the field; show them under its input.
    declared = {spec["name"] for spec in panel.fields}
    panel.errors.update(
        {
            FIELD_PREFIX + name if name in declared else name: message
            for name, message in errors.items()
        }
    )
    panel.notice = notice
    panel.open = True
    return await _calendar_page(
        scope, actor, shown, schedule, panel, status_code=status_code
    )


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# -- appointment view ----------------------------------------------------------


@get(f"{STAFF}/appointments/{{appointment_id:str}}", opt={"roles": DESK})
async def appointment_view(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
) -> Template:
    """Show an appointment with the client's contact, preferences, notes,
    history, package balances and plugin panels, and its actions."""
    detail = await appointment_detail(tenant_scope, appointment_id)
    panels = []
    if detail.get("client"):
        client = await tenant_scope.get(Client, detail["client"]["id"])
        panels = await client_panels(hooks, tenant_scope, client)
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
        client_panels=panels,
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


# -- moving an appointment -----------------------------------------------------


async def _move_page(
    scope: TenantScope,
    actor: Actor,
    hooks: TenantHooks,
    appointment_id: str,
    *,
    day_text: str = "",
    staff_id: str = "",
    error: str = "",
    status_code: int = 200,
) -> Template:
    """Render the free times an appointment could move to on one day."""
    detail = await appointment_detail(scope, appointment_id)
    row = await scope.get(Appointment, appointment_id)
    day, errors = _day_from_query(scope, day_text)
    if not day_text:
        day = date.fromisoformat(detail["date"])
    provider = staff_id or detail["staff_id"]
    slots: list[OfferedSlot] = []
    try:
        found = await search_slots(
            scope,
            service_id=detail["service_id"],
            first_day=day,
            staff_id=provider,
            location_id=row["location_id"],
            source="staff",
            hooks=hooks,
            ignore_appointment_id=row["id"],
        )
        slots = found.slots
    except ValidationFailed as exc:
        errors.update(exc.errors)
    services = await bookable_services(scope)
    service = next((s for s in services if s["id"] == detail["service_id"]), None)
    return page(
        "calendar/move.html",
        scope,
        actor,
        status_code=status_code,
        appointment=detail,
        day=day,
        heading=describe_day(day),
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        provider=provider,
        providers=service["providers"] if service else [],
        slots=slots,
        errors=errors,
        error=error,
        movable=detail["status"] == "booked",
    )


@get(f"{STAFF}/appointments/{{appointment_id:str}}/move", opt={"roles": DESK})
async def appointment_move_form(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
    day: DateQuery = "",
    staff_id: FromQuery[str] = "",
) -> Template:
    """List the free times on a day (the appointment's own by default) with
    the same provider, another one, or ``staff_id=any``."""
    return await _move_page(
        tenant_scope, actor, hooks, appointment_id, day_text=day, staff_id=staff_id
    )


@post(f"{STAFF}/appointments/{{appointment_id:str}}/move", opt={"roles": DESK})
async def appointment_move(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
) -> Template | Redirect:
    """Move the appointment to the picked ``start`` (and ``staff_id``).

    A time taken meanwhile comes back as 409 and bad input as 422, with the
    free times of that day listed again.
    """
    await tenant_scope.get(Appointment, appointment_id)
    form = await request.form()
    start, staff_id = _form_text(form, "start"), _form_text(form, "staff_id")
    day_text = _form_text(form, "date")
    try:
        moved = await reschedule_appointment(
            tenant_scope,
            appointment_id,
            start=start,
            staff_id=staff_id or None,
            actor=actor,
            hooks=hooks,
        )
    except (Conflict, ValidationFailed) as exc:
        logger.info(
            "moving appointment %s of tenant %s to %s failed: %s",
            appointment_id,
            tenant_scope.tenant_id,
            start,
            exc.message,
        )
        return await _move_page(
            tenant_scope,
            actor,
            hooks,
            appointment_id,
            day_text=day_text,
            staff_id=staff_id,
            error=exc.message,
            status_code=exc.status_code,
        )
    return _back_to(tenant_scope, moved["id"])


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
    appointment_move_form,
    appointment_move,
]
