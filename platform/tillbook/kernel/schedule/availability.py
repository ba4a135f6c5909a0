"""Free appointment slots: a pure function of hours, holds, timing and the clock.

Weekly hours, breaks and overrides are wall-clock minutes after local
midnight in the location's time zone (an overnight interval ends after 1440,
up to 2880). Time off, holds and results are aware UTC instants. Wall times
convert to instants through ``zoneinfo``, so daylight-saving days need no
special data:

- a wall time that does not exist (skipped when clocks spring forward) is
  never offered;
- a wall time that occurs twice (when clocks fall back) is offered at most
  once per provider: at its first occurrence, or at the second one if the
  first is not free.

An appointment starting at ``t`` with duration ``d`` occupies:

- the client and every required resource unit from ``t - buffer_before`` to
  ``t + d + buffer_after`` (the whole span);
- the provider for the whole span except the processing gap, which starts
  ``processing_after`` minutes after ``t`` and lasts ``processing_minutes``.

A slot is offered when the whole span lies inside one working interval of
the provider and inside the location's opening hours, touches no closed
date, the provider's busy spans overlap no break, time off or provider hold,
and every resource has enough units without a hold over the whole span.

Nothing here touches the database; ``tillbook.kernel.schedule.search`` loads
the inputs and calls ``find_free_slots``.
"""

from __future__ import annotations

import bisect
import functools
import math
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

MINUTES_PER_DAY = 24 * 60
# Overnight intervals end on the next day, at most at its midnight.
MAX_END_MINUTE = 2 * MINUTES_PER_DAY
DEFAULT_GRANULARITY_MINUTES = 15

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class WorkingInterval:
    """A weekly interval: ``weekday`` 0 is Monday, minutes after local midnight.

    ``end_minute`` may exceed 1440 for an interval that runs past midnight.
    """

    weekday: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True, slots=True)
class Slot:
    """A free start for one provider, as UTC instants (``end`` is start + duration)."""

    start: datetime
    end: datetime
    staff_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a service takes and what it occupies around and inside it.

    ``processing_after_minutes`` of None means the service has no processing
    gap. All values are minutes.
    """

    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    processing_after_minutes: int | None = None
    processing_minutes: int = 0

    def validate(self) -> None:
        """Raise ValueError for a timing no appointment can have."""
        if self.duration_minutes <= 0:
            raise ValueError(
                f"duration_minutes must be positive, got {self.duration_minutes}"
            )
        for name in ("buffer_before_minutes", "buffer_after_minutes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.processing_minutes < 0:
            raise ValueError("processing_minutes must not be negative")
        if self.processing_after_minutes is not None and not (
            0 <= self.processing_after_minutes <= self.duration_minutes
        ):
            raise ValueError(
                "processing_after_minutes must lie between 0 and duration_minutes"
            )

    def whole_offsets(self) -> tuple[int, int]:
        """Return the whole span as seconds relative to the start."""
        return (
            -self.buffer_before_minutes * 60,
            (self.duration_minutes + self.buffer_after_minutes) * 60,
        )

    def provider_offsets(self) -> tuple[tuple[int, int], ...]:
        """Return the provider's busy parts as seconds relative to the start."""
        first, last = self.whole_offsets()
        if self.processing_after_minutes is None or not self.processing_minutes:
            return ((first, last),)
        gap_start = self.processing_after_minutes * 60
        gap_end = min(gap_start + self.processing_minutes * 60, last)
        return tuple(
            (begin, finish)
            for begin, finish in ((first, gap_start), (gap_end, last))
            if begin < finish
        )


@dataclass(frozen=True)
class ProviderCalendar:
    """One provider's time at one location, and holds anywhere.

    ``overrides`` maps a local date to the intervals that replace the weekly
    hours of that date; an empty list means the provider is off that day.
    ``timing`` replaces the service timing for this provider (a per-provider
    duration, or a plugin's timing); None keeps the service timing.
    """

    staff_id: uuid.UUID
    weekly: Sequence[WorkingInterval]
    breaks: Sequence[WorkingInterval] = ()
    overrides: Mapping[date, Sequence[tuple[int, int]]] = field(default_factory=dict)
    time_off: Sequence[Interval] = ()
    holds: Sequence[Interval] = ()
    timing: Timing | None = None


@dataclass(frozen=True)
class ResourceNeed:
    """A resource the service needs: ``needed`` of its ``units`` at once.

    ``holds`` are ``(unit, start, end)`` of live holds. Units are numbered
    from 0; a unit is free over a span when none of its holds overlaps it.
    """

    resource_id: uuid.UUID
    needed: int
    units: int
    holds: Sequence[tuple[int, datetime, datetime]] = ()


@dataclass(frozen=True)
class SlotQuery:
    """A slot search request: local dates, zone, timing, booking window, location.

    ``opening`` of None means the location has no opening hours on file and
    does not restrict slots. ``closed_days`` are local dates on which the
    location is closed. ``max_advance_days`` counts local dates after today.
    """

    first_day: date
    last_day: date
    zone: tzinfo
    timing: Timing
    now: datetime
    min_notice: timedelta = timedelta(0)
    max_advance_days: int | None = None
    granularity_minutes: int = DEFAULT_GRANULARITY_MINUTES
    opening: Sequence[WorkingInterval] | None = None
    closed_days: Collection[date] = ()


def find_free_slots(
    query: SlotQuery,
    providers: Sequence[ProviderCalendar],
    resources: Sequence[ResourceNeed] = (),
) -> list[Slot]:
    """Return every free slot of every provider on the query's local dates.

    Slots start on wall times that are multiples of ``granularity_minutes``
    after local midnight, no earlier than ``now + min_notice`` and on a local
    date no later than today plus ``max_advance_days``. The result is
    ordered by start, then by the order of ``providers``.

    Raises ValueError for a non-positive granularity, a naive ``now``, a
    ``last_day`` before ``first_day``, an invalid timing, or a naive instant
    in time off or holds.
    """
    starts, _clocks = _free_starts(query, providers, resources)
    slots = []
    for position, provider in enumerate(providers):
        length = (provider.timing or query.timing).duration_minutes * 60
        for day_starts in starts[position].values():
            for start in day_starts:
                slots.append((start, position, length))
    slots.sort()
    return [
        Slot(_utc(start), _utc(start + length), providers[position].staff_id)
        for start, position, length in slots
    ]


def find_any_provider_slots(
    query: SlotQuery,
    providers: Sequence[ProviderCalendar],
    resources: Sequence[ResourceNeed] = (),
    *,
    preference: Callable[[date], Sequence[uuid.UUID]],
) -> list[Slot]:
    """Return one slot per free start, with the provider preferred that day.

    ``preference`` returns, for a local date, the providers' ids in the
    order an "any provider" booking should try them; providers it leaves out
    come after, in their given order. A wall time repeated when clocks fall
    back is listed once, at its earliest free instant. Raises ValueError as
    ``find_free_slots`` does.
    """
    starts, clocks = _free_starts(query, providers, resources)
    position = {provider.staff_id: index for index, provider in enumerate(providers)}
    chosen: dict[float, int] = {}
    changing: set[date] = set()
    for day in _days(query.first_day, query.last_day):
        if day in clocks and not clocks[day].uniform:
            changing.add(day)
        preferred = [position[staff] for staff in preference(day) if staff in position]
        listed = set(preferred)
        rest = [index for index in range(len(providers)) if index not in listed]
        for index in [*preferred, *rest]:
            for start in starts[index].get(day, ()):
                chosen.setdefault(start, index)
    slots = []
    seen_walls: set[datetime] = set()
    for start in sorted(chosen):
        index = chosen[start]
        begin = _utc(start)
        if changing:
            # Two providers may be free at the two instants of a repeated
            # wall time; the list shows that time once.
            wall = begin.astimezone(query.zone).replace(tzinfo=None)
            if wall in seen_walls:
                continue
            seen_walls.add(wall)
        length = (providers[index].timing or query.timing).duration_minutes * 60
        slots.append(Slot(begin, _utc(start + length), providers[index].staff_id))
    return slots


def _free_starts(
    query: SlotQuery,
    providers: Sequence[ProviderCalendar],
    resources: Sequence[ResourceNeed],
) -> tuple[list[dict[date, list[float]]], dict[date, _DayClock]]:
    """Return, per provider in order, its free start timestamps per local
    date, and the day clocks used."""
    _validate(query)
    window = _BookingWindow(query)
    if window.empty:
        return [{} for _ in providers], {}
    # A span may start before the first date (buffers, overnight shifts) and
    # end after the last one, so hours and breaks of the dates around count.
    days = _days(
        query.first_day - timedelta(days=1), query.last_day + timedelta(days=1)
    )
    clocks = {day: _day_clock(day, query.zone) for day in days}
    opening = (
        None
        if query.opening is None
        else _weekly_windows(query.opening, {}, days, clocks)
    )
    closed = _Runs(
        (clocks[day].start, clocks[day].end) for day in days if day in query.closed_days
    )
    units = [_UnitIndex(need) for need in resources]

    result: list[dict[date, list[float]]] = []
    for provider in providers:
        timing = provider.timing or query.timing
        timing.validate()
        by_day: dict[date, list[float]] = {}
        result.append(by_day)
        working = _weekly_windows(provider.weekly, provider.overrides, days, clocks)
        if opening is not None:
            working = _intersect(working, opening)
        if not working:
            continue
        blocked = _Runs(
            [
                *_weekly_windows(provider.breaks, {}, days, clocks),
                *_instants(provider.time_off),
                *_instants(provider.holds),
            ]
        )
        check = _SlotCheck(timing, _Runs(working), blocked, closed, units)
        for day, day_starts in window.candidates(clocks, check):
            if day_starts:
                by_day[day] = day_starts
    return result, clocks


def free_slots(
    day: date,
    zone: tzinfo,
    hours: Mapping[uuid.UUID, Iterable[WorkingInterval]],
    busy: Mapping[uuid.UUID, Iterable[Interval]],
    duration_minutes: int,
    *,
    now: datetime,
    min_notice: timedelta = timedelta(0),
    granularity_minutes: int = DEFAULT_GRANULARITY_MINUTES,
) -> list[Slot]:
    """Return the free slots of providers with only hours and busy spans.

    A shorthand for ``find_free_slots`` on one local date, with no buffers,
    breaks, resources or booking window. Raises ValueError for a
    non-positive duration or granularity, or a naive ``now`` or instant.
    """
    query = SlotQuery(
        first_day=day,
        last_day=day,
        zone=zone,
        timing=Timing(duration_minutes),
        now=now,
        min_notice=min_notice,
        granularity_minutes=granularity_minutes,
    )
    providers = [
        ProviderCalendar(staff_id, list(intervals), holds=list(busy.get(staff_id, ())))
        for staff_id, intervals in hours.items()
    ]
    return find_free_slots(query, providers)


def check_start(
    query: SlotQuery,
    provider: ProviderCalendar,
    resources: Sequence[ResourceNeed],
    start: datetime,
    *,
    on_grid: bool = True,
) -> str | None:
    """Check one start of one provider; return None when it is free.

    Otherwise return the first reason it is not, in this order: ``past``
    (before ``now``), ``notice`` (before ``now + min_notice``), ``advance``
    (a local date past the advance window), ``grid`` (not a multiple of the
    granularity after local midnight, checked only when ``on_grid``),
    ``hours`` (outside working or opening hours, on a closed date, or
    overlapping a break or time off) and ``busy`` (a provider hold, or too
    few free resource units). Raises ValueError as ``find_free_slots`` does.
    """
    _validate(query)
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    moment = start.timestamp()
    if moment < query.now.timestamp():
        return "past"
    if moment < (query.now + query.min_notice).timestamp():
        return "notice"
    local = start.astimezone(query.zone)
    if query.max_advance_days is not None:
        today = query.now.astimezone(query.zone).date()
        if local.date() > today + timedelta(days=query.max_advance_days):
            return "advance"
    if on_grid and (local.hour * 60 + local.minute) % query.granularity_minutes:
        return "grid"
    if on_grid and (local.second or local.microsecond):
        return "grid"
    timing = provider.timing or query.timing
    timing.validate()
    day = local.date()
    days = _days(day - timedelta(days=1), day + timedelta(days=1))
    clocks = {each: _day_clock(each, query.zone) for each in days}
    working = _weekly_windows(provider.weekly, provider.overrides, days, clocks)
    if query.opening is not None:
        working = _intersect(working, _weekly_windows(query.opening, {}, days, clocks))
    closed = _Runs(
        (clocks[each].start, clocks[each].end)
        for each in days
        if each in query.closed_days
    )
    away = _Runs(
        [
            *_weekly_windows(provider.breaks, {}, days, clocks),
            *_instants(provider.time_off),
        ]
    )
    hours = _SlotCheck(timing, _Runs(working), away, closed, [])
    if not hours.free(moment):
        return "hours"
    held = _SlotCheck(
        timing,
        _Runs(working),
        _Runs(_instants(provider.holds)),
        closed,
        [_UnitIndex(need) for need in resources],
    )
    if not held.free(moment):
        return "busy"
    return None


def _validate(query: SlotQuery) -> None:
    if query.granularity_minutes <= 0:
        raise ValueError(
            f"granularity_minutes must be positive, got {query.granularity_minutes}"
        )
    if query.now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if query.last_day < query.first_day:
        raise ValueError("last_day is before first_day")
    query.timing.validate()


class _BookingWindow:
    """The local dates searched, cut to the notice and advance limits."""

    def __init__(self, query: SlotQuery) -> None:
        self.query = query
        self.earliest = (query.now + query.min_notice).timestamp()
        self.first = query.first_day
        self.last = query.last_day
        if query.max_advance_days is not None:
            today = query.now.astimezone(query.zone).date()
            self.last = min(self.last, today + timedelta(days=query.max_advance_days))
        self.empty = self.last < self.first

    def candidates(
        self, clocks: Mapping[date, _DayClock], check: _SlotCheck
    ) -> Iterable[tuple[date, list[float]]]:
        """Yield each local date with the free starts of one provider on it."""
        step = self.query.granularity_minutes
        for day in _days(self.first, self.last):
            clock = clocks[day]
            if clock.end <= self.earliest:
                continue
            if clock.uniform and check.simple:
                yield day, list(check.arithmetic_starts(clock, step, self.earliest))
                continue
            starts = []
            for minute in check.grid_minutes(clock, step):
                for start in clock.instants(minute):
                    if start >= self.earliest and check.free(start):
                        starts.append(start)
                        # A repeated wall time is offered once.
                        break
            yield day, sorted(starts)


class _SlotCheck:
    """Tests one start of one provider against every rule."""

    def __init__(
        self,
        timing: Timing,
        working: _Runs,
        blocked: _Runs,
        closed: _Runs,
        units: Sequence[_UnitIndex],
    ) -> None:
        self.whole = timing.whole_offsets()
        self.parts = timing.provider_offsets()
        self.working = working
        self.blocked = blocked
        self.closed = closed
        self.units = units
        # Without a processing gap or resources, a start is free exactly when
        # its whole span lies inside one run of working time minus blocked
        # and closed time, so starts can be counted off those runs.
        self.simple = len(self.parts) == 1 and self.parts[0] == self.whole and not units
        self._free: _Runs | None = None

    @property
    def free_runs(self) -> _Runs:
        if self._free is None:
            taken = _Runs([*self.blocked.runs, *self.closed.runs])
            self._free = _Runs(_subtract(self.working.runs, taken.runs))
        return self._free

    def arithmetic_starts(
        self, clock: _DayClock, step: int, earliest: float
    ) -> Iterable[float]:
        """Yield the free grid starts of a day whose UTC offset does not change."""
        step_seconds = step * 60
        first_offset, last_offset = self.whole
        runs = self.free_runs.overlapping(
            clock.start + first_offset, clock.end + last_offset
        )
        base = clock.base
        for run_start, run_end in runs:
            low = max(run_start - first_offset, clock.start, earliest)
            high = min(run_end - last_offset, clock.end - 1)
            first_index = math.ceil((low - base) / step_seconds)
            last_index = math.floor((high - base) / step_seconds)
            yield from [
                base + index * step_seconds
                for index in range(first_index, last_index + 1)
            ]

    def grid_minutes(self, clock: _DayClock, step: int) -> Iterable[int]:
        """Yield the grid minutes of a day whose start could fit a working run."""
        if not clock.uniform:
            return range(0, MINUTES_PER_DAY, step)
        minutes: list[int] = []
        first_offset, last_offset = self.whole
        for run_start, run_end in self.working.overlapping(clock.start, clock.end):
            low = (run_start - first_offset - clock.base) / 60
            high = (run_end - last_offset - clock.base) / 60
            minute = max(0, math.ceil(low / step) * step)
            stop = min(MINUTES_PER_DAY - 1, int(high))
            minutes.extend(range(minute, stop + 1, step))
        return minutes

    def free(self, start: float) -> bool:
        span_start = start + self.whole[0]
        span_end = start + self.whole[1]
        if not self.working.contains(span_start, span_end):
            return False
        for begin, finish in self.parts:
            if self.blocked.overlaps(start + begin, start + finish):
                return False
        if self.closed.overlaps(span_start, span_end):
            return False
        return all(index.has_free(span_start, span_end) for index in self.units)


class _UnitIndex:
    """The holds of each unit of one resource, and how many units are needed."""

    def __init__(self, need: ResourceNeed) -> None:
        self.needed = need.needed
        self.units = need.units
        by_unit: dict[int, list[tuple[float, float]]] = {}
        for unit, start, end in need.holds:
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError("resource holds must be aware datetimes")
            if 0 <= unit < need.units:
                by_unit.setdefault(unit, []).append(
                    (start.timestamp(), end.timestamp())
                )
        self.held = [_Runs(spans) for spans in by_unit.values()]
        self.always_free = need.units - len(self.held)

    def has_free(self, start: float, end: float) -> bool:
        if self.needed <= 0:
            return True
        free = self.always_free
        if free >= self.needed:
            return True
        for runs in self.held:
            if not runs.overlaps(start, end):
                free += 1
                if free >= self.needed:
                    return True
        return False


class _Runs:
    """Disjoint sorted runs of POSIX timestamps, merged from any intervals."""

    def __init__(self, intervals: Iterable[tuple[float, float]]) -> None:
        runs: list[tuple[float, float]] = []
        for begin, finish in sorted(intervals):
            if finish <= begin:
                continue
            if runs and begin <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(runs[-1][1], finish))
            else:
                runs.append((begin, finish))
        self.runs = runs
        self.starts = [run[0] for run in runs]
        self.ends = [run[1] for run in runs]

    def overlaps(self, start: float, end: float) -> bool:
        # Only the last run that begins before ``end`` can overlap, because
        # runs are disjoint and sorted.
        index = bisect.bisect_left(self.starts, end) - 1
        return index >= 0 and self.ends[index] > start

    def contains(self, start: float, end: float) -> bool:
        index = bisect.bisect_right(self.starts, start) - 1
        return index >= 0 and self.ends[index] >= end

    def overlapping(self, start: float, end: float) -> list[tuple[float, float]]:
        low = max(bisect.bisect_right(self.ends, start), 0)
        high = bisect.bisect_left(self.starts, end)
        return self.runs[low:high]


def _instants(intervals: Iterable[Interval]) -> list[tuple[float, float]]:
    result = []
    for start, end in intervals:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("time off and holds must be aware datetimes")
        result.append((start.timestamp(), end.timestamp()))
    return result


def _weekly_windows(
    weekly: Sequence[WorkingInterval],
    overrides: Mapping[date, Sequence[tuple[int, int]]],
    days: Sequence[date],
    clocks: Mapping[date, _DayClock],
) -> list[tuple[float, float]]:
    """Return the merged instants of weekly intervals (or overrides) on ``days``."""
    by_weekday: dict[int, list[tuple[int, int]]] = {}
    for interval in weekly:
        by_weekday.setdefault(interval.weekday, []).append(
            (interval.start_minute, interval.end_minute)
        )
    spans = []
    for day in days:
        todays = (
            overrides[day] if day in overrides else by_weekday.get(day.weekday(), [])
        )
        clock = clocks[day]
        for start_minute, end_minute in todays:
            end_minute = min(end_minute, MAX_END_MINUTE)
            if start_minute >= end_minute:
                continue
            spans.append((clock.bound(start_minute), clock.bound(end_minute)))
    return _Runs(spans).runs


def _intersect(
    first: Sequence[tuple[float, float]], second: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Return the intersection of two lists of disjoint sorted runs."""
    result = []
    i = j = 0
    while i < len(first) and j < len(second):
        begin = max(first[i][0], second[j][0])
        finish = min(first[i][1], second[j][1])
        if begin < finish:
            result.append((begin, finish))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def _subtract(
    runs: Sequence[tuple[float, float]], holes: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Return disjoint sorted ``runs`` minus disjoint sorted ``holes``."""
    result = []
    index = 0
    for start, end in runs:
        cursor = start
        while index < len(holes) and holes[index][1] <= cursor:
            index += 1
        probe = index
        while probe < len(holes) and holes[probe][0] < end:
            if holes[probe][0] > cursor:
                result.append((cursor, holes[probe][0]))
            cursor = max(cursor, holes[probe][1])
            probe += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


@functools.lru_cache(maxsize=4096)
def _day_clock(day: date, zone: tzinfo) -> _DayClock:
    """Return the clock of a local date; clocks are immutable, so they are shared."""
    return _DayClock(day, zone)


class _DayClock:
    """Converts wall minutes of one local day (and the next) to POSIX timestamps.

    When the UTC offset is the same from this day's midnight to the midnight
    two days later, which is nearly always, a wall minute is a fixed offset
    from local midnight and no time zone lookup is needed. Other days convert
    each minute through ``zoneinfo``.

    NOTE: the offset is sampled once an hour, so a zone that changed its
    offset and changed it back within one hour would be taken as unchanged.
    """

    def __init__(self, day: date, zone: tzinfo) -> None:
        self.day = day
        self.zone = zone
        day_start, day_end = local_day_bounds(day, zone)
        self.start = day_start.timestamp()
        self.end = day_end.timestamp()
        horizon = wall_to_instant(day, MAX_END_MINUTE, zone).timestamp()
        samples = {
            datetime.fromtimestamp(moment, zone).utcoffset()
            for moment in [*range(int(self.start), int(horizon), 3600), horizon - 1]
        }
        self.uniform = len(samples) == 1
        self.base = self.start
        if self.uniform:
            # A clock change at midnight can make the day start at 01:00.
            first = day_start.astimezone(zone)
            self.base = self.start - (first.hour * 60 + first.minute) * 60

    def instants(self, minute: int) -> tuple[float, ...]:
        """Return the timestamps at which clocks show ``minute`` on this day."""
        if self.uniform:
            moment = self.base + minute * 60
            return (moment,) if self.start <= moment < self.end else ()
        return tuple(
            instant.timestamp()
            for instant in wall_instants(self.day, minute, self.zone)
        )

    def bound(self, minute: int) -> float:
        """Return the timestamp of an interval bound, as ``wall_to_instant`` does."""
        if self.uniform:
            return max(self.base + minute * 60, self.start)
        return wall_to_instant(self.day, minute, self.zone).timestamp()


def wall_instants(day: date, minute: int, zone: tzinfo) -> tuple[datetime, ...]:
    """Return the UTC instants at which local clocks show ``minute`` on ``day``.

    The tuple is empty for a wall time skipped by a daylight-saving gap, has
    two instants (earlier first) for a wall time repeated when clocks fall
    back, and one instant otherwise.
    """
    wall = _wall(day, minute)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return (first.astimezone(UTC),)
    instants = []
    for aware in (first, second):
        instant = aware.astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            instants.append(instant)
    return tuple(sorted(instants))


def wall_to_instant(day: date, minute: int, zone: tzinfo) -> datetime:
    """Return the UTC instant of an interval bound at ``minute`` on ``day``.

    ``minute`` may reach 2880, the midnight after the next. A repeated wall
    time maps to its first occurrence. A skipped wall time maps to the end
    of the gap (the moment clocks jumped), the first wall minute after it
    that exists.
    """
    for candidate in range(minute, minute + MINUTES_PER_DAY):
        instants = wall_instants(day, candidate, zone)
        if instants:
            return instants[0]
    raise ValueError(f"no wall time at or after minute {minute} exists on {day}")


def local_day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return the UTC instants of the local midnights that start and end ``day``."""
    return wall_to_instant(day, 0, zone), wall_to_instant(day, MINUTES_PER_DAY, zone)


def _wall(day: date, minute: int) -> datetime:
    whole_days, minute_of_day = divmod(minute, MINUTES_PER_DAY)
    return datetime.combine(day + timedelta(days=whole_days), time()) + timedelta(
        minutes=minute_of_day
    )
