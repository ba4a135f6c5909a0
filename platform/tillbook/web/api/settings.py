"""JSON API: the business's settings and its plugins."""

from __future__ import annotations

from typing import Any

from litestar import get, patch, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from tillbook.errors import ValidationFailed
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.business import get_business_settings, update_business_settings
from tillbook.tenancy.plugin_settings import configure_plugin, list_plugins
from tillbook.tenancy.roles import MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API


@get(f"{API}/settings", opt={"roles": MANAGERS})
async def settings_show(tenant_scope: NamedDependency[TenantScope]) -> dict:
    """Return the business settings: name, branding, host, tax and loyalty."""
    return await get_business_settings(tenant_scope)


@patch(f"{API}/settings", opt={"roles": MANAGERS})
async def settings_update(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Change some settings and return them all.

    Fields: ``name``, ``brand_colour``, ``logo_url``, ``host``,
    ``prices_include_tax``, ``loyalty_min_visits``, ``loyalty_percent``
    (0 to 100), ``time_zone``, ``currency``. Raises 422 naming each bad
    field, and on ``currency`` once a ticket has been closed.
    """
    return await update_business_settings(tenant_scope, data, actor=actor)


@get(f"{API}/plugins", opt={"roles": MANAGERS})
async def plugins_index(
    tenant_scope: NamedDependency[TenantScope],
) -> list[dict[str, Any]]:
    """List installed plugins, whether each is enabled, and masked settings."""
    return await list_plugins(tenant_scope)


@put(f"{API}/plugins/{{name:str}}", opt={"roles": MANAGERS})
async def plugins_configure(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    name: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Enable or disable a plugin and change its settings.

    Body: ``{"enabled": true, "settings": {...}}``, both optional. Enabling
    applies the plugin's migrations first. Raises 404 for a plugin that is
    not installed, 422 naming each bad or unknown setting or field, and 500
    (``plugin_failed``) when the plugin's migrations or validation fail.
    """
    return await configure_from_body(tenant_scope, actor, name, data)


async def configure_from_body(
    scope: TenantScope, actor: Actor, name: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Apply a ``PUT /plugins/{name}`` body; see ``plugins_configure``."""
    unknown = {
        str(key): "is not a known field; use enabled and settings"
        for key in data
        if key not in ("enabled", "settings")
    }
    if unknown:
        raise ValidationFailed(unknown)
    return await configure_plugin(
        scope,
        name,
        enabled=data.get("enabled"),
        settings=data.get("settings"),
        actor_id=actor.account_id,
    )


ROUTES: list[Any] = [settings_show, settings_update, plugins_index, plugins_configure]
