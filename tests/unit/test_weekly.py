"""Weekly intervals and local wall-time parsing, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tillbook.errors import ValidationFailed
from tillbook.kernel.schedule.timeoff import parse_local_instant
from tillbook.kernel.schedule.weekly import (
    WeeklyInterval,
    covered,
    format_clock,
    parse_clock,
    parse_day_text,
    parse_intervals,
)


def test_clock_round_trip_next_day() -> None:
    assert parse_clock("06:00+1", "end", next_day=True) == 30 * 60
    assert format_clock(30 * 60) == "06:00+1"
    assert format_clock(24 * 60) == "24:00"


def test_clock_rejects_next_day_for_start() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_clock("06:00+1", "start")
    assert "start" in caught.value.errors


def test_sunday_night_wraps_to_monday() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_intervals(
            [
                {"weekday": 0, "start": "05:00", "end": "09:00"},
                {"weekday": 6, "start": "22:00", "end": "06:00+1"},
            ],
            "hours",
        )
    assert "hours[1]" in caught.value.errors


def test_touching_overnight_allowed() -> None:
    parsed = parse_intervals(
        [
            {"weekday": 6, "start": "22:00", "end": "06:00+1"},
            {"weekday": 0, "start": "06:00", "end": "09:00"},
        ],
        "hours",
    )
    assert [item.weekday for item in parsed] == [0, 6]


def test_break_covered_across_midnight() -> None:
    hours = [WeeklyInterval(4, 20 * 60, 28 * 60)]
    assert covered(WeeklyInterval(4, 23 * 60, 25 * 60), hours)
    assert covered(WeeklyInterval(5, 60, 120), hours)
    assert not covered(WeeklyInterval(5, 3 * 60, 5 * 60), hours)


def test_day_text_rejects_reversed_range() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_day_text(0, "17:00-09:00", "hours_0")
    assert "+1" in caught.value.errors["hours_0"]


def test_local_instant_in_zone() -> None:
    london = ZoneInfo("Europe/London")
    summer = parse_local_instant("2030-07-01T09:00", london, "start")
    assert summer == datetime(2030, 7, 1, 8, 0, tzinfo=UTC)
    # 01:30 happens twice on 2030-10-27; the first occurrence (BST) wins.
    repeated = parse_local_instant("2030-10-27T01:30", london, "start")
    assert repeated == datetime(2030, 10, 27, 0, 30, tzinfo=UTC)


def test_local_instant_rejects_skipped_time() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_local_instant("2030-03-31T01:30", ZoneInfo("Europe/London"), "start")
    assert "clocks go forward" in caught.value.errors["start"]


def test_local_instant_half_hour_zone() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    instant = parse_local_instant("2030-01-07T09:00", kolkata, "start")
    assert instant == datetime(2030, 1, 7, 3, 30, tzinfo=UTC)
