"""Stock on hand: products sold at the till and products services consume.

Retail sales take stock with a conditional update, so a count can never be
oversold by two tickets at once. Products a service consumes (the
``consumes`` links of ``ServiceProduct``) are taken unconditionally, because
the service has already been performed. A count that goes below zero then
means the recorded stock was wrong and needs a correction. Crossing a
product's ``low_stock_threshold`` emits ``stock.low``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from tillbook.errors import Conflict
from tillbook.kernel.catalog.tables import Product, ServiceProduct
from tillbook.kernel.events.outbox import record_event
from tillbook.tenancy.scope import TenantScope

CONSUMES = "consumes"
RECOMMENDS = "recommends"


async def linked_products(
    scope: TenantScope, service_ids: Iterable[uuid.UUID], link: str
) -> list[dict[str, Any]]:
    """Return the ServiceProduct rows of ``link`` kind for the given services."""
    ids = list(set(service_ids))
    if not ids:
        return []
    rows = (
        await scope.select(ServiceProduct)
        .where(ServiceProduct.service_id.is_in(ids))
        .where(ServiceProduct.link == link)
    )
    return list(rows)


async def consumed_quantities(
    scope: TenantScope, services: Mapping[uuid.UUID, int]
) -> Counter[uuid.UUID]:
    """Return how much of each product ``services`` consume.

    ``services`` maps a service id to how many times it was performed.
    """
    used: Counter[uuid.UUID] = Counter()
    for link in await linked_products(scope, services, CONSUMES):
        used[link["product_id"]] += link["quantity"] * services[link["service_id"]]
    return used


async def take_stock(
    scope: TenantScope,
    *,
    sold: Mapping[uuid.UUID, int],
    consumed: Mapping[uuid.UUID, int],
) -> list[dict[str, Any]]:
    """Decrement stock for products sold and consumed; return the new levels.

    Call inside the close transaction. Raises Conflict naming the product
    when fewer units are on hand than were sold. A consumed product that no
    longer exists is skipped. Records ``stock.low`` for
    each product whose count fell from above its threshold to at or below
    it. Returns ``[{"product_id", "name", "stock", "low"}]``.
    """
    levels: list[dict[str, Any]] = []
    for product_id in sorted(set(sold) | set(consumed), key=str):
        sold_units = sold.get(product_id, 0)
        total = sold_units + consumed.get(product_id, 0)
        query = scope.update(Product, {Product.stock: Product.stock - total}).where(
            Product.id == product_id
        )
        if sold_units:
            # The sold units must be on hand; consumed units may overdraw.
            query = query.where(Product.stock >= sold_units)
        rows = await query.returning(
            Product.stock, Product.low_stock_threshold, Product.name
        )
        if not rows and not sold_units:
            continue  # a consumed product that has since been deleted
        if not rows:
            product = await scope.get(Product, product_id)
            raise Conflict(
                f"only {product['stock']} of {product['name']!r} in stock but "
                f"{sold_units} sold: lower the quantity or correct the stock count",
                product_id=str(product_id),
                stock=product["stock"],
            )
        row = rows[0]
        threshold = row["low_stock_threshold"]
        low = row["stock"] <= threshold < row["stock"] + total
        if low:
            await record_event(
                scope,
                "stock.low",
                {
                    "product_id": str(product_id),
                    "name": row["name"],
                    "stock": row["stock"],
                    "threshold": threshold,
                },
            )
        levels.append(
            {
                "product_id": product_id,
                "name": row["name"],
                "stock": row["stock"],
                "low": low,
            }
        )
    return levels


async def products_for_sale(scope: TenantScope) -> list[dict[str, Any]]:
    """Return the active retail products with price and stock, by name."""
    rows = (
        await scope.select(
            Product, Product.id, Product.name, Product.price, Product.stock
        )
        .where(Product.active == True)  # noqa: E712 - piccolo builds SQL from ==
        .where(Product.retail == True)  # noqa: E712
        .order_by(Product.name)
    )
    return list(rows)
