"""Mounting each installed plugin's routes under its own paths.

A plugin's ``tillbook_routes`` handlers are copied onto two routers per
plugin. Handlers whose path starts with ``/api/`` are mounted under
``/t/{slug}/api/v1/plugins/<plugin>/``, the others under
``/t/{slug}/staff/plugins/<plugin>/``. A router guard answers 404 to a
tenant that has not enabled the plugin.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from litestar import Router, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.params import JSONBody

from tillbook.errors import NotFound
from tillbook.plugins import call_plugin_hook, plugin_names
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.api.settings import configure_from_body
from tillbook.web.deps import provide_hooks
from tillbook.web.paths import API, STAFF

logger = logging.getLogger(__name__)

API_PREFIX = "/api"


def _enabled_guard(plugin: str) -> Any:
    async def plugin_enabled(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        hooks = await provide_hooks(connection)
        if not hooks.is_enabled(plugin):
            raise NotFound("page", connection.url.path)

    return plugin_enabled


def _configure_handler(plugin: str) -> HTTPRouteHandler:
    """Return ``PUT /plugins/<plugin>`` for a plugin with API routes.

    The plugin's router makes ``plugins/<plugin>`` a fixed path segment, so
    litestar no longer matches that name against the settings API's
    ``plugins/{name}``. This handler serves that path in its place, without
    the enabled guard, so the plugin can still be enabled.
    """

    @put("/", opt={"roles": MANAGERS}, include_in_schema=False)
    async def configure_plugin_route(
        tenant_scope: NamedDependency[TenantScope],
        actor: NamedDependency[Actor],
        data: JSONBody[dict[str, Any]],
    ) -> dict[str, Any]:
        return await configure_from_body(tenant_scope, actor, plugin, data)

    return configure_plugin_route


def _with_path(handler: HTTPRouteHandler, path: str) -> HTTPRouteHandler:
    """Return a copy of ``handler`` mounted at ``path`` (relative to a router)."""
    moved = copy.copy(handler)
    moved.paths = {path or "/"}
    moved.opt = dict(handler.opt)
    return moved


def plugin_routers(plugin: str) -> list[Router]:
    """Return the API and page routers of ``plugin``; empty when it has no routes."""
    handlers = call_plugin_hook(plugin, "tillbook_routes") or []
    api_handlers: list[HTTPRouteHandler] = []
    page_handlers: list[HTTPRouteHandler] = []
    for handler in handlers:
        if not isinstance(handler, HTTPRouteHandler):
            raise TypeError(
                f"plugin {plugin} returned {handler!r} from tillbook_routes; "
                "return litestar route handlers such as @get(...) functions"
            )
        for path in handler.paths:
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                api_handlers.append(_with_path(handler, path[len(API_PREFIX) :]))
            else:
                page_handlers.append(_with_path(handler, path))
    guard = _enabled_guard(plugin)
    routers = []
    if api_handlers:
        routers.append(
            Router(
                path=f"{API}/plugins/{plugin}",
                route_handlers=api_handlers,
                guards=[guard],
            )
        )
        routers.append(
            Router(
                path=f"{API}/plugins/{plugin}",
                route_handlers=[_configure_handler(plugin)],
            )
        )
    if page_handlers:
        routers.append(
            Router(
                path=f"{STAFF}/plugins/{plugin}",
                route_handlers=page_handlers,
                guards=[guard],
            )
        )
    return routers


def all_routes() -> list[Router]:
    """Return the routers of every installed plugin."""
    routers: list[Router] = []
    for plugin in plugin_names():
        routers.extend(plugin_routers(plugin))
    if routers:
        logger.info("mounted routes of %d plugin routers", len(routers))
    return routers
