"""Expanding RFC 5545 recurrence rules into local wall times and UTC instants.

Pure functions, no database. A rule is expanded on naive local wall times
(``start_local`` is the first occurrence's wall time in ``time_zone``), so a
weekly 18:00 class stays at 18:00 local on both sides of a daylight-saving
change. Each wall time is then turned into its UTC instant:

- a wall time that occurs twice (clocks go back) means its first occurrence,
  as RFC 5545 section 3.3.5 specifies;
- a wall time that does not exist (clocks go forward) moves forward to the
  first instant that exists after it, the moment of the change (02:30 in
  New York on the spring-forward day becomes 03:00 EDT). RFC 5545 would
  keep the offset from before the gap (03:30 EDT) instead. Starting at the
  change keeps the class closest to the time the business chose. Each moved
  occurrence carries ``adjusted`` and a ``note`` saying so.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from tillbook.errors import invalid
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.dates import LAST_DAY

MAX_OCCURRENCES = 500
_FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
# The maximum length of each month, counting 29 February of leap years.
_MONTH_LENGTHS = {2: 29, 4: 30, 6: 30, 9: 30, 11: 30}
_NOTHING = "yields no occurrences: check BYDAY, BYMONTHDAY, UNTIL and the exceptions"
MAX_SPAN = timedelta(days=2 * 365 + 1)
# Expanding a valid rule of at most 500 occurrences takes milliseconds.
EXPANSION_SECONDS = 2.0
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)
_ALLOWED_PARTS = {
    "FREQ",
    "UNTIL",
    "COUNT",
    "INTERVAL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
}


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a rule: its wall time, UTC start and any adjustment."""

    # The wall time the rule produced, naive, in the series' zone.
    local: datetime
    start: datetime
    adjusted: bool = False
    note: str = ""

    def to_json(self, zone: ZoneInfo) -> dict[str, object]:
        """Return the occurrence as JSON, with its wall time after adjustment."""
        return {
            "occurrence_local": self.local.strftime(LOCAL_FORMAT),
            "start": self.start.isoformat(),
            "local": self.start.astimezone(zone).strftime(LOCAL_FORMAT),
            "adjusted": self.adjusted,
            "note": self.note,
        }


def parse_zone(name: object, field: str = "time_zone") -> ZoneInfo:
    """Return the IANA zone ``name``; raise ValidationFailed naming ``field``."""
    if not isinstance(name, str) or not name.strip():
        raise invalid(field, "is required: use an IANA zone such as Europe/London")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(
            field,
            f"{name!r} is not a known time zone: use an IANA name such as "
            "America/New_York",
        ) from None


def parse_local(value: object, field: str = "start_local") -> datetime:
    """Parse a local wall time ``YYYY-MM-DDTHH:MM`` into a naive datetime."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(second=0, microsecond=0)
    text = value.strip() if isinstance(value, str) else ""
    try:
        parsed = datetime.strptime(text, LOCAL_FORMAT)
    except ValueError:
        raise invalid(
            field,
            f"{value!r} is not a local wall time: use YYYY-MM-DDTHH:MM, "
            "such as 2027-01-05T18:00, without an offset",
        ) from None
    return parsed


def format_local(value: datetime) -> str:
    """Format a naive wall time as ``YYYY-MM-DDTHH:MM``."""
    return value.strftime(LOCAL_FORMAT)


def parse_rule(
    text: object, start_local: datetime, zone: ZoneInfo, field: str = "rule"
) -> rrule:
    """Parse one RRULE (with or without the ``RRULE:`` prefix) anchored at
    ``start_local``.

    An ``UNTIL`` in UTC (``...Z``) is converted to the zone's wall time so
    the rule can run on naive wall times. Raises ValidationFailed naming
    ``field`` for text that is not a single RRULE or that dateutil rejects.
    """
    if not isinstance(text, str) or not text.strip():
        raise invalid(field, "is required: use an RFC 5545 rule such as FREQ=WEEKLY")
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if "\n" in body or "\r" in body or ":" in body:
        raise invalid(
            field,
            "must be one RRULE without DTSTART: put the first start in start_local",
        )
    parts: dict[str, str] = {}
    for part in body.split(";"):
        key, _, value = part.partition("=")
        key = key.strip().upper()
        if key not in _ALLOWED_PARTS:
            raise invalid(field, f"{part!r} is not an RRULE part: check the spelling")
        parts[key] = value.strip().upper()
    if parts.get("FREQ") not in _FREQUENCIES:
        raise invalid(
            field, "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY for a booking"
        )
    if not _month_days_possible(parts):
        raise invalid(field, _NOTHING)
    interval = parts.get("INTERVAL", "1")
    # dateutil accepts INTERVAL=0 and then repeats the first occurrence,
    # but RFC 5545 allows only a positive integer.
    if not is_whole_number(interval) or int(interval) < 1:
        raise invalid(
            field, f"INTERVAL={interval} is not a positive whole number: use 1 or more"
        )
    body = _UNTIL_UTC.sub(lambda match: _local_until(match.group(1), zone), body)
    try:
        parsed = rrulestr(body, dtstart=start_local)
    except (ValueError, TypeError, OverflowError) as exc:
        raise invalid(field, f"{text!r} is not a valid RFC 5545 rule: {exc}") from None
    if not isinstance(parsed, rrule):
        raise invalid(field, "must be one RRULE")
    return parsed


def _local_until(stamp: str, zone: ZoneInfo) -> str:
    instant = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    local = instant.astimezone(zone).replace(tzinfo=None)
    return "UNTIL=" + local.strftime("%Y%m%dT%H%M%S")


def to_instant(local: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """Return the UTC instant of a naive wall time and whether it was moved.

    A repeated wall time gives its first occurrence. A wall time inside a
    spring-forward gap gives the moment the clocks changed.
    """
    first = local.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant, False
    # Inside the gap fold=0 reads the wall time with the offset from before
    # the change and fold=1 with the one after; the change lies between.
    later = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = sorted((instant, later))
    return _change_instant(zone, low, high), True


def _change_instant(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """Return the first instant in (low, high] whose UTC offset differs from low's."""
    before = low.astimezone(zone).utcoffset()
    step = timedelta(minutes=1)
    while high - low > step:
        middle = low + (high - low) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= low:
            middle = low + step
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def expand(
    rule: rrule,
    start_local: datetime,
    zone: ZoneInfo,
    *,
    exdates: frozenset[datetime] = frozenset(),
    field: str = "rule",
    max_occurrences: int = MAX_OCCURRENCES,
    max_span: timedelta = MAX_SPAN,
) -> list[Occurrence]:
    """Return every occurrence of ``rule`` except the wall times in ``exdates``.

    Raises ValidationFailed naming ``field`` when the rule has no end, runs
    past ``max_span`` after ``start_local``, yields more than
    ``max_occurrences``, or yields nothing once the exceptions are removed.
    """
    limit = start_local + max_span
    occurrences: list[Occurrence] = []
    for local in rule:
        if local > limit:
            raise invalid(
                field,
                "runs for more than 2 years: add COUNT or an earlier UNTIL",
            )
        if local.date() > LAST_DAY:
            raise invalid(
                field,
                f"runs past {LAST_DAY.isoformat()}: add COUNT or an earlier UNTIL",
            )
        if len(occurrences) >= max_occurrences:
            raise invalid(
                field,
                f"yields more than {max_occurrences} occurrences: "
                "add COUNT or an earlier UNTIL",
            )
        if local in exdates:
            continue
        instant, adjusted = to_instant(local, zone)
        note = ""
        if adjusted:
            moved = instant.astimezone(zone).strftime("%H:%M")
            note = (
                f"{local.strftime('%H:%M')} does not exist on "
                f"{local.date().isoformat()} because the clocks go forward: "
                f"starts at {moved}"
            )
        occurrences.append(Occurrence(local, instant, adjusted, note))
    if not occurrences:
        raise invalid(field, _NOTHING)
    return occurrences


async def expand_with_deadline(
    rule: rrule,
    start_local: datetime,
    zone: ZoneInfo,
    *,
    exdates: frozenset[datetime] = frozenset(),
    field: str = "rule",
    seconds: float = EXPANSION_SECONDS,
) -> list[Occurrence]:
    """Run ``expand`` in a worker thread and give up after ``seconds``.

    A rule that matches no date in its first years (such as 29 February
    every fourth year from a year that is not a leap year) makes dateutil
    search up to the year 9999. Such a rule is rejected as yielding nothing
    within two years. Raises ValidationFailed naming ``field``.
    """
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(
                expand, rule, start_local, zone, exdates=exdates, field=field
            ),
            timeout=seconds,
        )
    except TimeoutError:
        # NOTE: the worker thread runs on until dateutil gives up, which
        # costs seconds of CPU, but the caller gets the error at once.
        raise invalid(field, "yields no occurrences within 2 years") from None


def _month_days_possible(parts: dict[str, str]) -> bool:
    """Tell whether some BYMONTH has a day that some BYMONTHDAY names.

    dateutil searches up to the year 9999 for a rule such as 30 February
    before it gives up, which takes seconds, so the common impossible
    combinations are refused before expansion.
    """
    if "BYMONTHDAY" not in parts:
        return True
    try:
        days = [abs(int(item)) for item in parts["BYMONTHDAY"].split(",") if item]
        months = [int(item) for item in parts.get("BYMONTH", "").split(",") if item]
    except ValueError:
        return True  # dateutil reports the malformed value itself
    longest = max(
        (_MONTH_LENGTHS.get(month, 31) for month in months or [1]), default=31
    )
    return any(1 <= day <= longest for day in days)


def occurrences_before(rule: rrule, local: datetime) -> int:
    """Count the rule's occurrences (exceptions included) before ``local``."""
    count = 0
    for item in rule:
        if item >= local:
            break
        count += 1
    return count


def rule_ending_before(text: str, local: datetime) -> str:
    """Return ``text`` with COUNT and UNTIL replaced by an UNTIL just before
    the wall time ``local``, so the series stops before that occurrence."""
    until = (local - timedelta(seconds=1)).strftime("%Y%m%dT%H%M%S")
    return _with_parts(text, drop={"COUNT", "UNTIL"}, add=f"UNTIL={until}")


def rule_with_count(text: str, count: int) -> str:
    """Return ``text`` with its COUNT set to ``count`` (UNTIL kept)."""
    return _with_parts(text, drop={"COUNT"}, add=f"COUNT={count}")


def rule_has_count(text: str) -> bool:
    """Tell whether the rule ends after a COUNT of occurrences."""
    return any(part.upper().startswith("COUNT=") for part in _parts(text))


def _parts(text: str) -> list[str]:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    return [part for part in body.split(";") if part]


def _with_parts(text: str, *, drop: set[str], add: str) -> str:
    kept = [part for part in _parts(text) if part.split("=", 1)[0].upper() not in drop]
    return ";".join([*kept, add])
