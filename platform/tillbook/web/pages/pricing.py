"""The pricing page: tax rates, promo codes, automatic discounts and settings.

Owners and managers add and switch off rates, codes and rules here; owners
change the rounding, cash and loyalty settings. The same rules apply to the
API under ``/tax-rates``, ``/promo-codes``, ``/discount-rules`` and
``/ledger-settings``. Amounts are typed in major units and stored in minor
units.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from tillbook.errors import ValidationFailed
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.ledger import discounts, taxes
from tillbook.kernel.ledger.money import parse_major
from tillbook.kernel.ledger.tables import PromoCode, TaxRate
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import MANAGERS, OWNERS, Role
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

EDIT = {"roles": MANAGERS}
OWNER = {"roles": OWNERS}
CHECKED = ("on", "1", "yes", "true")


def _url(scope: TenantScope) -> str:
    return f"/t/{scope.tenant.slug}/staff/pricing"


def _text(form: Any, name: str) -> str:
    return str(form.get(name) or "").strip()


def _checked(form: Any, name: str) -> bool:
    return _text(form, name).lower() in CHECKED


def _whole(form: Any, name: str, errors: dict[str, str]) -> int | None:
    text = _text(form, name)
    if not text:
        return None
    if not is_whole_number(text):
        errors[name] = f"{text!r} is not a whole number"
        return None
    return int(text)


def _discount_values(
    scope: TenantScope, form: Any, errors: dict[str, str]
) -> dict[str, Any]:
    """Read ``kind`` and ``value`` (a percentage or an amount in major units)."""
    kind = _text(form, "kind") or "percent"
    value = _text(form, "value")
    if kind == "fixed":
        try:
            return {
                "kind": kind,
                "amount": parse_major(value, scope.tenant.minor_digits, "value"),
            }
        except ValidationFailed as exc:
            errors.update(exc.errors)
            return {"kind": kind}
    return {"kind": kind, "percent": value}


async def _pricing_page(
    scope: TenantScope,
    actor: Actor,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    return page(
        "pricing/index.html",
        scope,
        actor,
        status_code=status_code,
        rates=await taxes.tax_rates(scope),
        promos=await discounts.list_promos(scope),
        rules=await discounts.list_rules(scope),
        settings=await taxes.ledger_settings(scope),
        rounding_modes=list(taxes.ROUNDING_MODES),
        triggers=discounts.RULE_TRIGGERS,
        errors=errors or {},
        form=form or {},
        is_owner=actor.role == Role.OWNER,
    )


async def _save(
    scope: TenantScope, actor: Actor, request: Request[Any, Any, Any], action: Any
) -> Redirect | Template:
    form = await request.form()
    try:
        await action(form)
    except ValidationFailed as exc:
        values = {str(key): str(value) for key, value in form.items()}
        return await _pricing_page(
            scope, actor, errors=exc.errors, form=values, status_code=422
        )
    return Redirect(_url(scope), status_code=303)


@get(f"{STAFF}/pricing", opt=EDIT)
async def pricing_page(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Template:
    """Show tax rates, promo codes, automatic discounts and ledger settings."""
    return await _pricing_page(tenant_scope, actor)


@post(f"{STAFF}/pricing/tax-rates", opt=EDIT)
async def add_tax_rate_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Add a rate from ``name``, ``rate``, ``is_default`` and ``exempt``."""

    async def action(form: Any) -> None:
        await taxes.create_tax_rate(
            tenant_scope,
            {
                "name": _text(form, "name"),
                "rate": _text(form, "rate") or "0",
                "is_default": _checked(form, "is_default"),
                "exempt": _checked(form, "exempt"),
            },
            actor.account_id,
        )

    return await _save(tenant_scope, actor, request, action)


@post(f"{STAFF}/pricing/tax-rates/{{rate_id:str}}", opt=EDIT)
async def change_tax_rate_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    rate_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Make a rate the default or switch it on or off (field ``action``)."""
    await tenant_scope.get(TaxRate, rate_id)

    async def action(form: Any) -> None:
        chosen = _text(form, "action")
        values = {
            "default": {"is_default": True},
            "on": {"active": True},
            "off": {"active": False},
        }.get(chosen)
        if values is None:
            raise ValidationFailed({"action": "choose default, on or off"})
        await taxes.update_tax_rate(tenant_scope, rate_id, values, actor.account_id)

    return await _save(tenant_scope, actor, request, action)


@post(f"{STAFF}/pricing/promo-codes", opt=EDIT)
async def add_promo_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Add a promo code with its discount, dates and usage limit."""

    async def action(form: Any) -> None:
        errors: dict[str, str] = {}
        data: dict[str, Any] = {
            "code": _text(form, "code"),
            "description": _text(form, "description"),
            "valid_from": _text(form, "valid_from") or None,
            "valid_until": _text(form, "valid_until") or None,
            **_discount_values(tenant_scope, form, errors),
        }
        limit = _whole(form, "usage_limit", errors)
        if limit is not None:
            data["usage_limit"] = limit
        if errors:
            raise ValidationFailed(errors)
        await discounts.create_promo(tenant_scope, data, actor.account_id)

    return await _save(tenant_scope, actor, request, action)


@post(f"{STAFF}/pricing/promo-codes/{{promo_id:str}}", opt=EDIT)
async def toggle_promo_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    promo_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Switch a promo code on or off (field ``active``: on or off)."""
    await tenant_scope.get(PromoCode, promo_id)

    async def action(form: Any) -> None:
        await discounts.update_promo(
            tenant_scope,
            promo_id,
            {"active": _text(form, "active") == "on"},
            actor.account_id,
        )

    return await _save(tenant_scope, actor, request, action)


@post(f"{STAFF}/pricing/rules", opt=EDIT)
async def add_rule_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Add an automatic discount rule."""

    async def action(form: Any) -> None:
        errors: dict[str, str] = {}
        data: dict[str, Any] = {
            "name": _text(form, "name"),
            "trigger": _text(form, "trigger"),
            "applies_to": _text(form, "applies_to") or "all",
            **_discount_values(tenant_scope, form, errors),
        }
        for name in ("min_visits", "min_points"):
            value = _whole(form, name, errors)
            if value is not None:
                data[name] = value
        if errors:
            raise ValidationFailed(errors)
        await discounts.create_rule(tenant_scope, data, actor.account_id)

    return await _save(tenant_scope, actor, request, action)


@post(f"{STAFF}/pricing/rules/{{rule_id:str}}/delete", opt=EDIT)
async def delete_rule_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    rule_id: FromPath[str],
) -> Redirect:
    """Delete an automatic discount rule."""
    await discounts.delete_rule(tenant_scope, rule_id, actor.account_id)
    return Redirect(_url(tenant_scope), status_code=303)


@post(f"{STAFF}/pricing/settings", opt=OWNER)
async def settings_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Save the rounding mode, cash increment and loyalty settings."""

    async def action(form: Any) -> None:
        errors: dict[str, str] = {}
        data: dict[str, Any] = {
            "rounding_mode": _text(form, "rounding_mode"),
            "stack_automatic": _checked(form, "stack_automatic"),
        }
        for name in (
            "cash_increment",
            "loyalty_points_per_unit",
            "loyalty_point_value",
        ):
            data[name] = _whole(form, name, errors) or 0
        if errors:
            raise ValidationFailed(errors)
        await taxes.save_settings(tenant_scope, data, actor.account_id)

    return await _save(tenant_scope, actor, request, action)


ROUTES: list[Any] = [
    pricing_page,
    add_tax_rate_page,
    change_tax_rate_page,
    add_promo_page,
    toggle_promo_page,
    add_rule_page,
    delete_rule_page,
    settings_page,
]
