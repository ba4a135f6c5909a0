"""Plugin discovery and the per-tenant hook callers.

Plugins are found through the ``tillbook`` entry-point group. Each tenant
enables plugins from its settings; ``TenantHooks`` calls only those.
"""

from __future__ import annotations

import logging
from typing import Any

import pluggy
from piccolo.engine.base import Engine

from tillbook import hookspecs

logger = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("tillbook")

_manager: pluggy.PluginManager | None = None


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process plugin manager, loading entry points on first use."""
    global _manager
    if _manager is None:
        manager = pluggy.PluginManager("tillbook")
        manager.add_hookspecs(hookspecs)
        count = manager.load_setuptools_entrypoints("tillbook")
        logger.info("loaded %d plugins: %s", count, sorted(plugin_names(manager)))
        _manager = manager
    return _manager


def plugin_names(manager: pluggy.PluginManager | None = None) -> list[str]:
    """Return the names of the installed plugins."""
    manager = manager or get_plugin_manager()
    return sorted(
        name
        for name, plugin in manager.list_name_plugin()
        if name is not None and plugin is not None
    )


def bind_plugin_tables(engine: Engine) -> None:
    """Point every plugin table at ``engine``."""
    for tables in get_plugin_manager().hook.tillbook_tables():
        for table in tables:
            table._meta.db = engine


class TenantHooks:
    """Hook callers that see only the plugins one tenant has enabled."""

    def __init__(self, enabled: set[str], settings: dict[str, dict[str, Any]]):
        self.enabled = frozenset(enabled)
        self.settings = settings
        self._manager = get_plugin_manager()
        self._excluded = [
            plugin
            for name, plugin in self._manager.list_name_plugin()
            if name not in self.enabled and plugin is not None
        ]

    def __getattr__(self, hook_name: str) -> Any:
        if not hook_name.startswith("tillbook_"):
            raise AttributeError(hook_name)
        return self._manager.subset_hook_caller(hook_name, self._excluded)

    def plugin_settings(self, plugin: str) -> dict[str, Any]:
        """Return the tenant's stored settings for ``plugin``."""
        return self.settings.get(plugin, {})
