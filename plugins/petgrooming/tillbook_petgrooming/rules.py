"""Grooming settings: the size and coat matrix, required vaccinations, commission.

The owner stores the settings as text through the plugin settings page or
API. Each matrix setting lists ``key=value`` pairs separated by commas, such
as ``toy=0, small=0, medium=15, large=30, giant=45``. Durations are minutes
and prices are integers in the currency's minor units (pence for GBP). A
service takes its own duration and price for the smallest, short-coated pet
and adds the size and coat extras, unless its name is listed in
``flat_services``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PLUGIN = "petgrooming"
SIZES = ("toy", "small", "medium", "large", "giant")
COATS = ("short", "double", "long", "curly", "wire")
SPECIES = ("dog", "cat", "rabbit", "other")
MAX_EXTRA_MINUTES = 8 * 60
MAX_EXTRA_PRICE = 10_000_000
MAX_NAME = 60

SCHEMA: dict[str, dict[str, Any]] = {
    "required_vaccinations": {
        "type": "text",
        "label": "Required vaccinations",
        "description": (
            "Vaccinations a pet needs, valid on the appointment date, before "
            "it can be booked. Comma-separated; prefix a name with a species "
            "(dog, cat, rabbit, other) and a colon to require it for that "
            "species only, as in: Rabies, dog:DHPP, cat:FVRCP."
        ),
        "default": "Rabies, dog:DHPP, dog:Bordetella, cat:FVRCP",
    },
    "size_minutes": {
        "type": "text",
        "label": "Extra minutes by size",
        "description": (
            "Minutes added to a service's duration for each size (toy, small, "
            "medium, large, giant), as in: medium=15, large=30, giant=45."
        ),
        "default": "toy=0, small=0, medium=15, large=30, giant=45",
    },
    "coat_minutes": {
        "type": "text",
        "label": "Extra minutes by coat",
        "description": (
            "Minutes added for each coat (short, double, long, curly, wire), "
            "as in: double=30, long=30, curly=30, wire=15."
        ),
        "default": "short=0, wire=15, curly=30, double=30, long=30",
    },
    "size_prices": {
        "type": "text",
        "label": "Extra price by size",
        "description": (
            "Amount added to a service's price for each size, in minor units "
            "(1000 is 10.00), as in: medium=1000, large=2000, giant=3000."
        ),
        "default": "toy=0, small=0, medium=1000, large=2000, giant=3000",
    },
    "coat_prices": {
        "type": "text",
        "label": "Extra price by coat",
        "description": (
            "Amount added for each coat, in minor units, as in: "
            "double=800, long=1000, curly=1000, wire=500."
        ),
        "default": "short=0, wire=500, curly=1000, double=800, long=1000",
    },
    "flat_services": {
        "type": "text",
        "label": "Services without size pricing",
        "description": (
            "Names of services that keep their own duration and price for "
            "every pet, comma-separated, as in: Nail trim, Teeth brushing."
        ),
        "default": "Nail trim, Teeth brushing",
    },
    "commission_percent": {
        "type": "percent",
        "label": "Groomer commission (%)",
        "description": "Share of each grooming service a groomer earns, 0 to 100.",
        "default": 40,
    },
}


@dataclass(frozen=True)
class GroomingRules:
    """A tenant's parsed grooming settings."""

    required_vaccinations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    size_minutes: dict[str, int] = field(default_factory=dict)
    coat_minutes: dict[str, int] = field(default_factory=dict)
    size_prices: dict[str, int] = field(default_factory=dict)
    coat_prices: dict[str, int] = field(default_factory=dict)
    flat_services: frozenset[str] = frozenset()
    commission_percent: float = 40

    def required_for(self, species: str) -> list[str]:
        """Return the vaccinations a pet of ``species`` needs, in settings order."""
        names = list(self.required_vaccinations.get("*", ()))
        names.extend(self.required_vaccinations.get(species, ()))
        return names

    def is_sized(self, service_name: str) -> bool:
        """Tell whether the size and coat extras apply to a service."""
        return service_name.strip().lower() not in self.flat_services

    def timing(
        self, base_minutes: int, base_price: int, size: str, coat: str
    ) -> dict[str, int]:
        """Return the duration and price of a service for a pet's size and coat."""
        minutes = base_minutes + self.size_minutes.get(size, 0)
        minutes += self.coat_minutes.get(coat, 0)
        price = base_price + self.size_prices.get(size, 0)
        price += self.coat_prices.get(coat, 0)
        return {"duration_minutes": minutes, "price": price}


def _pairs(text: str, keys: tuple[str, ...], kind: str, maximum: int) -> dict[str, int]:
    """Parse ``key=value, ...`` into a dict; raise ValueError with the fix."""
    result: dict[str, int] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep:
            raise ValueError(f'"{item}" is not {kind}=number, as in {keys[-1]}=30')
        if key not in keys:
            raise ValueError(f'unknown {kind} "{key}"; use {", ".join(keys)}')
        if key in result:
            raise ValueError(f'{kind} "{key}" is given twice')
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(
                f'"{value.strip()}" for {key} is not a whole number'
            ) from None
        if number < 0:
            raise ValueError(f"{key} is {number}; use zero or more")
        if number > maximum:
            raise ValueError(f"{key} is {number}; use at most {maximum}")
        result[key] = number
    return result


def _vaccinations(text: str) -> dict[str, tuple[str, ...]]:
    """Parse ``Rabies, dog:DHPP`` into names by species (``*`` for every species)."""
    found: dict[str, list[str]] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        species, sep, name = item.partition(":")
        if not sep:
            species, name = "*", item
        species = species.strip().lower()
        name = " ".join(name.split())
        if species != "*" and species not in SPECIES:
            raise ValueError(f'unknown species "{species}"; use {", ".join(SPECIES)}')
        if not name:
            raise ValueError(f'"{item}" names no vaccination')
        if len(name) > MAX_NAME:
            raise ValueError(f'"{name}" is longer than {MAX_NAME} characters')
        names = found.setdefault(species, [])
        if name.lower() in {known.lower() for known in names}:
            raise ValueError(f'"{name}" is listed twice')
        names.append(name)
    return {species: tuple(names) for species, names in found.items()}


def _setting(raw: Mapping[str, Any], name: str) -> Any:
    value = raw.get(name)
    return SCHEMA[name]["default"] if value is None else value


def parse_rules(raw: Mapping[str, Any]) -> tuple[GroomingRules, dict[str, str]]:
    """Parse stored or submitted settings; return the rules and errors by setting.

    A setting that fails keeps its default in the returned rules, so stored
    settings that a newer version rejects still give usable rules.
    """
    errors: dict[str, str] = {}
    for key in raw:
        if key not in SCHEMA:
            errors[key] = f"is not a setting of {PLUGIN}; use one of: " + ", ".join(
                SCHEMA
            )
    matrices: dict[str, dict[str, int]] = {}
    matrix_kinds = {
        "size_minutes": (SIZES, "size", MAX_EXTRA_MINUTES),
        "coat_minutes": (COATS, "coat", MAX_EXTRA_MINUTES),
        "size_prices": (SIZES, "size", MAX_EXTRA_PRICE),
        "coat_prices": (COATS, "coat", MAX_EXTRA_PRICE),
    }
    for name, (keys, kind, maximum) in matrix_kinds.items():
        try:
            matrices[name] = _pairs(str(_setting(raw, name)), keys, kind, maximum)
        except ValueError as exc:
            errors[name] = str(exc)
            matrices[name] = _pairs(str(SCHEMA[name]["default"]), keys, kind, maximum)
    try:
        required = _vaccinations(str(_setting(raw, "required_vaccinations")))
    except ValueError as exc:
        errors["required_vaccinations"] = str(exc)
        required = _vaccinations(str(SCHEMA["required_vaccinations"]["default"]))
    flat = frozenset(
        " ".join(name.split()).lower()
        for name in str(_setting(raw, "flat_services")).split(",")
        if name.strip()
    )
    commission = _setting(raw, "commission_percent")
    if (
        isinstance(commission, bool)
        or not isinstance(commission, int | float)
        or not 0 <= commission <= 100
    ):
        errors["commission_percent"] = "must be a number from 0 to 100"
        commission = SCHEMA["commission_percent"]["default"]
    rules = GroomingRules(
        required_vaccinations=required,
        size_minutes=matrices["size_minutes"],
        coat_minutes=matrices["coat_minutes"],
        size_prices=matrices["size_prices"],
        coat_prices=matrices["coat_prices"],
        flat_services=flat,
        commission_percent=float(commission),
    )
    return rules, errors
