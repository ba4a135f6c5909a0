"""Slot rules beyond plain hours: breaks, time off, closures, overrides,
timing, resources, the booking window and daylight-saving days."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tillbook.kernel.schedule.availability import (
    ProviderCalendar,
    ResourceNeed,
    Slot,
    SlotQuery,
    Timing,
    WorkingInterval,
    check_start,
    find_free_slots,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
KOLKATA = ZoneInfo("Asia/Kolkata")
AVA = uuid.UUID(int=1)
BEN = uuid.UUID(int=2)
ROOM = uuid.UUID(int=10)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
# A Wednesday with no clock change anywhere used here.
PLAIN_DAY = date(2026, 6, 10)


def minute(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def daily(start: str, end: str) -> list[WorkingInterval]:
    return [WorkingInterval(day, minute(start), minute(end)) for day in range(7)]


def at(day: date, clock: str, zone: ZoneInfo = LONDON, fold: int = 0) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    local = datetime(day.year, day.month, day.day, hours, minutes, fold=fold)
    return local.replace(tzinfo=zone).astimezone(UTC)


def query(
    day: date = PLAIN_DAY,
    *,
    last_day: date | None = None,
    zone: ZoneInfo = LONDON,
    timing: Timing | None = None,
    **options: object,
) -> SlotQuery:
    return SlotQuery(
        first_day=day,
        last_day=last_day or day,
        zone=zone,
        timing=timing or Timing(60),
        now=options.pop("now", LONG_AGO),  # type: ignore[arg-type]
        granularity_minutes=options.pop("granularity_minutes", 30),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def labels(slots: list[Slot], zone: ZoneInfo = LONDON) -> list[str]:
    return [slot.start.astimezone(zone).strftime("%H:%M") for slot in slots]


def ava(**fields: object) -> ProviderCalendar:
    weekly = fields.pop("weekly", daily("09:00", "12:00"))
    return ProviderCalendar(AVA, weekly, **fields)  # type: ignore[arg-type]


def test_break_blocks_its_slots() -> None:
    calendar = ava(breaks=[WorkingInterval(PLAIN_DAY.weekday(), 600, 630)])
    slots = find_free_slots(query(), [calendar])
    assert labels(slots) == ["09:00", "10:30", "11:00"]


def test_time_off_blocks_its_slots() -> None:
    away = (at(PLAIN_DAY, "09:45"), at(PLAIN_DAY, "10:15"))
    slots = find_free_slots(query(), [ava(time_off=[away])])
    assert labels(slots) == ["10:30", "11:00"]


def test_override_replaces_weekly_hours() -> None:
    changed = ava(overrides={PLAIN_DAY: [(minute("14:00"), minute("15:00"))]})
    assert labels(find_free_slots(query(), [changed])) == ["14:00"]
    off = ava(overrides={PLAIN_DAY: []})
    assert find_free_slots(query(), [off]) == []


def test_closure_of_location_blocks_day() -> None:
    slots = find_free_slots(query(closed_days={PLAIN_DAY}), [ava()])
    assert slots == []


def test_opening_hours_cut_working_hours() -> None:
    opening = daily("10:00", "18:00")
    slots = find_free_slots(query(opening=opening), [ava()])
    assert labels(slots) == ["10:00", "10:30", "11:00"]


def test_overnight_shift_crosses_midnight() -> None:
    weekday = PLAIN_DAY.weekday()
    calendar = ava(weekly=[WorkingInterval(weekday, minute("23:00"), 1440 + 90)])
    next_day = PLAIN_DAY + timedelta(days=1)
    both = find_free_slots(query(PLAIN_DAY, last_day=next_day), [calendar])
    assert labels(both) == ["23:00", "23:30", "00:00", "00:30"]
    assert [slot.start.astimezone(LONDON).date() for slot in both][-1] == next_day
    only_next = find_free_slots(query(next_day), [calendar])
    assert labels(only_next) == ["00:00", "00:30"]


def test_buffers_stay_inside_hours_and_off_holds() -> None:
    timing = Timing(60, buffer_before_minutes=15, buffer_after_minutes=15)
    free = find_free_slots(query(timing=timing), [ava()])
    assert labels(free) == ["09:30", "10:00", "10:30"]
    held = ava(holds=[(at(PLAIN_DAY, "11:00"), at(PLAIN_DAY, "12:00"))])
    assert labels(find_free_slots(query(timing=timing), [held])) == ["09:30"]


def test_processing_gap_frees_provider() -> None:
    # Colour: 30 minutes applying, 30 processing, 30 rinsing.
    colour = Timing(90, processing_after_minutes=30, processing_minutes=30)
    booked = ava(
        holds=[
            (at(PLAIN_DAY, "09:00"), at(PLAIN_DAY, "09:30")),
            (at(PLAIN_DAY, "10:00"), at(PLAIN_DAY, "10:30")),
        ]
    )
    trim = find_free_slots(query(timing=Timing(30)), [booked])
    assert labels(trim) == ["09:30", "10:30", "11:00", "11:30"]
    # Two colours interleave: the second is applied while the first
    # processes, and processes while the first is rinsed.
    second = find_free_slots(query(timing=colour), [booked])
    assert labels(second) == ["09:30", "10:30"]


def test_resource_units_limit_parallel_slots() -> None:
    holds = [(0, at(PLAIN_DAY, "09:00"), at(PLAIN_DAY, "10:00"))]
    one_left = ResourceNeed(ROOM, needed=1, units=2, holds=holds)
    assert labels(find_free_slots(query(), [ava()], [one_left]))[0] == "09:00"
    both = ResourceNeed(ROOM, needed=2, units=2, holds=holds)
    assert labels(find_free_slots(query(), [ava()], [both])) == [
        "10:00",
        "10:30",
        "11:00",
    ]


def test_per_provider_timing_overrides_service() -> None:
    quick = ProviderCalendar(BEN, daily("09:00", "10:00"), timing=Timing(30))
    slots = find_free_slots(query(), [ava(), quick])
    ben = [slot for slot in slots if slot.staff_id == BEN]
    assert labels(ben) == ["09:00", "09:30"]
    assert ben[0].end - ben[0].start == timedelta(minutes=30)


def test_notice_and_advance_window() -> None:
    now = at(PLAIN_DAY, "09:10")
    slots = find_free_slots(query(now=now, min_notice=timedelta(minutes=60)), [ava()])
    assert labels(slots) == ["10:30", "11:00"]
    later = PLAIN_DAY + timedelta(days=3)
    window = query(PLAIN_DAY, last_day=later, max_advance_days=2, now=now)
    days = {
        slot.start.astimezone(LONDON).date()
        for slot in find_free_slots(window, [ava()])
    }
    assert max(days) == PLAIN_DAY + timedelta(days=2)


def test_check_start_reasons() -> None:
    now = at(PLAIN_DAY, "08:00")
    calendar = ava(
        breaks=[WorkingInterval(PLAIN_DAY.weekday(), 600, 630)],
        holds=[(at(PLAIN_DAY, "11:00"), at(PLAIN_DAY, "12:00"))],
    )
    rules = query(now=now, min_notice=timedelta(hours=1), max_advance_days=5)
    cases = {
        at(PLAIN_DAY, "07:00"): "past",
        at(PLAIN_DAY, "08:30"): "notice",
        at(PLAIN_DAY + timedelta(days=6), "09:00"): "advance",
        at(PLAIN_DAY, "09:10"): "grid",
        at(PLAIN_DAY, "10:00"): "hours",
        at(PLAIN_DAY, "11:00"): "busy",
        at(PLAIN_DAY, "09:00"): None,
    }
    for start, reason in cases.items():
        assert check_start(rules, calendar, [], start) == reason, start
    off_grid = at(PLAIN_DAY, "09:10")
    assert check_start(rules, ava(), [], off_grid, on_grid=False) is None


def test_invalid_query_raises() -> None:
    with pytest.raises(ValueError, match="granularity"):
        find_free_slots(query(granularity_minutes=0), [ava()])
    with pytest.raises(ValueError, match="last_day"):
        find_free_slots(query(last_day=PLAIN_DAY - timedelta(days=1)), [ava()])
    with pytest.raises(ValueError, match="processing_after"):
        find_free_slots(query(timing=Timing(30, processing_after_minutes=45)), [ava()])
    with pytest.raises(ValueError, match="aware"):
        naive = datetime(2026, 6, 10, 9)
        find_free_slots(query(), [ava(time_off=[(naive, naive)])])


# -- daylight-saving days ------------------------------------------------------
#
# Clock changes in 2026 (IANA tz database): New York springs forward on
# 8 March at 02:00 and falls back on 1 November at 02:00. London changes on
# 29 March at 01:00 and 25 October at 02:00. Sydney springs forward on
# 4 October at 02:00 and falls back on 5 April at 03:00. Kolkata keeps a
# fixed +05:30 offset.

SPRING = [
    (NEW_YORK, date(2026, 3, 8), "02:30"),
    (LONDON, date(2026, 3, 29), "01:30"),
    (SYDNEY, date(2026, 10, 4), "02:30"),
]
AUTUMN = [
    (NEW_YORK, date(2026, 11, 1), "01:30"),
    (LONDON, date(2026, 10, 25), "01:30"),
    (SYDNEY, date(2026, 4, 5), "02:30"),
]


def _night(zone: ZoneInfo, day: date, **fields: object) -> list[Slot]:
    calendar = ava(weekly=daily("00:00", "06:00"), **fields)
    return find_free_slots(
        query(day, zone=zone, timing=Timing(30), granularity_minutes=30), [calendar]
    )


@pytest.mark.parametrize(("zone", "day", "missing"), SPRING, ids=str)
def test_spring_forward_skips_missing_time(
    zone: ZoneInfo, day: date, missing: str
) -> None:
    slots = _night(zone, day)
    offered = labels(slots, zone)
    assert missing not in offered
    # Five and a half hours of work in a day that lost an hour: ten slots
    # of 30 minutes, none straddling the jump.
    assert len(offered) == 10
    for slot in slots:
        assert slot.end - slot.start == timedelta(minutes=30)


@pytest.mark.parametrize(("zone", "day", "repeated"), AUTUMN, ids=str)
def test_fall_back_offers_repeated_time_once(
    zone: ZoneInfo, day: date, repeated: str
) -> None:
    slots = _night(zone, day)
    offered = labels(slots, zone)
    assert offered.count(repeated) == 1
    slot = slots[offered.index(repeated)]
    # The instant is the first occurrence, so its UTC offset is the summer one.
    assert slot.start == at(day, repeated, zone, fold=0)
    assert slot.start != at(day, repeated, zone, fold=1)


@pytest.mark.parametrize(("zone", "day", "repeated"), AUTUMN, ids=str)
def test_fall_back_second_occurrence_when_first_held(
    zone: ZoneInfo, day: date, repeated: str
) -> None:
    first = at(day, repeated, zone, fold=0)
    slots = _night(zone, day, holds=[(first, first + timedelta(minutes=30))])
    offered = labels(slots, zone)
    assert offered.count(repeated) == 1
    assert slots[offered.index(repeated)].start == at(day, repeated, zone, fold=1)


def test_kolkata_half_hour_offset() -> None:
    day = date(2026, 3, 8)
    calendar = ava(weekly=daily("09:00", "10:30"))
    slots = find_free_slots(query(day, zone=KOLKATA), [calendar])
    assert labels(slots, KOLKATA) == ["09:00", "09:30"]
    assert slots[0].start == datetime(2026, 3, 8, 3, 30, tzinfo=UTC)


def test_location_zone_differs_from_caller() -> None:
    """The same weekly hours give different instants in different zones."""
    london = find_free_slots(query(zone=LONDON), [ava()])
    new_york = find_free_slots(query(zone=NEW_YORK), [ava()])
    assert london[0].start == datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    assert new_york[0].start == datetime(2026, 6, 10, 13, 0, tzinfo=UTC)
