"""The public booking pages: choose a location, services, providers and a
time, then book.

Everything works without JavaScript: choosing a location, service, provider
or day submits a GET form that re-renders the page with fresh times, and
booking is an ordinary POST. A client may add several services to one visit
("Add another service"), or the same service once more for another pet or
person ("Add another ..."): the page then lists the starts at which all of
them fit back to back. Extra fields that plugins ask for
(``tillbook_booking_fields``) are rendered under the contact details: once
for a single service, and once per service of a visit, so each service
carries its own values (each dog of a grooming visit its own name and
size). A little script only resubmits the choice form on change.
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
from tillbook.errors import Conflict, PaymentDeclined, SlotUnavailable, ValidationFailed
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.clients.directory import validate_contact
from tillbook.kernel.schedule.booking import (
    NewClient,
    appointment_by_token,
    book_appointment,
    booking_fields,
    parse_day,
    parse_instant,
)
from tillbook.kernel.schedule.changes import cancel_by_token
from tillbook.kernel.schedule.notices import describe_when, format_price
from tillbook.kernel.schedule.search import (
    OfferedSlot,
    bookable_services,
    booking_locations,
    search_slots,
)
from tillbook.kernel.schedule.visits import (
    MAX_VISIT_ITEMS,
    VisitItem,
    VisitOption,
    book_visit,
    search_visit,
)
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import TENANT
from tillbook.web.templating import page

logger = logging.getLogger(__name__)

PUBLIC = {"public": True}
ANY = "any"
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "note")
# Plugin field inputs are named with this prefix, so they cannot clash with
# the page's own inputs.
FIELD_PREFIX = "field:"
DateQuery = Annotated[
    str, QueryParameter(name="date", description="Local date YYYY-MM-DD")
]
ItemQuery = Annotated[
    list[str] | None,
    QueryParameter(
        name="item",
        description="A service already in the visit, as service_id:staff_id "
        "(staff_id any for any provider); repeat for each",
    ),
]


@dataclass
class BookingChoice:
    """The visitor's choice of location, services, provider and day, with
    the free times of the whole visit."""

    services: list[dict[str, Any]]
    service: dict[str, Any] | None
    staff_id: str
    day: date
    today: date
    locations: list[dict[str, Any]] = field(default_factory=list)
    location_id: str = ""
    # Services added to the visit before the current one, with names.
    basket: list[dict[str, Any]] = field(default_factory=list)
    slots: list[OfferedSlot] = field(default_factory=list)
    options: list[VisitOption] = field(default_factory=list)
    fields: list[dict[str, Any]] = field(default_factory=list)
    # For a visit: one entry per service that declares plugin fields, with
    # ``index`` (its place in the visit), ``title`` and ``fields``.
    field_groups: list[dict[str, Any]] = field(default_factory=list)
    # Submitted plugin field values of each service of a visit, by place.
    item_fields: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # The IANA zone the times are shown in: the location's, else the tenant's.
    zone_name: str = ""

    @property
    def items(self) -> list[VisitItem]:
        """Return every service of the visit in order, the current one last."""
        items = [
            VisitItem(
                entry["service_id"], entry["staff_id"], self.item_fields.get(index)
            )
            for index, entry in enumerate(self.basket)
        ]
        if self.service is not None:
            staff = None if self.staff_id == ANY else self.staff_id
            current = self.item_fields.get(len(self.basket))
            items.append(VisitItem(self.service["id"], staff, current))
        return items

    @property
    def item_values(self) -> list[str]:
        """Return the basket as ``service_id:staff_id`` form values."""
        return [
            f"{entry['service_id']}:{entry['staff_id'] or ANY}" for entry in self.basket
        ]

    @property
    def is_visit(self) -> bool:
        return bool(self.basket)

    @property
    def deposit(self) -> int:
        services = {item["id"]: item for item in self.services}
        return sum(services[item.service_id].get("deposit", 0) for item in self.items)

    @property
    def can_add(self) -> bool:
        return self.service is not None and len(self.items) < MAX_VISIT_ITEMS

    @property
    def can_repeat(self) -> bool:
        """Tell whether the current service declares plugin fields, so that
        booking it once more (for another pet, say) carries other values."""
        current = len(self.basket)
        return bool(self.fields) or any(
            group["index"] == current for group in self.field_groups
        )


def parse_basket(
    values: list[str] | None, services: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Parse ``item`` values into basket entries; unknown ones become errors."""
    by_id = {service["id"]: service for service in services}
    basket = []
    errors: dict[str, str] = {}
    for value in (values or [])[: MAX_VISIT_ITEMS - 1]:
        service_id, _, staff_id = value.partition(":")
        service = by_id.get(service_id)
        if service is None:
            errors["item"] = "a service in your visit is no longer offered: removed it"
            continue
        providers = {item["id"]: item["name"] for item in service["providers"]}
        staff = staff_id if staff_id in providers else None
        basket.append(
            {
                "service_id": service_id,
                "staff_id": staff,
                "service_name": service["name"],
                "staff_name": providers.get(staff or "", "Any available"),
            }
        )
    return basket, errors


async def choose(
    scope: TenantScope,
    service_id: str,
    staff_id: str,
    day_text: str,
    *,
    location_id: str = "",
    items: list[str] | None = None,
    item_fields: dict[int, dict[str, Any]] | None = None,
    hooks: TenantHooks | None = None,
) -> BookingChoice:
    """Resolve the visitor's choice and search its free times.

    An unknown service, location or bad date becomes a message on that field
    rather than an error page. A provider who does not perform the chosen
    service falls back to "any available". ``item_fields`` are the plugin
    field values submitted for each service of a visit, by place. The search
    passes them to ``tillbook_service_timing``, so the times fit each pet.
    """
    services = [
        item for item in await bookable_services(scope) if item.get("online", True)
    ]
    locations = await booking_locations(scope)
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
    if location_id and location_id not in {item["id"] for item in locations}:
        errors["location_id"] = "is not one of our locations: choose one from the list"
        location_id = ""
    if not location_id and locations:
        location_id = locations[0]["id"]
    service = next((item for item in services if item["id"] == service_id), None)
    if service_id and service is None:
        errors["service_id"] = "is not on the menu: choose a service from the list"
    if service is None and services:
        service = services[0]
    provider_ids = {item["id"] for item in service["providers"]} if service else set()
    if staff_id not in provider_ids:
        staff_id = ANY
    basket, basket_errors = parse_basket(items, services)
    errors.update(basket_errors)
    choice = BookingChoice(
        services,
        service,
        staff_id,
        day,
        today,
        locations=locations,
        location_id=location_id,
        basket=basket,
        item_fields=dict(item_fields or {}),
        errors=errors,
        zone_name=next(
            (item["time_zone"] for item in locations if item["id"] == location_id),
            scope.tenant.time_zone,
        ),
    )
    if service is None or not service["providers"]:
        return choice
    try:
        await _search(scope, choice, hooks)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    return choice


async def _search(
    scope: TenantScope, choice: BookingChoice, hooks: TenantHooks | None
) -> None:
    assert choice.service is not None
    by_id = {item["id"]: item for item in choice.services}
    location = choice.location_id or None
    if choice.is_visit:
        choice.field_groups = await _field_groups(scope, choice, by_id, hooks)
        choice.options = await search_visit(
            scope,
            items=choice.items,
            first_day=choice.day,
            location_id=location,
            hooks=hooks,
        )
        return
    choice.fields = await booking_fields(scope, choice.service, hooks)
    result = await search_slots(
        scope,
        service_id=choice.service["id"],
        first_day=choice.day,
        staff_id=None if choice.staff_id == ANY else choice.staff_id,
        location_id=location,
        hooks=hooks,
    )
    choice.slots = result.slots


async def _field_groups(
    scope: TenantScope,
    choice: BookingChoice,
    by_id: dict[str, dict[str, Any]],
    hooks: TenantHooks | None,
) -> list[dict[str, Any]]:
    """Return the plugin fields of each service of a visit that has any."""
    groups = []
    counts: dict[str, int] = {}
    for item in choice.items:
        counts[item.service_id] = counts.get(item.service_id, 0) + 1
    seen: dict[str, int] = {}
    for index, item in enumerate(choice.items):
        service = by_id[item.service_id]
        specs = await booking_fields(scope, service, hooks)
        if not specs:
            continue
        seen[item.service_id] = seen.get(item.service_id, 0) + 1
        title = service["name"]
        if counts[item.service_id] > 1:
            title = f"{title} ({seen[item.service_id]} of {counts[item.service_id]})"
        groups.append({"index": index, "title": title, "fields": specs})
    return groups


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
        field_prefix=FIELD_PREFIX,
        price=lambda amount: format_price(scope.tenant, amount),
    )


@get(f"{TENANT}/book", opt=PUBLIC)
async def booking_form(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    service_id: FromQuery[str] = "",
    staff_id: FromQuery[str] = ANY,
    location_id: FromQuery[str] = "",
    day: DateQuery = "",
    item: ItemQuery = None,
    add: FromQuery[str] = "",
    again: FromQuery[str] = "",
    remove: FromQuery[int | None] = None,
) -> Template:
    """Show the booking page with the free times for the chosen visit and day.

    ``add`` moves the current service into the visit. ``again`` does too,
    but keeps it chosen as the next service (for another pet, say).
    ``remove=N`` takes the N-th service (from 0) out of the visit.
    """
    # NOTE: this page has no plugin field values yet, so its times use each
    # service's own length. A longer pet may then not fit the chosen start:
    # the POST returns 422 or 409 with times searched for the entered pets.
    items = list(item or [])
    if remove is not None and 0 <= remove < len(items):
        del items[remove]
    if (add or again) and service_id:
        items.append(f"{service_id}:{staff_id}")
        if not again:
            service_id, staff_id = "", ANY
    choice = await choose(
        tenant_scope,
        service_id,
        staff_id,
        day,
        location_id=location_id,
        items=items,
        hooks=hooks,
    )
    return _booking_page(tenant_scope, choice)


@post(f"{TENANT}/book", opt=PUBLIC)
async def booking_submit(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
) -> Template | Redirect:
    """Book the chosen time (one service or a whole visit) and go to the
    confirmation page.

    Bad fields come back under each field (422). A time taken meanwhile
    comes back with a message and the fresh times (409).
    """
    form = await request.form()
    values = {name: _form_text(form, name) for name in CONTACT_FIELDS}
    service_id = _form_text(form, "service_id")
    staff_id = _form_text(form, "staff_id") or ANY
    location_id = _form_text(form, "location_id")
    start_text = _form_text(form, "start")
    items = [value for value in form.getall("item", []) if isinstance(value, str)]
    fields, item_fields = _submitted_fields(form)
    choice = await choose(
        tenant_scope,
        service_id,
        staff_id,
        _form_text(form, "date"),
        location_id=location_id,
        items=items,
        item_fields=item_fields,
        hooks=hooks,
    )
    values.update({FIELD_PREFIX + name: value for name, value in fields.items()})
    for index, submitted in item_fields.items():
        values.update(
            {
                f"{FIELD_PREFIX}{index}:{name}": value
                for name, value in submitted.items()
            }
        )
    values["start"] = start_text
    values["payment_method"] = _form_text(form, "payment_method")

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

    client = NewClient(
        values["first_name"], values["last_name"], values["email"], values["phone"]
    )
    try:
        if choice.is_visit:
            visit = await book_visit(
                tenant_scope,
                items=choice.items,
                start=parse_instant(start_text),
                client=client,
                note=values["note"],
                source="online",
                location_id=choice.location_id or None,
                fields=fields,
                hooks=hooks,
                payment_method=values["payment_method"] or None,
            )
            appointment = visit["appointments"][0]
        else:
            appointment = await book_appointment(
                tenant_scope,
                service_id=service_id,
                staff_id=None if staff_id == ANY else staff_id,
                start=parse_instant(start_text),
                client=client,
                note=values["note"],
                source="online",
                location_id=choice.location_id or None,
                fields=fields,
                hooks=hooks,
                payment_method=values["payment_method"] or None,
            )
    except ValidationFailed as exc:
        return _booking_page(
            tenant_scope,
            choice,
            values=values,
            errors=_page_errors(exc.errors),
            status_code=422,
        )
    except PaymentDeclined as exc:
        return _booking_page(
            tenant_scope,
            choice,
            values=values,
            errors={"payment_method": exc.message},
            status_code=402,
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
            tenant_scope,
            service_id,
            staff_id,
            choice.day.isoformat(),
            location_id=choice.location_id,
            items=items,
            item_fields=item_fields,
            hooks=hooks,
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


def _submitted_fields(form: Any) -> tuple[dict[str, str], dict[int, dict[str, str]]]:
    """Return the non-empty plugin field values of a booking form.

    Returns ``(fields, item_fields)``: the ``field:<name>`` inputs of a
    single booking, and the ``field:<N>:<name>`` inputs keyed by N, the
    service's place in a visit (from 0).
    """
    fields: dict[str, str] = {}
    item_fields: dict[int, dict[str, str]] = {}
    for name, value in form.items():
        if not name.startswith(FIELD_PREFIX) or not isinstance(value, str):
            continue
        key = name[len(FIELD_PREFIX) :]
        place, colon, rest = key.partition(":")
        if colon and is_whole_number(place) and int(place) < MAX_VISIT_ITEMS:
            # Every service of a visit gets its own values, even none, so an
            # empty group never falls back to another service's values.
            submitted = item_fields.setdefault(int(place), {})
            if value.strip():
                submitted[rest] = value.strip()
        elif value.strip():
            fields[key] = value.strip()
    return fields, item_fields


def _page_errors(errors: dict[str, str]) -> dict[str, str]:
    """Return kernel errors keyed by the page's input names.

    Plugin field names get the field prefix so they show under their input:
    ``items.N.fields.<name>`` of a visit under that service's input
    ``field:N:<name>``. Other ``items.N.<field>`` errors show at the time
    list.
    """
    result = {}
    for name, message in errors.items():
        place, marker, field_name = name.removeprefix("items.").partition(".fields.")
        if name.startswith("items.") and marker and is_whole_number(place):
            result[f"{FIELD_PREFIX}{place}:{field_name}"] = message
        elif name.startswith("items."):
            result["start"] = message
        elif "." in name:
            result[FIELD_PREFIX + name] = message
        else:
            result[name] = message
    return result


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
