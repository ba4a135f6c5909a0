"""Plugin discovery, the per-tenant hook callers and plugin migrations.

Plugins are found through the ``tillbook`` entry-point group. Each tenant
enables plugins from its settings; ``TenantHooks`` calls only those, one
implementation at a time, so a plugin that raises can be named, logged and
either skipped or reported (see ``tillbook.hookspecs`` for which hooks are
optional).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy
from piccolo.engine.base import Engine
from piccolo.table import Table

from tillbook import hookspecs
from tillbook.errors import TillbookError

logger = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("tillbook")

_manager: pluggy.PluginManager | None = None


class PluginFailed(TillbookError):
    """A plugin raised inside a hook the request cannot do without.

    The response is HTTP 500 because the failure is in the server's own
    code, not in the request. The message names the plugin and the hook, so
    the owner can disable the plugin or report it to its author.
    """

    code = "plugin_failed"
    status_code = 500

    def __init__(self, plugin: str, hook: str) -> None:
        super().__init__(f"plugin {plugin} failed in {hook}", plugin=plugin, hook=hook)
        self.plugin = plugin
        self.hook = hook


@dataclass(frozen=True)
class PluginMigration:
    """One step of a plugin's schema, applied once per database.

    ``tables`` are frozen copies of the plugin's tables as they were when the
    step was written, created with their indexes if missing. ``statements``
    run next on every database, and ``postgres_statements`` on PostgreSQL
    only. ``run`` is awaited last, for anything else such as copying data.
    """

    id: str
    description: str = ""
    tables: Sequence[type[Table]] = ()
    statements: Sequence[str] = ()
    postgres_statements: Sequence[str] = ()
    run: Callable[[], Awaitable[None]] | None = field(default=None, compare=False)


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


def discover_plugins() -> list[str]:
    """Load plugins installed since the manager was made; return their names.

    Routes are mounted when the app is built, so a plugin found here serves
    its routes only in apps built afterwards.
    """
    manager = get_plugin_manager()
    before = set(plugin_names(manager))
    manager.load_setuptools_entrypoints("tillbook")
    found = sorted(set(plugin_names(manager)) - before)
    if found:
        from tillbook import db

        if db._engine is not None:
            bind_plugin_tables(db._engine)
        logger.info("loaded plugins: %s", found)
    return found


def plugin_names(manager: pluggy.PluginManager | None = None) -> list[str]:
    """Return the names of the installed plugins."""
    manager = manager or get_plugin_manager()
    return sorted(
        name
        for name, plugin in manager.list_name_plugin()
        if name is not None and plugin is not None
    )


def plugin_description(name: str) -> str:
    """Return the plugin's one-line description: its distribution's summary.

    Falls back to the first line of the plugin module's docstring.
    """
    manager = get_plugin_manager()
    for plugin, dist in manager.list_plugin_distinfo():
        if manager.get_name(plugin) == name:
            summary = dist.metadata.get("Summary") if dist.metadata else None
            if summary:
                return str(summary)
    module = manager.get_plugin(name)
    doc = inspect.getdoc(module) or ""
    return doc.splitlines()[0] if doc else ""


def call_plugin_hook(plugin: str, hook_name: str, **kwargs: Any) -> Any:
    """Call one plugin's implementation of a process-level hook.

    Returns ``None`` when the plugin does not implement the hook. A failure is
    logged and raised as ``PluginFailed``.
    """
    manager = get_plugin_manager()
    caller = getattr(manager.hook, hook_name)
    for impl in caller.get_hookimpls():
        if impl.plugin_name != plugin:
            continue
        try:
            return impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception:
            logger.exception("plugin %s failed in %s", plugin, hook_name)
            raise PluginFailed(plugin, hook_name) from None
    return None


def bind_plugin_tables(engine: Engine) -> None:
    """Point every plugin table at ``engine``."""
    for tables in get_plugin_manager().hook.tillbook_tables():
        for table in tables:
            table._meta.db = engine


def _implementations(caller: Any) -> list[Any]:
    """Return a subset caller's implementations in pluggy's call order.

    pluggy keeps implementations with ``trylast`` first and ``tryfirst`` last,
    each group in registration order, and calls them from the end of the list.
    Old-style and new-style wrappers are left out: a Tillbook hook has none.
    """
    impls = [
        impl
        for impl in caller.get_hookimpls()
        if not (impl.hookwrapper or impl.wrapper)
    ]
    return list(reversed(impls))


class HookCall:
    """One hook call for one tenant, awaited for its combined result.

    ``await`` calls each enabled implementation in turn, awaiting a returned
    coroutine, and combines the results as the hook's spec defines.
    Iterating the call instead runs it synchronously, for call sites written
    before hooks became async. An ``async def`` implementation then counts
    as a failure of its plugin.
    """

    def __init__(self, hook_name: str, caller: Any, kwargs: dict[str, Any]) -> None:
        self.hook_name = hook_name
        self.caller = caller
        self.kwargs = kwargs
        spec = caller.spec
        self.firstresult = bool(spec and spec.opts.get("firstresult"))
        self.optional = hook_name in hookspecs.OPTIONAL_HOOKS

    def _arguments(self, impl: Any) -> list[Any]:
        missing = [name for name in impl.argnames if name not in self.kwargs]
        if missing:
            raise TypeError(
                f"{self.hook_name} was called without {', '.join(missing)}; "
                "the call site must pass every argument the spec names"
            )
        return [self.kwargs[name] for name in impl.argnames]

    def _failed(self, plugin: str) -> None:
        """Log a failure; raise ``PluginFailed`` unless the hook is optional."""
        if self.optional:
            logger.exception(
                "plugin %s failed in %s; its result is skipped",
                plugin,
                self.hook_name,
            )
            return
        logger.exception("plugin %s failed in %s", plugin, self.hook_name)
        raise PluginFailed(plugin, self.hook_name) from None

    async def run(self) -> Any:
        """Call every implementation and return the combined result."""
        results: list[Any] = []
        for impl in _implementations(self.caller):
            try:
                result = impl.function(*self._arguments(impl))
                if inspect.isawaitable(result):
                    result = await result
            except TillbookError:
                if self.optional:
                    self._failed(impl.plugin_name)
                    continue
                raise
            except Exception:
                self._failed(impl.plugin_name)
                continue
            if result is None:
                continue
            if self.firstresult:
                return result
            results.append(result)
        return None if self.firstresult else results

    def run_sync(self) -> Any:
        """Call every implementation synchronously; see the class docstring."""
        pairs = self.run_sync_by_plugin()
        if self.firstresult:
            return pairs[0][1] if pairs else None
        return [result for _, result in pairs]

    def run_sync_by_plugin(self) -> list[tuple[str, Any]]:
        """Call every implementation synchronously; return (plugin, result) pairs.

        For a first-result hook the list has at most one pair.
        """
        results: list[tuple[str, Any]] = []
        for impl in _implementations(self.caller):
            try:
                result = impl.function(*self._arguments(impl))
                if inspect.iscoroutine(result):
                    result.close()
                    raise TypeError(
                        f"async implementation of {self.hook_name} called without await"
                    )
            except TillbookError:
                if self.optional:
                    self._failed(impl.plugin_name)
                    continue
                raise
            except Exception:
                self._failed(impl.plugin_name)
                continue
            if result is None:
                continue
            results.append((impl.plugin_name, result))
            if self.firstresult:
                break
        return results

    def __await__(self) -> Generator[Any, None, Any]:
        return self.run().__await__()

    def __iter__(self) -> Iterator[Any]:
        result = self.run_sync()
        if self.firstresult:
            raise TypeError(f"{self.hook_name} returns one result: await the call")
        return iter(result)


class HookCaller:
    """Calls one hook for the plugins a tenant enabled; see ``HookCall``."""

    def __init__(self, hook_name: str, caller: Any) -> None:
        self.hook_name = hook_name
        self.caller = caller

    def __call__(self, **kwargs: Any) -> HookCall:
        return HookCall(self.hook_name, self.caller, kwargs)

    def get_hookimpls(self) -> list[Any]:
        """Return the enabled implementations, as pluggy lists them."""
        return list(self.caller.get_hookimpls())


class TenantHooks:
    """Hook callers that see only the plugins one tenant has enabled.

    ``hooks.tillbook_checkout_prompts(...)`` returns a ``HookCall`` to await.
    A plugin that is enabled but no longer installed is ignored.
    """

    def __init__(self, enabled: set[str], settings: dict[str, dict[str, Any]]):
        self.enabled = frozenset(enabled)
        self.settings = settings
        self._manager = get_plugin_manager()
        self._excluded = [
            plugin
            for name, plugin in self._manager.list_name_plugin()
            if name not in self.enabled and plugin is not None
        ]

    def __getattr__(self, hook_name: str) -> HookCaller:
        if not hook_name.startswith("tillbook_"):
            raise AttributeError(hook_name)
        caller = self._manager.subset_hook_caller(hook_name, self._excluded)
        return HookCaller(hook_name, caller)

    def plugin_settings(self, plugin: str) -> dict[str, Any]:
        """Return the tenant's stored settings for ``plugin``."""
        return self.settings.get(plugin, {})

    def is_enabled(self, plugin: str) -> bool:
        """Tell whether the tenant enabled ``plugin``."""
        return plugin in self.enabled
