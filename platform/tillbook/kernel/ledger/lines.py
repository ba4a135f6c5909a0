"""Ticket lines: building each kind with its price, discount and tax.

A line is a service, a product, a package plan or a gift card. A service
line gets the loyalty discount when the client qualifies. A product line is
merged with an existing line of the same product and limited to the stock on
hand. A package plan is sold to the ticket's client, and a gift card is sold
or reloaded. Each builder validates its request and raises ValidationFailed
naming the field.
"""

from __future__ import annotations

import uuid
from typing import Any

from tillbook.errors import Conflict, NotFound, invalid
from tillbook.kernel.catalog import giftcards, packages
from tillbook.kernel.catalog.tables import Product, Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.money import line_amounts, percent_of
from tillbook.kernel.ledger.tables import TicketLine
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.scope import TenantScope

LINE_KINDS = ("service", "product", "package", "gift_card")
MAX_QUANTITY = 999


def as_uuid(value: object, field: str) -> uuid.UUID:
    """Return ``value`` as a UUID; raise ValidationFailed naming ``field``."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise invalid(
            field, f"{value!r} is not an id: send the id as a string"
        ) from None


def loyalty_discount(
    scope: TenantScope, client: dict[str, Any] | None, gross: int
) -> tuple[int, str]:
    """Return the loyalty discount on a service line and its reason.

    A client qualifies when the tenant's ``loyalty_percent`` is above zero and
    the client has at least ``loyalty_min_visits`` completed visits.
    """
    tenant = scope.tenant
    if client is None or tenant.loyalty_percent <= 0:
        return 0, ""
    if client["completed_visits"] < tenant.loyalty_min_visits:
        return 0, ""
    percent = tenant.loyalty_percent
    return percent_of(gross, percent), f"Loyalty {percent}%"


def build_line(
    scope: TenantScope,
    ticket_id: uuid.UUID,
    *,
    kind: str,
    item_id: uuid.UUID | None,
    description: str,
    unit_price: int,
    quantity: int = 1,
    tax_rate: str = "0",
    category: str = "",
    staff_id: uuid.UUID | None = None,
    discount: int = 0,
    discount_reason: str = "",
    position: int = 0,
) -> TicketLine:
    """Return an unsaved ticket line with its tax and totals worked out."""
    amounts = line_amounts(
        unit_price,
        quantity,
        tax_rate=tax_rate,
        prices_include_tax=scope.tenant.prices_include_tax,
        discount=discount,
    )
    return TicketLine(
        ticket_id=ticket_id,
        position=position,
        kind=kind,
        item_id=item_id,
        description=description[:200],
        category=category,
        staff_id=staff_id,
        quantity=quantity,
        unit_price=unit_price,
        discount=amounts.discount,
        discount_reason=discount_reason,
        tax_rate=tax_rate,
        tax=amounts.tax,
        net=amounts.net,
        total=amounts.total,
    )


def service_line(
    scope: TenantScope,
    ticket_id: uuid.UUID,
    service: dict[str, Any],
    *,
    staff_id: uuid.UUID | None,
    price: int,
    client: dict[str, Any] | None,
    position: int,
) -> TicketLine:
    """Return a service line at ``price``, with the client's loyalty discount."""
    discount, reason = loyalty_discount(scope, client, price)
    return build_line(
        scope,
        ticket_id,
        kind="service",
        item_id=service["id"],
        description=service["name"],
        unit_price=price,
        tax_rate=service["tax_rate"],
        category=service["category"],
        staff_id=staff_id,
        discount=discount,
        discount_reason=reason,
        position=position,
    )


def _quantity(value: object) -> int:
    if value is None:
        return 1
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("quantity", f"{value!r} is not a whole number")
    if not 1 <= value <= MAX_QUANTITY:
        raise invalid(
            "quantity", f"{value} is outside 1..{MAX_QUANTITY}: enter 1 or more"
        )
    return value


async def _staff_id(scope: TenantScope, value: object) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    staff_id = as_uuid(value, "staff_id")
    if not await scope.select(Staff, Staff.id).where(Staff.id == staff_id).first():
        raise invalid("staff_id", f"staff member {value} not found")
    return staff_id


async def _product_line(
    scope: TenantScope, ticket: dict[str, Any], request: dict[str, Any], position: int
) -> TicketLine | None:
    """Build a product line, or grow an existing line of the same product.

    Returns ``None`` when an existing line absorbed the quantity.
    """
    product_id = as_uuid(request.get("product_id"), "product_id")
    quantity = _quantity(request.get("quantity"))
    staff_id = await _staff_id(scope, request.get("staff_id"))
    product = await scope.select(Product).where(Product.id == product_id).first()
    if product is None or not product["active"]:
        raise invalid("product_id", f"product {product_id} not found or not on sale")
    existing = (
        await scope.select(TicketLine)
        .where(TicketLine.ticket_id == ticket["id"])
        .where(TicketLine.kind == "product")
        .where(TicketLine.item_id == product_id)
        .first()
    )
    already = existing["quantity"] if existing else 0
    total_quantity = already + quantity
    if total_quantity > product["stock"]:
        raise invalid(
            "quantity",
            f"only {product['stock']} of {product['name']!r} in stock: "
            f"enter at most {max(product['stock'] - already, 0)}",
        )
    if existing is not None:
        grown = build_line(
            scope,
            ticket["id"],
            kind="product",
            item_id=product_id,
            description=product["name"],
            unit_price=existing["unit_price"],
            quantity=total_quantity,
            tax_rate=existing["tax_rate"],
        )
        await scope.update(
            TicketLine,
            {
                TicketLine.quantity: total_quantity,
                TicketLine.tax: grown.tax,
                TicketLine.net: grown.net,
                TicketLine.total: grown.total,
            },
        ).where(TicketLine.id == existing["id"])
        return None
    return build_line(
        scope,
        ticket["id"],
        kind="product",
        item_id=product_id,
        description=product["name"],
        unit_price=product["price"],
        quantity=quantity,
        tax_rate=product["tax_rate"],
        category="Retail",
        staff_id=staff_id,
        position=position,
    )


async def _service_request_line(
    scope: TenantScope, ticket: dict[str, Any], request: dict[str, Any], position: int
) -> TicketLine:
    service_id = as_uuid(request.get("service_id"), "service_id")
    service = await scope.select(Service).where(Service.id == service_id).first()
    if service is None or not service["active"]:
        raise invalid("service_id", f"service {service_id} not found or not offered")
    staff_id = await _staff_id(scope, request.get("staff_id"))
    client = None
    if ticket["client_id"]:
        client = (
            await scope.select(Client).where(Client.id == ticket["client_id"]).first()
        )
    return service_line(
        scope,
        ticket["id"],
        service,
        staff_id=staff_id,
        price=service["price"],
        client=client,
        position=position,
    )


async def _package_line(
    scope: TenantScope, ticket: dict[str, Any], request: dict[str, Any], position: int
) -> TicketLine:
    if ticket["client_id"] is None:
        raise invalid(
            "plan_id", "a package is sold to a client: open the ticket for one"
        )
    plan_id = as_uuid(request.get("plan_id"), "plan_id")
    try:
        plan = await packages.plan_for_sale(scope, plan_id)
    except (NotFound, Conflict):
        raise invalid(
            "plan_id", f"package plan {plan_id} not found or not on sale"
        ) from None
    return build_line(
        scope,
        ticket["id"],
        kind="package",
        item_id=plan["id"],
        description=f"{plan['name']} ({plan['sessions']} sessions)",
        unit_price=plan["price"],
        category="Packages",
        position=position,
    )


async def _gift_card_line(
    scope: TenantScope, ticket: dict[str, Any], request: dict[str, Any], position: int
) -> TicketLine:
    amount = giftcards.check_gift_card_amount(request.get("amount"))
    item_id = None
    description = "Gift card"
    code = request.get("code")
    if code:
        card = await giftcards.find_gift_card(scope, str(code))
        if giftcards.is_expired(card):
            raise invalid("code", "the gift card has expired: issue a new one instead")
        item_id = card["id"]
        description = f"Gift card reload {giftcards.format_code(card['code'])}"
    return build_line(
        scope,
        ticket["id"],
        kind="gift_card",
        item_id=item_id,
        description=description,
        unit_price=amount,
        category="Gift cards",
        position=position,
    )


LINE_BUILDERS = {
    "product": _product_line,
    "service": _service_request_line,
    "package": _package_line,
    "gift_card": _gift_card_line,
}
