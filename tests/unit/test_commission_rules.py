"""Commission rule precedence, tiers and amounts, without a database."""

from __future__ import annotations

import uuid

from tillbook.kernel.ledger.commissions import (
    choose_rule,
    commission_amount,
    rate_for,
)

AMIRA = uuid.uuid4()
FACIAL = uuid.uuid4()


def rule(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "staff_id": None,
        "kind": "",
        "category": "",
        "item_id": None,
        "percent": "0",
        "fixed": 0,
        "active": True,
    }
    return {**base, **values}


LINE = {"staff_id": AMIRA, "kind": "service", "category": "Facials", "item_id": FACIAL}


def test_item_beats_category_beats_kind() -> None:
    by_kind = rule(kind="service", percent="5")
    by_category = rule(category="Facials", percent="10")
    by_item = rule(item_id=FACIAL, percent="15")

    assert choose_rule([by_kind], LINE) is by_kind
    assert choose_rule([by_kind, by_category], LINE) is by_category
    assert choose_rule([by_kind, by_category, by_item], LINE) is by_item


def test_provider_rule_breaks_ties() -> None:
    everyone = rule(kind="service", percent="5")
    amira = rule(kind="service", staff_id=AMIRA, percent="8")
    someone_else = rule(item_id=FACIAL, staff_id=uuid.uuid4(), percent="50")

    assert choose_rule([everyone, amira, someone_else], LINE) is amira


def test_inactive_or_other_kind_rules_do_not_match() -> None:
    retired = rule(item_id=FACIAL, active=False)
    products = rule(kind="product")

    assert choose_rule([retired, products], LINE) is None


def test_highest_reached_tier_applies() -> None:
    base = rule(percent="10")
    tiers = [
        {"threshold": 100_000, "percent": "12", "fixed": 0},
        {"threshold": 500_000, "percent": "15", "fixed": 100},
    ]

    assert rate_for(base, tiers, 99_999) == ("10", 0)
    assert rate_for(base, tiers, 100_000) == ("12", 0)
    assert rate_for(base, tiers, 900_000) == ("15", 100)


def test_amount_rounds_half_up_and_adds_fixed() -> None:
    assert commission_amount(4167, 2, "10", 0) == 417
    assert commission_amount(1005, 1, "10", 0) == 101
    assert commission_amount(5000, 3, "0", 150) == 450
    assert commission_amount(-2084, 1, "10", 0) == -208
