"""Slot search: load one day of hours and bookings, then compute free slots.

Each search runs four queries whatever the number of providers (the
service, its bookable providers, their hours for the weekday, their live
appointments of the day), inside one read transaction so SQLite reuses a
single connection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine
from piccolo.query import Select

from tillbook.db import get_engine
from tillbook.db.base import utcnow
from tillbook.errors import ValidationFailed, invalid
from tillbook.kernel.catalog.tables import Service, ServiceProvider
from tillbook.kernel.schedule.availability import (
    DEFAULT_GRANULARITY_MINUTES,
    Slot,
    WorkingInterval,
    free_slots,
    local_day_bounds,
)
from tillbook.kernel.schedule.tables import Appointment, Staff, WorkingHours
from tillbook.tenancy.scope import TenantScope

# Statuses that hold the provider's time. The PostgreSQL exclusion constraint
# ``appointment_no_overlap`` uses the same list.
LIVE_STATUSES = ("booked", "checked_in", "completed")

# Clients booking online must leave the business this much notice. Staff
# may book any slot that has not started.
# TODO: make the online notice and the horizon below tenant settings.
ONLINE_MIN_NOTICE = timedelta(hours=1)
STAFF_MIN_NOTICE = timedelta(0)
# How far ahead slots are searched and bookings accepted.
BOOKING_HORIZON_DAYS = 365
# No appointment is longer than this (booking enforces it), so the day's
# bookings are found with an index range on ``start_at`` of this width.
LONGEST_APPOINTMENT = timedelta(hours=24)


@dataclass(frozen=True)
class OfferedSlot:
    """A free slot with the provider's name and the local start time."""

    start: datetime
    end: datetime
    staff_id: uuid.UUID
    staff_name: str
    local: str

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "local": self.local,
            "staff_id": str(self.staff_id),
            "staff_name": self.staff_name,
        }


@dataclass
class ServiceDay:
    """Everything slot search needs for one service on one local date."""

    scope: TenantScope
    service: dict[str, Any]
    day: date
    providers: list[dict[str, Any]]
    hours: dict[uuid.UUID, list[WorkingInterval]] = field(default_factory=dict)
    busy: dict[uuid.UUID, list[tuple[datetime, datetime]]] = field(default_factory=dict)

    @property
    def provider_names(self) -> dict[uuid.UUID, str]:
        return {row["id"]: row["name"] for row in self.providers}

    def slots(
        self,
        *,
        now: datetime,
        min_notice: timedelta,
        ignore_bookings: bool = False,
        granularity_minutes: int = DEFAULT_GRANULARITY_MINUTES,
    ) -> list[Slot]:
        """Return the free slots of every provider (or the working-hours grid)."""
        hours = {row["id"]: self.hours.get(row["id"], []) for row in self.providers}
        return free_slots(
            self.day,
            self.scope.tenant.zone,
            hours,
            {} if ignore_bookings else self.busy,
            self.service["duration_minutes"],
            now=now,
            min_notice=min_notice,
            granularity_minutes=granularity_minutes,
        )

    def booked_minutes(self, staff_id: uuid.UUID) -> int:
        """Return the minutes of live appointments the provider has this day."""
        return self._booked_minutes.get(staff_id, 0)

    @cached_property
    def _booked_minutes(self) -> dict[uuid.UUID, int]:
        day_start, day_end = local_day_bounds(self.day, self.scope.tenant.zone)
        minutes = {}
        for staff_id, intervals in self.busy.items():
            total = timedelta(0)
            for start, end in intervals:
                overlap = min(end, day_end) - max(start, day_start)
                if overlap > timedelta(0):
                    total += overlap
            minutes[staff_id] = int(total.total_seconds() // 60)
        return minutes

    def fairest(self, staff_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Order providers for an "any provider" booking: least booked first.

        Ties keep the providers' display order (by name), so the choice is
        predictable.
        """
        position = {row["id"]: index for index, row in enumerate(self.providers)}
        return sorted(
            staff_ids,
            key=lambda staff_id: (self.booked_minutes(staff_id), position[staff_id]),
        )

    def offer(self, slots: Sequence[Slot], *, any_provider: bool) -> list[OfferedSlot]:
        """Label slots for people; for "any provider" keep one per start time.

        With ``any_provider`` each start time appears once, with the provider
        an "any provider" booking at that time would get.
        """
        names = self.provider_names
        zone = self.scope.tenant.zone
        if any_provider:
            by_start: dict[datetime, list[Slot]] = {}
            for slot in slots:
                by_start.setdefault(slot.start, []).append(slot)
            chosen = []
            for group in by_start.values():
                staff_id = self.fairest([slot.staff_id for slot in group])[0]
                chosen.append(next(s for s in group if s.staff_id == staff_id))
            slots = chosen
        return [
            OfferedSlot(
                start=slot.start,
                end=slot.end,
                staff_id=slot.staff_id,
                staff_name=names[slot.staff_id],
                local=slot.start.astimezone(zone).strftime("%H:%M"),
            )
            for slot in slots
        ]


def parse_uuid(value: object, field_name: str, what: str) -> uuid.UUID:
    """Parse an id from input; raise ValidationFailed naming ``field_name``."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise invalid(
            field_name, f"{value!r} is not a {what} id: choose one from the list"
        ) from None


async def active_service(scope: TenantScope, service_id: object) -> dict[str, Any]:
    """Return an active service; raise ValidationFailed on ``service_id`` if none."""
    if service_id in (None, ""):
        raise invalid("service_id", "is required: choose a service")
    key = parse_uuid(service_id, "service_id", "service")
    row = (
        await scope.select(
            Service,
            Service.id,
            Service.name,
            Service.duration_minutes,
            Service.price,
            Service.active,
        )
        .where(Service.id == key)
        .first()
    )
    if row is None or not row["active"]:
        raise invalid(
            "service_id", f"unknown service {service_id}: choose one from the list"
        )
    return row  # type: ignore[no-any-return]


async def load_service_day(
    scope: TenantScope,
    service_id: object,
    day: date,
    staff_id: object = None,
) -> ServiceDay:
    """Load a service's providers, their hours and their bookings for ``day``.

    ``staff_id`` narrows the search to one provider. Raises ValidationFailed
    on ``service_id`` for an unknown or inactive service, and on ``staff_id``
    for a provider who does not perform it or cannot be booked.
    """
    requested = None
    if staff_id not in (None, "", "any"):
        requested = parse_uuid(staff_id, "staff_id", "provider")
    # On SQLite one read transaction keeps the four reads on one connection
    # and one snapshot. PostgreSQL at READ COMMITTED gives each statement its
    # own snapshot even inside a transaction, so there the four reads run at
    # once on pooled connections. The booking re-checks the slot either way.
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction():
            return await _read_service_day(scope, service_id, day, requested)
    return await _read_service_day_concurrently(scope, service_id, day, requested)


async def _read_service_day_concurrently(
    scope: TenantScope, service_id: object, day: date, requested: uuid.UUID | None
) -> ServiceDay:
    if service_id in (None, ""):
        raise invalid("service_id", "is required: choose a service")
    key = parse_uuid(service_id, "service_id", "service")
    performers = scope.select(ServiceProvider, ServiceProvider.staff_id).where(
        ServiceProvider.service_id == key
    )
    service, providers, hours, busy = await asyncio.gather(
        active_service(scope, key),
        _bookable_providers(scope, key, requested),
        _weekday_hours(scope, performers, day.weekday()),
        _busy_intervals(scope, performers, day),
    )
    if requested is not None and not providers:
        raise await _provider_error(scope, service, requested)
    ids = {row["id"] for row in providers}
    result = ServiceDay(scope, service, day, providers)
    result.hours = {staff: spans for staff, spans in hours.items() if staff in ids}
    result.busy = {staff: spans for staff, spans in busy.items() if staff in ids}
    return result


async def _read_service_day(
    scope: TenantScope, service_id: object, day: date, requested: uuid.UUID | None
) -> ServiceDay:
    service = await active_service(scope, service_id)
    providers = await _bookable_providers(scope, service["id"], requested)
    if requested is not None and not providers:
        raise await _provider_error(scope, service, requested)
    ids = [row["id"] for row in providers]
    result = ServiceDay(scope, service, day, providers)
    if ids:
        result.hours = await _weekday_hours(scope, ids, day.weekday())
        result.busy = await _busy_intervals(scope, ids, day)
    return result


async def _bookable_providers(
    scope: TenantScope, service_id: uuid.UUID, requested: uuid.UUID | None
) -> list[dict[str, Any]]:
    """Return the active bookable staff who perform the service, by name."""
    performers = scope.select(ServiceProvider, ServiceProvider.staff_id).where(
        ServiceProvider.service_id == service_id
    )
    query = (
        scope.select(Staff, Staff.id, Staff.name, Staff.colour, Staff.title)
        .where(Staff.id.is_in(performers))
        .where(Staff.active == True)  # noqa: E712 - piccolo builds SQL from ==
        .where(Staff.bookable == True)  # noqa: E712
        .order_by(Staff.name)
    )
    if requested is not None:
        query = query.where(Staff.id == requested)
    return list(await query)


async def _provider_error(
    scope: TenantScope, service: dict[str, Any], requested: uuid.UUID
) -> ValidationFailed:
    link = (
        await scope.select(ServiceProvider, ServiceProvider.id)
        .where(ServiceProvider.service_id == service["id"])
        .where(ServiceProvider.staff_id == requested)
        .first()
    )
    if link is None:
        return invalid(
            "staff_id",
            f"provider {requested} does not perform {service['name']}: "
            "choose another provider or any available",
        )
    return invalid(
        "staff_id", f"provider {requested} is not taking bookings: choose another"
    )


async def _weekday_hours(
    scope: TenantScope, staff_ids: list[uuid.UUID] | Select, weekday: int
) -> dict[uuid.UUID, list[WorkingInterval]]:
    rows = (
        await scope.select(
            WorkingHours,
            WorkingHours.staff_id,
            WorkingHours.start_minute,
            WorkingHours.end_minute,
        )
        .where(WorkingHours.staff_id.is_in(staff_ids))
        .where(WorkingHours.weekday == weekday)
    )
    hours: dict[uuid.UUID, list[WorkingInterval]] = {}
    for row in rows:
        hours.setdefault(row["staff_id"], []).append(
            WorkingInterval(weekday, row["start_minute"], row["end_minute"])
        )
    return hours


async def _busy_intervals(
    scope: TenantScope, staff_ids: list[uuid.UUID] | Select, day: date
) -> dict[uuid.UUID, list[tuple[datetime, datetime]]]:
    day_start, day_end = local_day_bounds(day, scope.tenant.zone)
    rows = (
        await scope.select(
            Appointment, Appointment.staff_id, Appointment.start_at, Appointment.end_at
        )
        .where(Appointment.staff_id.is_in(staff_ids))
        .where(Appointment.status.is_in(list(LIVE_STATUSES)))
        .where(Appointment.start_at >= day_start - LONGEST_APPOINTMENT)
        .where(Appointment.start_at < day_end)
        .where(Appointment.end_at > day_start)
    )
    busy: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    for row in rows:
        busy.setdefault(row["staff_id"], []).append((row["start_at"], row["end_at"]))
    return busy


async def find_slots(
    scope: TenantScope,
    *,
    service_id: object,
    day: date,
    staff_id: object = None,
    now: datetime | None = None,
    min_notice: timedelta = ONLINE_MIN_NOTICE,
) -> list[OfferedSlot]:
    """Return the free slots for a service on a local date.

    Without ``staff_id`` (or with ``"any"``) each start time is listed once,
    with the provider an "any provider" booking would get. Raises
    ValidationFailed on ``service_id`` or ``staff_id`` as ``load_service_day``
    does, and on ``date`` beyond the booking horizon.
    """
    now = now or utcnow()
    check_horizon(scope, day, now)
    service_day = await load_service_day(scope, service_id, day, staff_id)
    slots = service_day.slots(now=now, min_notice=min_notice)
    return service_day.offer(slots, any_provider=staff_id in (None, "", "any"))


def check_horizon(scope: TenantScope, day: date, now: datetime) -> None:
    """Raise ValidationFailed on ``date`` for a day past the booking horizon."""
    today = now.astimezone(scope.tenant.zone).date()
    if day > today + timedelta(days=BOOKING_HORIZON_DAYS):
        raise invalid(
            "date",
            f"{day.isoformat()} is more than {BOOKING_HORIZON_DAYS} days ahead: "
            "choose an earlier date",
        )


async def bookable_services(scope: TenantScope) -> list[dict[str, Any]]:
    """Return the active services, each with its active bookable providers.

    Services are ordered by category, then name; providers by name. A
    service without providers is listed with an empty ``providers`` list.
    """
    services = (
        await scope.select(Service)
        .where(Service.active == True)  # noqa: E712 - piccolo builds SQL from ==
        .order_by(Service.category)
        .order_by(Service.name)
    )
    links = await scope.select(ServiceProvider)
    staff = await scope.get_many(Staff, (link["staff_id"] for link in links))
    providers: dict[uuid.UUID, list[dict[str, str]]] = {}
    for link in links:
        person = staff.get(link["staff_id"])
        if person is None or not (person["active"] and person["bookable"]):
            continue
        providers.setdefault(link["service_id"], []).append(
            {"id": str(person["id"]), "name": person["name"], "title": person["title"]}
        )
    return [
        {
            "id": str(row["id"]),
            "name": row["name"],
            "category": row["category"],
            "description": row["description"],
            "duration_minutes": row["duration_minutes"],
            "price": row["price"],
            "currency": scope.tenant.currency,
            "providers": sorted(
                providers.get(row["id"], []), key=lambda item: item["name"]
            ),
        }
        for row in services
    ]
