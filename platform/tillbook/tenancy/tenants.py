"""Looking tenants up by slug, host name or id."""

from __future__ import annotations

import uuid

from tillbook.errors import NotFound
from tillbook.tenancy.scope import TenantInfo, TenantScope
from tillbook.tenancy.tables import Tenant


async def tenant_by_slug(slug: str) -> TenantInfo:
    """Return the tenant with ``slug``, or raise NotFound."""
    row = await Tenant.select().where(Tenant.slug == slug.lower()).first()
    if row is None:
        raise NotFound("tenant", slug)
    return TenantInfo.from_row(row)


async def tenant_by_host(host: str) -> TenantInfo | None:
    """Return the tenant whose custom host name is ``host``, if any."""
    row = await Tenant.select().where(Tenant.host == host.lower()).first()
    return TenantInfo.from_row(row) if row else None


async def tenant_by_id(tenant_id: uuid.UUID) -> TenantInfo:
    """Return the tenant with ``tenant_id``, or raise NotFound."""
    row = await Tenant.select().where(Tenant.id == tenant_id).first()
    if row is None:
        raise NotFound("tenant", str(tenant_id))
    return TenantInfo.from_row(row)


async def scope_for_slug(slug: str) -> TenantScope:
    """Return a scope bound to the tenant with ``slug``."""
    return TenantScope(await tenant_by_slug(slug))
