"""Money arithmetic in integer minor units: discounts, per-line tax, typed amounts.

Every amount is an ``int`` in the currency's minor unit (pence, yen, fils).
Rates are percentages given as decimal strings (``"20"``, ``"8.875"``) and are
applied with :mod:`decimal`, so no binary floating point touches money. Each
line is taxed on its own and rounded to the minor unit, half-up by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from tillbook.errors import invalid

ROUNDING = ROUND_HALF_UP

# The largest amount a form or API field may carry: 10^12 minor units
# (ten billion pounds), far above any till sale, far below int64 limits.
MAX_AMOUNT = 10**12

_MAJOR_PATTERN = re.compile(r"^([0-9]+)(?:\.([0-9]+))?$")


@dataclass(frozen=True)
class LineAmounts:
    """The money of one ticket line, all in minor units.

    ``gross`` is unit price times quantity as listed (tax included when the
    tenant's prices include tax). ``total`` is what the client pays for the
    line, ``tax`` the tax inside it and ``net`` the revenue without tax, so
    ``net + tax == total`` and ``total == gross - discount`` when prices
    include tax, or ``gross - discount + tax`` when they do not.
    """

    gross: int
    discount: int
    net: int
    tax: int
    total: int


def parse_rate(value: str | int | Decimal) -> Decimal:
    """Return a percentage such as ``"8.875"`` as a Decimal.

    Raises ValueError unless the value is a finite number from 0 to 100
    with at most four decimal places (rates are stored as short text, and
    real tax rates such as 8.875 need three).
    """
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise ValueError(f"{value!r} is not a percentage from 0 to 100")
    if rate != rate.quantize(Decimal("0.0001")):
        raise ValueError(f"{value!r} has more than 4 decimal places")
    return rate


def round_minor(value: Decimal, rounding: str = ROUNDING) -> int:
    """Round a Decimal amount of minor units to a whole minor unit."""
    return int(value.quantize(Decimal(1), rounding=rounding))


def percent_of(
    amount: int, percent: str | int | Decimal, rounding: str = ROUNDING
) -> int:
    """Return ``percent`` % of ``amount``, rounded to a whole minor unit."""
    return round_minor(Decimal(amount) * parse_rate(percent) / 100, rounding)


def line_amounts(
    unit_price: int,
    quantity: int,
    *,
    tax_rate: str | int | Decimal,
    prices_include_tax: bool,
    discount: int = 0,
    rounding: str = ROUNDING,
) -> LineAmounts:
    """Compute the discount, tax and totals of one line.

    The discount is taken off the listed amount before tax is worked out.
    With prices that include tax, the tax is the part of the discounted
    amount that is tax: ``total * rate / (100 + rate)``. With prices that
    exclude it, tax is added on top: ``net * rate / 100``. Either way the tax
    is rounded once, per line. Raises ValueError on a negative quantity or
    price, a discount outside 0..gross, or a bad rate.
    """
    if quantity < 0 or unit_price < 0:
        raise ValueError("unit price and quantity must not be negative")
    gross = unit_price * quantity
    if discount < 0 or discount > gross:
        raise ValueError(f"discount {discount} is outside 0..{gross}")
    rate = parse_rate(tax_rate)
    charged = gross - discount
    if prices_include_tax:
        tax = round_minor(Decimal(charged) * rate / (100 + rate), rounding)
        return LineAmounts(gross, discount, charged - tax, tax, charged)
    tax = round_minor(Decimal(charged) * rate / 100, rounding)
    return LineAmounts(gross, discount, charged, tax, charged + tax)


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` minor units in proportion to ``weights``, exactly.

    Uses the largest-remainder method: each share is first rounded down, and
    the units left over go one each to the shares with the largest dropped
    fractions (the earlier share wins a tie). The shares sum to ``total``.
    With all weights zero the split is even. Raises ValueError on a negative
    total or weight, or an empty weight list.
    """
    if total < 0 or not weights or any(weight < 0 for weight in weights):
        raise ValueError("allocate needs a total and weights of 0 or more")
    if sum(weights) == 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    shares = [total * weight // whole for weight in weights]
    remainders = [total * weight % whole for weight in weights]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in order[:left]:
        shares[index] += 1
    return shares


def split_by_percent(total: int, percents: list[Decimal]) -> list[int]:
    """Split ``total`` by percentages that sum to 100, by largest remainder.

    Raises ValueError unless the percentages sum to exactly 100.
    """
    if sum(percents, Decimal(0)) != 100:
        raise ValueError("the percentages must add up to 100")
    scale = max((-p.as_tuple().exponent for p in percents), default=0)  # type: ignore[operator]
    factor = 10 ** max(int(scale), 0)
    return allocate(total, [int(p * factor) for p in percents])


def round_to_increment(amount: int, increment: int) -> int:
    """Round ``amount`` to the nearest multiple of ``increment``, halves up.

    Used for cash in currencies whose smallest coin is larger than the minor
    unit (CHF cash to 5 rappen: ``round_to_increment(1003, 5) == 1005``). An
    increment of 0 or 1 leaves the amount unchanged.
    """
    if increment <= 1:
        return amount
    return round_minor(Decimal(amount) / increment) * increment


def parse_major(text: str, digits: int, field: str) -> int | None:
    """Parse an amount typed in major units (``"12.50"``) into minor units.

    ``digits`` is the currency's number of minor digits (0 for JPY, 2 for GBP,
    3 for KWD). Blank input returns ``None``. The conversion is exact: input
    with more decimal places than the currency has is rejected rather than
    rounded. Raises ValidationFailed naming ``field``.
    """
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        return None
    if cleaned.startswith("-"):
        raise invalid(field, f"{text!r} is negative: enter an amount of 0 or more")
    match = _MAJOR_PATTERN.match(cleaned)
    if match is None:
        example = "1500" if digits == 0 else "12." + "5" * digits
        raise invalid(field, f"{text!r} is not an amount: enter digits like {example}")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > digits:
        if digits == 0:
            raise invalid(
                field, f"{text!r} has decimals, but the currency has no minor unit"
            )
        raise invalid(
            field,
            f"{text!r} has more than {digits} decimal places: enter at most {digits}",
        )
    amount = int(whole) * 10**digits + int(fraction.ljust(digits, "0") or "0")
    if amount > MAX_AMOUNT:
        raise invalid(field, f"{text!r} is too large")
    return amount


def format_major(amount: int, digits: int) -> str:
    """Format minor units as a plain decimal string, such as ``"12.50"``."""
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits)
    if digits == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{digits}d}"


def check_amount(value: object, field: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an amount in minor units from a JSON body.

    Accepts integers only (booleans and floats are rejected, because a float
    cannot carry money exactly). Raises ValidationFailed naming ``field`` when
    the value is not an integer, is negative, is zero while ``allow_zero`` is
    false, or exceeds ``MAX_AMOUNT``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(
            field, f"{value!r} is not an integer amount in minor units, such as 1250"
        )
    if value < 0:
        raise invalid(field, f"{value} is negative: enter an amount of 0 or more")
    if value == 0 and not allow_zero:
        raise invalid(field, "is 0: enter an amount greater than 0")
    if value > MAX_AMOUNT:
        raise invalid(field, f"{value} is too large")
    return value
