"""Free appointment slots: a pure function of hours, bookings and the clock.

Working hours are wall-clock minutes after local midnight in the tenant's
time zone; bookings and results are aware UTC instants. Wall times convert to
instants through ``zoneinfo``, so daylight-saving days need no special data:

- a wall time that does not exist (skipped when clocks spring forward) is
  never offered;
- a wall time that occurs twice (when clocks fall back) is offered at most
  once: at its first occurrence, or at the second one if the first is not
  free.

Nothing here touches the database; ``tillbook.kernel.schedule.search`` loads
the inputs and calls ``free_slots``.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

MINUTES_PER_DAY = 24 * 60
DEFAULT_GRANULARITY_MINUTES = 15


@dataclass(frozen=True, slots=True)
class WorkingInterval:
    """A weekly working interval: ``weekday`` 0 is Monday, minutes after midnight."""

    weekday: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True, slots=True)
class Slot:
    """A free start time for one provider, as UTC instants."""

    start: datetime
    end: datetime
    staff_id: uuid.UUID


def free_slots(
    day: date,
    zone: tzinfo,
    hours: Mapping[uuid.UUID, Iterable[WorkingInterval]],
    busy: Mapping[uuid.UUID, Iterable[tuple[datetime, datetime]]],
    duration_minutes: int,
    *,
    now: datetime,
    min_notice: timedelta = timedelta(0),
    granularity_minutes: int = DEFAULT_GRANULARITY_MINUTES,
) -> list[Slot]:
    """Return the free slots of every provider in ``hours`` on local date ``day``.

    A slot starts on a wall time that is a multiple of ``granularity_minutes``
    after local midnight and lies wholly inside one working interval of the
    provider for that weekday. It overlaps none of the provider's ``busy``
    intervals (half-open ``[start, end)`` UTC instants) and starts no earlier
    than ``now + min_notice``. The result is ordered by start, then by the
    order of ``hours``.

    Raises ValueError if ``duration_minutes`` or ``granularity_minutes`` is
    not positive, or if ``now`` or a busy instant is naive.

    TODO: breaks, time off, buffers, resources and processing gaps are not
    inputs yet. Callers can pass breaks and time off as ``busy`` intervals.
    """
    if duration_minutes <= 0:
        raise ValueError(f"duration_minutes must be positive, got {duration_minutes}")
    if granularity_minutes <= 0:
        raise ValueError(
            f"granularity_minutes must be positive, got {granularity_minutes}"
        )
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    earliest = (now + min_notice).timestamp()
    length = duration_minutes * 60
    weekday = day.weekday()
    clock = _DayClock(day, zone)

    slots: list[Slot] = []
    for staff_id, intervals in hours.items():
        todays = [
            (interval.start_minute, interval.end_minute)
            for interval in intervals
            if interval.weekday == weekday
        ]
        if not todays:
            continue
        blocked = _BusyIndex(busy.get(staff_id, ()))
        for start_minute, end_minute in _merge(todays):
            window_start = clock.bound(start_minute)
            window_end = clock.bound(end_minute)
            first = -(-start_minute // granularity_minutes) * granularity_minutes
            for minute in range(first, end_minute, granularity_minutes):
                # The first bookable occurrence of this wall time, if any.
                for start in clock.instants(minute):
                    if start < window_start or start + length > window_end:
                        continue
                    if start < earliest or blocked.overlaps(start, length):
                        continue
                    slots.append(Slot(_utc(start), _utc(start + length), staff_id))
                    break

    position = {staff_id: index for index, staff_id in enumerate(hours)}
    slots.sort(key=lambda slot: (slot.start, position[slot.staff_id]))
    return slots


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class _DayClock:
    """Converts wall minutes of one local day to POSIX timestamps.

    On a day whose UTC offset never changes, which is nearly every day, a
    wall minute is a fixed offset from local midnight, so no time zone lookup
    is needed per slot. Other days convert each minute through ``zoneinfo``.

    NOTE: the offset is sampled once an hour, so a zone that changed its
    offset and changed it back within one hour would be taken as unchanged.
    ``test_day_clock_matches_zoneinfo`` checks the zones and days it covers.
    """

    def __init__(self, day: date, zone: tzinfo) -> None:
        self.day = day
        self.zone = zone
        day_start, day_end = local_day_bounds(day, zone)
        self.start = day_start.timestamp()
        self.end = day_end.timestamp()
        samples = [
            datetime.fromtimestamp(moment, zone).utcoffset()
            for moment in [*range(int(self.start), int(self.end), 3600), self.end - 1]
        ]
        self.uniform = len(set(samples)) == 1
        if self.uniform:
            # A clock change at midnight can make the day start at 01:00.
            first = day_start.astimezone(zone)
            self.base = self.start - (first.hour * 60 + first.minute) * 60

    def instants(self, minute: int) -> tuple[float, ...]:
        """Return the timestamps at which clocks show ``minute``."""
        if self.uniform:
            moment = self.base + minute * 60
            return (moment,) if self.start <= moment < self.end else ()
        return tuple(
            instant.timestamp()
            for instant in wall_instants(self.day, minute, self.zone)
        )

    def bound(self, minute: int) -> float:
        """Return the timestamp of a working-hours bound, as ``wall_to_instant``."""
        if self.uniform:
            return min(max(self.base + minute * 60, self.start), self.end)
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
    """Return the UTC instant of a working-hours bound at ``minute`` on ``day``.

    ``minute`` may be 1440, the next midnight. A repeated wall time maps to
    its first occurrence. A skipped wall time maps to the end of the gap (the
    moment clocks jumped), which is the first wall minute after it that exists.
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


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class _BusyIndex:
    """Busy intervals merged into disjoint sorted runs of POSIX timestamps."""

    def __init__(self, intervals: Iterable[tuple[datetime, datetime]]) -> None:
        runs: list[tuple[float, float]] = []
        for start, end in sorted(intervals):
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError("busy intervals must be aware datetimes")
            if end <= start:
                continue
            begin, finish = start.timestamp(), end.timestamp()
            if runs and begin <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(runs[-1][1], finish))
            else:
                runs.append((begin, finish))
        self.starts: Sequence[float] = [run[0] for run in runs]
        self.ends: Sequence[float] = [run[1] for run in runs]

    def overlaps(self, start: float, length: float) -> bool:
        # The last run that begins before the slot ends is the only candidate,
        # because runs are disjoint and sorted.
        index = bisect.bisect_left(self.starts, start + length) - 1
        return index >= 0 and self.ends[index] > start
