"""A tenant's plugins: which are enabled, and their validated settings."""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tillbook.db import write_transaction
from tillbook.errors import NotFound, ValidationFailed
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.plugins import (
    PluginFailed,
    TenantHooks,
    call_plugin_hook,
    plugin_description,
    plugin_names,
)
from tillbook.tenancy.plugin_migrations import apply_plugin_migrations
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tables import PluginSetting

logger = logging.getLogger(__name__)


# The hooks each tenant had when this process last loaded them, for code
# that cannot await a database read (page branding). Refreshed by every
# ``load_tenant_hooks`` and ``configure_plugin``; another process's change
# shows here on this process's next load for that tenant.
_recent_hooks: dict[uuid.UUID, TenantHooks] = {}
_MAX_CACHED_TENANTS = 10_000


async def load_tenant_hooks(scope: TenantScope) -> TenantHooks:
    """Return hook callers limited to the plugins ``scope``'s tenant enabled."""
    rows = await scope.select(PluginSetting)
    enabled = {row["plugin"] for row in rows if row["enabled"]}
    settings: dict[str, dict[str, Any]] = {}
    for row in rows:
        value = row["settings"]
        settings[row["plugin"]] = json.loads(value) if isinstance(value, str) else value
    hooks = TenantHooks(enabled, settings)
    if len(_recent_hooks) >= _MAX_CACHED_TENANTS:
        _recent_hooks.clear()
    _recent_hooks[scope.tenant_id] = hooks
    return hooks


def cached_tenant_hooks(tenant_id: uuid.UUID) -> TenantHooks | None:
    """Return the tenant's hooks as this process last loaded them, if it did."""
    return _recent_hooks.get(tenant_id)


@dataclass(frozen=True)
class SettingField:
    """One setting a plugin accepts, as its schema declares it.

    ``type`` is one of ``SETTING_TYPES``; ``help`` is the schema's
    ``description``.
    """

    name: str
    label: str
    secret: bool = False
    help: str = ""
    integer: bool = False
    type: str = "text"
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the field as the settings API lists it."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "description": self.help,
            "help": self.help,
            "default": self.default,
            "secret": self.secret,
            "integer": self.integer,
            "choices": list(self.choices),
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


SETTING_TYPES = (
    "text",
    "integer",
    "number",
    "boolean",
    "minutes",
    "money",
    "percent",
    "choice",
    "tiers",
)
_INTEGER_TYPES = ("integer", "minutes", "money")

# Settings of plugins that predate ``tillbook_settings_schema``. A plugin
# that implements the hook is described by it instead.
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
            type="integer",
        ),
    ),
}


def field_from_schema(name: str, entry: Mapping[str, Any]) -> SettingField:
    """Build a ``SettingField`` from one entry of a plugin's settings schema."""
    kind = str(entry.get("type", "text"))
    if kind not in SETTING_TYPES:
        raise ValueError(f"setting {name} has unknown type {kind!r}")
    return SettingField(
        name=name,
        label=str(entry.get("label") or name.replace("_", " ").capitalize()),
        secret=bool(entry.get("secret", False)),
        help=str(entry.get("description", "")),
        integer=kind in _INTEGER_TYPES,
        type=kind,
        default=entry.get("default"),
        choices=tuple(str(choice) for choice in entry.get("choices", ())),
        minimum=entry.get("minimum"),
        maximum=entry.get("maximum"),
    )


def plugin_fields(plugin: str) -> tuple[SettingField, ...] | None:
    """Return the settings ``plugin`` declares, or ``None`` when it declares none.

    Raises ``PluginFailed`` when the plugin's schema hook raises or returns
    a malformed schema.
    """
    schema = call_plugin_hook(plugin, "tillbook_settings_schema")
    if schema is None:
        return DECLARED_FIELDS.get(plugin)
    try:
        return tuple(field_from_schema(name, entry) for name, entry in schema.items())
    except (AttributeError, TypeError, ValueError):
        logger.exception("plugin %s returned a malformed settings schema", plugin)
        raise PluginFailed(plugin, "tillbook_settings_schema") from None


async def plugin_settings(scope: TenantScope, plugin: str) -> dict[str, Any]:
    """Return ``plugin``'s settings for the tenant: stored values over defaults."""
    values = {
        field.name: field.default
        for field in plugin_fields(plugin) or ()
        if field.default is not None
    }
    row = (
        await scope.select(PluginSetting, PluginSetting.settings)
        .where(PluginSetting.plugin == plugin)
        .first()
    )
    if row is not None:
        values.update(_decode(row["settings"]))
    return values


_SECRET_WORDS = ("secret", "password", "token", "key")
MASK = "••••"


def is_secret(plugin: str, key: str) -> bool:
    """Tell whether a setting is shown masked: declared secret, or named like one."""
    for setting in plugin_fields(plugin) or ():
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

    Each entry has the plugin's ``description``, its masked ``settings``
    (see ``masked_settings``) and ``fields``, the settings schema the form
    and API clients show.
    """
    rows = {row["plugin"]: row for row in await scope.select(PluginSetting)}
    plugins = []
    for name in plugin_names():
        row = rows.get(name)
        settings = _decode(row["settings"]) if row else {}
        plugins.append(
            {
                "name": name,
                "description": plugin_description(name),
                "enabled": bool(row and row["enabled"]),
                "settings": masked_settings(name, settings),
                "fields": [field.as_dict() for field in plugin_fields(name) or ()],
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

    ``enabled`` (true or false) is left as is when ``None``. Enabling applies
    the plugin's pending migrations first; disabling keeps the plugin's rows.
    ``settings`` is merged into the stored settings: a key set to ``null``
    or an empty string is removed. A value starting with the mask ``••••``
    (as ``list_plugins`` shows secrets) keeps the stored value, so a client
    can send back what it listed. A form leaves a secret blank to keep it.
    Given settings are checked against the plugin's schema and then by its
    ``tillbook_validate_settings``. The change is audited with secrets
    masked. Raises NotFound for a plugin that is not installed,
    ValidationFailed naming each bad or unknown setting, and PluginFailed
    when the plugin's migrations fail.
    """
    if name not in plugin_names():
        raise NotFound("plugin", name)
    errors: dict[str, str] = {}
    if enabled is not None and not isinstance(enabled, bool):
        errors["enabled"] = "must be true or false"
    if settings is not None and not isinstance(settings, dict):
        errors["settings"] = (
            f"must be an object of {name} setting names to values, "
            "such as {} to keep them all"
        )
    if errors:
        raise ValidationFailed(errors)
    if settings is not None:
        check_settings(name, settings)
    if enabled:
        await apply_plugin_migrations(name)

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
            merged = await _merge_settings(name, stored, settings)
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
    await load_tenant_hooks(scope)
    if now_enabled != was_enabled:
        logger.info(
            "plugin %s %s for tenant %s",
            name,
            "enabled" if now_enabled else "disabled",
            scope.tenant.slug,
        )
    return {
        "name": name,
        "enabled": now_enabled,
        "settings": masked_settings(name, merged),
    }


def check_settings(plugin: str, given: Mapping[str, Any]) -> None:
    """Check ``given`` against the plugin's schema; raise ValidationFailed.

    A ``None`` or empty-string value (which removes the setting) and a
    masked secret sent back as listed are not checked.
    """
    declared = plugin_fields(plugin)
    errors: dict[str, str] = {}
    by_name = {field.name: field for field in declared or ()}
    for key, value in given.items():
        if declared is not None and key not in by_name:
            names = ", ".join(by_name) or "none"
            errors[key] = f"is not a setting of {plugin}; use one of: {names}"
            continue
        if value is None or value == "":
            continue
        if isinstance(value, str) and value.startswith(MASK):
            continue
        field = by_name.get(key)
        message = (
            setting_error(field, value) if field is not None else _scalar_error(value)
        )
        if message:
            errors[key] = message
    if errors:
        raise ValidationFailed(errors)


def _scalar_error(value: Any) -> str:
    if isinstance(value, str | int | float | bool):
        return ""
    return "must be a string, number or true/false"


def setting_error(field: SettingField, value: Any) -> str:
    """Return what is wrong with ``value`` for ``field``, or ``""``."""
    kind = field.type
    if kind == "text":
        return "" if isinstance(value, str) else "must be text"
    if kind == "boolean":
        return "" if isinstance(value, bool) else "must be true or false"
    if kind == "tiers":
        return tiers_error(value)
    if kind == "choice":
        if value in field.choices:
            return ""
        return f"must be one of: {', '.join(field.choices)}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    if kind in _INTEGER_TYPES or kind == "integer":
        if not isinstance(value, int):
            return "must be a whole number"
    if kind in ("minutes", "money", "percent") and value < 0:
        unit = {"minutes": "minutes", "money": "minor units", "percent": "percent"}
        return f"must not be negative: enter 0 or more {unit[kind]}"
    if kind == "percent" and value > 100:
        return "must be a percentage from 0 to 100"
    if field.minimum is not None and value < field.minimum:
        return f"must be at least {field.minimum:g}"
    if field.maximum is not None and value > field.maximum:
        return f"must be at most {field.maximum:g}"
    return ""


def tiers_error(value: Any) -> str:
    """Return what is wrong with a commission tier list, or ``""``.

    A tier is ``{"from": int, "to": int | None, "percent": number}``, where
    ``from`` is inclusive, ``to`` exclusive and ``None`` means no upper end.
    Tiers may leave gaps but must not overlap.
    """
    if not isinstance(value, list):
        return (
            'must be a list of tiers such as [{"from": 0, "to": null, "percent": 40}]'
        )
    spans: list[tuple[int, int | None]] = []
    for position, tier in enumerate(value, start=1):
        if not isinstance(tier, dict) or set(tier) - {"from", "to", "percent"}:
            return f"tier {position} must have only from, to and percent"
        low, high, percent = tier.get("from"), tier.get("to"), tier.get("percent")
        if isinstance(low, bool) or not isinstance(low, int) or low < 0:
            return f"tier {position}: from must be a whole number of 0 or more"
        if high is not None and (
            isinstance(high, bool) or not isinstance(high, int) or high <= low
        ):
            return f"tier {position}: to must be empty or a whole number above from"
        if (
            isinstance(percent, bool)
            or not isinstance(percent, int | float)
            or not 0 <= percent <= 100
        ):
            return f"tier {position}: percent must be from 0 to 100"
        spans.append((low, high))
    spans.sort(key=lambda span: span[0])
    for (low, high), (next_low, next_high) in itertools.pairwise(spans):
        if high is None or next_low < high:
            upper = "" if high is None else str(high)
            next_upper = "" if next_high is None else str(next_high)
            return (
                f"tiers {low}-{upper} and {next_low}-{next_upper} overlap: "
                "start each tier at or after the end of the one before"
            )
    return ""


def parse_form_setting(field: SettingField, raw: str, present: bool) -> Any:
    """Turn a settings-form value into the type the schema expects.

    ``present`` is whether the form sent the field at all (an unticked
    checkbox is absent). Tiers are entered one per line as ``from to
    percent`` (leave ``to`` as ``-`` for no upper end). A value that does
    not parse is returned as text, so ``setting_error`` names the problem.
    """
    raw = raw.strip()
    if field.type == "boolean":
        return present
    if field.type in _INTEGER_TYPES:
        return int(raw) if is_whole_number(raw, signed=True) else raw
    if field.type in ("number", "percent"):
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() else number
    if field.type == "tiers":
        return _parse_tier_lines(raw)
    return raw


def _parse_tier_lines(raw: str) -> Any:
    tiers: list[dict[str, Any]] = []
    for line in raw.splitlines():
        parts = line.replace(",", " ").split()
        if not parts:
            continue
        if len(parts) != 3:
            return raw
        low, high, percent = parts
        try:
            tiers.append(
                {
                    "from": int(low),
                    "to": None if high in ("-", "") else int(high),
                    "percent": float(percent) if "." in percent else int(percent),
                }
            )
        except ValueError:
            return raw
    return tiers


def format_form_setting(field: SettingField, value: Any) -> str:
    """Show a stored value in the settings form, the inverse of parsing it."""
    if value is None:
        return ""
    if field.type == "tiers" and isinstance(value, list):
        return "\n".join(
            f"{tier.get('from')} {'-' if tier.get('to') is None else tier.get('to')} "
            f"{tier.get('percent')}"
            for tier in value
            if isinstance(tier, dict)
        )
    return str(value)


async def _merge_settings(
    plugin: str, stored: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge ``given`` into ``stored`` and run the plugin's own validation."""
    errors: dict[str, str] = {}
    merged = dict(stored)
    for key, value in given.items():
        if isinstance(value, str) and value.startswith(MASK):
            continue  # the masked value as listed: keep the stored one
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value.strip() if isinstance(value, str) else value
    # The hook spec says only the named plugin is called, so the caller
    # includes that plugin alone, enabled or not.
    hooks = TenantHooks({plugin}, {})
    for result in await hooks.tillbook_validate_settings(
        plugin=plugin, settings=merged
    ):
        errors.update(result or {})
    if errors:
        raise ValidationFailed(errors)
    return merged
