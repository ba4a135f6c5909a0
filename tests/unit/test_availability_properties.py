"""Properties of ``find_free_slots`` over random weeks, holds and timings.

Each property is checked against an independent reading of the inputs:
wall times are converted with ``wall_to_instant`` one by one, not through
the search's own day clocks and merged runs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tillbook.kernel.schedule.availability import (
    ProviderCalendar,
    ResourceNeed,
    Slot,
    SlotQuery,
    Timing,
    WorkingInterval,
    check_start,
    find_any_provider_slots,
    find_free_slots,
    wall_to_instant,
)

AVA = uuid.UUID(int=1)
BEN = uuid.UUID(int=2)
ROOM = uuid.UUID(int=10)
ZONES = [
    ZoneInfo(name)
    for name in (
        "Europe/London",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "UTC",
    )
]
# First days of two- or three-day searches; most include a clock change.
FIRST_DAYS = st.sampled_from(
    [
        date(2026, 3, 7),
        date(2026, 3, 28),
        date(2026, 4, 4),
        date(2026, 10, 3),
        date(2026, 10, 24),
        date(2026, 10, 31),
        date(2026, 6, 9),
    ]
)
EXAMPLES = settings(max_examples=40, deadline=None)

Span = tuple[datetime, datetime]


@st.composite
def weekly(draw: st.DrawFn, *, overnight: bool) -> list[WorkingInterval]:
    intervals = []
    for weekday in range(7):
        cursor = draw(st.integers(0, 600))
        for _ in range(draw(st.integers(0, 2))):
            if cursor >= 1439:
                break
            start = draw(st.integers(cursor, 1439))
            limit = 2880 if overnight else 1440
            end = draw(st.integers(start + 1, min(limit, start + 720)))
            intervals.append(WorkingInterval(weekday, start, end))
            cursor = end + 1
    return intervals


@st.composite
def spans(draw: st.DrawFn, first_day: date, most: int) -> list[Span]:
    base = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    result = []
    for _ in range(draw(st.integers(0, most))):
        start = base + timedelta(minutes=draw(st.integers(-720, 4 * 1440)))
        length = timedelta(minutes=draw(st.integers(5, 240)))
        result.append((start, start + length))
    return result


@st.composite
def calendars(
    draw: st.DrawFn, staff_id: uuid.UUID, first_day: date
) -> ProviderCalendar:
    overrides: dict[date, list[tuple[int, int]]] = {}
    if draw(st.booleans()):
        day = first_day + timedelta(days=draw(st.integers(0, 2)))
        start = draw(st.integers(0, 1400))
        overrides[day] = (
            [] if draw(st.booleans()) else [(start, draw(st.integers(start + 1, 1440)))]
        )
    timing = None
    if draw(st.booleans()):
        timing = Timing(draw(st.integers(10, 120)))
    return ProviderCalendar(
        staff_id=staff_id,
        weekly=draw(weekly(overnight=True)),
        breaks=draw(weekly(overnight=False)),
        overrides=overrides,
        time_off=draw(spans(first_day, 2)),
        holds=draw(spans(first_day, 5)),
        timing=timing,
    )


@st.composite
def timings(draw: st.DrawFn) -> Timing:
    duration = draw(st.integers(10, 150))
    gap = draw(st.booleans())
    return Timing(
        duration_minutes=duration,
        buffer_before_minutes=draw(st.sampled_from([0, 0, 5, 15])),
        buffer_after_minutes=draw(st.sampled_from([0, 0, 10, 15])),
        processing_after_minutes=draw(st.integers(0, duration)) if gap else None,
        processing_minutes=draw(st.integers(0, 90)) if gap else 0,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    first_day = draw(FIRST_DAYS)
    last_day = first_day + timedelta(days=draw(st.integers(0, 2)))
    zone = draw(st.sampled_from(ZONES))
    providers = [draw(calendars(AVA, first_day)), draw(calendars(BEN, first_day))]
    units = draw(st.integers(1, 3))
    needs = []
    if draw(st.booleans()):
        held = [
            (draw(st.integers(0, units)), start, end)
            for start, end in draw(spans(first_day, 6))
        ]
        needs.append(ResourceNeed(ROOM, draw(st.integers(1, units)), units, held))
    base = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    query = SlotQuery(
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        timing=draw(timings()),
        now=base + timedelta(minutes=draw(st.integers(-1440, 2 * 1440))),
        min_notice=timedelta(minutes=draw(st.sampled_from([0, 30, 120]))),
        max_advance_days=draw(st.sampled_from([None, 0, 1, 30])),
        granularity_minutes=draw(st.sampled_from([5, 10, 15, 30, 60])),
        opening=draw(st.none() | weekly(overnight=False)),
        closed_days=draw(
            st.sets(
                st.sampled_from([first_day + timedelta(days=n) for n in range(-1, 4)])
            )
        ),
    )
    return {"query": query, "providers": providers, "resources": needs}


def _timing(case: dict[str, Any], staff_id: uuid.UUID) -> Timing:
    provider = _provider(case, staff_id)
    return provider.timing or case["query"].timing  # type: ignore[no-any-return]


def _provider(case: dict[str, Any], staff_id: uuid.UUID) -> ProviderCalendar:
    return next(p for p in case["providers"] if p.staff_id == staff_id)


def _whole(slot: Slot, timing: Timing) -> Span:
    return (
        slot.start - timedelta(minutes=timing.buffer_before_minutes),
        slot.end + timedelta(minutes=timing.buffer_after_minutes),
    )


def _provider_parts(slot: Slot, timing: Timing) -> list[Span]:
    first, last = _whole(slot, timing)
    if timing.processing_after_minutes is None or not timing.processing_minutes:
        return [(first, last)]
    gap_start = slot.start + timedelta(minutes=timing.processing_after_minutes)
    gap_end = min(gap_start + timedelta(minutes=timing.processing_minutes), last)
    return [(a, b) for a, b in ((first, gap_start), (gap_end, last)) if a < b]


def _wall_spans(
    intervals: list[WorkingInterval],
    overrides: dict[date, list[tuple[int, int]]],
    zone: ZoneInfo,
    first_day: date,
    last_day: date,
) -> list[Span]:
    result = []
    day = first_day - timedelta(days=1)
    while day <= last_day + timedelta(days=1):
        if day in overrides:
            todays = overrides[day]
        else:
            todays = [
                (item.start_minute, item.end_minute)
                for item in intervals
                if item.weekday == day.weekday()
            ]
        for start, end in todays:
            if start < end:
                result.append(
                    (wall_to_instant(day, start, zone), wall_to_instant(day, end, zone))
                )
        day += timedelta(days=1)
    return result


def _covered(span: Span, pieces: list[Span]) -> bool:
    """Tell whether the union of ``pieces`` covers ``span`` without a hole."""
    cursor = span[0]
    for start, end in sorted(pieces):
        if start <= cursor < end:
            cursor = end
        if cursor >= span[1]:
            return True
    return cursor >= span[1]


def _overlaps(span: Span, other: Span) -> bool:
    return span[0] < other[1] and other[0] < span[1]


def _compute(case: dict[str, Any]) -> list[Slot]:
    return find_free_slots(case["query"], case["providers"], case["resources"])


@EXAMPLES
@given(scenarios())
def test_no_slot_overlaps_provider_holds(case: dict[str, Any]) -> None:
    for slot in _compute(case):
        provider = _provider(case, slot.staff_id)
        for part in _provider_parts(slot, _timing(case, slot.staff_id)):
            for hold in provider.holds:
                assert not _overlaps(part, hold), (slot, part, hold)


@EXAMPLES
@given(scenarios())
def test_no_slot_overbooks_resource_units(case: dict[str, Any]) -> None:
    for slot in _compute(case):
        whole = _whole(slot, _timing(case, slot.staff_id))
        for need in case["resources"]:
            taken = {
                unit
                for unit, start, end in need.holds
                if unit < need.units and _overlaps(whole, (start, end))
            }
            assert need.units - len(taken) >= need.needed, (slot, taken)


@EXAMPLES
@given(scenarios())
def test_slots_inside_hours_outside_breaks(case: dict[str, Any]) -> None:
    query: SlotQuery = case["query"]
    for slot in _compute(case):
        provider = _provider(case, slot.staff_id)
        timing = _timing(case, slot.staff_id)
        whole = _whole(slot, timing)
        working = _wall_spans(
            list(provider.weekly),
            dict(provider.overrides),
            query.zone,  # type: ignore[arg-type]
            query.first_day,
            query.last_day,
        )
        assert _covered(whole, working), (slot, working)
        if query.opening is not None:
            opening = _wall_spans(
                list(query.opening),
                {},
                query.zone,
                query.first_day,
                query.last_day,  # type: ignore[arg-type]
            )
            assert _covered(whole, opening)
        breaks = _wall_spans(
            list(provider.breaks),
            {},
            query.zone,
            query.first_day,
            query.last_day,  # type: ignore[arg-type]
        )
        for part in _provider_parts(slot, timing):
            for blocked in [*breaks, *provider.time_off]:
                assert not _overlaps(part, blocked), (slot, part, blocked)
        for closed in query.closed_days:
            bounds = (
                wall_to_instant(closed, 0, query.zone),  # type: ignore[arg-type]
                wall_to_instant(closed, 1440, query.zone),  # type: ignore[arg-type]
            )
            assert not _overlaps(whole, bounds)


@EXAMPLES
@given(scenarios())
def test_slots_respect_window_and_grid(case: dict[str, Any]) -> None:
    query: SlotQuery = case["query"]
    seen = set()
    for slot in _compute(case):
        local = slot.start.astimezone(query.zone)
        assert query.first_day <= local.date() <= query.last_day
        assert slot.start >= query.now + query.min_notice
        if query.max_advance_days is not None:
            today = query.now.astimezone(query.zone).date()
            assert local.date() <= today + timedelta(days=query.max_advance_days)
        assert (local.hour * 60 + local.minute) % query.granularity_minutes == 0
        label = (slot.staff_id, local.replace(tzinfo=None))
        assert label not in seen, f"{label} offered twice"
        seen.add(label)


@EXAMPLES
@given(scenarios(), st.data())
def test_returned_slot_then_booked_is_accepted(
    case: dict[str, Any], data: st.DataObject
) -> None:
    """A slot passes the booking check, and once held is no longer offered."""
    slots = _compute(case)
    if not slots:
        return
    slot = data.draw(st.sampled_from(slots))
    query: SlotQuery = case["query"]
    provider = _provider(case, slot.staff_id)
    assert check_start(query, provider, case["resources"], slot.start) is None
    timing = _timing(case, slot.staff_id)
    booked = ProviderCalendar(
        provider.staff_id,
        provider.weekly,
        provider.breaks,
        provider.overrides,
        provider.time_off,
        [*provider.holds, *_provider_parts(slot, timing)],
        provider.timing,
    )
    assert check_start(query, booked, case["resources"], slot.start) == "busy"
    others = [p if p.staff_id != slot.staff_id else booked for p in case["providers"]]
    again = find_free_slots(query, others, case["resources"])
    for other in again:
        if other.staff_id == slot.staff_id:
            for part in _provider_parts(other, _timing(case, other.staff_id)):
                for held in _provider_parts(slot, timing):
                    assert not _overlaps(part, held)


@EXAMPLES
@given(
    st.sampled_from(ZONES),
    FIRST_DAYS,
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from([5, 15, 30]),
)
def test_processing_gap_bookable_by_others(
    zone: ZoneInfo, day: date, before: int, gap: int, granularity: int
) -> None:
    """A provider's processing gap fits a short service, unless it needs
    the room the first client still occupies."""
    colour = Timing(
        duration_minutes=(before + gap + 2) * granularity,
        processing_after_minutes=before * granularity,
        processing_minutes=gap * granularity,
    )
    hours = [WorkingInterval(weekday, 0, 1440) for weekday in range(7)]
    now = datetime(2000, 1, 1, tzinfo=UTC)
    base = SlotQuery(day, day, zone, colour, now, granularity_minutes=granularity)
    first = find_free_slots(base, [ProviderCalendar(AVA, hours)])
    slot = next(s for s in first if s.start.astimezone(zone).hour >= 9)
    parts = _provider_parts(slot, colour)
    assert len(parts) == 2
    gap_start = parts[0][1]
    held = ProviderCalendar(AVA, hours, holds=parts)
    short = Timing(gap * granularity)
    inside = SlotQuery(day, day, zone, short, now, granularity_minutes=granularity)
    offered = {s.start for s in find_free_slots(inside, [held])}
    assert gap_start in offered
    room = ResourceNeed(ROOM, 1, 1, [(0, *_whole(slot, colour))])
    offered_with_room = {s.start for s in find_free_slots(inside, [held], [room])}
    assert gap_start not in offered_with_room


@EXAMPLES
@given(scenarios(), st.permutations([AVA, BEN]))
def test_any_provider_covers_every_free_start(
    case: dict[str, Any], order: list[uuid.UUID]
) -> None:
    """One slot per free wall time, with the first preferred free provider."""
    every = _compute(case)
    picked = find_any_provider_slots(
        case["query"],
        case["providers"],
        case["resources"],
        preference=lambda day: order,
    )
    zone = case["query"].zone
    free_by_start: dict[datetime, set[uuid.UUID]] = {}
    for slot in every:
        free_by_start.setdefault(slot.start, set()).add(slot.staff_id)
    walls = [slot.start.astimezone(zone).replace(tzinfo=None) for slot in picked]
    assert len(walls) == len(set(walls))
    assert {s.start.astimezone(zone).replace(tzinfo=None) for s in every} == set(walls)
    for slot in picked:
        free = free_by_start[slot.start]
        assert slot.staff_id in free
        assert slot.staff_id == next(staff for staff in order if staff in free)
