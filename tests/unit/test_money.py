"""Per-line tax, discounts and typed amounts, worked to the exact minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tillbook.errors import ValidationFailed
from tillbook.kernel.ledger.money import (
    LineAmounts,
    check_amount,
    format_major,
    line_amounts,
    parse_major,
    parse_rate,
    percent_of,
)


def test_inclusive_three_units_rounds_half_up() -> None:
    # 3 x £19.97 = £59.91 including 20% tax: the tax is 5991 / 6 = 998.5p,
    # which half-up rounding makes 999p (half-even would give 998p).
    amounts = line_amounts(1997, 3, tax_rate="20", prices_include_tax=True)
    assert amounts == LineAmounts(gross=5991, discount=0, net=4992, tax=999, total=5991)


def test_inclusive_with_discount_taxes_discounted_amount() -> None:
    # £60.00 less a 10% loyalty discount of £6.00 is £54.00; tax is 54/6 = £9.00.
    discount = percent_of(6000, 10)
    amounts = line_amounts(
        6000, 1, tax_rate="20", prices_include_tax=True, discount=discount
    )
    assert amounts == LineAmounts(
        gross=6000, discount=600, net=4500, tax=900, total=5400
    )


def test_exclusive_8875_with_15_percent_discount() -> None:
    # 2 x $25.00 = $50.00, less 15% ($7.50) = $42.50; New York's 8.875% on
    # that is $3.771875, rounded to $3.77, so the line costs $46.27.
    discount = percent_of(5000, 15)
    assert discount == 750
    amounts = line_amounts(
        2500, 2, tax_rate="8.875", prices_include_tax=False, discount=discount
    )
    assert amounts == LineAmounts(
        gross=5000, discount=750, net=4250, tax=377, total=4627
    )


def test_exclusive_8875_half_cent_rounds_up() -> None:
    # $34.00 at 8.875% is $3.0175 of tax: 301.75 cents rounds to 302.
    amounts = line_amounts(3400, 1, tax_rate="8.875", prices_include_tax=False)
    assert amounts.tax == 302
    assert amounts.total == 3702


def test_jpy_has_no_minor_digits() -> None:
    # ¥1,999 including 10% consumption tax contains 1999/11 = 181.7 yen of tax.
    amounts = line_amounts(1999, 1, tax_rate="10", prices_include_tax=True)
    assert amounts == LineAmounts(gross=1999, discount=0, net=1817, tax=182, total=1999)
    assert parse_major("1999", 0, "cash_amount") == 1999
    assert format_major(1999, 0) == "1999"


def test_jpy_rejects_decimals() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_major("1999.5", 0, "cash_amount")
    assert "cash_amount" in caught.value.errors
    assert "no minor unit" in caught.value.errors["cash_amount"]


def test_kwd_three_minor_digits() -> None:
    # 12.345 KWD is 12345 fils; 5% on it is 617.25 fils, rounded to 617.
    assert parse_major("12.345", 3, "card_amount") == 12345
    amounts = line_amounts(12345, 1, tax_rate="5", prices_include_tax=False)
    assert amounts == LineAmounts(
        gross=12345, discount=0, net=12345, tax=617, total=12962
    )
    assert format_major(amounts.total, 3) == "12.962"


def test_kwd_rejects_fourth_decimal() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_major("12.3456", 3, "card_amount")
    assert "more than 3 decimal places" in caught.value.errors["card_amount"]


@pytest.mark.parametrize(
    ("text", "minor"),
    [("12.50", 1250), ("12.5", 1250), ("12", 1200), ("0.07", 7), (" 3.10 ", 310)],
)
def test_parse_major_two_digits(text: str, minor: int) -> None:
    assert parse_major(text, 2, "tip") == minor


def test_parse_major_blank_is_none() -> None:
    assert parse_major("   ", 2, "tip") is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("12.505", "more than 2 decimal places"),
        ("-5", "negative"),
        ("1,000", "not an amount"),
        ("abc", "not an amount"),
        ("99999999999", "too large"),
    ],
)
def test_parse_major_rejects_bad_input(text: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_major(text, 2, "gift_card_amount")
    assert fragment in caught.value.errors["gift_card_amount"]


def test_format_major_negative_and_padding() -> None:
    assert format_major(-5, 2) == "-0.05"
    assert format_major(100005, 3) == "100.005"


def test_percent_of_rounds_half_up() -> None:
    assert percent_of(2525, 10) == 253  # 252.5
    assert percent_of(2515, 10) == 252  # 251.5
    assert percent_of(0, 10) == 0


@pytest.mark.parametrize("rate", ["-1", "100.5", "abc", "NaN", "Infinity"])
def test_parse_rate_rejects(rate: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(rate)


def test_parse_rate_accepts_fraction() -> None:
    assert parse_rate("8.875") == Decimal("8.875")


def test_line_amounts_rejects_discount_above_gross() -> None:
    with pytest.raises(ValueError):
        line_amounts(1000, 1, tax_rate="20", prices_include_tax=True, discount=1001)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (-1, "negative"),
        (0, "greater than 0"),
        (12.5, "not an integer"),
        (True, "not an integer"),
        ("12", "not an integer"),
    ],
)
def test_check_amount_rejects(value: object, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_amount(value, "tenders[0].amount")
    assert fragment in caught.value.errors["tenders[0].amount"]


def test_check_amount_allows_zero_tip() -> None:
    assert check_amount(0, "tips[0].amount", allow_zero=True) == 0


@given(
    unit=st.integers(min_value=0, max_value=10**7),
    quantity=st.integers(min_value=1, max_value=50),
    rate=st.sampled_from(["0", "5", "8.875", "10", "20", "21", "25.5"]),
    discount_percent=st.integers(min_value=0, max_value=100),
    inclusive=st.booleans(),
)
def test_line_parts_always_add_up(
    unit: int, quantity: int, rate: str, discount_percent: int, inclusive: bool
) -> None:
    gross = unit * quantity
    discount = percent_of(gross, discount_percent)
    amounts = line_amounts(
        unit, quantity, tax_rate=rate, prices_include_tax=inclusive, discount=discount
    )
    assert amounts.net + amounts.tax == amounts.total
    charged = gross - discount
    if inclusive:
        assert amounts.total == charged
        exact = Decimal(charged) * Decimal(rate) / (100 + Decimal(rate))
    else:
        assert amounts.net == charged
        exact = Decimal(charged) * Decimal(rate) / 100
    assert abs(Decimal(amounts.tax) - exact) <= Decimal("0.5")
