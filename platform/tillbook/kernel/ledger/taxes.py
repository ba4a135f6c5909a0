"""Named tax rates, the tenant's ledger settings and the receipt tax summary.

A line carries its rate as a percentage string (``"20"``, ``"8.875"``) copied
from the service or product, plus the name of the tenant's tax rate with that
percentage, so a receipt can sum tax per named rate. A rate marked ``exempt``
is a zero rate shown as "tax-exempt" on receipts. The rate marked default
applies to lines that have no item of their own, such as fees.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP
from typing import Any

from tillbook.db import write_transaction
from tillbook.errors import Conflict, ValidationFailed
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.ledger.money import parse_rate
from tillbook.kernel.ledger.tables import LedgerSettings, TaxRate
from tillbook.tenancy.scope import TenantScope

# Rounding modes a tenant may choose, as :mod:`decimal` constants. ``up`` and
# ``down`` round away from and toward zero.
ROUNDING_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
}

SETTINGS_DEFAULTS: dict[str, Any] = {
    "rounding_mode": "half_up",
    "cash_increment": 0,
    "loyalty_points_per_unit": 0,
    "loyalty_point_value": 0,
    "stack_automatic": False,
}

MAX_TAX_RATES = 50
MAX_CASH_INCREMENT = 1000
MAX_POINTS_PER_UNIT = 1000


async def ledger_settings(scope: TenantScope) -> dict[str, Any]:
    """Return the tenant's ledger settings, with defaults when none are stored."""
    row = await scope.select(LedgerSettings).first()
    if row is None:
        return dict(SETTINGS_DEFAULTS)
    return {name: row[name] for name in SETTINGS_DEFAULTS}


def rounding_of(settings: dict[str, Any]) -> str:
    """Return the :mod:`decimal` rounding constant of the settings' mode."""
    return ROUNDING_MODES.get(settings["rounding_mode"], ROUND_HALF_UP)


def _int_setting(
    data: dict[str, Any], name: str, low: int, high: int, errors: dict[str, str]
) -> int | None:
    value = data.get(name)
    if isinstance(value, str) and is_whole_number(value.strip()):
        value = int(value.strip())
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        errors[name] = f"{value!r} is not a whole number from {low} to {high}"
        return None
    return value


def check_settings(data: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Return ``current`` updated with the settings in ``data``, validated.

    Raises ValidationFailed naming each bad field.
    """
    errors: dict[str, str] = {}
    merged = dict(current)
    if "rounding_mode" in data:
        mode = data["rounding_mode"]
        if mode not in ROUNDING_MODES:
            errors["rounding_mode"] = (
                f"{mode!r} is not a rounding mode: use one of "
                f"{', '.join(ROUNDING_MODES)}"
            )
        else:
            merged["rounding_mode"] = mode
    limits = {
        "cash_increment": MAX_CASH_INCREMENT,
        "loyalty_points_per_unit": MAX_POINTS_PER_UNIT,
        "loyalty_point_value": MAX_CASH_INCREMENT,
    }
    for name, high in limits.items():
        if name in data:
            value = _int_setting(data, name, 0, high, errors)
            if value is not None:
                merged[name] = value
    if "stack_automatic" in data:
        value = data["stack_automatic"]
        if not isinstance(value, bool):
            errors["stack_automatic"] = f"{value!r} is not true or false"
        else:
            merged["stack_automatic"] = value
    if errors:
        raise ValidationFailed(errors)
    return merged


async def save_settings(
    scope: TenantScope, data: dict[str, Any], actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Validate and store the tenant's ledger settings; return them."""
    async with write_transaction():
        before = await ledger_settings(scope)
        after = check_settings(data, before)
        row = await scope.select(LedgerSettings, LedgerSettings.id).first()
        if row is None:
            await scope.insert(LedgerSettings(**after))
        else:
            await scope.update(
                LedgerSettings,
                {getattr(LedgerSettings, name): value for name, value in after.items()},
            ).where(LedgerSettings.id == row["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ledger_settings.changed",
            subject_type="ledger_settings",
            subject_id=None,
            before=before,
            after=after,
        )
    return after


async def tax_rates(scope: TenantScope, *, active_only: bool = False) -> list[dict]:
    """Return the tenant's named tax rates in display order."""
    query = scope.select(TaxRate).order_by(TaxRate.position).order_by(TaxRate.name)
    if active_only:
        query = query.where(TaxRate.active.eq(True))
    return list(await query)


def default_rate(rates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the active rate marked default, if any."""
    return next((r for r in rates if r["is_default"] and r["active"]), None)


def name_for_rate(rates: list[dict[str, Any]], rate: str) -> str:
    """Return the name of the active tax rate with percentage ``rate``.

    Falls back to "Tax N%" (or "Tax-exempt" for zero) when the tenant has no
    named rate with that percentage.
    """
    try:
        wanted = parse_rate(rate)
    except ValueError:
        return f"Tax {rate}%"
    for row in rates:
        if not row["active"]:
            continue
        try:
            if parse_rate(row["rate"]) == wanted:
                return str(row["name"])
        except ValueError:
            continue
    if wanted == 0:
        return "Tax-exempt"
    return f"Tax {wanted.normalize():f}%"


RATE_FIELDS = ("name", "rate", "is_default", "exempt", "active", "position")
MAX_POSITION = 10_000


def _check_rate_fields(data: dict[str, Any], errors: dict[str, str]) -> dict:
    values: dict[str, Any] = {}
    for key in data:
        if key not in RATE_FIELDS:
            errors[str(key)] = f"is not a tax rate field: use {', '.join(RATE_FIELDS)}"
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 60:
            errors["name"] = "is required: 1 to 60 characters, such as 'VAT 20%'"
        else:
            values["name"] = name.strip()
    if "rate" in data:
        try:
            values["rate"] = str(parse_rate(str(data["rate"])).normalize())
            if "E" in values["rate"]:
                values["rate"] = f"{parse_rate(str(data['rate'])):f}"
        except ValueError as exc:
            errors["rate"] = f"{exc}: enter a percentage such as 20 or 8.875"
    for flag in ("is_default", "exempt", "active"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors[flag] = f"{data[flag]!r} is not true or false"
            else:
                values[flag] = data[flag]
    if "position" in data:
        position = data["position"]
        if isinstance(position, bool) or not isinstance(position, int):
            errors["position"] = f"{position!r} is not a whole number"
        elif not 0 <= position <= MAX_POSITION:
            errors["position"] = f"must be between 0 and {MAX_POSITION}"
        else:
            values["position"] = position
    if values.get("exempt") and "rate" in values and parse_rate(values["rate"]) != 0:
        errors["rate"] = "an exempt rate is 0: set the rate to 0 or clear exempt"
    return values


async def _clear_other_defaults(scope: TenantScope, keep: uuid.UUID) -> None:
    await scope.update(TaxRate, {TaxRate.is_default: False}).where(TaxRate.id != keep)


async def create_tax_rate(
    scope: TenantScope, data: dict[str, Any], actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Create a named tax rate; raise ValidationFailed naming each bad field."""
    errors: dict[str, str] = {}
    values = _check_rate_fields({"rate": "0", **data}, errors)
    if "name" not in values and "name" not in errors:
        errors["name"] = "is required: 1 to 60 characters, such as 'VAT 20%'"
    if errors:
        raise ValidationFailed(errors)
    if values.get("exempt"):
        values["rate"] = "0"
    async with write_transaction():
        if await scope.count(TaxRate) >= MAX_TAX_RATES:
            raise ValidationFailed(
                {"name": f"a tenant has at most {MAX_TAX_RATES} tax rates"}
            )
        taken = (
            await scope.select(TaxRate, TaxRate.id)
            .where(TaxRate.name == values["name"])
            .first()
        )
        if taken:
            raise ValidationFailed({"name": f"{values['name']!r} is already a rate"})
        row = TaxRate(**values)
        await scope.insert(row)
        if values.get("is_default"):
            await _clear_other_defaults(scope, row.id)
        created = await scope.get(TaxRate, row.id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="tax_rate.created",
            subject_type="tax_rate",
            subject_id=row.id,
            after=created,
        )
    return created


async def update_tax_rate(
    scope: TenantScope,
    rate_id: uuid.UUID | str,
    data: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Change a named tax rate; raise ValidationFailed naming each bad field.

    Lines already on tickets keep the percentage they were priced with.
    """
    errors: dict[str, str] = {}
    values = _check_rate_fields(data, errors)
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        before = await scope.get(TaxRate, rate_id)
        if "name" in values and values["name"] != before["name"]:
            taken = (
                await scope.select(TaxRate, TaxRate.id)
                .where(TaxRate.name == values["name"])
                .first()
            )
            if taken:
                raise ValidationFailed(
                    {"name": f"{values['name']!r} is already a rate"}
                )
        exempt = values.get("exempt", before["exempt"])
        rate = values.get("rate", before["rate"])
        if exempt and parse_rate(rate) != 0:
            raise ValidationFailed(
                {"rate": "an exempt rate is 0: set the rate to 0 or clear exempt"}
            )
        if values:
            await scope.update(
                TaxRate, {getattr(TaxRate, name): v for name, v in values.items()}
            ).where(TaxRate.id == before["id"])
        if values.get("is_default"):
            await _clear_other_defaults(scope, before["id"])
        after = await scope.get(TaxRate, before["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="tax_rate.changed",
            subject_type="tax_rate",
            subject_id=before["id"],
            before=before,
            after=after,
        )
    return after


async def delete_tax_rate(
    scope: TenantScope, rate_id: uuid.UUID | str, actor_id: uuid.UUID | None
) -> None:
    """Delete a named tax rate; tickets keep the percentage and name they had."""
    async with write_transaction():
        before = await scope.get(TaxRate, rate_id)
        if before["is_default"]:
            raise Conflict(
                f"{before['name']!r} is the default rate: mark another rate "
                "default first"
            )
        await scope.delete(TaxRate).where(TaxRate.id == before["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="tax_rate.deleted",
            subject_type="tax_rate",
            subject_id=before["id"],
            before=before,
        )


def tax_summary(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sum the lines' net amounts and tax per (name, rate), for receipts.

    Each row has ``name``, ``rate``, ``included`` (whether the prices
    contained the tax), ``net`` and ``tax`` in minor units.
    """
    rows: dict[tuple[str, str, bool], dict[str, Any]] = {}
    for line in lines:
        name = line.get("tax_name") or f"Tax {line['tax_rate']}%"
        key = (name, str(line["tax_rate"]), bool(line.get("tax_included")))
        row = rows.setdefault(
            key,
            {"name": name, "rate": key[1], "included": key[2], "net": 0, "tax": 0},
        )
        row["net"] += line["net"]
        row["tax"] += line["tax"]
    return sorted(rows.values(), key=lambda row: (row["name"], row["rate"]))
