"""A tenant's business settings: name, branding, host name, tax and loyalty.

The time zone may change at any time, since instants are stored in UTC. The
currency may change only until the first ticket is closed, because amounts
already posted are minor units of the old currency.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import available_timezones

from babel.numbers import get_currency_name

from tillbook.config import get_settings
from tillbook.db import write_transaction
from tillbook.errors import ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.ledger.tables import Ticket
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import COLOUR_PATTERN, logo_url_error
from tillbook.tenancy.tables import Tenant

SETTINGS_FIELDS = (
    "name",
    "brand_colour",
    "logo_url",
    "host",
    "prices_include_tax",
    "loyalty_min_visits",
    "loyalty_percent",
    "time_zone",
    "currency",
)
HOST_PATTERN = re.compile(
    r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
MAX_LOYALTY_VISITS = 1000


def settings_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the tenant row's editable settings, plus its slug."""
    values = {name: row[name] for name in SETTINGS_FIELDS}
    values["host"] = values["host"] or ""
    values["slug"] = row["slug"]
    return values


async def get_business_settings(scope: TenantScope) -> dict[str, Any]:
    """Return the tenant's current settings."""
    row = await Tenant.select().where(Tenant.id == scope.tenant_id).first()
    assert row is not None, "a scope always belongs to an existing tenant"
    return settings_json(row)


async def update_business_settings(
    scope: TenantScope, changes: Mapping[str, Any], *, actor: Actor | None = None
) -> dict[str, Any]:
    """Apply settings changes, audited with before and after, and return all settings.

    Raises ValidationFailed naming each bad field: an unknown field, a
    ``host`` another tenant uses or one under the platform's own domain, or
    a new ``currency`` once the tenant has closed a ticket.
    """
    cleaned = clean_business_settings(changes, scope.tenant.slug)
    async with write_transaction():
        before = await get_business_settings(scope)
        changed = {
            k: v
            for k, v in cleaned.items()
            if before[k] != (v or "" if k == "host" else v)
        }
        if "currency" in changed and await _has_closed_ticket(scope):
            raise invalid(
                "currency",
                f"cannot change from {before['currency']}: the business has "
                "closed tickets in it",
            )
        if changed.get("host"):
            taken = (
                await Tenant.select(Tenant.id)
                .where(Tenant.host == changed["host"])
                .where(Tenant.id != scope.tenant_id)
                .first()
            )
            if taken is not None:
                raise invalid("host", "is used by another business: choose another")
        if changed:
            await Tenant.update(
                {getattr(Tenant, k): v for k, v in changed.items()}
            ).where(Tenant.id == scope.tenant_id)
            after = await get_business_settings(scope)
            await record_audit(
                scope,
                actor_id=actor.account_id if actor else None,
                action="tenant.settings_changed",
                subject_type="tenant",
                subject_id=scope.tenant_id,
                before={k: before[k] for k in changed},
                after={k: after[k] for k in changed},
            )
        else:
            after = before
    return after


def clean_business_settings(changes: Mapping[str, Any], slug: str) -> dict[str, Any]:
    """Return settings changes checked and normalised, or raise ValidationFailed.

    The error names each bad field. Each value is checked alone: whether a
    host is free and whether the currency may change are checked by
    ``update_business_settings``.
    """
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key in changes:
        if key not in SETTINGS_FIELDS:
            names = ", ".join(SETTINGS_FIELDS)
            errors[str(key)] = f"is not a known setting; use one of: {names}"
    for name in SETTINGS_FIELDS:
        if name not in changes:
            continue
        value = changes[name]
        problem = _CHECKS[name](value)
        if problem:
            errors[name] = problem
            continue
        cleaned[name] = _normalise(name, value)
    host = cleaned.get("host")
    base_domain = get_settings().base_domain
    if host and base_domain and host.endswith(f".{base_domain.lower()}"):
        errors["host"] = (
            f"is under {base_domain}, where the business already has "
            f"{slug}.{base_domain}: enter a domain of your own"
        )
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _normalise(name: str, value: Any) -> Any:
    if name == "host":
        # No host is stored as NULL, since the column is unique.
        return (value or "").strip().lower() or None
    if isinstance(value, str):
        value = value.strip()
    if name == "currency":
        return value.upper()
    if name == "brand_colour":
        return value.lower()
    return value


def _check_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "is required: enter the business name clients see"
    if len(value.strip()) > 200:
        return "is longer than 200 characters"
    return None


def _check_colour(value: Any) -> str | None:
    if not isinstance(value, str) or not COLOUR_PATTERN.match(value.strip()):
        return "must be a hex colour such as #5b6b5a"
    return None


def _check_logo(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string: an http(s) URL, or empty for no logo"
    return logo_url_error(value)


def _check_host(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return "must be a host name such as book.example.com, or empty"
    host = value.strip().lower()
    if host and not HOST_PATTERN.match(host):
        return "must be a host name such as book.example.com, or empty"
    return None


def _check_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _check_visits(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number"
    if not 0 <= value <= MAX_LOYALTY_VISITS:
        return f"must be from 0 to {MAX_LOYALTY_VISITS}"
    return None


def _check_percent(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number"
    if not 0 <= value <= 100:
        return "must be from 0 to 100"
    return None


def _check_time_zone(value: Any) -> str | None:
    if not isinstance(value, str) or value.strip() not in available_timezones():
        return f"{value!r} is not an IANA time zone, such as Europe/London"
    return None


def _check_currency(value: Any) -> str | None:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not re.fullmatch(r"[A-Z]{3}", code) or get_currency_name(code) == code:
        return f"{value!r} is not an ISO 4217 code like GBP"
    return None


_CHECKS = {
    "name": _check_name,
    "brand_colour": _check_colour,
    "logo_url": _check_logo,
    "host": _check_host,
    "prices_include_tax": _check_bool,
    "loyalty_min_visits": _check_visits,
    "loyalty_percent": _check_percent,
    "time_zone": _check_time_zone,
    "currency": _check_currency,
}


async def _has_closed_ticket(scope: TenantScope) -> bool:
    row = (
        await scope.select(Ticket, Ticket.id)
        .where(Ticket.closed_at.is_not_null())
        .first()
    )
    return row is not None
