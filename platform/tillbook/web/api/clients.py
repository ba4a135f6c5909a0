"""JSON API for staff: searching, adding, reading and editing clients."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from tillbook.kernel.clients.directory import create_client, search_clients
from tillbook.kernel.clients.profiles import get_client_profile, update_client
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API


@get(f"{API}/clients", opt={"roles": DESK})
async def clients_index(
    tenant_scope: NamedDependency[TenantScope],
    q: FromQuery[str] = "",
    limit: FromQuery[int] = 50,
    offset: FromQuery[int] = 0,
) -> dict:
    """Search clients by name, email or phone, one page of ``limit`` (1 to 200).

    Returns ``items``, ``total`` (all matches), ``limit`` and ``offset``.
    """
    items, total = await search_clients(tenant_scope, q, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@post(f"{API}/clients", opt={"roles": DESK})
async def clients_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Add a client. Raises 422 naming each bad field, ``email`` when taken."""
    return await create_client(tenant_scope, data, actor_id=actor.account_id)


@get(f"{API}/clients/{{client_id:uuid}}", opt={"roles": DESK})
async def clients_show(
    tenant_scope: NamedDependency[TenantScope], client_id: FromPath[uuid.UUID]
) -> dict:
    """Return the client's profile: contact, notes, history, packages, gift cards."""
    return await get_client_profile(tenant_scope, client_id)


@patch(f"{API}/clients/{{client_id:uuid}}", opt={"roles": DESK})
async def clients_update(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    client_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Change contact, ``preferences`` or ``notes``, and return the profile.

    Raises 404 for another business's client and 422 naming each bad field.
    """
    return await update_client(tenant_scope, client_id, data, actor_id=actor.account_id)


ROUTES: list[Any] = [clients_index, clients_create, clients_show, clients_update]
