"""Pricing API: tax rates, promo codes, discount rules, ledger settings, wallets.

Owners and managers edit rates, codes, rules and settings; every desk role
reads them and a client's store credit and points. Money is in minor units.
"""

from __future__ import annotations

from typing import Any

from litestar import delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from tillbook.errors import ValidationFailed
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger import discounts, loyalty, taxes, wallet
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS, OWNERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

READ = {"roles": DESK}
EDIT = {"roles": MANAGERS}
OWNER = {"roles": OWNERS}


def _rate_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "rate": row["rate"],
        "is_default": row["is_default"],
        "exempt": row["exempt"],
        "active": row["active"],
        "position": row["position"],
    }


@get(f"{API}/tax-rates", opt=READ)
async def list_tax_rates(
    tenant_scope: NamedDependency[TenantScope],
) -> list[dict[str, Any]]:
    """List the named tax rates in display order."""
    return [_rate_view(row) for row in await taxes.tax_rates(tenant_scope)]


@post(f"{API}/tax-rates", opt=EDIT, status_code=201)
async def create_tax_rate(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Create a rate: ``{name, rate, is_default?, exempt?, active?, position?}``."""
    row = await taxes.create_tax_rate(tenant_scope, data, actor.account_id)
    return _rate_view(row)


@patch(f"{API}/tax-rates/{{rate_id:str}}", opt=EDIT)
async def update_tax_rate(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    rate_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change a rate; lines already on tickets keep the rate they had."""
    row = await taxes.update_tax_rate(tenant_scope, rate_id, data, actor.account_id)
    return _rate_view(row)


@delete(f"{API}/tax-rates/{{rate_id:str}}", opt=EDIT, status_code=204)
async def delete_tax_rate(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    rate_id: FromPath[str],
) -> None:
    """Delete a rate that is not the default."""
    await taxes.delete_tax_rate(tenant_scope, rate_id, actor.account_id)


@get(f"{API}/promo-codes", opt=READ)
async def list_promo_codes(
    tenant_scope: NamedDependency[TenantScope],
) -> list[dict[str, Any]]:
    """List promo codes with their use counts."""
    return await discounts.list_promos(tenant_scope)


@post(f"{API}/promo-codes", opt=EDIT, status_code=201)
async def create_promo_code(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Create a code: ``{code, kind: percent|fixed, percent?, amount?,
    valid_from?, valid_until?, usage_limit?, min_subtotal?, description?}``.
    """
    return await discounts.create_promo(tenant_scope, data, actor.account_id)


@patch(f"{API}/promo-codes/{{promo_id:str}}", opt=EDIT)
async def update_promo_code(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    promo_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change a promo code (set ``active`` false to switch it off)."""
    return await discounts.update_promo(tenant_scope, promo_id, data, actor.account_id)


@get(f"{API}/discount-rules", opt=READ)
async def list_discount_rules(
    tenant_scope: NamedDependency[TenantScope],
) -> list[dict[str, Any]]:
    """List the automatic discount rules in the order they apply."""
    return await discounts.list_rules(tenant_scope)


@post(f"{API}/discount-rules", opt=EDIT, status_code=201)
async def create_discount_rule(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Create a rule: ``{name, trigger: loyalty_tier|first_visit|birthday_month,
    kind, percent?, amount?, applies_to?, min_visits?, min_points?}``.
    """
    return await discounts.create_rule(tenant_scope, data, actor.account_id)


@patch(f"{API}/discount-rules/{{rule_id:str}}", opt=EDIT)
async def update_discount_rule(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    rule_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change an automatic rule."""
    return await discounts.update_rule(tenant_scope, rule_id, data, actor.account_id)


@delete(f"{API}/discount-rules/{{rule_id:str}}", opt=EDIT, status_code=204)
async def delete_discount_rule(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    rule_id: FromPath[str],
) -> None:
    """Delete an automatic rule."""
    await discounts.delete_rule(tenant_scope, rule_id, actor.account_id)


@get(f"{API}/ledger-settings", opt=READ)
async def show_ledger_settings(
    tenant_scope: NamedDependency[TenantScope],
) -> dict[str, Any]:
    """Return the rounding mode, cash increment and loyalty settings."""
    return await taxes.ledger_settings(tenant_scope)


@put(f"{API}/ledger-settings", opt=OWNER)
async def save_ledger_settings(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change settings: ``{rounding_mode?, cash_increment?,
    loyalty_points_per_unit?, loyalty_point_value?, stack_automatic?}``.
    """
    unknown = {
        key: "is not a ledger setting"
        for key in data
        if key not in taxes.SETTINGS_DEFAULTS
    }
    if unknown:
        raise ValidationFailed(unknown)
    return await taxes.save_settings(tenant_scope, data, actor.account_id)


@get(f"{API}/clients/{{client_id:str}}/wallet", opt=READ)
async def client_wallet(
    tenant_scope: NamedDependency[TenantScope], client_id: FromPath[str]
) -> dict[str, Any]:
    """Return a client's store credit, latest wallet entries and points."""
    view = await wallet.wallet_view(tenant_scope, client_id)
    client = await tenant_scope.get(Client, client_id)
    view["loyalty"] = await loyalty.account_of(tenant_scope, client["id"])
    return view


@post(f"{API}/clients/{{client_id:str}}/wallet/credit", opt=OWNER, status_code=201)
async def credit_wallet(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    client_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Give goodwill store credit: ``{amount, reason}``; returns the balance."""
    unknown = {k: "is not a field" for k in data if k not in ("amount", "reason")}
    if unknown:
        raise ValidationFailed(unknown)
    return await wallet.issue_credit(tenant_scope, client_id, data, actor.account_id)


ROUTES: list[Any] = [
    list_tax_rates,
    create_tax_rate,
    update_tax_rate,
    delete_tax_rate,
    list_promo_codes,
    create_promo_code,
    update_promo_code,
    list_discount_rules,
    create_discount_rule,
    update_discount_rule,
    delete_discount_rule,
    show_ledger_settings,
    save_ledger_settings,
    client_wallet,
    credit_wallet,
]
