"""Studio settings: cancellation and no-show rules, fees and instructor pay.

Amounts are integers in the currency's minor units (pence for GBP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLUGIN = "fitness"
RULES = ("forfeit_credit", "charge_fee", "refund_credit")
MAX_AMOUNT = 10_000_000

SCHEMA: dict[str, dict[str, Any]] = {
    "require_pass": {
        "type": "boolean",
        "label": "Classes need a pack or membership",
        "description": (
            "When on, a client can book a class only with a class-pack credit "
            "or a membership; when off, clients without one book as drop-ins "
            "and pay at the till."
        ),
        "default": True,
    },
    "late_cancel_rule": {
        "type": "choice",
        "label": "Late cancellation",
        "choices": list(RULES),
        "description": (
            "What a cancellation inside the late-cancellation window costs: "
            "forfeit_credit keeps the credit spent, charge_fee gives the credit "
            "back and records late_cancel_fee as owed, refund_credit costs nothing."
        ),
        "default": "forfeit_credit",
    },
    "late_cancel_fee": {
        "type": "money",
        "label": "Late-cancellation fee",
        "description": "Fee in minor units when the rule is charge_fee.",
        "default": 500,
    },
    "no_show_rule": {
        "type": "choice",
        "label": "No-show",
        "choices": list(RULES),
        "description": "What a no-show costs, with the same choices.",
        "default": "forfeit_credit",
    },
    "no_show_fee": {
        "type": "money",
        "label": "No-show fee",
        "description": "Fee in minor units when the rule is charge_fee.",
        "default": 1000,
    },
    "pay_per_class": {
        "type": "money",
        "label": "Instructor pay per class",
        "description": "Paid to the instructor for each class taught, in minor units.",
        "default": 2500,
    },
    "pay_per_attendee": {
        "type": "money",
        "label": "Instructor pay per attendee",
        "description": "Paid for each client marked attended, in minor units.",
        "default": 200,
    },
}


@dataclass(frozen=True)
class StudioRules:
    """A tenant's parsed studio settings."""

    require_pass: bool = True
    late_cancel_rule: str = "forfeit_credit"
    late_cancel_fee: int = 500
    no_show_rule: str = "forfeit_credit"
    no_show_fee: int = 1000
    pay_per_class: int = 2500
    pay_per_attendee: int = 200

    def rule_for(self, change: str) -> tuple[str, int]:
        """Return the rule and fee for ``late_cancelled`` or ``no_show``."""
        if change == "late_cancelled":
            return self.late_cancel_rule, self.late_cancel_fee
        return self.no_show_rule, self.no_show_fee


def parse_rules(raw: Mapping[str, Any]) -> tuple[StudioRules, dict[str, str]]:
    """Parse stored or submitted settings; return the rules and errors by setting.

    A setting that fails keeps its default in the returned rules.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in raw:
        if key not in SCHEMA:
            errors[key] = f"is not a setting of {PLUGIN}; use one of: " + ", ".join(
                SCHEMA
            )
    for name, entry in SCHEMA.items():
        value = raw.get(name)
        if value is None:
            values[name] = entry["default"]
            continue
        if entry["type"] == "boolean":
            if not isinstance(value, bool):
                errors[name] = "must be true or false"
                value = entry["default"]
        elif entry["type"] == "choice":
            if value not in RULES:
                errors[name] = f'"{value}" is not a rule; use {", ".join(RULES)}'
                value = entry["default"]
        elif (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= MAX_AMOUNT
        ):
            errors[name] = f"must be a whole amount in minor units, 0 to {MAX_AMOUNT}"
            value = entry["default"]
        values[name] = value
    for rule, fee in (
        ("late_cancel_rule", "late_cancel_fee"),
        ("no_show_rule", "no_show_fee"),
    ):
        if values[rule] == "charge_fee" and values[fee] == 0 and fee not in errors:
            errors[fee] = f"must be more than 0 while {rule} is charge_fee"
    return StudioRules(**values), errors
