"""The vertical plugins' settings parsers and period arithmetic, without a database."""

from __future__ import annotations

from datetime import date

from tillbook_fitness.passes import clean_pass, period_bounds
from tillbook_fitness.rules import parse_rules as parse_studio_rules
from tillbook_petgrooming.rules import parse_rules as parse_grooming_rules


def test_grooming_defaults_parse_cleanly() -> None:
    rules, errors = parse_grooming_rules({})
    assert errors == {}
    assert rules.required_for("dog") == ["Rabies", "DHPP", "Bordetella"]
    assert rules.required_for("cat") == ["Rabies", "FVRCP"]
    assert rules.required_for("rabbit") == ["Rabies"]
    assert not rules.is_sized("Nail Trim")
    assert rules.is_sized("Full groom")


def test_grooming_matrix_errors_name_setting() -> None:
    cases = [
        ({"size_minutes": "large=-5"}, "size_minutes", "zero or more"),
        ({"size_minutes": "huge=5"}, "size_minutes", "unknown size"),
        ({"coat_minutes": "long"}, "coat_minutes", "coat=number"),
        ({"size_prices": "toy=1, toy=2"}, "size_prices", "twice"),
        ({"coat_prices": "wire=abc"}, "coat_prices", "whole number"),
        ({"required_vaccinations": "Rabies, rabies"}, "required_vaccinations", "twice"),
        ({"commission_percent": True}, "commission_percent", "0 to 100"),
    ]
    for settings, name, words in cases:
        rules, errors = parse_grooming_rules(settings)
        assert list(errors) == [name], settings
        assert words in errors[name], errors
    assert rules.commission_percent == 40


def test_grooming_timing_adds_extras() -> None:
    rules, _errors = parse_grooming_rules(
        {"size_minutes": "giant=45", "coat_minutes": "double=30", "size_prices": ""}
    )
    assert rules.timing(60, 4000, "giant", "double") == {
        "duration_minutes": 135,
        "price": 4000 + 800,
    }


def test_studio_rules_reject_bad_values() -> None:
    _rules, errors = parse_studio_rules(
        {"late_cancel_rule": "charge_fee", "late_cancel_fee": 0, "pay_per_class": 1.5}
    )
    assert set(errors) == {"late_cancel_fee", "pay_per_class"}
    rules, errors = parse_studio_rules({"no_show_rule": "refund_credit"})
    assert errors == {}
    assert rules.rule_for("no_show") == ("refund_credit", 1000)
    assert rules.rule_for("late_cancelled") == ("forfeit_credit", 500)


def test_membership_periods_are_calendar() -> None:
    wednesday = date(2026, 12, 2)
    assert period_bounds("week", wednesday) == (date(2026, 11, 30), date(2026, 12, 6))
    assert period_bounds("month", wednesday) == (date(2026, 12, 1), date(2026, 12, 31))
    february = date(2028, 2, 10)
    assert period_bounds("month", february) == (date(2028, 2, 1), date(2028, 2, 29))


def test_pack_expiry_counts_start_day() -> None:
    today = date(2026, 12, 4)
    pack = clean_pass(
        {"kind": "pack", "name": "5", "credits": 5, "valid_days": 30}, today
    )
    assert pack["expires_on"] == date(2027, 1, 2)
    assert pack["credits_left"] == 5
