"""Property tests of ticket pricing: caps, exact splits and balanced postings."""

from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tillbook.kernel.ledger.journal import line_postings
from tillbook.kernel.ledger.money import allocate, split_by_percent
from tillbook.kernel.ledger.pricing import Discount, price_ticket
from tillbook.kernel.ledger.taxes import ROUNDING_MODES

KINDS = ["service", "product", "fee", "gift_card", "package"]
RATES = ["0", "5", "8.875", "10", "20", "21"]

line_strategy = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(KINDS),
        "unit_price": st.integers(min_value=0, max_value=500_000),
        "quantity": st.integers(min_value=1, max_value=20),
        "tax_rate": st.sampled_from(RATES),
        "tax_included": st.booleans(),
    }
)


@st.composite
def tickets(draw: st.DrawFn) -> tuple[list[dict], list[Discount]]:
    lines = draw(st.lists(line_strategy, min_size=1, max_size=6))
    for line in lines:
        line["id"] = uuid.uuid4()
    discounts = []
    for index in range(draw(st.integers(min_value=0, max_value=5))):
        target = draw(st.one_of(st.none(), st.sampled_from(lines)))
        kind = draw(st.sampled_from(["percent", "fixed"]))
        discounts.append(
            Discount(
                key=str(index),
                kind=kind,
                percent=Decimal(draw(st.integers(min_value=1, max_value=100))),
                amount=draw(st.integers(min_value=1, max_value=1_000_000)),
                source=draw(st.sampled_from(["manual", "promo", "points"])),
                line_id=target["id"] if target else None,
            )
        )
    return lines, discounts


@settings(max_examples=300)
@given(tickets(), st.sampled_from(sorted(ROUNDING_MODES.values())))
def test_priced_lines_stay_consistent(ticket, rounding) -> None:
    lines, discounts = ticket

    priced = price_ticket(lines, discounts, {}, rounding=rounding)

    for line, result in zip(lines, priced.lines, strict=True):
        assert 0 <= result.discount <= result.gross
        assert result.line_discount <= result.discount
        assert result.net + result.tax == result.total
        assert result.total >= 0
        if line["kind"] == "gift_card":
            assert result.discount == 0
    assert sum(priced.applied.values()) == priced.discount


@settings(max_examples=300)
@given(
    tickets(),
    st.sampled_from(sorted(ROUNDING_MODES.values())),
    st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=4),
    st.integers(min_value=0, max_value=10_000),
)
def test_sale_postings_sum_to_zero(ticket, rounding, tender_weights, tip) -> None:
    lines, discounts = ticket
    priced = price_ticket(lines, discounts, {}, rounding=rounding)
    drafts = []
    for line, result in zip(lines, priced.lines, strict=True):
        drafts += line_postings(
            line["kind"],
            net=result.net,
            discount=result.discount,
            tax=result.tax,
            total=result.total,
            item_id=None,
            item_name="item",
            category="",
            staff_id=None,
        )
    due = priced.total + tip

    tenders = allocate(due, tender_weights)

    assert sum(tenders) == due
    amounts = [draft.amount for draft in drafts] + tenders + [-tip]
    assert sum(amounts) == 0


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=8),
)
def test_allocate_is_exact_and_fair(total, weights) -> None:
    shares = allocate(total, weights)

    assert sum(shares) == total
    whole = sum(weights) or len(weights)
    for share, weight in zip(shares, weights or [], strict=True):
        exact = Decimal(total) * (weight if sum(weights) else 1) / whole
        assert abs(Decimal(share) - exact) < 1


def test_split_sixty_forty_odd_amount() -> None:
    assert split_by_percent(1001, [Decimal(60), Decimal(40)]) == [601, 400]
    assert split_by_percent(1, [Decimal("33.3"), Decimal("33.3"), Decimal("33.4")]) == [
        0,
        0,
        1,
    ]
