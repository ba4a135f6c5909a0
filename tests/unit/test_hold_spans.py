"""The spans an appointment holds, as booking and the holds migration compute them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tillbook.db.migrations import tillbook_2026_12_04t19_40_holds as migration
from tillbook.kernel.schedule.availability import Timing
from tillbook.kernel.schedule.holds import appointment_spans

START = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
CASES = [
    # duration, buffer before, buffer after, processing after, processing
    (60, 0, 0, None, 0),
    (60, 10, 15, None, 0),
    (90, 0, 0, 30, 30),
    (90, 15, 10, 30, 30),
    (90, 0, 0, 0, 30),
    (60, 0, 10, 45, 60),
]


def minutes(spans: list[tuple[datetime, datetime]]) -> list[tuple[int, int]]:
    return [
        (int((a - START).total_seconds() // 60), int((b - START).total_seconds() // 60))
        for a, b in spans
    ]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_spans_agree_everywhere(case: tuple[int, int, int, int | None, int]) -> None:
    duration, before, after, gap_after, gap = case
    end = START + timedelta(minutes=duration)
    provider, whole = appointment_spans(
        START,
        end,
        buffer_before_minutes=before,
        buffer_after_minutes=after,
        processing_after_minutes=gap_after,
        processing_minutes=gap,
    )
    assert whole == (START - timedelta(minutes=before), end + timedelta(minutes=after))
    timing = Timing(duration, before, after, gap_after, gap)
    expected = [(a // 60, b // 60) for a, b in timing.provider_offsets()]
    assert minutes(provider) == expected
    row = {
        "tenant_id": uuid.uuid4(),
        "id": uuid.uuid4(),
        "staff_id": uuid.uuid4(),
        "start_at": START,
        "end_at": end,
        "buffer_before_minutes": before,
        "buffer_after_minutes": after,
        "processing_after_minutes": gap_after,
        "processing_minutes": gap,
    }
    backfilled = [(h.start_at, h.end_at) for h in migration._provider_holds(row)]
    assert backfilled == provider


def test_gap_splits_provider_hold() -> None:
    provider, whole = appointment_spans(
        START,
        START + timedelta(minutes=90),
        processing_after_minutes=30,
        processing_minutes=30,
    )
    assert minutes(provider) == [(0, 30), (60, 90)]
    assert minutes([whole]) == [(0, 90)]
