"""Recurrence rules expanded on local wall times, across clock changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tillbook.errors import ValidationFailed
from tillbook.kernel.schedule import recurrence
from tillbook.kernel.schedule.recurrence import (
    expand,
    parse_local,
    parse_rule,
    parse_zone,
    rule_ending_before,
    rule_with_count,
    to_instant,
)


def _expand(zone_name: str, start: str, rule: str, **kwargs):  # type: ignore[no-untyped-def]
    zone = parse_zone(zone_name)
    local = parse_local(start)
    return expand(parse_rule(rule, local, zone), local, zone, **kwargs)


@pytest.mark.parametrize(
    ("zone", "offsets"),
    [
        ("America/New_York", {"23:00", "22:00"}),
        ("Europe/London", {"18:00", "17:00"}),
        ("Australia/Sydney", {"08:00", "07:00"}),
        ("Asia/Kolkata", {"12:30"}),
    ],
)
def test_weekly_tuesday_stays_local(zone: str, offsets: set[str]) -> None:
    occurrences = _expand(zone, "2027-01-05T18:00", "FREQ=WEEKLY;BYDAY=TU;COUNT=52")
    assert len(occurrences) == 52
    local_zone = parse_zone(zone)
    assert {
        item.start.astimezone(local_zone).strftime("%H:%M") for item in occurrences
    } == {"18:00"}
    assert {item.start.strftime("%H:%M") for item in occurrences} == offsets
    assert not any(item.adjusted for item in occurrences)


def test_gap_moves_to_change_instant() -> None:
    zone = parse_zone("America/New_York")
    instant, adjusted = to_instant(datetime(2027, 3, 14, 2, 30), zone)
    assert adjusted
    assert instant == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)
    instant, adjusted = to_instant(datetime(2027, 3, 14, 3, 0), zone)
    assert not adjusted
    assert instant == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)


def test_gap_in_london_and_sydney() -> None:
    london = parse_zone("Europe/London")
    instant, adjusted = to_instant(datetime(2027, 3, 28, 1, 15), london)
    assert adjusted
    assert instant == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    sydney = parse_zone("Australia/Sydney")
    instant, adjusted = to_instant(datetime(2027, 10, 3, 2, 30), sydney)
    assert adjusted
    assert instant.astimezone(sydney).strftime("%H:%M") == "03:00"


def test_repeated_time_is_first() -> None:
    zone = parse_zone("America/New_York")
    instant, adjusted = to_instant(datetime(2027, 11, 7, 1, 30), zone)
    assert not adjusted
    assert instant == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_adjusted_occurrence_has_note() -> None:
    occurrences = _expand("America/New_York", "2027-03-13T02:30", "FREQ=DAILY;COUNT=3")
    moved = [item for item in occurrences if item.adjusted]
    assert len(moved) == 1
    assert "clocks go forward" in moved[0].note
    assert (
        moved[0].to_json(parse_zone("America/New_York"))["local"] == "2027-03-14T03:00"
    )


def test_until_in_utc_is_read_locally() -> None:
    occurrences = _expand(
        "Australia/Sydney", "2027-01-05T18:00", "FREQ=WEEKLY;UNTIL=20270119T070000Z"
    )
    assert [item.local.day for item in occurrences] == [5, 12, 19]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=2", "yields no occurrences"),
        ("FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31", "yields no occurrences"),
        ("FREQ=HOURLY;COUNT=3", "FREQ must be"),
        ("FREQ=DAILY;COUNT=501", "more than 500"),
        ("FREQ=WEEKLY", "more than 2 years"),
        ("FREQ=FORTNIGHTLY", "FREQ must be"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a valid"),
        ("COLOUR=RED", "not an RRULE part"),
        ("DTSTART:20270101T000000", "without DTSTART"),
    ],
)
def test_bad_rules_name_rule(rule: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _expand("Europe/London", "2027-01-05T18:00", rule)
    assert list(caught.value.errors) == ["rule"]
    assert message in caught.value.errors["rule"]


def test_slow_empty_rule_hits_deadline() -> None:
    # 29 February every fourth year from 2027 never happens; dateutil would
    # search until the year 9999.
    zone = parse_zone("Europe/London")
    start = datetime(2027, 1, 5, 18, 0)
    rule = parse_rule("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", start, zone)
    with pytest.raises(ValidationFailed) as caught:
        asyncio.run(recurrence.expand_with_deadline(rule, start, zone, seconds=0.01))
    assert "within 2 years" in caught.value.errors["rule"]


def test_exdates_removing_all_is_empty() -> None:
    with pytest.raises(ValidationFailed) as caught:
        _expand(
            "Europe/London",
            "2027-01-05T18:00",
            "FREQ=DAILY;COUNT=1",
            exdates=frozenset({datetime(2027, 1, 5, 18, 0)}),
        )
    assert "rule" in caught.value.errors


def test_bad_zone_and_local_name_fields() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_zone("Europe/Atlantis")
    assert list(caught.value.errors) == ["time_zone"]
    with pytest.raises(ValidationFailed) as caught:
        parse_local("2027-01-05T18:00:00+01:00")
    assert list(caught.value.errors) == ["start_local"]


def test_split_rules() -> None:
    local = datetime(2027, 1, 19, 18, 0)
    assert rule_ending_before("RRULE:FREQ=WEEKLY;COUNT=6", local) == (
        "FREQ=WEEKLY;UNTIL=20270119T175959"
    )
    assert rule_with_count("FREQ=WEEKLY;COUNT=6;BYDAY=TU", 4) == (
        "FREQ=WEEKLY;BYDAY=TU;COUNT=4"
    )
    zone = parse_zone("Europe/London")
    start = datetime(2027, 1, 5, 18, 0)
    rule = parse_rule("FREQ=WEEKLY;COUNT=6", start, zone)
    assert recurrence.occurrences_before(rule, local) == 2


@given(
    zone_name=st.sampled_from(
        ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata"]
    ),
    day=st.integers(min_value=0, max_value=700),
    minute=st.integers(min_value=0, max_value=24 * 60 - 1),
)
def test_instant_reads_back_or_moves_forward(
    zone_name: str, day: int, minute: int
) -> None:
    zone = parse_zone(zone_name)
    local = datetime(2027, 1, 1) + timedelta(days=day, minutes=minute)
    instant, adjusted = to_instant(local, zone)
    back = instant.astimezone(zone).replace(tzinfo=None)
    if adjusted:
        # A missing wall time moves forward, by less than the gap (an hour).
        assert local < back <= local + timedelta(hours=1)
        assert (instant - timedelta(minutes=1)).astimezone(zone).utcoffset() != (
            instant.astimezone(zone).utcoffset()
        )
    else:
        assert back == local
