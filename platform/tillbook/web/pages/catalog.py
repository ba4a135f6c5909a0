"""The catalog pages: services, products with stock, and package plans.

All staff may look, and owners and managers see the add and edit forms. Prices
are entered in major units ("65.00") and stored in minor units. On errors
the form comes back (422) with the values entered and a message under each
bad field.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tillbook.errors import ValidationFailed
from tillbook.kernel.catalog.plans import (
    clean_package_plan,
    create_package_plan,
    get_package_plan,
    list_package_plans,
    update_package_plan,
)
from tillbook.kernel.catalog.products import (
    adjust_stock,
    clean_product,
    create_product,
    get_product,
    list_products,
    update_product,
)
from tillbook.kernel.catalog.services import (
    clean_service,
    create_service,
    get_service,
    list_services,
    update_service,
)
from tillbook.kernel.schedule.resources import list_resources
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.pages.catalog_forms import (
    entered_display,
    plan_display,
    product_display,
    read_plan,
    read_product,
    read_service,
    service_display,
)
from tillbook.web.pages.form_values import FormValues
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

CATALOG = f"{STAFF}/catalog"
SAVED_MESSAGES = {
    "service": "Service saved.",
    "product": "Product saved.",
    "stock": "Stock adjusted.",
    "plan": "Package plan saved.",
}


async def catalog_page(
    scope: TenantScope,
    actor: Actor,
    *,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    entered: dict[str, Any] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    """Render the catalog, refilling the ``form_name`` form with ``entered``."""
    services = await list_services(scope)
    return page(
        "catalog/index.html",
        scope,
        actor,
        status_code=status_code,
        services=services,
        service_options=_service_options(services),
        products=await list_products(scope),
        plans=await list_package_plans(scope),
        staff=await _staff(scope),
        resources=await list_resources(scope),
        can_edit=actor.role in MANAGERS,
        form_name=form_name,
        errors=errors or {},
        entered=entered or {},
        notice=notice,
    )


async def edit_page(
    scope: TenantScope,
    actor: Actor,
    kind: str,
    item: dict[str, Any],
    shown: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    """Render the edit form of one service, product or package plan."""
    services = await list_services(scope)
    return page(
        f"catalog/{kind}.html",
        scope,
        actor,
        status_code=status_code,
        item=item,
        values=shown,
        service_options=_service_options(services),
        products=await list_products(scope),
        staff=await _staff(scope),
        resources=await list_resources(scope),
        can_edit=actor.role in MANAGERS,
        errors=errors or {},
    )


def _service_options(services: list[dict[str, Any]]) -> list[tuple[str, str]]:
    options = [(service["id"], service["name"]) for service in services]
    return [("", "Choose a service"), *options]


async def _staff(scope: TenantScope) -> list[dict[str, Any]]:
    rows = await scope.select(Staff, Staff.id, Staff.name, Staff.active).order_by(
        Staff.name
    )
    return [{**row, "id": str(row["id"])} for row in rows]


def _saved(scope: TenantScope, what: str, anchor: str) -> Redirect:
    return Redirect(
        f"/t/{scope.tenant.slug}/staff/catalog?saved={what}#{anchor}",
        status_code=303,
    )


@get(CATALOG, opt={"roles": DESK})
async def catalog_show(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    saved: FromQuery[str] = "",
) -> Template:
    """List services, products and package plans, with add forms for managers."""
    return await catalog_page(tenant_scope, actor, notice=SAVED_MESSAGES.get(saved, ""))


@post(f"{CATALOG}/services", opt={"roles": MANAGERS})
async def service_add(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Add a service from the form."""
    form = FormValues(await request.form())
    products = await list_products(tenant_scope)
    resources = await list_resources(tenant_scope)
    staff = await _staff(tenant_scope)
    read_service(form, tenant_scope.tenant.minor_digits, products, resources, staff)
    try:
        await form.submit(
            lambda values: clean_service(values, partial=False),
            lambda values: create_service(
                tenant_scope, values, actor_id=actor.account_id
            ),
        )
    except ValidationFailed as exc:
        return await catalog_page(
            tenant_scope,
            actor,
            form_name="service",
            errors=exc.errors,
            entered=entered_display(form, products, resources, staff),
            status_code=422,
        )
    return _saved(tenant_scope, "service", "services")


@get(f"{CATALOG}/services/{{service_id:uuid}}", opt={"roles": DESK})
async def service_edit(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    service_id: FromPath[uuid.UUID],
) -> Template:
    """Show one service with its edit form."""
    service = await get_service(tenant_scope, service_id)
    shown = service_display(service, tenant_scope.tenant.currency)
    return await edit_page(tenant_scope, actor, "service", service, shown)


@post(f"{CATALOG}/services/{{service_id:uuid}}", opt={"roles": MANAGERS})
async def service_save(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    service_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Save the edit form of a service."""
    service = await get_service(tenant_scope, service_id)
    form = FormValues(await request.form())
    products = await list_products(tenant_scope)
    resources = await list_resources(tenant_scope)
    staff = await _staff(tenant_scope)
    read_service(form, tenant_scope.tenant.minor_digits, products, resources, staff)
    return await _save_from_form(
        tenant_scope,
        actor,
        form,
        row=service,
        clean=lambda values: clean_service(values, partial=True),
        update=update_service,
        kind="service",
        products=products,
        resources=resources,
        staff=staff,
    )


async def _add_from_form(
    tenant_scope: TenantScope,
    actor: Actor,
    form: FormValues,
    *,
    clean: Callable[[dict[str, Any]], dict[str, Any]],
    create: Callable[..., Awaitable[Any]],
    kind: str,
) -> Template | Redirect:
    """Create a product or plan from its add form, or show the form's errors."""
    try:
        await form.submit(
            clean,
            lambda values: create(tenant_scope, values, actor_id=actor.account_id),
        )
    except ValidationFailed as exc:
        return await catalog_page(
            tenant_scope,
            actor,
            form_name=kind,
            errors=exc.errors,
            entered=entered_display(form, []),
            status_code=422,
        )
    return _saved(tenant_scope, kind, f"{kind}s")


async def _save_from_form(
    tenant_scope: TenantScope,
    actor: Actor,
    form: FormValues,
    *,
    row: dict[str, Any],
    clean: Callable[[dict[str, Any]], dict[str, Any]],
    update: Callable[..., Awaitable[Any]],
    kind: str,
    products: list[dict[str, Any]] | None = None,
    resources: list[dict[str, Any]] | None = None,
    staff: list[dict[str, Any]] | None = None,
    shown_extra: dict[str, str] | None = None,
) -> Template | Redirect:
    """Apply an edit form to ``row``, or show the form again with its errors."""
    try:
        await form.submit(
            clean,
            lambda values: update(
                tenant_scope,
                uuid.UUID(str(row["id"])),
                values,
                actor_id=actor.account_id,
            ),
        )
    except ValidationFailed as exc:
        shown = entered_display(form, products or [], resources, staff)
        shown.update(shown_extra or {})
        return await edit_page(
            tenant_scope, actor, kind, row, shown, errors=exc.errors, status_code=422
        )
    return _saved(tenant_scope, kind, f"{kind}s")


@post(f"{CATALOG}/products", opt={"roles": MANAGERS})
async def product_add(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Add a product from the form."""
    form = FormValues(await request.form())
    read_product(form, tenant_scope.tenant.minor_digits, creating=True)
    return await _add_from_form(
        tenant_scope,
        actor,
        form,
        clean=lambda values: clean_product(values, partial=False),
        create=create_product,
        kind="product",
    )


@get(f"{CATALOG}/products/{{product_id:uuid}}", opt={"roles": DESK})
async def product_edit(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    product_id: FromPath[uuid.UUID],
) -> Template:
    """Show one product with its edit and stock forms."""
    product = await get_product(tenant_scope, product_id)
    shown = product_display(product, tenant_scope.tenant.currency)
    return await edit_page(tenant_scope, actor, "product", product, shown)


@post(f"{CATALOG}/products/{{product_id:uuid}}", opt={"roles": MANAGERS})
async def product_save(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    product_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Save the edit form of a product."""
    product = await get_product(tenant_scope, product_id)
    form = FormValues(await request.form())
    read_product(form, tenant_scope.tenant.minor_digits, creating=False)
    return await _save_from_form(
        tenant_scope,
        actor,
        form,
        row=product,
        clean=lambda values: clean_product(values, partial=True),
        update=update_product,
        kind="product",
        # Stock changes only through the stock form, so show the stored count.
        shown_extra={"stock": str(product["stock"])},
    )


@post(f"{CATALOG}/products/{{product_id:uuid}}/stock", opt={"roles": MANAGERS})
async def product_stock(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    product_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Adjust a product's stock by a number of units, with a reason."""
    product = await get_product(tenant_scope, product_id)
    form = FormValues(await request.form())
    form.integer("change")
    try:
        await form.submit(
            lambda values: None,
            lambda values: adjust_stock(
                tenant_scope,
                product_id,
                change=values.get("change"),
                reason=form.raw("reason"),
                actor_id=actor.account_id,
            ),
        )
    except ValidationFailed as exc:
        shown = product_display(product, tenant_scope.tenant.currency)
        return await edit_page(
            tenant_scope,
            actor,
            "product",
            product,
            shown,
            errors={f"stock-{k}": v for k, v in exc.errors.items()},
            status_code=422,
        )
    return _saved(tenant_scope, "stock", "products")


@post(f"{CATALOG}/package-plans", opt={"roles": MANAGERS})
async def plan_add(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Add a package plan from the form."""
    form = FormValues(await request.form())
    read_plan(form, tenant_scope.tenant.minor_digits)
    return await _add_from_form(
        tenant_scope,
        actor,
        form,
        clean=lambda values: clean_package_plan(values, partial=False),
        create=create_package_plan,
        kind="plan",
    )


@get(f"{CATALOG}/package-plans/{{plan_id:uuid}}", opt={"roles": DESK})
async def plan_edit(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    plan_id: FromPath[uuid.UUID],
) -> Template:
    """Show one package plan with its edit form."""
    plan = await get_package_plan(tenant_scope, plan_id)
    shown = plan_display(plan, tenant_scope.tenant.currency)
    return await edit_page(tenant_scope, actor, "plan", plan, shown)


@post(f"{CATALOG}/package-plans/{{plan_id:uuid}}", opt={"roles": MANAGERS})
async def plan_save(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    plan_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Save the edit form of a package plan."""
    plan = await get_package_plan(tenant_scope, plan_id)
    form = FormValues(await request.form())
    read_plan(form, tenant_scope.tenant.minor_digits)
    return await _save_from_form(
        tenant_scope,
        actor,
        form,
        row=plan,
        clean=lambda values: clean_package_plan(values, partial=True),
        update=update_package_plan,
        kind="plan",
    )


ROUTES: list[Any] = [
    catalog_show,
    service_add,
    service_edit,
    service_save,
    product_add,
    product_edit,
    product_save,
    product_stock,
    plan_add,
    plan_edit,
    plan_save,
]
