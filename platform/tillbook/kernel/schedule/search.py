"""Slot search: load hours, time off, holds and timing, then compute free slots.

``load_search`` reads everything one service needs at one location over a
range of local dates with 13 to 15 queries, whatever the number of providers
or days. Every query is led by ``tenant_id`` and filtered on an indexed
column (``staff_id`` plus ``start_at`` for holds and time off). No query
depends on another's result, so on PostgreSQL they all run at once on pooled
connections. On SQLite they run one after another inside one read
transaction, so they share a connection and a snapshot. Booking re-checks
the slot through holds either way, so a search that races a booking cannot
double-book.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from piccolo.engine.sqlite import SQLiteEngine
from piccolo.query import Select

from tillbook.db import get_engine
from tillbook.db.base import utcnow
from tillbook.errors import invalid
from tillbook.kernel.catalog.tables import Service, ServiceProvider
from tillbook.kernel.schedule.availability import (
    DEFAULT_GRANULARITY_MINUTES,
    ProviderCalendar,
    ResourceNeed,
    Slot,
    SlotQuery,
    Timing,
    WorkingInterval,
    check_start,
    find_any_provider_slots,
    find_free_slots,
    local_day_bounds,
)
from tillbook.kernel.schedule.holds import linked_resources, resources_at
from tillbook.kernel.schedule.tables import (
    Closure,
    Hold,
    Location,
    LocationHours,
    ScheduleOverride,
    SchedulePolicy,
    Staff,
    StaffBreak,
    TimeOff,
    WorkingHours,
)
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

# Appointment statuses that hold the provider's time (through live holds).
LIVE_STATUSES = ("booked", "checked_in", "completed")

# Defaults when a tenant has no SchedulePolicy row; they match its columns.
POLICY_DEFAULTS = {
    "granularity_minutes": DEFAULT_GRANULARITY_MINUTES,
    "min_notice_minutes": 60,
    "max_advance_days": 365,
}
# Online bookings use the policy's notice; staff may book any slot that has
# not started, up to BOOKING_HORIZON_DAYS ahead.
ONLINE_MIN_NOTICE = timedelta(minutes=POLICY_DEFAULTS["min_notice_minutes"])
STAFF_MIN_NOTICE = timedelta(0)
BOOKING_HORIZON_DAYS = 365
# No appointment (with its buffers) is longer than this, so holds that touch
# a range are found with an index range on ``start_at`` of this width.
LONGEST_APPOINTMENT = timedelta(hours=24)
# Slot search covers at most this many local dates in one call.
MAX_SEARCH_DAYS = 62

ANY = ("", "any", None)


@dataclass(frozen=True)
class OfferedSlot:
    """A free slot with the provider's name and the local start time."""

    start: datetime
    end: datetime
    staff_id: uuid.UUID
    staff_name: str
    local: str
    day: str = ""
    location_id: uuid.UUID | None = None
    any_provider: bool = False
    # The provider's price in minor units, after overrides; None if unknown.
    price: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "local": self.local,
            "date": self.day,
            "staff_id": str(self.staff_id),
            "staff_name": self.staff_name,
            "location_id": str(self.location_id) if self.location_id else None,
            "any_provider": self.any_provider,
            "price": self.price,
        }


@dataclass(frozen=True)
class SearchResult:
    """Offered slots with the zone and location they were searched in."""

    slots: list[OfferedSlot]
    zone: tzinfo
    location_id: uuid.UUID | None


@dataclass(frozen=True)
class BookingRules:
    """The notice, advance window and grid that apply to one search."""

    granularity_minutes: int
    min_notice: timedelta
    max_advance_days: int


@dataclass
class ServiceSearch:
    """Everything slot search needs for one service at one location."""

    scope: TenantScope
    service: dict[str, Any]
    first_day: date
    last_day: date
    zone: tzinfo
    location: dict[str, Any] | None
    policy: dict[str, Any]
    providers: list[dict[str, Any]]
    calendars: dict[uuid.UUID, ProviderCalendar] = field(default_factory=dict)
    resources: list[ResourceNeed] = field(default_factory=list)
    opening: list[WorkingInterval] | None = None
    closed_days: set[date] = field(default_factory=set)
    # Per provider: price after the provider's override and the timing hook.
    prices: dict[uuid.UUID, int] = field(default_factory=dict)
    _booked: dict[tuple[uuid.UUID, date], int] = field(default_factory=dict, repr=False)

    @property
    def provider_names(self) -> dict[uuid.UUID, str]:
        return {row["id"]: row["name"] for row in self.providers}

    @property
    def location_id(self) -> uuid.UUID | None:
        return self.location["id"] if self.location else None

    def rules(self, source: str) -> BookingRules:
        """Return the grid, notice and advance window for ``online`` or ``staff``."""
        service = self.service
        granularity = (
            service.get("granularity_minutes") or self.policy["granularity_minutes"]
        )
        if source != "online":
            return BookingRules(granularity, STAFF_MIN_NOTICE, BOOKING_HORIZON_DAYS)
        notice = service.get("min_notice_minutes")
        if notice is None:
            notice = self.policy["min_notice_minutes"]
        advance = service.get("max_advance_days")
        if advance is None:
            advance = self.policy["max_advance_days"]
        return BookingRules(granularity, timedelta(minutes=notice), advance)

    def timing(self, staff_id: uuid.UUID) -> Timing:
        calendar = self.calendars.get(staff_id)
        if calendar is not None and calendar.timing is not None:
            return calendar.timing
        return service_timing(self.service)

    def query(
        self, *, now: datetime, source: str, min_notice: timedelta | None = None
    ) -> SlotQuery:
        """Return the availability query of this search for ``online`` or ``staff``."""
        rules = self.rules(source)
        return SlotQuery(
            first_day=self.first_day,
            last_day=self.last_day,
            zone=self.zone,
            timing=service_timing(self.service),
            now=now,
            min_notice=rules.min_notice if min_notice is None else min_notice,
            max_advance_days=rules.max_advance_days,
            granularity_minutes=rules.granularity_minutes,
            opening=self.opening,
            closed_days=self.closed_days,
        )

    def slots(
        self,
        *,
        now: datetime,
        source: str = "online",
        ignore_holds: bool = False,
        min_notice: timedelta | None = None,
    ) -> list[Slot]:
        """Return the free slots of every provider (or, ignoring holds, the grid)."""
        calendars = [
            self.calendars[row["id"]]
            for row in self.providers
            if row["id"] in self.calendars
        ]
        resources = self.resources
        if ignore_holds:
            calendars = [replace(calendar, holds=()) for calendar in calendars]
            resources = [replace(need, holds=()) for need in resources]
        query = self.query(now=now, source=source, min_notice=min_notice)
        return find_free_slots(query, calendars, resources)

    def any_provider_slots(
        self, *, now: datetime, source: str = "online"
    ) -> list[Slot]:
        """Return one free slot per start, with the fairest free provider."""
        calendars = [
            self.calendars[row["id"]]
            for row in self.providers
            if row["id"] in self.calendars
        ]
        return find_any_provider_slots(
            self.query(now=now, source=source),
            calendars,
            self.resources,
            preference=self.preference,
        )

    def preference(self, day: date) -> list[uuid.UUID]:
        """Return the providers, least booked on a local date first, then by name."""
        return self.fairest([row["id"] for row in self.providers], day)

    def check(
        self,
        staff_id: uuid.UUID,
        start: datetime,
        *,
        now: datetime,
        source: str,
        on_grid: bool = True,
    ) -> str | None:
        """Check one start of one provider; see ``availability.check_start``."""
        query = self.query(now=now, source=source)
        return check_start(
            query, self.calendars[staff_id], self.resources, start, on_grid=on_grid
        )

    def booked_minutes(self, staff_id: uuid.UUID, day: date) -> int:
        """Return the minutes the provider's live holds cover on a local date."""
        key = (staff_id, day)
        if key not in self._booked:
            day_start, day_end = local_day_bounds(day, self.zone)
            for person in self.providers:
                calendar = self.calendars.get(person["id"])
                total = timedelta(0)
                for start, end in calendar.holds if calendar else ():
                    if start < day_end and end > day_start:
                        total += min(end, day_end) - max(start, day_start)
                self._booked[(person["id"], day)] = int(total.total_seconds() // 60)
        return self._booked.get(key, 0)

    def fairest(self, staff_ids: Sequence[uuid.UUID], day: date) -> list[uuid.UUID]:
        """Order providers for an "any provider" booking: least booked that day first.

        Ties keep the providers' display order (by name), so the choice is
        predictable.
        """
        position = {row["id"]: index for index, row in enumerate(self.providers)}
        return sorted(
            staff_ids,
            key=lambda staff_id: (
                self.booked_minutes(staff_id, day),
                position[staff_id],
            ),
        )

    def offer(self, slots: Sequence[Slot], *, any_provider: bool) -> list[OfferedSlot]:
        """Label slots for people; for "any provider" keep one per start time.

        With ``any_provider`` each start appears once, with the provider an
        "any provider" booking at that time would get.
        """
        if any_provider:
            by_start: dict[datetime, list[Slot]] = {}
            for slot in slots:
                by_start.setdefault(slot.start, []).append(slot)
            chosen = []
            for start, group in by_start.items():
                day = start.astimezone(self.zone).date()
                staff_id = self.fairest([slot.staff_id for slot in group], day)[0]
                chosen.append(next(s for s in group if s.staff_id == staff_id))
            slots = chosen
        return self.label(slots, any_provider=any_provider)

    def label(self, slots: Sequence[Slot], *, any_provider: bool) -> list[OfferedSlot]:
        """Return slots with the provider's name and the local date and time."""
        names = self.provider_names
        offered = []
        for slot in slots:
            local = slot.start.astimezone(self.zone)
            offered.append(
                OfferedSlot(
                    start=slot.start,
                    end=slot.end,
                    staff_id=slot.staff_id,
                    staff_name=names[slot.staff_id],
                    local=local.strftime("%H:%M"),
                    day=local.date().isoformat(),
                    location_id=self.location_id,
                    any_provider=any_provider,
                    price=self.prices.get(slot.staff_id),
                )
            )
        return offered


def service_timing(service: dict[str, Any]) -> Timing:
    """Return a service row's timing."""
    return Timing(
        duration_minutes=service["duration_minutes"],
        buffer_before_minutes=service.get("buffer_before_minutes") or 0,
        buffer_after_minutes=service.get("buffer_after_minutes") or 0,
        processing_after_minutes=service.get("processing_after_minutes"),
        processing_minutes=service.get("processing_minutes") or 0,
    )


def service_json(service: dict[str, Any]) -> dict[str, Any]:
    """Return a service row as plugins receive it: plain values, ids as text."""
    return {
        key: str(value) if isinstance(value, uuid.UUID) else value
        for key, value in service.items()
    }


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


def parse_zone(value: object, field_name: str = "time_zone") -> ZoneInfo:
    """Parse an IANA zone name; raise ValidationFailed naming ``field_name``."""
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(
            field_name,
            f"{value!r} is not a known time zone: "
            "use an IANA name such as Europe/London",
        ) from None


async def active_service(scope: TenantScope, service_id: object) -> dict[str, Any]:
    """Return an active appointment service.

    Raises ValidationFailed on ``service_id`` for an unknown or inactive
    service, or a class.
    """
    if service_id in (None, ""):
        raise invalid("service_id", "is required: choose a service")
    key = parse_uuid(service_id, "service_id", "service")
    row = await scope.select(Service).where(Service.id == key).first()
    if row is None or not row["active"]:
        raise invalid(
            "service_id", f"unknown service {service_id}: choose one from the list"
        )
    if row.get("kind", "appointment") != "appointment":
        raise invalid(
            "service_id",
            f"{row['name']} is a class: book a place in one of its sessions instead",
        )
    return row  # type: ignore[no-any-return]


async def load_search(
    scope: TenantScope,
    service_id: object,
    first_day: date,
    last_day: date | None = None,
    *,
    staff_id: object = None,
    location_id: object = None,
    fields: dict[str, Any] | None = None,
    hooks: TenantHooks | None = None,
    ignore_appointment_id: uuid.UUID | None = None,
) -> ServiceSearch:
    """Load a service's providers, time, holds and resources for a date range.

    ``staff_id`` narrows the search to one provider and ``location_id``
    picks the location (default: the first active one). With ``hooks`` each
    provider's timing passes through ``tillbook_service_timing``. The holds
    of ``ignore_appointment_id`` are left out, so an appointment being moved
    does not block times that overlap its current one.

    Raises ValidationFailed on ``service_id``, ``staff_id``, ``location_id``
    or ``last_date`` for unknown, inactive or out-of-range values.
    """
    last_day = last_day or first_day
    if last_day < first_day:
        raise invalid("last_date", "is before the first date: swap the two dates")
    if (last_day - first_day).days >= MAX_SEARCH_DAYS:
        raise invalid(
            "last_date",
            f"is more than {MAX_SEARCH_DAYS} days after the first date: "
            "search a shorter range",
        )
    requested = None
    if staff_id not in ANY:
        requested = parse_uuid(staff_id, "staff_id", "provider")
    place = None
    if location_id not in ANY:
        place = parse_uuid(location_id, "location_id", "location")
    if service_id in (None, ""):
        raise invalid("service_id", "is required: choose a service")
    service_key = parse_uuid(service_id, "service_id", "service")
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction():
            search = await _load(
                scope,
                service_key,
                first_day,
                last_day,
                requested,
                place,
                False,
                ignore_appointment_id,
            )
    else:
        # One transaction has one connection, which runs one query at a time,
        # so the reads run at once only outside a transaction.
        outside = engine.current_transaction.get() is None
        search = await _load(
            scope,
            service_key,
            first_day,
            last_day,
            requested,
            place,
            outside,
            ignore_appointment_id,
        )
    if hooks is not None:
        await _apply_timing_hook(search, fields or {}, hooks)
    return search


async def _gather(concurrent: bool, *calls: Coroutine[Any, Any, Any]) -> list[Any]:
    """Await queries at once, or one by one on SQLite's single connection."""
    if concurrent:
        return list(await asyncio.gather(*calls))
    results = []
    try:
        for call in calls:
            results.append(await call)
    finally:
        # After a failure the remaining queries never run; close them so
        # Python does not warn about coroutines that were never awaited.
        for call in calls[len(results) + 1 :]:
            call.close()
    return results


async def _load(
    scope: TenantScope,
    service_key: uuid.UUID,
    first_day: date,
    last_day: date,
    requested: uuid.UUID | None,
    place: uuid.UUID | None,
    concurrent: bool,
    ignore_appointment_id: uuid.UUID | None = None,
) -> ServiceSearch:
    # Every query runs in one wave, so none may depend on another's result.
    # Staff are chosen by a subquery on the service's providers, and holds
    # and time off by a UTC range that covers the searched local dates in
    # any zone (offsets stay within 14 hours of UTC).
    staff_ids: list[uuid.UUID] | Select = (
        [requested]
        if requested is not None
        else scope.select(ServiceProvider, ServiceProvider.staff_id).where(
            ServiceProvider.service_id == service_key
        )
    )
    range_start = datetime.combine(first_day - timedelta(days=2), time(), UTC)
    range_end = datetime.combine(last_day + timedelta(days=3), time(), UTC)
    (
        service,
        policy,
        locations,
        links,
        staff_rows,
        hours,
        breaks,
        overrides,
        time_off,
        holds,
        opening_rows,
        closure_rows,
        resource_rows,
    ) = await _gather(
        concurrent,
        active_service(scope, service_key),
        load_policy(scope),
        _active_locations(scope),
        _links(scope, service_key),
        _bookable_staff(scope, staff_ids),
        _rows(scope, WorkingHours, staff_ids),
        _rows(scope, StaffBreak, staff_ids),
        _overrides(scope, staff_ids, first_day - timedelta(days=1), last_day),
        _spans(scope, TimeOff, staff_ids, range_start, range_end),
        _spans(scope, Hold, staff_ids, range_start, range_end, ignore_appointment_id),
        _location_hours(scope),
        _closures(scope, first_day, last_day),
        _resource_rows(
            scope, service_key, range_start, range_end, ignore_appointment_id
        ),
    )
    location = _pick_location(locations, place)
    first_location = locations[0]["id"] if locations else None
    zone = scope.tenant.zone
    if location and location["time_zone"]:
        zone = parse_zone(location["time_zone"], "location_id")
    link_by_staff = {link["staff_id"]: link for link in links}
    if requested is not None and requested not in link_by_staff:
        raise await _provider_error(scope, service, requested)
    if requested is not None and not staff_rows:
        raise invalid(
            "staff_id", f"provider {requested} is not taking bookings: choose another"
        )
    location_key = location["id"] if location else None
    opening = [
        WorkingInterval(row["weekday"], row["start_minute"], row["end_minute"])
        for row in opening_rows
        if row["location_id"] == location_key
    ]
    links_here, resource_holds = resource_rows
    needs = [
        ResourceNeed(resource_id, needed, units, resource_holds.get(resource_id, []))
        for resource_id, needed, units in resources_at(links_here, location_key)
    ]
    search = ServiceSearch(
        scope=scope,
        service=service,
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        location=location,
        policy=policy,
        providers=[],
        opening=opening or None,
        closed_days=_closed_days(closure_rows, location_key, first_day, last_day),
        resources=needs,
    )
    works_here = _location_filter(location_key, first_location)
    for person in staff_rows:
        key = person["id"]
        weekly = [
            WorkingInterval(row["weekday"], row["start_minute"], row["end_minute"])
            for row in hours.get(key, [])
            if works_here(row["location_id"])
        ]
        days: dict[date, list[tuple[int, int]]] = {}
        for row in overrides:
            if row["staff_id"] != key:
                continue
            spans = days.setdefault(row["day"], [])
            if (
                works_here(row["location_id"])
                and row["end_minute"] > row["start_minute"]
            ):
                spans.append((row["start_minute"], row["end_minute"]))
        working_here = weekly or any(days.values())
        if location_key is not None and not working_here and requested is None:
            continue
        link = link_by_staff[key]
        timing = None
        if link["duration_minutes"]:
            timing = replace(
                service_timing(service), duration_minutes=link["duration_minutes"]
            )
        search.providers.append(person)
        search.prices[key] = (
            service["price"] if link["price"] is None else link["price"]
        )
        search.calendars[key] = ProviderCalendar(
            staff_id=key,
            weekly=weekly,
            breaks=[
                WorkingInterval(row["weekday"], row["start_minute"], row["end_minute"])
                for row in breaks.get(key, [])
            ],
            overrides=days,
            time_off=time_off.get(key, []),
            holds=holds.get(key, []),
            timing=timing,
        )
    return search


async def _links(scope: TenantScope, service_id: uuid.UUID) -> list[dict[str, Any]]:
    query = scope.select(
        ServiceProvider,
        ServiceProvider.staff_id,
        ServiceProvider.duration_minutes,
        ServiceProvider.price,
    ).where(ServiceProvider.service_id == service_id)
    return list(await query)


async def _overrides(
    scope: TenantScope,
    staff_ids: list[uuid.UUID] | Select,
    first_day: date,
    last_day: date,
) -> list[dict[str, Any]]:
    if isinstance(staff_ids, list) and not staff_ids:
        return []
    query = (
        scope.select(ScheduleOverride)
        .where(ScheduleOverride.staff_id.is_in(staff_ids))
        .where(ScheduleOverride.day >= first_day)
        .where(ScheduleOverride.day <= last_day)
    )
    return list(await query)


def _location_filter(location: uuid.UUID | None, first: uuid.UUID | None) -> Any:
    """Return a test of a row's ``location_id``: None means the first location."""

    def works_here(row_location: uuid.UUID | None) -> bool:
        if location is None:
            return True
        if row_location is None:
            return location == first
        return row_location == location

    return works_here


async def _apply_timing_hook(
    search: ServiceSearch, fields: dict[str, Any], hooks: TenantHooks
) -> None:
    for person in search.providers:
        key = person["id"]
        calendar = search.calendars[key]
        timing = search.timing(key)
        service = service_json(
            {
                **search.service,
                "duration_minutes": timing.duration_minutes,
                "price": search.prices[key],
            }
        )
        result = await hooks.tillbook_service_timing(
            scope=search.scope, service=service, staff_id=str(key), fields=fields
        )
        if not result:
            continue
        changes = {
            name: result[name]
            for name in (
                "duration_minutes",
                "processing_after_minutes",
                "processing_minutes",
            )
            if name in result
        }
        if changes:
            search.calendars[key] = replace(calendar, timing=replace(timing, **changes))
        if "price" in result:
            search.prices[key] = int(result["price"])


async def load_policy(scope: TenantScope) -> dict[str, Any]:
    """Return the tenant's SchedulePolicy row, or the column defaults."""
    row = await scope.select(SchedulePolicy).first()
    if row is None:
        defaults = {
            column._meta.name: column._meta.params.get("default")
            for column in SchedulePolicy._meta.columns
        }
        return {**defaults, **POLICY_DEFAULTS}
    return row  # type: ignore[no-any-return]


async def _active_locations(scope: TenantScope) -> list[dict[str, Any]]:
    rows = (
        await scope.select(Location)
        .where(Location.active == True)  # noqa: E712 - piccolo builds SQL from ==
        .order_by(Location.position)
        .order_by(Location.name)
    )
    return list(rows)


def _pick_location(
    locations: list[dict[str, Any]], place: uuid.UUID | None
) -> dict[str, Any] | None:
    if place is None:
        return locations[0] if locations else None
    for row in locations:
        if row["id"] == place:
            return row
    raise invalid("location_id", f"unknown location {place}: choose one from the list")


async def _bookable_staff(
    scope: TenantScope, staff_ids: list[uuid.UUID] | Select
) -> list[dict[str, Any]]:
    if isinstance(staff_ids, list) and not staff_ids:
        return []
    rows = (
        await scope.select(Staff, Staff.id, Staff.name, Staff.colour, Staff.title)
        .where(Staff.id.is_in(staff_ids))
        .where(Staff.active == True)  # noqa: E712 - piccolo builds SQL from ==
        .where(Staff.bookable == True)  # noqa: E712
        .order_by(Staff.name)
    )
    return list(rows)


async def _rows(
    scope: TenantScope, table: Any, staff_ids: list[uuid.UUID] | Select
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    result: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if isinstance(staff_ids, list) and not staff_ids:
        return result
    for row in await scope.select(table).where(table.staff_id.is_in(staff_ids)):
        result.setdefault(row["staff_id"], []).append(row)
    return result


async def _spans(
    scope: TenantScope,
    table: Any,
    staff_ids: list[uuid.UUID] | Select,
    start: datetime,
    end: datetime,
    ignore_appointment_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, list[tuple[datetime, datetime]]]:
    """Return each provider's time off or live holds that touch ``[start, end)``.

    Holds of ``ignore_appointment_id`` are left out.
    """
    result: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    if isinstance(staff_ids, list) and not staff_ids:
        return result
    columns = [table.staff_id, table.start_at, table.end_at]
    if table is Hold:
        columns.append(Hold.appointment_id)
    query = (
        scope.select(table, *columns)
        .where(table.staff_id.is_in(staff_ids))
        .where(table.start_at < end)
        .where(table.end_at > start)
    )
    if table is Hold:
        # Holds never outlast LONGEST_APPOINTMENT, so this bound lets the
        # (tenant_id, staff_id, start_at) index narrow the scan.
        query = query.where(Hold.live == True).where(  # noqa: E712
            Hold.start_at >= start - LONGEST_APPOINTMENT
        )
    for row in await query:
        # Filtered here rather than in SQL, where ``appointment_id <> x``
        # would also drop the holds of class sessions (appointment_id NULL).
        if ignore_appointment_id and row.get("appointment_id") == ignore_appointment_id:
            continue
        result.setdefault(row["staff_id"], []).append((row["start_at"], row["end_at"]))
    return result


async def _location_hours(scope: TenantScope) -> list[dict[str, Any]]:
    return list(await scope.select(LocationHours))


async def _closures(
    scope: TenantScope, first_day: date, last_day: date
) -> list[dict[str, Any]]:
    query = (
        scope.select(Closure)
        .where(Closure.first_day <= last_day + timedelta(days=1))
        .where(Closure.last_day >= first_day - timedelta(days=1))
    )
    return list(await query)


def _closed_days(
    rows: list[dict[str, Any]],
    location: uuid.UUID | None,
    first_day: date,
    last_day: date,
) -> set[date]:
    """Return the searched dates (and one either side) on which ``location``
    is closed; a closure without a location closes every location."""
    days: set[date] = set()
    for row in rows:
        if row["location_id"] not in (None, location):
            continue
        day = max(row["first_day"], first_day - timedelta(days=1))
        while day <= min(row["last_day"], last_day + timedelta(days=1)):
            days.add(day)
            day += timedelta(days=1)
    return days


async def _resource_rows(
    scope: TenantScope,
    service_id: uuid.UUID,
    start: datetime,
    end: datetime,
    ignore_appointment_id: uuid.UUID | None = None,
) -> tuple[list[dict[str, Any]], dict[uuid.UUID, list[tuple[int, datetime, datetime]]]]:
    """Return the service's linked resources and their live holds in a range,
    leaving out the holds of ``ignore_appointment_id``."""
    links = await linked_resources(scope, service_id)
    if not links:
        return [], {}
    rows = (
        await scope.select(
            Hold,
            Hold.resource_id,
            Hold.unit,
            Hold.start_at,
            Hold.end_at,
            Hold.appointment_id,
        )
        .where(Hold.resource_id.is_in([link["resource_id"] for link in links]))
        .where(Hold.live == True)  # noqa: E712 - piccolo builds SQL from ==
        .where(Hold.start_at >= start - LONGEST_APPOINTMENT)
        .where(Hold.start_at < end)
        .where(Hold.end_at > start)
    )
    by_resource: dict[uuid.UUID, list[tuple[int, datetime, datetime]]] = {}
    for row in rows:
        if ignore_appointment_id and row["appointment_id"] == ignore_appointment_id:
            continue
        by_resource.setdefault(row["resource_id"], []).append(
            (row["unit"], row["start_at"], row["end_at"])
        )
    return links, by_resource


async def _provider_error(
    scope: TenantScope, service: dict[str, Any], requested: uuid.UUID
) -> Exception:
    exists = await scope.select(Staff, Staff.id).where(Staff.id == requested).first()
    if exists is None:
        return invalid(
            "staff_id", f"unknown provider {requested}: choose one from the list"
        )
    return invalid(
        "staff_id",
        f"provider {requested} does not perform {service['name']}: "
        "choose another provider or any available",
    )


async def search_slots(
    scope: TenantScope,
    *,
    service_id: object,
    first_day: date,
    last_day: date | None = None,
    staff_id: object = None,
    location_id: object = None,
    source: str = "online",
    fields: dict[str, Any] | None = None,
    hooks: TenantHooks | None = None,
    now: datetime | None = None,
    ignore_appointment_id: uuid.UUID | None = None,
) -> SearchResult:
    """Return the free slots for a service over local dates at one location.

    ``ignore_appointment_id`` searches as if that appointment were not booked,
    for moving it.

    Without ``staff_id`` (or with ``"any"``) each start is listed once, with
    the provider an "any provider" booking would get. ``source`` ``online``
    applies the service's (or the policy's) notice and advance window;
    ``staff`` only hides starts that have passed. Raises ValidationFailed as
    ``load_search`` does, and on ``date`` beyond the advance window.
    """
    now = now or utcnow()
    search = await load_search(
        scope,
        service_id,
        first_day,
        last_day,
        staff_id=staff_id,
        location_id=location_id,
        fields=fields,
        hooks=hooks,
        ignore_appointment_id=ignore_appointment_id,
    )
    rules = search.rules(source)
    today = now.astimezone(search.zone).date()
    if first_day > today + timedelta(days=rules.max_advance_days):
        raise invalid(
            "date",
            f"{first_day.isoformat()} is more than {rules.max_advance_days} days "
            "ahead: choose an earlier date",
        )
    if staff_id in ANY:
        slots = search.any_provider_slots(now=now, source=source)
        offered = search.label(slots, any_provider=True)
    else:
        offered = search.label(search.slots(now=now, source=source), any_provider=False)
    return SearchResult(offered, search.zone, search.location_id)


async def find_slots(
    scope: TenantScope,
    *,
    service_id: object,
    day: date,
    staff_id: object = None,
    now: datetime | None = None,
    min_notice: timedelta = ONLINE_MIN_NOTICE,
) -> list[OfferedSlot]:
    """Return the free slots for a service on one local date at the first location.

    A ``min_notice`` of zero searches as staff do (no advance window);
    otherwise as online clients do.
    """
    source = "staff" if min_notice <= STAFF_MIN_NOTICE else "online"
    result = await search_slots(
        scope,
        service_id=service_id,
        first_day=day,
        staff_id=staff_id,
        source=source,
        now=now,
    )
    return result.slots


async def booking_locations(scope: TenantScope) -> list[dict[str, Any]]:
    """Return the active locations as JSON, first (the default) first."""
    return [
        {
            "id": str(row["id"]),
            "name": row["name"],
            "address": row["address"],
            "phone": row["phone"],
            "time_zone": row["time_zone"] or scope.tenant.time_zone,
        }
        for row in await _active_locations(scope)
    ]


def check_horizon(scope: TenantScope, day: date, now: datetime) -> None:
    """Raise ValidationFailed on ``date`` for a day past the staff booking horizon."""
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
            "deposit": row.get("deposit", 0),
            "kind": row.get("kind", "appointment"),
            "online": row.get("online", True),
            "currency": scope.tenant.currency,
            "providers": sorted(
                providers.get(row["id"], []), key=lambda item: item["name"]
            ),
        }
        for row in services
        if row.get("kind", "appointment") == "appointment"
    ]
