"""The schedule policy's validation and the fee arithmetic, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tillbook.errors import ValidationFailed
from tillbook.kernel.schedule.fees import FeeQuote, quote_cancellation, quote_no_show
from tillbook.kernel.schedule.policy import (
    Policy,
    parse_reminder_offsets,
    validate_policy_changes,
)

START = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)


def appointment(price: int = 6500, deposit: int = 0) -> dict[str, object]:
    return {"start_at": START, "price": price, "deposit": deposit}


@pytest.mark.parametrize(
    ("text", "offsets"),
    [
        ("1440,120", (1440, 120)),
        (" 120 , 1440 ,120", (1440, 120)),
        ("", ()),
        ("1440,", (1440,)),
        ([30, "60"], (60, 30)),
    ],
)
def test_reminder_offsets_parse(text: object, offsets: tuple[int, ...]) -> None:
    assert parse_reminder_offsets(text) == offsets


@pytest.mark.parametrize("text", ["abc", "0", "-5", "1,2,3,4,5,6", "50000", [True], 12])
def test_reminder_offsets_reject(text: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_reminder_offsets(text)
    assert "reminder_offsets" in caught.value.errors


def test_policy_changes_name_every_bad_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_policy_changes(
            Policy(),
            {
                "late_cancel_fee": -1,
                "no_show_fee_percent": 101,
                "free_cancel_hours": 1.5,
                "colour": "red",
            },
        )

    errors = caught.value.errors
    assert set(errors) == {
        "late_cancel_fee",
        "no_show_fee_percent",
        "free_cancel_hours",
        "colour",
    }
    assert "negative" in errors["late_cancel_fee"]


def test_policy_rejects_fixed_and_percent_together() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_policy_changes(
            Policy(late_cancel_fee=500), {"late_cancel_fee_percent": 10}
        )

    assert "late_cancel_fee_percent" in caught.value.errors


def test_free_window_ends_exactly_at_cutoff() -> None:
    policy = Policy(free_cancel_hours=24, late_cancel_fee=1500)
    cutoff = START - timedelta(hours=24)

    at_cutoff = quote_cancellation(policy, appointment(), cutoff)
    after = quote_cancellation(policy, appointment(), cutoff + timedelta(seconds=1))

    assert at_cutoff.fee == 0
    assert after.fee == 1500


def test_percent_fee_rounds_half_up() -> None:
    policy = Policy(no_show_fee_percent=33)

    quote = quote_no_show(policy, appointment(price=1250))

    # 33% of 12.50 is 4.125, rounded half up to 4.13.
    assert quote.fee == 413


@pytest.mark.parametrize(
    ("fee", "deposit", "from_deposit", "due", "refund"),
    [
        (1500, 0, 0, 1500, 0),
        (1500, 1000, 1000, 500, 0),
        (1500, 2000, 1500, 0, 500),
        (0, 2000, 0, 0, 2000),
    ],
)
def test_deposit_is_used_before_the_fee(
    fee: int, deposit: int, from_deposit: int, due: int, refund: int
) -> None:
    quote = FeeQuote("late_cancel", fee, deposit)

    assert quote.from_deposit == from_deposit
    assert quote.due == due
    assert quote.refund == refund
