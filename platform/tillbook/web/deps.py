"""Request dependencies: the tenant scope, the signed-in actor, the hooks.

Every tenant route has a ``slug`` path parameter; ``provide_scope`` resolves it
to a ``TenantScope``. Staff routes declare the roles they allow in
``opt={"roles": ...}``; ``staff_guard`` checks them and stores the actor on the
connection. Public routes declare ``opt={"public": True}`` instead, and a test
fails on any route that declares neither.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from tillbook.errors import NotAuthenticated, NotFound
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor, actor_for, actor_for_token
from tillbook.tenancy.plugin_settings import load_tenant_hooks
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tenants import scope_for_slug

SESSION_ACCOUNT = "account_id"


async def scope_from_connection(
    connection: ASGIConnection[Any, Any, Any, Any],
) -> TenantScope:
    """Return the tenant scope for the request's ``slug``, cached on the request."""
    cached = connection.scope.get("state", {}).get("tenant_scope")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    slug = connection.path_params.get("slug")
    if not slug:
        raise NotFound("tenant", "")
    scope = await scope_for_slug(slug)
    connection.state.tenant_scope = scope
    return scope


async def provide_scope(request: ASGIConnection[Any, Any, Any, Any]) -> TenantScope:
    """Dependency: the request's tenant scope."""
    return await scope_from_connection(request)


async def provide_actor(request: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """Dependency: the actor ``staff_guard`` resolved for this request."""
    actor = getattr(request.state, "actor", None)
    if actor is None:
        raise NotAuthenticated("sign in or send an API token")
    return actor  # type: ignore[no-any-return]


async def provide_optional_actor(
    request: ASGIConnection[Any, Any, Any, Any],
) -> Actor | None:
    """Dependency: the signed-in actor on a public route, or ``None``."""
    try:
        return await resolve_actor(request, await scope_from_connection(request))
    except NotAuthenticated:
        return None


async def provide_hooks(request: ASGIConnection[Any, Any, Any, Any]) -> TenantHooks:
    """Dependency: hook callers for the plugins the tenant enabled."""
    cached = getattr(request.state, "tenant_hooks", None)
    if cached is None:
        cached = await load_tenant_hooks(await scope_from_connection(request))
        request.state.tenant_hooks = cached
    return cached  # type: ignore[no-any-return]


async def resolve_actor(
    connection: ASGIConnection[Any, Any, Any, Any], scope: TenantScope
) -> Actor:
    """Return the actor from a bearer token or the session cookie."""
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = await actor_for_token(scope, header[7:].strip())
        if actor is None:
            raise NotAuthenticated("the API token is invalid or revoked")
        return actor
    session = connection.scope.get("session")
    account_id = session.get(SESSION_ACCOUNT) if isinstance(session, dict) else None
    if account_id:
        import uuid

        actor = await actor_for(scope, uuid.UUID(account_id))
        if actor is not None:
            return actor
    raise NotAuthenticated("sign in or send an API token")


async def staff_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Authenticate the caller and check the roles the route allows.

    An account that is not a member of this tenant is treated as signed out
    (401, or a redirect to this tenant's sign-in page), so it learns nothing
    about the tenant's rows. Row ids are checked later and return 404.
    """
    if handler.opt.get("public"):
        return
    roles = handler.opt.get("roles")
    if not roles:
        raise RuntimeError(f"route {handler} declares neither roles nor public")
    scope = await scope_from_connection(connection)
    actor = await resolve_actor(connection, scope)
    actor.require(roles)
    connection.state.actor = actor
