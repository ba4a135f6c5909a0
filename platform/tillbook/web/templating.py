"""Jinja2 filters and the helper that renders tenant-branded pages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from jinja2 import Environment
from litestar.response import Template

from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.scope import TenantInfo, TenantScope, minor_digits


def format_money(amount: int | None, currency: str) -> str:
    """Format minor units as a localised amount, such as ``£12.50``."""
    if amount is None:
        return ""
    digits = minor_digits(currency)
    value = Decimal(amount).scaleb(-digits)
    return format_currency(value, currency, locale="en_GB", currency_digits=True)


def to_major(amount: int | None, currency: str) -> str:
    """Format minor units as a plain decimal string for form inputs (``12.50``)."""
    if amount is None:
        return ""
    digits = minor_digits(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"


def local_time(value: datetime | None, zone: str, pattern: str = "%H:%M") -> str:
    """Format an aware datetime in the tenant's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime(pattern)


def configure_environment(env: Environment) -> None:
    """Install the filters every template may use."""
    env.filters["money"] = format_money
    env.filters["major"] = to_major
    env.filters["localtime"] = local_time
    env.autoescape = True


def page(
    template_name: str,
    scope: TenantScope | TenantInfo | None,
    actor: Actor | None = None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """Render ``template_name`` with the tenant's branding and the actor."""
    tenant = scope.tenant if isinstance(scope, TenantScope) else scope
    return Template(
        template_name=template_name,
        context={"tenant": tenant, "actor": actor, **context},
        status_code=status_code,
    )
