"""The litestar application: routes, templates, sessions, channels, lifespan."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from tillbook import db
from tillbook.config import Settings, get_settings, set_settings
from tillbook.errors import TillbookError
from tillbook.web import api, pages
from tillbook.web.deps import (
    provide_actor,
    provide_hooks,
    provide_optional_actor,
    provide_scope,
    staff_guard,
)
from tillbook.web.errors import (
    handle_domain_error,
    handle_http_exception,
    handle_validation_exception,
    reject_nul_characters,
)
from tillbook.web.templating import configure_environment

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent


def _channels_backend(settings: Settings) -> ChannelsBackend:
    if settings.redis_url:
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        return RedisChannelsPubSubBackend(
            redis=Redis.from_url(settings.redis_url),
            key_prefix=f"{settings.redis_prefix}:channels",
        )
    return MemoryChannelsBackend()


def create_app(
    settings: Settings | None = None,
    *,
    dispatch: bool = True,
    inprocess_worker: bool | None = None,
) -> Litestar:
    """Build the application.

    ``dispatch`` runs the outbox dispatcher in this process. Job workers run in
    this process when ``inprocess_worker`` is true, which is the default
    without Redis; with Redis, ``tillbook worker`` processes run them.
    """
    if settings is not None:
        set_settings(settings)
    settings = get_settings()
    channels = ChannelsPlugin(
        backend=_channels_backend(settings), arbitrary_channels_allowed=True
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        from tillbook.jobs.broker import (
            setup_broker,
            start_inprocess_worker,
            stop_inprocess_worker,
        )
        from tillbook.jobs.dispatcher import OutboxDispatcher

        await db.start(settings.database_url)
        setup_broker(settings)
        run_worker = (
            inprocess_worker if inprocess_worker is not None else not settings.redis_url
        )
        dispatcher = OutboxDispatcher(channels) if dispatch else None
        if dispatcher is not None:
            await dispatcher.start()
        app.state.dispatcher = dispatcher
        if run_worker:
            start_inprocess_worker()
        try:
            yield
        finally:
            if run_worker:
                stop_inprocess_worker()
            if dispatcher is not None:
                await dispatcher.stop()
            await db.stop()

    session_config = CookieBackendConfig(
        secret=settings.secret_key.encode()[:32].ljust(32, b"0"),
        key="tillbook_session",
        httponly=True,
        samesite="lax",
        max_age=12 * 3600,
    )
    template_config = TemplateConfig(
        directory=HERE / "templates",
        engine=JinjaTemplateEngine,
        engine_callback=lambda engine: configure_environment(engine.engine),
    )
    return Litestar(
        route_handlers=[
            *api.all_routes(),
            *pages.all_routes(),
            create_static_files_router(
                path="/static", directories=[HERE / "static"], opt={"public": True}
            ),
        ],
        dependencies={
            "tenant_scope": Provide(provide_scope),
            "actor": Provide(provide_actor),
            "maybe_actor": Provide(provide_optional_actor),
            "hooks": Provide(provide_hooks),
        },
        guards=[staff_guard],
        before_request=reject_nul_characters,
        exception_handlers={
            TillbookError: handle_domain_error,
            ValidationException: handle_validation_exception,
            HTTPException: handle_http_exception,
        },
        middleware=[session_config.middleware],
        plugins=[channels],
        template_config=template_config,
        openapi_config=OpenAPIConfig(
            title="Tillbook API",
            version="1",
            # The schema and its viewers are public: they describe routes, no data.
            openapi_router=Router(
                "/api/v1/schema",
                route_handlers=[],
                include_in_schema=False,
                opt={"public": True},
            ),
        ),
        lifespan=[lifespan],
        debug=False,
    )


class HostTenantRewrite:
    """Serve a tenant's own host name as its ``/t/{slug}/...`` paths.

    Two forms resolve: ``{slug}.{base_domain}`` and a custom host name stored
    on the tenant (``Tenant.host``, such as ``book.juniperspa.example``).
    Requests whose path already starts with ``/t/`` or ``/static/`` pass
    unchanged, so links rendered with the path prefix work on either form.
    Custom hosts are looked up in the database and remembered for
    ``HOST_CACHE_SECONDS``.
    """

    HOST_CACHE_SECONDS = 60.0

    def __init__(self, app: ASGIApp, base_domain: str | None) -> None:
        self.app = app
        self.base_domain = base_domain.lower() if base_domain else None
        self.suffix = f".{self.base_domain}" if self.base_domain else None
        self._hosts: dict[str, tuple[float, str | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            if not path.startswith(("/t/", "/static/", "/api/v1/schema")):
                slug = await self._slug_for_host(_host_of(scope))
                if slug:
                    scope = dict(scope)  # type: ignore[assignment]
                    scope["path"] = f"/t/{slug}{path}"
                    scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)

    async def _slug_for_host(self, host: str) -> str | None:
        if not host or host in ("127.0.0.1", "localhost") or host == self.base_domain:
            return None
        if self.suffix and host.endswith(self.suffix):
            label = host[: -len(self.suffix)]
            return label if label and "." not in label else None
        now = time.monotonic()
        cached = self._hosts.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        from tillbook.tenancy.tenants import tenant_by_host

        tenant = await tenant_by_host(host)
        slug: str | None = tenant.slug if tenant else None
        if len(self._hosts) > 10_000:
            self._hosts.clear()
        self._hosts[host] = (now + self.HOST_CACHE_SECONDS, slug)
        return slug


def _host_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            return value.decode("latin-1").split(":")[0].lower()
    return ""


def create_asgi(settings: Settings | None = None) -> Any:
    """Return the ASGI callable ``tillbook serve`` runs."""
    app = create_app(settings)
    return HostTenantRewrite(app, get_settings().base_domain)
