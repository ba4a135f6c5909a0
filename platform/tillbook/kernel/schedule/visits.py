"""Visits: several services booked together for one client, back to back.

Each service of a visit starts when the client is free of the one before:
at its end plus its buffer after, plus the next service's own buffer
before. Each has its own provider, or "any" free one. A visit is stored
all-or-nothing in one transaction, and its appointments share
``Appointment.visit_id``.

Each item may carry its own plugin booking ``fields`` (one pet per
grooming, say). An item without them uses the visit's ``fields`` whole.
The two sets are not merged, so values given for one item never reach
another.
Errors about an item's plugin fields are named ``items.N.fields.<name>``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import SlotUnavailable, ValidationFailed, invalid
from tillbook.kernel.schedule.availability import Slot
from tillbook.kernel.schedule.booking import (
    SOURCES,
    NewClient,
    PlannedBooking,
    clean_note,
    client_reference,
    parse_instant,
    plan_booking,
    resolve_client,
    store_appointment,
)
from tillbook.kernel.schedule.holds import is_exclusion_violation
from tillbook.kernel.schedule.search import (
    ANY,
    OfferedSlot,
    ServiceSearch,
    load_search,
    service_json,
    service_timing,
)
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

# A visit books at most this many services.
MAX_VISIT_ITEMS = 8
ITEM_KEYS = frozenset({"service_id", "staff_id", "fields"})


@dataclass(frozen=True)
class VisitItem:
    """One service of a visit, its provider (None for any provider) and its
    own plugin booking fields (None to use the visit's)."""

    service_id: str
    staff_id: str | None = None
    # Left out of the hash, because a dict cannot be hashed.
    fields: dict[str, Any] | None = field(default=None, hash=False)

    def fields_or(self, visit_fields: dict[str, Any] | None) -> dict[str, Any] | None:
        """Return this item's plugin fields, or the visit's when it has none."""
        return self.fields if self.fields is not None else visit_fields


@dataclass(frozen=True)
class VisitOption:
    """A start at which the whole visit fits, with each service's slot."""

    start: datetime
    slots: list[OfferedSlot]

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "local": self.slots[0].local,
            "date": self.slots[0].day,
            "end": self.slots[-1].end.isoformat(),
            "items": [slot.to_json() for slot in self.slots],
        }


def parse_items(value: object) -> list[VisitItem]:
    """Parse the services of a visit from request input.

    Accepts a list of ``{"service_id", "staff_id", "fields"}`` objects;
    ``fields`` is optional. Raises ValidationFailed naming ``items`` (or
    ``items.N.service_id``, ``items.N.fields`` or an unknown
    ``items.N.<key>``).
    """
    if not isinstance(value, list) or not value:
        raise invalid("items", "must list at least one service: add a service")
    if len(value) > MAX_VISIT_ITEMS:
        raise invalid(
            "items", f"lists more than {MAX_VISIT_ITEMS} services: book them apart"
        )
    items = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or not entry.get("service_id"):
            raise invalid(f"items.{index}.service_id", "is required: choose a service")
        unknown = sorted(set(entry) - ITEM_KEYS)
        if unknown:
            raise invalid(
                f"items.{index}.{unknown[0]}",
                f"is not an item key: use {', '.join(sorted(ITEM_KEYS))}",
            )
        fields = entry.get("fields")
        if fields is not None and not isinstance(fields, dict):
            raise invalid(
                f"items.{index}.fields",
                "must be a JSON object of field name to value, or null to use "
                "the visit's fields",
            )
        staff = entry.get("staff_id")
        items.append(
            VisitItem(
                service_id=str(entry["service_id"]),
                staff_id=None if staff in ANY else str(staff),
                fields=fields,
            )
        )
    return items


def item_errors(
    index: int,
    errors: dict[str, str],
    fields: dict[str, Any] | None,
    *,
    fields_only: bool = False,
) -> dict[str, str]:
    """Return one item's errors named ``items.N.<name>``.

    Plugin field names contain a dot (``petgrooming.pet_id``) and kernel
    names do not, so a dotted name, or any name submitted among the item's
    fields, is reported as ``items.N.fields.<name>``. ``location_id`` is
    the visit's and keeps its name, and so does every kernel name when
    ``fields_only`` is true (a deposit's ``payment_method``, say).
    """
    named = {}
    for name, text in errors.items():
        if "." in name or name in (fields or {}):
            named[f"items.{index}.fields.{name}"] = text
        elif name == "location_id" or fields_only:
            named[name] = text
        else:
            named[f"items.{index}.{name}"] = text
    return named


async def _load_searches(
    scope: TenantScope,
    items: list[VisitItem],
    first_day: date,
    last_day: date,
    location_id: object,
    fields: dict[str, Any] | None,
    hooks: TenantHooks | None,
) -> list[ServiceSearch]:
    searches = []
    for index, item in enumerate(items):
        try:
            searches.append(
                await load_search(
                    scope,
                    item.service_id,
                    first_day,
                    last_day,
                    staff_id=item.staff_id,
                    location_id=location_id,
                    fields=item.fields_or(fields),
                    hooks=hooks,
                )
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                item_errors(index, exc.errors, item.fields_or(fields))
            ) from None
    return searches


async def search_visit(
    scope: TenantScope,
    *,
    items: list[VisitItem],
    first_day: date,
    last_day: date | None = None,
    location_id: object = None,
    source: str = "online",
    fields: dict[str, Any] | None = None,
    hooks: TenantHooks | None = None,
    now: datetime | None = None,
) -> list[VisitOption]:
    """Return the starts at which every service of a visit fits back to back.

    The first service starts on its slot grid; each later one follows as
    the module describes. "Any provider" picks, at each step, the least
    booked free provider that day. Each item's duration and price pass
    through ``tillbook_service_timing`` with that item's fields. Raises
    ValidationFailed as ``load_search`` does, with item fields named
    ``items.N.<field>``.
    """
    now = now or utcnow()
    last_day = last_day or first_day
    # One more day loaded so that a visit starting late runs past midnight.
    searches = await _load_searches(
        scope,
        items,
        first_day,
        last_day + timedelta(days=1),
        location_id,
        fields,
        hooks,
    )
    first = searches[0]
    offered = first.offer(
        [
            slot
            for slot in first.slots(now=now, source=source)
            if slot.start.astimezone(first.zone).date() <= last_day
        ],
        any_provider=items[0].staff_id is None,
    )
    by_start: dict[datetime, list[OfferedSlot]] = {}
    for slot in offered:
        by_start.setdefault(slot.start, []).append(slot)
    options = []
    for start, group in by_start.items():
        chain = _chain(searches, items, group[0], now, source)
        if chain is not None:
            options.append(VisitOption(start, chain))
    return options


def _chain(
    searches: list[ServiceSearch],
    items: list[VisitItem],
    first: OfferedSlot,
    now: datetime,
    source: str,
) -> list[OfferedSlot] | None:
    """Return one slot per service following ``first``, or None if one fails."""
    chain = [first]
    previous = searches[0].timing(first.staff_id)
    free_from = first.end + timedelta(minutes=previous.buffer_after_minutes)
    for search, item in zip(searches[1:], items[1:], strict=True):
        picked = None
        candidates = [person["id"] for person in search.providers]
        for staff_id in candidates:
            timing = search.timing(staff_id)
            start = free_from + timedelta(minutes=timing.buffer_before_minutes)
            if search.check(staff_id, start, now=now, source=source, on_grid=False):
                continue
            if picked is None or _fairer(search, staff_id, picked, start):
                picked = (staff_id, start)
        if picked is None:
            return None
        staff_id, start = picked
        slot = search.offer(
            [_slot(start, search, staff_id)], any_provider=item.staff_id is None
        )[0]
        chain.append(slot)
        timing = search.timing(staff_id)
        free_from = slot.end + timedelta(minutes=timing.buffer_after_minutes)
    return chain


def _fairer(
    search: ServiceSearch,
    staff_id: uuid.UUID,
    picked: tuple[uuid.UUID, datetime],
    start: datetime,
) -> bool:
    day = start.astimezone(search.zone).date()
    return search.fairest([staff_id, picked[0]], day)[0] == staff_id


def _slot(start: datetime, search: ServiceSearch, staff_id: uuid.UUID) -> Slot:
    length = timedelta(minutes=search.timing(staff_id).duration_minutes)
    return Slot(start, start + length, staff_id)


async def book_visit(
    scope: TenantScope,
    *,
    items: list[VisitItem],
    start: datetime | str,
    client: uuid.UUID | str | NewClient,
    note: str = "",
    source: str = "online",
    location_id: object = None,
    fields: dict[str, Any] | None = None,
    hooks: TenantHooks | None = None,
    actor_id: uuid.UUID | None = None,
    payment_method: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Book every service of a visit back to back, all or nothing.

    Returns ``{"visit_id", "appointments": [...]}`` with one appointment per
    service in order. Every service passes the checks of a single booking
    with its own fields (``VisitItem.fields``, else ``fields``); later
    services need not start on the slot grid. ``tillbook_validate_booking``
    runs for every item before any is stored, so a rejected item stores
    nothing and takes no deposit. Raises ValidationFailed naming
    ``items.N.<field>`` (``items.N.fields.<name>`` for plugin fields) for
    every item with a problem, and SlotUnavailable when a service can no
    longer be placed, in which case nothing is stored.
    """
    now = now or utcnow()
    if source not in SOURCES:
        raise invalid("source", f"{source!r} is not a source: use online or staff")
    note = clean_note(note)
    instant = parse_instant(start)
    client_ref = await client_reference(scope, client)
    day = instant.date()
    searches = await _load_searches(
        scope,
        items,
        day - timedelta(days=1),
        day + timedelta(days=2),
        location_id,
        fields,
        hooks,
    )
    plans = []
    next_start = instant
    for index, (search, item) in enumerate(zip(searches, items, strict=True)):
        try:
            item_start = instant
            if index:
                # Buffers belong to the service, so every provider has the same.
                gap = service_timing(search.service).buffer_before_minutes
                item_start = next_start + timedelta(minutes=gap)
            plan = await plan_booking(
                scope,
                service_id=item.service_id,
                staff_id=item.staff_id,
                start=item_start,
                location_id=location_id,
                fields=item.fields_or(fields),
                source=source,
                hooks=hooks,
                now=now,
                on_grid=index == 0,
                search=search,
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                item_errors(index, exc.errors, item.fields_or(fields))
            ) from None
        plans.append(plan)
        next_start = plan.next_start(plan.candidates[0])
    visit_id = uuid.uuid4()
    try:
        async with write_transaction():
            client_id = await resolve_client(scope, client_ref)
            await _validate_items(scope, plans, client_id, hooks)
            appointments = []
            for index, plan in enumerate(plans):
                try:
                    stored = await _store_first_free(
                        scope,
                        plan,
                        client_id=client_id,
                        note=note,
                        actor_id=actor_id,
                        hooks=hooks,
                        payment_method=payment_method,
                        visit_id=visit_id,
                    )
                except ValidationFailed as exc:
                    raise ValidationFailed(
                        item_errors(index, exc.errors, plan.fields, fields_only=True)
                    ) from None
                appointments.append(stored)
    except Exception as exc:
        if is_exclusion_violation(exc):
            raise SlotUnavailable("", instant.isoformat()) from exc
        raise
    logger.info(
        "booked visit %s with %d services for tenant %s",
        visit_id,
        len(appointments),
        scope.tenant_id,
    )
    return {"visit_id": str(visit_id), "appointments": appointments}


async def _validate_items(
    scope: TenantScope,
    plans: list[PlannedBooking],
    client_id: uuid.UUID,
    hooks: TenantHooks | None,
) -> None:
    """Call ``tillbook_validate_booking`` for every item; raise all errors.

    ``store_appointment`` calls the hook again for each item as it stores
    it. Checking every item first reports each rejected item at once, and
    no item is stored or charged a deposit before a later one is rejected.
    """
    if hooks is None:
        return
    errors: dict[str, str] = {}
    for index, plan in enumerate(plans):
        staff_id = plan.candidates[0]
        booking = {
            "kind": "appointment",
            "service": service_json(plan.service),
            "staff_id": str(staff_id),
            "client_id": str(client_id),
            "start": plan.start.isoformat(),
            "end": plan.end(staff_id).isoformat(),
            "fields": plan.fields,
        }
        results = await hooks.tillbook_validate_booking(scope=scope, booking=booking)
        found: dict[str, str] = {}
        for result in results or []:
            found.update(result or {})
        errors.update(item_errors(index, found, plan.fields))
    if errors:
        raise ValidationFailed(errors)


async def _store_first_free(
    scope: TenantScope,
    plan: PlannedBooking,
    **kwargs: Any,
) -> dict[str, Any]:
    """Store a plan with its first candidate provider.

    NOTE: inside one transaction a failed insert on PostgreSQL aborts the
    whole transaction, so a taken "any provider" is not retried with the
    next candidate here: the visit fails with SlotUnavailable instead and
    the client searches again.
    """
    staff_id = plan.candidates[0]
    return await store_appointment(
        scope, plan, staff_id=staff_id, start=plan.start, **kwargs
    )
