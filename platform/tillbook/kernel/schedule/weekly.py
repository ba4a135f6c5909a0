"""Weekly intervals: parsing, formatting and overlap checks.

Working hours, breaks and location opening hours are intervals on a weekday
(0 is Monday) in wall-clock minutes after local midnight. An interval may end
on the next day (an overnight shift), so ``end_minute`` runs up to 2880 and
is written ``06:00+1`` in forms and JSON. Overlaps are checked on the whole
week, so Monday 22:00-06:00+1 overlaps Tuesday 05:00-09:00, and Sunday night
wraps round to Monday morning.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tillbook.errors import ValidationFailed, invalid

MINUTES_PER_DAY = 24 * 60
# An overnight interval ends at most at the next midnight.
MAX_END_MINUTE = 2 * MINUTES_PER_DAY
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
MAX_INTERVALS_PER_WEEK = 7 * 12
WEEKDAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
CLOCK_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})(\+1)?$")
RANGE_PATTERN = re.compile(
    r"^\s*(\d{1,2}:\d{2})\s*[-\u2013]\s*(\d{1,2}:\d{2}(?:\+1)?)\s*$"
)
SHAPE = '{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM" or "HH:MM+1"}'


@dataclass(frozen=True, slots=True)
class WeeklyInterval:
    """A weekly interval; ``end_minute`` above 1440 ends on the next day."""

    weekday: int
    start_minute: int
    end_minute: int
    location_id: uuid.UUID | None = None
    label: str = ""


def format_clock(minute: int) -> str:
    """Format minutes after midnight as ``HH:MM``; past 24:00 as ``HH:MM+1``."""
    if minute > MINUTES_PER_DAY:
        rest = minute - MINUTES_PER_DAY
        return f"{rest // 60:02d}:{rest % 60:02d}+1"
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_clock(value: object, field: str, *, next_day: bool = False) -> int:
    """Parse ``HH:MM`` (00:00 to 24:00) into minutes after midnight.

    With ``next_day`` a trailing ``+1`` (``06:00+1``) means the next day and
    adds 1440. Raises ValidationFailed naming ``field`` for anything else.
    """
    match = CLOCK_PATTERN.match(value.strip()) if isinstance(value, str) else None
    if match is None or (match.group(3) and not next_day):
        example = "09:30, or 06:00+1 for the next day" if next_day else "09:30"
        raise invalid(field, f"{value!r} is not a time: use HH:MM, such as {example}")
    hour, minute = int(match.group(1)), int(match.group(2))
    total = hour * 60 + minute
    if minute > 59 or total > MINUTES_PER_DAY:
        raise invalid(field, f"{value!r} is not a time between 00:00 and 24:00")
    if match.group(3):
        total += MINUTES_PER_DAY
    return total


def _minute_value(value: object, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, f"{value!r} is not a whole number of minutes")
    if not 0 <= value <= maximum:
        raise invalid(field, f"{value} is out of range: use 0 to {maximum} minutes")
    return value


def interval_json(interval: WeeklyInterval) -> dict[str, Any]:
    """Return an interval with ``HH:MM`` bounds and raw minutes."""
    return {
        "weekday": interval.weekday,
        "start": format_clock(interval.start_minute),
        "end": format_clock(interval.end_minute),
        "start_minute": interval.start_minute,
        "end_minute": interval.end_minute,
        "location_id": str(interval.location_id) if interval.location_id else None,
        "label": interval.label,
    }


def parse_intervals(
    entries: object,
    field: str,
    *,
    with_location: bool = False,
    with_label: bool = False,
) -> list[WeeklyInterval]:
    """Parse ``[{"weekday": 0, "start": "09:00", "end": "17:00"}, ...]``.

    Bounds are ``start``/``end`` as text or ``start_minute``/``end_minute``
    as whole minutes (end up to 2880). ``location_id`` and ``label`` are read
    when allowed. Raises ValidationFailed with keys such as ``hours[2].end``
    for a bad entry, and on the later entry of an overlapping pair.
    """
    if not isinstance(entries, list):
        raise invalid(field, f"must be a list of {SHAPE}")
    if len(entries) > MAX_INTERVALS_PER_WEEK:
        raise invalid(field, f"has more than {MAX_INTERVALS_PER_WEEK} intervals")
    allowed = {"weekday", "start", "end", "start_minute", "end_minute"}
    if with_location:
        allowed.add("location_id")
    if with_label:
        allowed.add("label")
    errors: dict[str, str] = {}
    parsed: list[tuple[str, WeeklyInterval]] = []
    for index, entry in enumerate(entries):
        prefix = f"{field}[{index}]"
        if not isinstance(entry, dict):
            errors[prefix] = f"must be {SHAPE}"
            continue
        try:
            parsed.append((prefix, _parse_entry(entry, prefix, allowed)))
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    check_no_overlap(parsed)
    return sort_intervals(interval for _, interval in parsed)


def _parse_entry(
    entry: Mapping[str, Any], prefix: str, allowed: set[str]
) -> WeeklyInterval:
    errors: dict[str, str] = {}
    extra = set(entry) - allowed
    if extra:
        errors[prefix] = (
            f"has unknown keys {sorted(extra)}: use {', '.join(sorted(allowed))}"
        )
    weekday = entry.get("weekday")
    if (
        isinstance(weekday, bool)
        or not isinstance(weekday, int)
        or not 0 <= weekday <= 6
    ):
        errors[f"{prefix}.weekday"] = (
            f"{weekday!r} is not a weekday: use 0 (Monday) to 6 (Sunday)"
        )
    bounds: dict[str, int] = {}
    for key, limit in (("start", MINUTES_PER_DAY - 1), ("end", MAX_END_MINUTE)):
        name = f"{prefix}.{key}"
        try:
            if f"{key}_minute" in entry:
                name = f"{prefix}.{key}_minute"
                bounds[key] = _minute_value(entry[f"{key}_minute"], name, limit)
            else:
                bounds[key] = parse_clock(entry.get(key), name, next_day=key == "end")
                if key == "start" and bounds[key] >= MINUTES_PER_DAY:
                    raise invalid(name, "must be before 24:00 on its own day")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if len(bounds) == 2:
        _check_order(bounds["start"], bounds["end"], prefix, errors)
    location_id = _location_value(entry, prefix, errors)
    label = entry.get("label", "")
    if label is None:
        label = ""
    if not isinstance(label, str) or len(label.strip()) > 60:
        errors[f"{prefix}.label"] = "must be text of at most 60 characters"
    if errors:
        raise ValidationFailed(errors)
    return WeeklyInterval(
        int(weekday),  # type: ignore[arg-type]
        bounds["start"],
        bounds["end"],
        location_id,
        label.strip(),
    )


def _check_order(start: int, end: int, prefix: str, errors: dict[str, str]) -> None:
    if end <= start:
        errors[f"{prefix}.end"] = (
            f"{format_clock(end)} is not after the start {format_clock(start)}: "
            "the end must be later (write 06:00+1 for a shift ending next day)"
        )
    elif end - start > MINUTES_PER_DAY:
        errors[f"{prefix}.end"] = "makes the interval longer than 24 hours"


def _location_value(
    entry: Mapping[str, Any], prefix: str, errors: dict[str, str]
) -> uuid.UUID | None:
    value = entry.get("location_id")
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        errors[f"{prefix}.location_id"] = f"{value!r} is not a location id"
        return None


def sort_intervals(intervals: Iterable[WeeklyInterval]) -> list[WeeklyInterval]:
    """Return intervals ordered by weekday, then start."""
    return sorted(intervals, key=lambda item: (item.weekday, item.start_minute))


def week_segments(interval: WeeklyInterval) -> list[tuple[int, int]]:
    """Return the interval as minutes of the week, split where Sunday wraps."""
    start = interval.weekday * MINUTES_PER_DAY + interval.start_minute
    end = interval.weekday * MINUTES_PER_DAY + interval.end_minute
    if end <= MINUTES_PER_WEEK:
        return [(start, end)]
    return [(start, MINUTES_PER_WEEK), (0, end - MINUTES_PER_WEEK)]


def describe(interval: WeeklyInterval) -> str:
    """Return ``Monday 09:00-17:00``."""
    return (
        f"{WEEKDAY_NAMES[interval.weekday]} {format_clock(interval.start_minute)}"
        f"-{format_clock(interval.end_minute)}"
    )


def check_no_overlap(labelled: Sequence[tuple[str, WeeklyInterval]]) -> None:
    """Raise ValidationFailed naming the label of each interval that overlaps another.

    Intervals that only touch (09:00-12:00 and 12:00-17:00) do not overlap.
    """
    errors: dict[str, str] = {}
    for (_, a), (label_b, b) in itertools.combinations(labelled, 2):
        if any(
            s1 < e2 and s2 < e1
            for s1, e1 in week_segments(a)
            for s2, e2 in week_segments(b)
        ):
            errors.setdefault(
                label_b, f"{describe(b)} overlaps {describe(a)}: join them or move one"
            )
    if errors:
        raise ValidationFailed(errors)


def covered(inner: WeeklyInterval, outer: Iterable[WeeklyInterval]) -> bool:
    """Tell whether ``inner`` lies wholly inside the union of ``outer``."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(seg for item in outer for seg in week_segments(item)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return all(
        any(lo <= start and end <= hi for lo, hi in merged)
        for start, end in week_segments(inner)
    )


def parse_day_text(weekday: int, text: str, field: str) -> list[WeeklyInterval]:
    """Parse one weekday typed as ``09:00-12:00, 22:00-06:00+1`` (empty: none).

    Raises ValidationFailed on ``field`` for a malformed range, an end not
    after its start, or ranges that overlap each other.
    """
    intervals = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        match = RANGE_PATTERN.match(part)
        if match is None:
            raise invalid(
                field,
                f"{part.strip()!r} is not a range: use HH:MM-HH:MM, such as "
                "09:00-12:00, 13:00-17:00 (22:00-06:00+1 ends next day)",
            )
        start = parse_clock(match.group(1), field)
        end = parse_clock(match.group(2), field, next_day=True)
        if start >= MINUTES_PER_DAY:
            raise invalid(field, f"{part.strip()!r} starts at 24:00: use 00:00+1")
        problems: dict[str, str] = {}
        _check_order(start, end, field, problems)
        if problems:
            raise invalid(field, f"{part.strip()!r}: {problems[field + '.end']}")
        intervals.append(WeeklyInterval(weekday, start, end))
    check_no_overlap([(field, item) for item in intervals])
    return intervals


def format_day_text(intervals: Iterable[WeeklyInterval], weekday: int) -> str:
    """Format one weekday's intervals as ``09:00-12:00, 13:00-17:00``."""
    return ", ".join(
        f"{format_clock(item.start_minute)}-{format_clock(item.end_minute)}"
        for item in sort_intervals(intervals)
        if item.weekday == weekday
    )
