"""Retail and back-bar products, and audited stock adjustments.

Prices are integers in the tenant currency's minor unit. A SKU, when given,
is unique within a tenant. Stock changes only through ``adjust_stock`` (with
a reason, audited) or through sales and service consumption at checkout.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any

from asyncpg.exceptions import UniqueViolationError

from tillbook.db import write_transaction
from tillbook.errors import ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader
from tillbook.kernel.catalog.tables import Product
from tillbook.kernel.events.outbox import record_event
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

PRODUCT_FIELDS = frozenset(
    {
        "name",
        "sku",
        "price",
        "tax_rate",
        "stock",
        "low_stock_threshold",
        "retail",
        "active",
    }
)
MAX_STOCK = 1_000_000


def clean_product(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Return valid product fields, or raise ValidationFailed naming each bad one.

    On an update (``partial``) ``stock`` is rejected: stock changes go through
    ``adjust_stock`` so that each change carries a reason.
    """
    reader = FieldReader(values, PRODUCT_FIELDS, partial=partial)
    reader.text("name", required=True)
    reader.text("sku", max_length=64)
    reader.money("price", required=True)
    reader.tax_rate("tax_rate")
    if partial and "stock" in values:
        reader.errors["stock"] = (
            "cannot be set directly: post a stock adjustment with a reason instead"
        )
    else:
        reader.integer("stock", minimum=0, maximum=MAX_STOCK, default=0)
    reader.integer("low_stock_threshold", minimum=0, maximum=MAX_STOCK, default=0)
    reader.boolean("retail", default=True)
    reader.boolean("active", default=True)
    return reader.finish()


def product_json(row: Mapping[str, Any], currency: str) -> dict[str, Any]:
    """Return a product row as the API shows it."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "sku": row["sku"],
        "price": row["price"],
        "currency": currency,
        "tax_rate": row["tax_rate"],
        "stock": row["stock"],
        "low_stock_threshold": row["low_stock_threshold"],
        "low_stock": row["stock"] <= row["low_stock_threshold"],
        "retail": row["retail"],
        "active": row["active"],
    }


async def list_products(
    scope: TenantScope, *, active: bool | None = None
) -> list[dict[str, Any]]:
    """Return the tenant's products by name, optionally only (in)active ones."""
    query = scope.select(Product).order_by(Product.name)
    if active is not None:
        query = query.where(Product.active == active)
    return [product_json(row, scope.tenant.currency) for row in await query]


async def get_product(scope: TenantScope, product_id: uuid.UUID) -> dict[str, Any]:
    """Return one product; raise NotFound if it is not this tenant's."""
    row = await scope.get(Product, product_id)
    return product_json(row, scope.tenant.currency)


async def create_product(
    scope: TenantScope,
    values: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Validate and add a product, and return it as JSON.

    Required: ``name``, ``price``. Raises ValidationFailed naming each bad
    field, including a ``sku`` another product of the tenant already uses.
    """
    cleaned = clean_product(values, partial=False)
    try:
        async with write_transaction():
            await _check_sku_free(scope, cleaned.get("sku", ""), None)
            row = Product(**cleaned)
            await scope.insert(row)
            created = await scope.get(Product, row.id)
            await record_audit(
                scope,
                actor_id=actor_id,
                action="product.created",
                subject_type="product",
                subject_id=row.id,
                after=product_json(created, scope.tenant.currency),
            )
    except (sqlite3.IntegrityError, UniqueViolationError) as exc:
        _raise_if_sku_taken(exc, cleaned.get("sku", ""))
        raise
    return product_json(created, scope.tenant.currency)


async def update_product(
    scope: TenantScope,
    product_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Change some fields of a product, and return it as JSON.

    Raises NotFound for another tenant's product (checked before the body)
    and ValidationFailed naming each bad field.
    """
    await scope.get(Product, product_id)
    cleaned = clean_product(changes, partial=True)
    try:
        async with write_transaction():
            before = await scope.get(Product, product_id)
            if "sku" in cleaned:
                await _check_sku_free(scope, cleaned["sku"], product_id)
            if cleaned:
                await scope.update(
                    Product, {getattr(Product, k): v for k, v in cleaned.items()}
                ).where(Product.id == product_id)
            after = await scope.get(Product, product_id)
            await record_audit(
                scope,
                actor_id=actor_id,
                action="product.updated",
                subject_type="product",
                subject_id=product_id,
                before=product_json(before, scope.tenant.currency),
                after=product_json(after, scope.tenant.currency),
            )
    except (sqlite3.IntegrityError, UniqueViolationError) as exc:
        _raise_if_sku_taken(exc, cleaned.get("sku", ""))
        raise
    return product_json(after, scope.tenant.currency)


async def adjust_stock(
    scope: TenantScope,
    product_id: uuid.UUID,
    *,
    reason: Any,
    change: Any = None,
    count: Any = None,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Change a product's stock by ``change`` or set it to a counted ``count``.

    Exactly one of ``change`` (a non-zero whole number) and ``count`` (zero
    or more, from a stock take) is given, with a ``reason``. Stock may not go
    below zero. The adjustment is audited with the stock before and after,
    and ``stock.low`` is recorded when stock falls to the low-stock threshold
    or below it. Raises NotFound or ValidationFailed naming the field.
    """
    await scope.get(Product, product_id)
    errors: dict[str, str] = {}
    if not isinstance(reason, str) or not reason.strip():
        errors["reason"] = "is required: say why, such as 'damaged' or 'delivery'"
    elif len(reason) > 200:
        errors["reason"] = "is longer than 200 characters"
    if (change is None) == (count is None):
        errors["change"] = "give either change (such as -2) or count, not both"
    elif change is not None and (
        isinstance(change, bool) or not isinstance(change, int) or change == 0
    ):
        errors["change"] = "must be a whole number other than 0, such as -2 or 12"
    elif count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or count < 0
    ):
        errors["count"] = "must be a whole number, zero or more"
    if errors:
        raise ValidationFailed(errors)

    async with write_transaction():
        before = await scope.get(Product, product_id)
        new_stock = before["stock"] + change if change is not None else count
        if new_stock < 0:
            raise invalid(
                "change",
                f"would leave {new_stock} in stock; only {before['stock']} are on hand",
            )
        if new_stock > MAX_STOCK:
            raise invalid("change", f"would leave more than {MAX_STOCK} in stock")
        await scope.update(Product, {Product.stock: new_stock}).where(
            Product.id == product_id
        )
        await record_audit(
            scope,
            actor_id=actor_id,
            action="product.stock_adjusted",
            subject_type="product",
            subject_id=product_id,
            before={"stock": before["stock"]},
            after={"stock": new_stock, "reason": reason.strip()},
        )
        threshold = before["low_stock_threshold"]
        if new_stock <= threshold < before["stock"]:
            await record_event(
                scope,
                "stock.low",
                {
                    "product_id": str(product_id),
                    "name": before["name"],
                    "stock": new_stock,
                    "threshold": threshold,
                },
            )
        after = await scope.get(Product, product_id)
    return product_json(after, scope.tenant.currency)


async def _check_sku_free(
    scope: TenantScope, sku: str, product_id: uuid.UUID | None
) -> None:
    if not sku:
        return
    query = scope.select(Product, Product.id).where(Product.sku == sku)
    if product_id is not None:
        query = query.where(Product.id != product_id)
    if await query.first() is not None:
        raise invalid("sku", f"{sku!r} is used by another product: choose another")


def _raise_if_sku_taken(exc: Exception, sku: str) -> None:
    """Turn a unique-index violation on the SKU (a lost race) into a 422."""
    if sku and "sku" in str(exc):
        logger.info("sku %r taken by a concurrent write", sku)
        raise invalid("sku", f"{sku!r} is used by another product: choose another")
