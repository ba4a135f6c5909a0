"""A tenant's plugins: which are enabled, and their validated settings."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tillbook.db import write_transaction
from tillbook.errors import NotFound, ValidationFailed
from tillbook.kernel.audit.log import record_audit
from tillbook.plugins import TenantHooks, plugin_names
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


@dataclass(frozen=True)
class SettingField:
    """One setting a plugin accepts, as the settings form shows it."""

    name: str
    label: str
    secret: bool = False
    help: str = ""
    integer: bool = False


# The settings each known plugin accepts. A key outside its plugin's list is
# rejected with 422 before the plugin's own validation runs.
# TODO: let plugins declare their settings through a hook. Until then, the
# keys of a plugin not listed here reach its tillbook_validate_settings
# without the unknown-key check.
DECLARED_FIELDS: dict[str, tuple[SettingField, ...]] = {
    "payments_stripe": (
        SettingField(
            "secret_key",
            "Secret key",
            secret=True,
            help="From the Stripe dashboard; starts with sk_test_ or sk_live_.",
        ),
        SettingField(
            "api_base",
            "API address",
            help="Leave empty to use Stripe; only a local test server goes here.",
        ),
        SettingField(
            "max_network_retries",
            "Network retries",
            help="How often a failed request to Stripe is retried, 0 to 5.",
            integer=True,
        ),
    ),
}
_SECRET_WORDS = ("secret", "password", "token", "key")
MASK = "••••"


def is_secret(plugin: str, key: str) -> bool:
    """Tell whether a setting is shown masked: declared secret, or named like one."""
    for setting in DECLARED_FIELDS.get(plugin, ()):
        if setting.name == key:
            return setting.secret
    return any(word in key.lower() for word in _SECRET_WORDS)


def masked_settings(plugin: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return settings with secret values cut to their last four characters."""
    shown: dict[str, Any] = {}
    for key, value in settings.items():
        if is_secret(plugin, key) and value:
            shown[key] = f"{MASK}{str(value)[-4:]}"
        else:
            shown[key] = value
    return shown


def _decode(value: Any) -> dict[str, Any]:
    decoded = json.loads(value) if isinstance(value, str) else value
    return dict(decoded or {})


async def list_plugins(scope: TenantScope) -> list[dict[str, Any]]:
    """Return every installed plugin with whether the tenant enabled it.

    Settings are masked (see ``masked_settings``), and ``fields`` lists the
    declared settings for the form.
    """
    rows = {row["plugin"]: row for row in await scope.select(PluginSetting)}
    plugins = []
    for name in plugin_names():
        row = rows.get(name)
        settings = _decode(row["settings"]) if row else {}
        plugins.append(
            {
                "name": name,
                "enabled": bool(row and row["enabled"]),
                "settings": masked_settings(name, settings),
                "fields": [
                    {
                        "name": setting.name,
                        "label": setting.label,
                        "secret": setting.secret,
                        "help": setting.help,
                        "integer": setting.integer,
                    }
                    for setting in DECLARED_FIELDS.get(name, ())
                ],
            }
        )
    return plugins


async def configure_plugin(
    scope: TenantScope,
    name: str,
    *,
    enabled: Any = None,
    settings: Any = None,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Enable or disable a plugin for the tenant and change its settings.

    ``enabled`` (true or false) is left as is when ``None``. ``settings`` is
    merged into the stored settings: a key set to ``null`` or an empty string
    is removed. A value starting with the mask ``••••`` (as ``list_plugins``
    shows secrets) keeps the stored value, so a client can send back what it
    listed. A form leaves a secret blank to keep it. When settings
    are given, the merged result goes to the plugin's
    ``tillbook_validate_settings`` first. The change is audited with secrets
    masked. Raises NotFound for a plugin that is not installed and
    ValidationFailed naming each bad or unknown setting.
    """
    if name not in plugin_names():
        raise NotFound("plugin", name)
    errors: dict[str, str] = {}
    if enabled is not None and not isinstance(enabled, bool):
        errors["enabled"] = "must be true or false"
    if settings is not None and not isinstance(settings, dict):
        errors["settings"] = 'must be an object such as {"secret_key": "sk_test_…"}'
    if errors:
        raise ValidationFailed(errors)

    async with write_transaction():
        row = (
            await scope.select(PluginSetting)
            .where(PluginSetting.plugin == name)
            .first()
        )
        stored = _decode(row["settings"]) if row else {}
        was_enabled = bool(row and row["enabled"])
        merged = stored
        if settings is not None:
            merged = _merge_settings(name, stored, settings)
        now_enabled = was_enabled if enabled is None else enabled
        if row is None:
            await scope.insert(
                PluginSetting(
                    plugin=name, enabled=now_enabled, settings=json.dumps(merged)
                )
            )
        else:
            await scope.update(
                PluginSetting,
                {
                    PluginSetting.enabled: now_enabled,
                    PluginSetting.settings: json.dumps(merged),
                },
            ).where(PluginSetting.plugin == name)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="plugin.configured",
            subject_type="plugin",
            subject_id=None,
            before={
                "plugin": name,
                "enabled": was_enabled,
                "settings": masked_settings(name, stored),
            },
            after={
                "plugin": name,
                "enabled": now_enabled,
                "settings": masked_settings(name, merged),
            },
        )
    return {
        "name": name,
        "enabled": now_enabled,
        "settings": masked_settings(name, merged),
    }


def _merge_settings(
    plugin: str, stored: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge ``given`` into ``stored`` and validate; raise ValidationFailed."""
    errors: dict[str, str] = {}
    declared = DECLARED_FIELDS.get(plugin)
    for key, value in given.items():
        if declared is not None and key not in {field.name for field in declared}:
            names = ", ".join(field.name for field in declared)
            errors[key] = f"is not a setting of {plugin}; use one of: {names}"
        elif value is not None and not isinstance(value, str | int | float | bool):
            errors[key] = "must be a string, number or true/false"
    if errors:
        raise ValidationFailed(errors)
    merged = dict(stored)
    for key, value in given.items():
        if isinstance(value, str) and value.startswith(MASK):
            continue  # the masked value as listed: keep the stored one
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value.strip() if isinstance(value, str) else value
    # The hook spec says only the named plugin should reply, so the caller
    # includes that plugin alone, enabled or not.
    hooks = TenantHooks({plugin}, {})
    for result in hooks.tillbook_validate_settings(plugin=plugin, settings=merged):
        errors.update(result or {})
    if errors:
        raise ValidationFailed(errors)
    return merged
