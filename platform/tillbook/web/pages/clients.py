"""The client pages: search, add, and a client's profile with its timeline."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tillbook.errors import ValidationFailed
from tillbook.kernel.clients.directory import (
    CLIENT_FIELDS,
    create_client,
    search_clients,
)
from tillbook.kernel.clients.profiles import get_client_profile, update_client
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK
from tillbook.tenancy.scope import TenantScope
from tillbook.web.pages.form_values import FormValues
from tillbook.web.paths import STAFF
from tillbook.web.templating import client_panels, page

CLIENTS = f"{STAFF}/clients"
PAGE_SIZE = 50


async def clients_page(
    scope: TenantScope,
    actor: Actor,
    *,
    q: str = "",
    page_number: int = 1,
    errors: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    """Render the search results and the add-client form."""
    page_number = max(page_number, 1)
    try:
        items, total = await search_clients(
            scope, q, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE
        )
    except ValidationFailed as exc:
        items, total = [], 0
        errors = {**exc.errors, **(errors or {})}
    return page(
        "clients/index.html",
        scope,
        actor,
        status_code=status_code,
        q=q,
        clients=items,
        total=total,
        page_number=page_number,
        has_more=page_number * PAGE_SIZE < total,
        errors=errors or {},
        entered=entered or {},
    )


@get(CLIENTS, opt={"roles": DESK})
async def clients_index(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    q: FromQuery[str] = "",
    page_number: FromQuery[int] = 1,
) -> Template:
    """Search clients by name, email or phone, 50 a page (``?page_number=2``)."""
    return await clients_page(tenant_scope, actor, q=q, page_number=page_number)


@post(CLIENTS, opt={"roles": DESK})
async def clients_add(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Add a client and open their profile."""
    form = FormValues(await request.form())
    values = {name: form.raw(name) for name in CLIENT_FIELDS}
    try:
        client = await create_client(tenant_scope, values, actor_id=actor.account_id)
    except ValidationFailed as exc:
        return await clients_page(
            tenant_scope, actor, errors=exc.errors, entered=values, status_code=422
        )
    return Redirect(
        f"/t/{tenant_scope.tenant.slug}/staff/clients/{client['id']}", status_code=303
    )


async def profile_page(
    scope: TenantScope,
    actor: Actor,
    client_id: uuid.UUID,
    *,
    hooks: TenantHooks | None = None,
    errors: dict[str, str] | None = None,
    entered: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    """Render a client's profile, refilling a rejected edit form with ``entered``."""
    profile = await get_client_profile(scope, client_id)
    values = {name: profile[name] for name in CLIENT_FIELDS}
    return page(
        "clients/profile.html",
        scope,
        actor,
        status_code=status_code,
        hooks=hooks,
        plugin_panels=await client_panels(hooks, scope, profile),
        client=profile,
        values={**values, **(entered or {})},
        errors=errors or {},
        notice=notice,
    )


@get(f"{CLIENTS}/{{client_id:uuid}}", opt={"roles": DESK})
async def client_profile(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    client_id: FromPath[uuid.UUID],
    saved: FromQuery[str] = "",
) -> Template:
    """Show a client: contact, preferences, notes, timeline, packages, gift cards.

    Enabled plugins add their panels (``tillbook_client_panels``).
    """
    notice = "Client saved." if saved else ""
    return await profile_page(
        tenant_scope, actor, client_id, hooks=hooks, notice=notice
    )


@post(f"{CLIENTS}/{{client_id:uuid}}", opt={"roles": DESK})
async def client_save(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    client_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Save the client's contact, preferences and notes."""
    await get_client_profile(tenant_scope, client_id)
    form = FormValues(await request.form())
    changes = {name: form.raw(name) for name in CLIENT_FIELDS if name in form.form}
    try:
        await update_client(tenant_scope, client_id, changes, actor_id=actor.account_id)
    except ValidationFailed as exc:
        return await profile_page(
            tenant_scope,
            actor,
            client_id,
            hooks=hooks,
            errors=exc.errors,
            entered=changes,
            status_code=422,
        )
    return Redirect(
        f"/t/{tenant_scope.tenant.slug}/staff/clients/{client_id}?saved=1",
        status_code=303,
    )


ROUTES: list[Any] = [clients_index, clients_add, client_profile, client_save]
