"""Pricing a ticket: discounts in a fixed order, then tax, line by line.

The combining order, applied to each line's listed amount (unit price times
quantity, tax included when the line's prices include tax):

1. Automatic rules for the line (loyalty tier, first visit, birthday
   month, and the tenant's own loyalty percentage). Only the largest one
   applies unless the tenant stacks automatic rules, in which case they
   apply one after another in rule order.
2. Manual discounts on the line, in the order they were added.
3. Ticket-level discounts, in this order: the promo code, manual ticket
   discounts in the order added, then loyalty points taken as a discount.
   Each is worked out on what is left of the eligible lines and spread over
   them in proportion to their remaining amounts (largest remainder), so
   every line's tax stays exact.

A percentage applies to the amount left after the discounts before it, and
is rounded with the tenant's rounding mode. Every discount is capped at what
is left, so no line and no ticket goes below zero. Gift card lines take no
discounts, because the card's value is owed in full. Tax is then worked out
per line on the discounted amount (``money.line_amounts``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tillbook.kernel.ledger.money import allocate, line_amounts, percent_of

# Line kinds that discounts may reduce.
DISCOUNTABLE = ("service", "product", "package", "membership", "fee")
TICKET_SOURCE_ORDER = {"promo": 0, "manual": 1, "points": 2}


@dataclass(frozen=True)
class Discount:
    """One discount to apply: a percentage or a fixed amount in minor units.

    ``line_id`` is None for a ticket-level discount. ``key`` identifies the
    stored ``TicketDiscount`` row (or rule) the applied amount is reported
    for.
    """

    key: str
    kind: str
    percent: Decimal = Decimal(0)
    amount: int = 0
    reason: str = ""
    source: str = "manual"
    line_id: uuid.UUID | None = None


@dataclass
class PricedLine:
    """The amounts of one line after discounts and tax, in minor units."""

    line_id: uuid.UUID
    gross: int
    line_discount: int
    discount: int
    net: int
    tax: int
    total: int
    reasons: list[str] = field(default_factory=list)


@dataclass
class PricedTicket:
    """The priced lines, the amount each discount took, and the totals."""

    lines: list[PricedLine]
    applied: dict[str, int]

    @property
    def subtotal(self) -> int:
        return sum(line.gross for line in self.lines)

    @property
    def discount(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)


def _take(discount: Discount, left: int, rounding: str) -> int:
    """Return what ``discount`` takes off ``left``, never more than ``left``."""
    if discount.kind == "percent":
        wanted = percent_of(left, discount.percent, rounding)
    else:
        wanted = discount.amount
    return max(0, min(wanted, left))


def _choose_automatic(
    rules: list[Discount], gross: int, *, stack: bool, rounding: str
) -> list[Discount]:
    if stack or len(rules) <= 1:
        return rules
    best = max(rules, key=lambda rule: _take(rule, gross, rounding))
    return [best]


def price_ticket(
    lines: list[dict[str, Any]],
    discounts: list[Discount],
    automatic: dict[uuid.UUID, list[Discount]],
    *,
    rounding: str,
    stack_automatic: bool = False,
) -> PricedTicket:
    """Price ``lines`` with ``discounts`` and ``automatic`` rules per line id.

    Each line dict needs ``id``, ``kind``, ``unit_price``, ``quantity``,
    ``tax_rate`` and ``tax_included``. The order of ``discounts`` within a
    level is the order they apply in. Pure: reads and writes nothing.
    """
    applied: dict[str, int] = {discount.key: 0 for discount in discounts}
    left: dict[uuid.UUID, int] = {}
    reasons: dict[uuid.UUID, list[str]] = {}
    for line in lines:
        gross = line["unit_price"] * line["quantity"]
        left[line["id"]] = gross
        reasons[line["id"]] = []
        if line["kind"] not in DISCOUNTABLE:
            continue
        chosen = _choose_automatic(
            automatic.get(line["id"], []),
            gross,
            stack=stack_automatic,
            rounding=rounding,
        )
        own = [d for d in discounts if d.line_id == line["id"]]
        for discount in [*chosen, *own]:
            taken = _take(discount, left[line["id"]], rounding)
            left[line["id"]] -= taken
            applied[discount.key] = applied.get(discount.key, 0) + taken
            if taken and discount.reason:
                reasons[line["id"]].append(discount.reason)
    after_line = dict(left)
    eligible = [line for line in lines if line["kind"] in DISCOUNTABLE]
    ticket_level = sorted(
        (d for d in discounts if d.line_id is None),
        key=lambda d: TICKET_SOURCE_ORDER.get(d.source, 1),
    )
    for discount in ticket_level:
        base = sum(left[line["id"]] for line in eligible)
        taken = _take(discount, base, rounding)
        if not taken:
            continue
        shares = allocate(taken, [left[line["id"]] for line in eligible])
        for line, share in zip(eligible, shares, strict=True):
            left[line["id"]] -= share
            if share and discount.reason:
                reasons[line["id"]].append(discount.reason)
        applied[discount.key] = applied.get(discount.key, 0) + taken
    priced = []
    for line in lines:
        gross = line["unit_price"] * line["quantity"]
        amounts = line_amounts(
            line["unit_price"],
            line["quantity"],
            tax_rate=line["tax_rate"],
            prices_include_tax=bool(line["tax_included"]),
            discount=gross - left[line["id"]],
            rounding=rounding,
        )
        priced.append(
            PricedLine(
                line_id=line["id"],
                gross=gross,
                line_discount=gross - after_line[line["id"]],
                discount=amounts.discount,
                net=amounts.net,
                tax=amounts.tax,
                total=amounts.total,
                reasons=reasons[line["id"]],
            )
        )
    return PricedTicket(priced, applied)
