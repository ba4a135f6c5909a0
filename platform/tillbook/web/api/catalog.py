"""JSON API for staff: services, products, stock and package plans.

Every route lives under ``/catalog/`` (the public booking page has its own
``/services``). All staff may read, and owners and managers may write. Money is
in minor units of the tenant's currency, returned alongside as ``currency``.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from tillbook.errors import ValidationFailed
from tillbook.kernel.catalog.plans import (
    create_package_plan,
    get_package_plan,
    list_package_plans,
    update_package_plan,
)
from tillbook.kernel.catalog.products import (
    adjust_stock,
    create_product,
    get_product,
    list_products,
    update_product,
)
from tillbook.kernel.catalog.services import (
    create_service,
    get_service,
    list_services,
    update_service,
)
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

CATALOG = f"{API}/catalog"


@get(f"{CATALOG}/services", opt={"roles": DESK})
async def services_index(
    tenant_scope: NamedDependency[TenantScope], active: FromQuery[bool | None] = None
) -> list[dict[str, Any]]:
    """List services with providers and linked products, filtered by ``?active=``."""
    return await list_services(tenant_scope, active=active)


@post(f"{CATALOG}/services", opt={"roles": MANAGERS})
async def services_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Add a service with its timing (``kind``, ``capacity``, buffers, the
    processing gap, ``granularity_minutes``, ``min_notice_minutes``,
    ``max_advance_days``, ``deposit``, ``online``), ``resources`` and
    ``provider_overrides``. Raises 422 naming each bad field (see
    ``create_service``)."""
    return await create_service(tenant_scope, data, actor_id=actor.account_id)


@get(f"{CATALOG}/services/{{service_id:uuid}}", opt={"roles": DESK})
async def services_show(
    tenant_scope: NamedDependency[TenantScope], service_id: FromPath[uuid.UUID]
) -> dict:
    """Return one service, or 404 if it is not this business's."""
    return await get_service(tenant_scope, service_id)


@patch(f"{CATALOG}/services/{{service_id:uuid}}", opt={"roles": MANAGERS})
async def services_update(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    service_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Change some fields of a service. A link list replaces the old one."""
    return await update_service(
        tenant_scope, service_id, data, actor_id=actor.account_id
    )


@get(f"{CATALOG}/products", opt={"roles": DESK})
async def products_index(
    tenant_scope: NamedDependency[TenantScope], active: FromQuery[bool | None] = None
) -> list[dict[str, Any]]:
    """List products with stock, filtered by ``?active=``."""
    return await list_products(tenant_scope, active=active)


@post(f"{CATALOG}/products", opt={"roles": MANAGERS})
async def products_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Add a product. Raises 422 naming each bad field, ``sku`` when taken."""
    return await create_product(tenant_scope, data, actor_id=actor.account_id)


@get(f"{CATALOG}/products/{{product_id:uuid}}", opt={"roles": DESK})
async def products_show(
    tenant_scope: NamedDependency[TenantScope], product_id: FromPath[uuid.UUID]
) -> dict:
    """Return one product, or 404 if it is not this business's."""
    return await get_product(tenant_scope, product_id)


@patch(f"{CATALOG}/products/{{product_id:uuid}}", opt={"roles": MANAGERS})
async def products_update(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    product_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Change some fields of a product (not ``stock``: post an adjustment)."""
    return await update_product(
        tenant_scope, product_id, data, actor_id=actor.account_id
    )


@post(
    f"{CATALOG}/products/{{product_id:uuid}}/stock",
    opt={"roles": MANAGERS},
    status_code=HTTP_200_OK,
)
async def products_adjust_stock(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    product_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Adjust stock: ``{"change": -2, "reason": "damaged"}`` or ``{"count": 14, ...}``.

    Returns the product. Raises 404 for another business's product and 422
    naming the field, including a change that would leave negative stock.
    """
    unknown = {
        str(key): "is not a known field; use change or count, and reason"
        for key in data
        if key not in ("change", "count", "reason")
    }
    if unknown:
        raise ValidationFailed(unknown)
    return await adjust_stock(
        tenant_scope,
        product_id,
        change=data.get("change"),
        count=data.get("count"),
        reason=data.get("reason"),
        actor_id=actor.account_id,
    )


@get(f"{CATALOG}/package-plans", opt={"roles": DESK})
async def plans_index(
    tenant_scope: NamedDependency[TenantScope], active: FromQuery[bool | None] = None
) -> list[dict[str, Any]]:
    """List package plans with their service names, filtered by ``?active=``."""
    return await list_package_plans(tenant_scope, active=active)


@post(f"{CATALOG}/package-plans", opt={"roles": MANAGERS})
async def plans_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Add a package plan. Raises 422 naming each bad field."""
    return await create_package_plan(tenant_scope, data, actor_id=actor.account_id)


@get(f"{CATALOG}/package-plans/{{plan_id:uuid}}", opt={"roles": DESK})
async def plans_show(
    tenant_scope: NamedDependency[TenantScope], plan_id: FromPath[uuid.UUID]
) -> dict:
    """Return one package plan, or 404 if it is not this business's."""
    return await get_package_plan(tenant_scope, plan_id)


@patch(f"{CATALOG}/package-plans/{{plan_id:uuid}}", opt={"roles": MANAGERS})
async def plans_update(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    plan_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Change some fields of a package plan. Packages already sold keep theirs."""
    return await update_package_plan(
        tenant_scope, plan_id, data, actor_id=actor.account_id
    )


ROUTES: list[Any] = [
    services_index,
    services_create,
    services_show,
    services_update,
    products_index,
    products_create,
    products_show,
    products_update,
    products_adjust_stock,
    plans_index,
    plans_create,
    plans_show,
    plans_update,
]
