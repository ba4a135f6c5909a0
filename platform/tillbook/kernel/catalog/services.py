"""Bookable services, with their providers and linked products.

A service's ``provider_ids`` are the staff who perform it (``ServiceProvider``
rows). ``consumes`` lists products used up by each performance of the service
(checkout takes them out of stock) and ``recommends`` lists products the
receipt suggests. Every linked id must belong to the same tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from tillbook.db import write_transaction
from tillbook.errors import ValidationFailed
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader, parse_uuid
from tillbook.kernel.catalog.tables import (
    Product,
    Service,
    ServiceProduct,
    ServiceProvider,
)
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.scope import TenantScope

SERVICE_COLUMNS = frozenset(
    {
        "name",
        "category",
        "description",
        "duration_minutes",
        "price",
        "tax_rate",
        "rebook_interval_days",
        "active",
    }
)
LINK_FIELDS = frozenset({"provider_ids", "consumes", "recommends"})
SERVICE_FIELDS = SERVICE_COLUMNS | LINK_FIELDS
MIN_DURATION = 5
MAX_DURATION = 720
MAX_CONSUMED_QUANTITY = 1000


def clean_service(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Return valid service fields, or raise ValidationFailed naming each bad one.

    Checks types and ranges only. ``check_links`` checks that linked staff
    and products belong to the tenant.
    """
    reader = FieldReader(values, SERVICE_FIELDS, partial=partial)
    reader.text("name", required=True)
    reader.text("category", max_length=100)
    reader.text("description", max_length=5000)
    reader.integer(
        "duration_minutes", minimum=MIN_DURATION, maximum=MAX_DURATION, required=True
    )
    reader.money("price", required=True)
    reader.tax_rate("tax_rate")
    reader.integer("rebook_interval_days", minimum=1, maximum=3650, nullable=True)
    reader.boolean("active", default=True)
    reader.uuid_list("provider_ids")
    reader.uuid_list("recommends")
    if "consumes" in values:
        consumes = _parse_consumes(values["consumes"])
        if isinstance(consumes, str):
            reader.errors["consumes"] = consumes
        else:
            reader.cleaned["consumes"] = consumes
    elif not partial:
        reader.cleaned["consumes"] = []
    return reader.finish()


def _parse_consumes(value: Any) -> list[tuple[uuid.UUID, int]] | str:
    """Return (product id, quantity) pairs, or the error message."""
    if value is None:
        return []
    shape = 'must be a list like [{"product_id": "…", "quantity": 1}]'
    if not isinstance(value, list):
        return shape
    pairs: dict[uuid.UUID, int] = {}
    for item in value:
        if not isinstance(item, dict) or set(item) - {"product_id", "quantity"}:
            return shape
        product_id = parse_uuid(item.get("product_id"))
        if product_id is None:
            return f"contains product_id {item.get('product_id')!r}, not an id"
        quantity = item.get("quantity", 1)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_CONSUMED_QUANTITY
        ):
            return f"quantity must be a whole number from 1 to {MAX_CONSUMED_QUANTITY}"
        if product_id in pairs:
            return f"lists product {product_id} twice: give it once with the total"
        pairs[product_id] = quantity
    return list(pairs.items())


async def check_links(scope: TenantScope, cleaned: Mapping[str, Any]) -> None:
    """Raise ValidationFailed unless every linked staff and product is the tenant's.

    Ids of another tenant are reported like ids that do not exist.
    """
    errors: dict[str, str] = {}
    provider_ids = cleaned.get("provider_ids") or []
    staff = await scope.get_many(Staff, provider_ids)
    missing = [str(i) for i in provider_ids if i not in staff]
    if missing:
        errors["provider_ids"] = (
            f"contains ids that are not staff of this business: {', '.join(missing)}"
        )
    for field in ("consumes", "recommends"):
        if field == "consumes":
            product_ids = [pid for pid, _ in cleaned.get("consumes") or []]
        else:
            product_ids = list(cleaned.get("recommends") or [])
        products = await scope.get_many(Product, product_ids)
        unknown = [str(i) for i in product_ids if i not in products]
        if unknown:
            errors[field] = (
                f"contains ids that are not products of this business: "
                f"{', '.join(unknown)}"
            )
    if errors:
        raise ValidationFailed(errors)


def service_json(
    row: Mapping[str, Any],
    currency: str,
    providers: list[uuid.UUID],
    links: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Return a service row and its links as the API shows them."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "category": row["category"],
        "description": row["description"],
        "duration_minutes": row["duration_minutes"],
        "price": row["price"],
        "currency": currency,
        "tax_rate": row["tax_rate"],
        "rebook_interval_days": row["rebook_interval_days"],
        "active": row["active"],
        "provider_ids": sorted(str(staff_id) for staff_id in providers),
        "consumes": [
            {"product_id": str(link["product_id"]), "quantity": link["quantity"]}
            for link in links
            if link["link"] == "consumes"
        ],
        "recommends": [
            str(link["product_id"]) for link in links if link["link"] == "recommends"
        ],
    }


async def list_services(
    scope: TenantScope, *, active: bool | None = None
) -> list[dict[str, Any]]:
    """Return the tenant's services by category and name, with their links."""
    query = scope.select(Service).order_by(Service.category).order_by(Service.name)
    if active is not None:
        query = query.where(Service.active == active)
    rows = await query
    providers: dict[uuid.UUID, list[uuid.UUID]] = {}
    for link in await scope.select(ServiceProvider):
        providers.setdefault(link["service_id"], []).append(link["staff_id"])
    products: dict[uuid.UUID, list[Mapping[str, Any]]] = {}
    for link in await scope.select(ServiceProduct):
        products.setdefault(link["service_id"], []).append(link)
    return [
        service_json(
            row,
            scope.tenant.currency,
            providers.get(row["id"], []),
            products.get(row["id"], []),
        )
        for row in rows
    ]


async def get_service(scope: TenantScope, service_id: uuid.UUID) -> dict[str, Any]:
    """Return one service with its links; raise NotFound if not the tenant's."""
    row = await scope.get(Service, service_id)
    providers = await scope.select(ServiceProvider, ServiceProvider.staff_id).where(
        ServiceProvider.service_id == service_id
    )
    links = await scope.select(ServiceProduct).where(
        ServiceProduct.service_id == service_id
    )
    return service_json(
        row,
        scope.tenant.currency,
        [link["staff_id"] for link in providers],
        links,
    )


async def create_service(
    scope: TenantScope,
    values: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Validate and add a service with its links, and return it as JSON.

    Required: ``name``, ``duration_minutes`` (5 to 720) and ``price`` (minor
    units). Raises ValidationFailed naming each bad field, including
    ``provider_ids``, ``consumes`` or ``recommends`` that name rows of
    another tenant.
    """
    cleaned = clean_service(values, partial=False)
    async with write_transaction():
        await check_links(scope, cleaned)
        columns = {k: v for k, v in cleaned.items() if k in SERVICE_COLUMNS}
        row = Service(**columns)
        await scope.insert(row)
        await _replace_links(scope, row.id, cleaned)
        created = await get_service(scope, row.id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="service.created",
            subject_type="service",
            subject_id=row.id,
            after=created,
        )
    return created


async def update_service(
    scope: TenantScope,
    service_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Change some fields of a service, and return it as JSON.

    A link field that is given replaces the whole set (``provider_ids: []``
    removes every provider). Raises NotFound for another tenant's service
    (checked before the body) and ValidationFailed naming each bad field.
    """
    await scope.get(Service, service_id)
    cleaned = clean_service(changes, partial=True)
    async with write_transaction():
        before = await get_service(scope, service_id)
        await check_links(scope, cleaned)
        columns = {k: v for k, v in cleaned.items() if k in SERVICE_COLUMNS}
        if columns:
            await scope.update(
                Service, {getattr(Service, k): v for k, v in columns.items()}
            ).where(Service.id == service_id)
        await _replace_links(scope, service_id, cleaned)
        after = await get_service(scope, service_id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="service.updated",
            subject_type="service",
            subject_id=service_id,
            before=before,
            after=after,
        )
    return after


async def _replace_links(
    scope: TenantScope, service_id: uuid.UUID, cleaned: Mapping[str, Any]
) -> None:
    if "provider_ids" in cleaned:
        await scope.delete(ServiceProvider).where(
            ServiceProvider.service_id == service_id
        )
        rows = [
            ServiceProvider(service_id=service_id, staff_id=staff_id)
            for staff_id in cleaned["provider_ids"]
        ]
        if rows:
            await scope.insert(*rows)
    for link in ("consumes", "recommends"):
        if link not in cleaned:
            continue
        await (
            scope.delete(ServiceProduct)
            .where(ServiceProduct.service_id == service_id)
            .where(ServiceProduct.link == link)
        )
        if link == "consumes":
            pairs = cleaned["consumes"]
        else:
            pairs = [(product_id, 1) for product_id in cleaned["recommends"]]
        links = [
            ServiceProduct(
                service_id=service_id,
                product_id=product_id,
                link=link,
                quantity=quantity,
            )
            for product_id, quantity in pairs
        ]
        if links:
            await scope.insert(*links)
