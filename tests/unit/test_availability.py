"""Free-slot computation: ordinary days, daylight-saving days and properties."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tillbook.kernel.schedule.availability import (
    Slot,
    WorkingInterval,
    _DayClock,
    free_slots,
    local_day_bounds,
    wall_instants,
    wall_to_instant,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
AVA = uuid.UUID(int=1)
BEN = uuid.UUID(int=2)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)

# Clock changes in 2026: Europe on the last Sundays of March and October at
# 01:00 UTC, the United States on the second Sunday of March and the first
# Sunday of November at 02:00 local time.
LONDON_SPRING = date(2026, 3, 29)
LONDON_AUTUMN = date(2026, 10, 25)
NEW_YORK_SPRING = date(2026, 3, 8)
NEW_YORK_AUTUMN = date(2026, 11, 1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def every_day(start: str, end: str) -> list[WorkingInterval]:
    start_minute = int(start[:2]) * 60 + int(start[3:])
    end_minute = int(end[:2]) * 60 + int(end[3:])
    return [WorkingInterval(day, start_minute, end_minute) for day in range(7)]


def starts(slots: list[Slot]) -> list[str]:
    return [slot.start.strftime("%H:%M") for slot in slots]


def local(slots: list[Slot], zone: ZoneInfo) -> list[str]:
    return [slot.start.astimezone(zone).strftime("%H:%M") for slot in slots]


def test_ordinary_day_grid() -> None:
    day = date(2026, 6, 10)
    slots = free_slots(
        day, LONDON, {AVA: every_day("09:00", "11:00")}, {}, 60, now=LONG_AGO
    )
    # British Summer Time is UTC+1.
    assert local(slots, LONDON) == ["09:00", "09:15", "09:30", "09:45", "10:00"]
    assert starts(slots) == ["08:00", "08:15", "08:30", "08:45", "09:00"]
    assert all(slot.end - slot.start == timedelta(minutes=60) for slot in slots)
    assert all(slot.start.tzinfo == UTC for slot in slots)


def test_other_weekday_hours_ignored() -> None:
    wednesday = date(2026, 6, 10)
    hours = {AVA: [WorkingInterval(wednesday.weekday() + 1, 540, 1020)]}
    assert free_slots(wednesday, LONDON, hours, {}, 30, now=LONG_AGO) == []


def test_busy_interval_blocks_overlaps_only() -> None:
    day = date(2026, 1, 14)
    busy = {AVA: [(utc(2026, 1, 14, 10, 0), utc(2026, 1, 14, 11, 0))]}
    slots = free_slots(
        day, LONDON, {AVA: every_day("09:00", "12:00")}, busy, 30, now=LONG_AGO
    )
    # 09:30-10:00 ends as the booking starts and 11:00 starts as it ends.
    assert local(slots, LONDON) == [
        "09:00",
        "09:15",
        "09:30",
        "11:00",
        "11:15",
        "11:30",
    ]


def test_busy_of_other_provider_ignored() -> None:
    day = date(2026, 1, 14)
    busy = {BEN: [(utc(2026, 1, 14, 9, 0), utc(2026, 1, 14, 12, 0))]}
    hours = {AVA: every_day("09:00", "10:00"), BEN: every_day("09:00", "10:00")}
    slots = free_slots(day, LONDON, hours, busy, 30, now=LONG_AGO)
    assert {slot.staff_id for slot in slots} == {AVA}


def test_now_and_notice_cut_early_slots() -> None:
    day = date(2026, 1, 14)
    now = utc(2026, 1, 14, 9, 20)
    slots = free_slots(
        day,
        LONDON,
        {AVA: every_day("09:00", "12:00")},
        {},
        30,
        now=now,
        min_notice=timedelta(minutes=60),
    )
    assert local(slots, LONDON)[0] == "10:30"


def test_split_shift_and_granularity() -> None:
    day = date(2026, 1, 14)
    hours = {
        AVA: [
            WorkingInterval(day.weekday(), 9 * 60 + 10, 10 * 60 + 30),
            WorkingInterval(day.weekday(), 14 * 60, 15 * 60),
        ]
    }
    slots = free_slots(day, LONDON, hours, {}, 30, now=LONG_AGO, granularity_minutes=20)
    # Starts sit on the 20-minute grid from midnight, inside each shift.
    assert local(slots, LONDON) == ["09:20", "09:40", "10:00", "14:00", "14:20"]


def test_adjacent_intervals_join() -> None:
    day = date(2026, 1, 14)
    hours = {
        AVA: [
            WorkingInterval(day.weekday(), 9 * 60, 10 * 60),
            WorkingInterval(day.weekday(), 10 * 60, 11 * 60),
        ]
    }
    slots = free_slots(day, LONDON, hours, {}, 90, now=LONG_AGO)
    assert local(slots, LONDON) == ["09:00", "09:15", "09:30"]


def test_results_ordered_by_start_then_provider() -> None:
    day = date(2026, 1, 14)
    hours = {BEN: every_day("09:00", "10:00"), AVA: every_day("09:00", "10:00")}
    slots = free_slots(day, LONDON, hours, {}, 30, now=LONG_AGO)
    assert [(s.start.minute, s.staff_id) for s in slots[:2]] == [(0, BEN), (0, AVA)]


def test_working_until_midnight() -> None:
    day = date(2026, 1, 14)
    slots = free_slots(
        day, LONDON, {AVA: every_day("23:00", "24:00")}, {}, 60, now=LONG_AGO
    )
    assert starts(slots) == ["23:00"]


def test_invalid_arguments() -> None:
    day = date(2026, 1, 14)
    hours = {AVA: every_day("09:00", "10:00")}
    with pytest.raises(ValueError, match="duration"):
        free_slots(day, LONDON, hours, {}, 0, now=LONG_AGO)
    with pytest.raises(ValueError, match="granularity"):
        free_slots(day, LONDON, hours, {}, 30, now=LONG_AGO, granularity_minutes=0)
    with pytest.raises(ValueError, match="aware"):
        free_slots(day, LONDON, hours, {}, 30, now=datetime(2026, 1, 1))


# -- daylight saving -------------------------------------------------------------


def test_london_spring_forward_skips_missing_hour() -> None:
    slots = free_slots(
        LONDON_SPRING,
        LONDON,
        {AVA: every_day("00:00", "04:00")},
        {},
        60,
        now=LONG_AGO,
        granularity_minutes=30,
    )
    # Clocks jump from 01:00 GMT to 02:00 BST, so 01:00 and 01:30 never exist,
    # and the four wall hours of work are three real hours.
    assert local(slots, LONDON) == ["00:00", "00:30", "02:00", "02:30", "03:00"]
    assert starts(slots) == ["00:00", "00:30", "01:00", "01:30", "02:00"]


def test_london_spring_shift_starting_in_gap() -> None:
    slots = free_slots(
        LONDON_SPRING,
        LONDON,
        {AVA: every_day("01:30", "03:00")},
        {},
        30,
        now=LONG_AGO,
        granularity_minutes=30,
    )
    # Work starts when the clocks jump, at 02:00 BST.
    assert local(slots, LONDON) == ["02:00", "02:30"]


def test_london_fall_back_offers_repeated_time_once() -> None:
    slots = free_slots(
        LONDON_AUTUMN,
        LONDON,
        {AVA: every_day("00:00", "03:00")},
        {},
        30,
        now=LONG_AGO,
        granularity_minutes=30,
    )
    labels = local(slots, LONDON)
    assert labels == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
    assert len(set(labels)) == len(labels)
    # 01:00 and 01:30 are offered at their first occurrence (BST, UTC+1).
    assert starts(slots)[2:4] == ["00:00", "00:30"]
    assert [slot.start.astimezone(LONDON).fold for slot in slots[2:4]] == [0, 0]


def test_london_fall_back_second_occurrence_when_first_busy() -> None:
    busy = {AVA: [(utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 1, 0))]}
    slots = free_slots(
        LONDON_AUTUMN,
        LONDON,
        {AVA: every_day("00:00", "03:00")},
        busy,
        30,
        now=LONG_AGO,
        granularity_minutes=30,
    )
    assert local(slots, LONDON) == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "02:00",
        "02:30",
    ]
    # The first 01:00-02:00 (BST) is booked, so 01:00 and 01:30 are the GMT ones.
    assert starts(slots)[2:4] == ["01:00", "01:30"]


def test_new_york_spring_forward() -> None:
    slots = free_slots(
        NEW_YORK_SPRING,
        NEW_YORK,
        {AVA: every_day("01:00", "04:00")},
        {},
        30,
        now=LONG_AGO,
        granularity_minutes=30,
    )
    # 02:00 EST becomes 03:00 EDT: nothing between 02:00 and 02:59 is offered.
    assert local(slots, NEW_YORK) == ["01:00", "01:30", "03:00", "03:30"]
    assert starts(slots) == ["06:00", "06:30", "07:00", "07:30"]


def test_new_york_fall_back() -> None:
    slots = free_slots(
        NEW_YORK_AUTUMN,
        NEW_YORK,
        {AVA: every_day("00:00", "03:00")},
        {},
        60,
        now=LONG_AGO,
        granularity_minutes=60,
    )
    # 02:00 EDT becomes 01:00 EST: the day's 00:00-03:00 wall span is four hours.
    assert local(slots, NEW_YORK) == ["00:00", "01:00", "02:00"]
    assert starts(slots) == ["04:00", "05:00", "07:00"]
    end_of_work = wall_to_instant(NEW_YORK_AUTUMN, 180, NEW_YORK)
    assert end_of_work == utc(2026, 11, 1, 8, 0)


def test_wall_instants_on_transition_days() -> None:
    assert wall_instants(LONDON_SPRING, 90, LONDON) == ()
    assert wall_instants(LONDON_AUTUMN, 90, LONDON) == (
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
    )
    assert wall_instants(date(2026, 6, 1), 90, LONDON) == (utc(2026, 6, 1, 0, 30),)


def test_local_day_bounds_follow_day_length() -> None:
    spring_start, spring_end = local_day_bounds(LONDON_SPRING, LONDON)
    autumn_start, autumn_end = local_day_bounds(LONDON_AUTUMN, LONDON)
    assert spring_end - spring_start == timedelta(hours=23)
    assert autumn_end - autumn_start == timedelta(hours=25)


# -- properties ------------------------------------------------------------------

ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC",
        "Europe/London",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
    )
]
DAYS = st.sampled_from(
    [
        LONDON_SPRING,
        LONDON_AUTUMN,
        NEW_YORK_SPRING,
        NEW_YORK_AUTUMN,
        date(2026, 4, 5),  # Lord Howe moves its clocks by 30 minutes.
        date(2026, 10, 4),
        date(2026, 1, 14),
        date(2026, 7, 1),
    ]
)


@st.composite
def working_week(draw: st.DrawFn) -> list[WorkingInterval]:
    intervals = []
    for weekday in range(7):
        cursor = 0
        for _ in range(draw(st.integers(0, 3))):
            start = draw(st.integers(cursor, 1439))
            end = draw(st.integers(start + 1, 1440))
            intervals.append(WorkingInterval(weekday, start, end))
            cursor = end
            if cursor >= 1440:
                break
    return intervals


@st.composite
def bookings(draw: st.DrawFn, day: date) -> list[tuple[datetime, datetime]]:
    base = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=14)
    result = []
    for _ in range(draw(st.integers(0, 6))):
        offset = draw(st.integers(0, 52 * 60))
        length = draw(st.integers(5, 240))
        start = base + timedelta(minutes=offset)
        result.append((start, start + timedelta(minutes=length)))
    return result


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    day = draw(DAYS)
    zone = draw(st.sampled_from(ZONES))
    hours = {AVA: draw(working_week()), BEN: draw(working_week())}
    busy = {AVA: draw(bookings(day)), BEN: draw(bookings(day))}
    return {
        "day": day,
        "zone": zone,
        "hours": hours,
        "busy": busy,
        "duration": draw(st.integers(5, 180)),
        "granularity": draw(st.sampled_from([5, 10, 15, 20, 30, 60])),
        "now": datetime(day.year, day.month, day.day, tzinfo=UTC)
        + timedelta(minutes=draw(st.integers(-2 * 1440, 2 * 1440))),
    }


def _compute(case: dict[str, object]) -> list[Slot]:
    return free_slots(
        case["day"],  # type: ignore[arg-type]
        case["zone"],  # type: ignore[arg-type]
        case["hours"],  # type: ignore[arg-type]
        case["busy"],  # type: ignore[arg-type]
        case["duration"],  # type: ignore[arg-type]
        now=case["now"],  # type: ignore[arg-type]
        granularity_minutes=case["granularity"],  # type: ignore[arg-type]
    )


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_no_slot_overlaps_a_booking(case: dict[str, object]) -> None:
    busy: dict[uuid.UUID, list[tuple[datetime, datetime]]] = case["busy"]  # type: ignore[assignment]
    for slot in _compute(case):
        for start, end in busy[slot.staff_id]:
            assert slot.end <= start or end <= slot.start, (slot, start, end)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_slot_within_working_hours(case: dict[str, object]) -> None:
    day: date = case["day"]  # type: ignore[assignment]
    zone: ZoneInfo = case["zone"]  # type: ignore[assignment]
    hours: dict[uuid.UUID, list[WorkingInterval]] = case["hours"]  # type: ignore[assignment]
    for slot in _compute(case):
        # Touching intervals join, so a slot may span two of them.
        joined = _joined_bounds(hours[slot.staff_id], day, zone)
        assert any(start <= slot.start and slot.end <= end for start, end in joined)


def _joined_bounds(
    intervals: list[WorkingInterval], day: date, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    spans: list[list[int]] = []
    todays = [item for item in intervals if item.weekday == day.weekday()]
    for item in sorted(todays, key=lambda item: item.start_minute):
        if spans and item.start_minute <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], item.end_minute)
        else:
            spans.append([item.start_minute, item.end_minute])
    return [
        (wall_to_instant(day, start, zone), wall_to_instant(day, end, zone))
        for start, end in spans
    ]


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_slots_on_grid_existing_and_unique(case: dict[str, object]) -> None:
    day: date = case["day"]  # type: ignore[assignment]
    zone: ZoneInfo = case["zone"]  # type: ignore[assignment]
    granularity: int = case["granularity"]  # type: ignore[assignment]
    now: datetime = case["now"]  # type: ignore[assignment]
    slots = _compute(case)
    labels = set()
    for slot in slots:
        wall = slot.start.astimezone(zone)
        assert wall.date() == day
        minute = wall.hour * 60 + wall.minute
        assert minute % granularity == 0
        assert slot.start in wall_instants(day, minute, zone)
        assert slot.start >= now
        assert slot.end - slot.start == timedelta(minutes=case["duration"])  # type: ignore[arg-type]
        label = (slot.staff_id, wall.strftime("%H:%M"))
        assert label not in labels, f"{label} offered twice"
        labels.add(label)
    assert slots == sorted(
        slots, key=lambda s: (s.start, 0 if s.staff_id == AVA else 1)
    )


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_free_time_without_bookings_is_offered(case: dict[str, object]) -> None:
    """Every wall time offered with bookings is also offered without them.

    Instants may differ: a repeated wall time moves to its second occurrence
    when a booking holds the first.
    """
    zone: ZoneInfo = case["zone"]  # type: ignore[assignment]

    def labels(slots: list[Slot]) -> set[tuple[uuid.UUID, str]]:
        return {(s.staff_id, s.start.astimezone(zone).strftime("%H:%M")) for s in slots}

    with_bookings = labels(_compute(case))
    without = labels(_compute({**case, "busy": {}}))
    assert with_bookings <= without


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_day_clock_matches_zoneinfo(case: dict[str, object]) -> None:
    """The arithmetic used on days without a clock change agrees with zoneinfo."""
    day: date = case["day"]  # type: ignore[assignment]
    zone: ZoneInfo = case["zone"]  # type: ignore[assignment]
    clock = _DayClock(day, zone)
    for minute in range(0, 1441, 5):
        expected = wall_to_instant(day, minute, zone).timestamp()
        assert clock.bound(minute) == expected
        if minute < 1440:
            instants = tuple(i.timestamp() for i in wall_instants(day, minute, zone))
            assert clock.instants(minute) == instants
