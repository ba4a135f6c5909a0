"""Loading a tenant's enabled plugins and their settings."""

from __future__ import annotations

import json
from typing import Any

from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tables import PluginSetting


async def load_tenant_hooks(scope: TenantScope) -> TenantHooks:
    """Return hook callers limited to the plugins ``scope``'s tenant enabled."""
    rows = await scope.select(PluginSetting)
    enabled = {row["plugin"] for row in rows if row["enabled"]}
    settings: dict[str, dict[str, Any]] = {}
    for row in rows:
        value = row["settings"]
        settings[row["plugin"]] = json.loads(value) if isinstance(value, str) else value
    return TenantHooks(enabled, settings)
