"""Whole numbers typed into forms and settings: only what int() reads."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tillbook.errors import ValidationFailed
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.schedule.recurrence import parse_rule


@pytest.mark.parametrize("text", ["0", "7", "0042", "1234567890"])
def test_ascii_digits_accepted(text: str) -> None:
    assert is_whole_number(text)
    assert int(text) >= 0


@pytest.mark.parametrize(
    "text", ["", "²", "٣", "\uff11\uff12", "-3", "1.5", " 4", "--5"]
)
def test_other_text_rejected(text: str) -> None:
    assert not is_whole_number(text)


def test_signed_allows_one_minus() -> None:
    assert is_whole_number("-3", signed=True)
    assert not is_whole_number("--3", signed=True)
    assert not is_whole_number("-", signed=True)
    assert not is_whole_number("-²", signed=True)


def test_rule_interval_superscript_rejected() -> None:
    start = datetime(2026, 12, 8, 18, 0)
    with pytest.raises(ValidationFailed) as caught:
        parse_rule("FREQ=WEEKLY;INTERVAL=²", start, ZoneInfo("Europe/London"))
    assert "rule" in caught.value.errors
