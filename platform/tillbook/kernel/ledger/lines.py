"""Ticket lines: building each kind with its price, discount and tax.

A line is a service, a product, a package plan, a membership, a gift card
or a fee. Discounts, automatic ones included, are applied afterwards by
``repricing.reprice``. A product line is
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
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.catalog.tables import MembershipPlan, Product, Service
from tillbook.kernel.ledger import taxes
from tillbook.kernel.ledger.money import check_amount, line_amounts
from tillbook.kernel.ledger.tables import TicketLine
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.scope import TenantScope

LINE_KINDS = ("service", "product", "package", "membership", "gift_card", "fee")
MAX_QUANTITY = 999


def as_uuid(value: object, field: str) -> uuid.UUID:
    """Return ``value`` as a UUID; raise ValidationFailed naming ``field``."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise invalid(
            field, f"{value!r} is not an id: send the id as a string"
        ) from None


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
    """Return an unsaved ticket line with its tax and totals worked out.

    The line keeps whether the tenant's prices include tax at the moment it
    is added, so a later change of that setting does not reprice it.
    ``repricing.reprice`` then applies discounts and the rounding mode.
    """
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
        tax_included=scope.tenant.prices_include_tax,
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
    position: int,
    appointment_id: uuid.UUID | None = None,
) -> TicketLine:
    """Return a service line at ``price``; repricing adds automatic discounts."""
    line = build_line(
        scope,
        ticket_id,
        kind="service",
        item_id=service["id"],
        description=service["name"],
        unit_price=price,
        tax_rate=service["tax_rate"],
        category=service["category"],
        staff_id=staff_id,
        position=position,
    )
    line.appointment_id = appointment_id
    return line


def check_quantity(value: object) -> int:
    """Return a line quantity from 1 to ``MAX_QUANTITY``; raise naming ``quantity``."""
    return _quantity(value)


def _quantity(value: object) -> int:
    if value is None:
        return 1
    if isinstance(value, str) and is_whole_number(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("quantity", f"{value!r} is not a whole number")
    if not 1 <= value <= MAX_QUANTITY:
        raise invalid(
            "quantity", f"{value} is outside 1..{MAX_QUANTITY}: enter 1 or more"
        )
    return value


async def staff_id_of(scope: TenantScope, value: object) -> uuid.UUID | None:
    """Return a known staff id or None; raise ValidationFailed naming ``staff_id``."""
    return await _staff_id(scope, value)


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
    return service_line(
        scope,
        ticket["id"],
        service,
        staff_id=staff_id,
        price=service["price"],
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


MAX_DESCRIPTION = 200


async def _membership_line(
    scope: TenantScope, ticket: dict[str, Any], request: dict[str, Any], position: int
) -> TicketLine:
    """Build the sale of a membership's first period; it starts on close."""
    if ticket["client_id"] is None:
        raise invalid(
            "plan_id", "a membership is sold to a client: open the ticket for one"
        )
    plan_id = as_uuid(request.get("plan_id"), "plan_id")
    plan = (
        await scope.select(MembershipPlan).where(MembershipPlan.id == plan_id).first()
    )
    if plan is None or not plan["active"]:
        raise invalid("plan_id", f"membership plan {plan_id} not found or not on sale")
    return build_line(
        scope,
        ticket["id"],
        kind="membership",
        item_id=plan["id"],
        description=f"{plan['name']} membership",
        unit_price=plan["price"],
        category="Memberships",
        position=position,
    )


def fee_description(value: object) -> str:
    """Return a fee's description; raise ValidationFailed naming ``description``."""
    if not isinstance(value, str) or not value.strip():
        raise invalid("description", "is required: say what the fee is for")
    if len(value.strip()) > MAX_DESCRIPTION:
        raise invalid(
            "description", f"is longer than {MAX_DESCRIPTION} characters: shorten it"
        )
    return value.strip()


async def fee_line(
    scope: TenantScope,
    ticket_id: uuid.UUID,
    *,
    description: str,
    amount: int,
    position: int,
    staff_id: uuid.UUID | None = None,
    appointment_id: uuid.UUID | None = None,
) -> TicketLine:
    """Return a fee line (late cancellation, no-show, surcharge) of ``amount``.

    A fee is taxed at the tenant's default tax rate when one is marked
    default, and untaxed otherwise. ``amount`` is the listed price, so with
    prices that include tax the fee's total is ``amount`` and with prices
    that exclude it the tax is added on top.
    """
    rates = await taxes.tax_rates(scope, active_only=True)
    default = taxes.default_rate(rates)
    rate = str(default["rate"]) if default else "0"
    line = build_line(
        scope,
        ticket_id,
        kind="fee",
        item_id=None,
        description=description,
        unit_price=amount,
        tax_rate=rate,
        category="Fees",
        staff_id=staff_id,
        position=position,
    )
    line.tax_name = str(default["name"]) if default else "Untaxed"
    line.appointment_id = appointment_id
    return line


async def _fee_request_line(
    scope: TenantScope, ticket: dict[str, Any], request: dict[str, Any], position: int
) -> TicketLine:
    description = fee_description(request.get("description"))
    amount = check_amount(request.get("amount"), "amount")
    staff_id = await _staff_id(scope, request.get("staff_id"))
    return await fee_line(
        scope,
        ticket["id"],
        description=description,
        amount=amount,
        position=position,
        staff_id=staff_id,
    )


LINE_BUILDERS = {
    "product": _product_line,
    "service": _service_request_line,
    "package": _package_line,
    "gift_card": _gift_card_line,
    "fee": _fee_request_line,
    "membership": _membership_line,
}
