"""Changes to an open ticket besides adding and removing lines.

Editing a line (quantity, note, provider, tax rate), holding and resuming a
ticket, and its discounts: manual line and ticket discounts, a promo code
and loyalty points taken as a discount. Each change takes the ticket row
first (``tickets.lock_open_ticket``), reprices the ticket and writes an
audit entry with the values before and after.
"""

from __future__ import annotations

import uuid
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Product
from tillbook.kernel.ledger import discounts, loyalty, taxes
from tillbook.kernel.ledger.lines import as_uuid, check_quantity, staff_id_of
from tillbook.kernel.ledger.repricing import reprice
from tillbook.kernel.ledger.tables import Ticket, TicketDiscount, TicketLine
from tillbook.kernel.ledger.tickets import check_note, lock_open_ticket, named_rate
from tillbook.tenancy.scope import TenantScope

LINE_FIELDS = {"quantity", "note", "staff_id", "tax_rate_id"}
# Lines whose quantity is fixed: a package, membership, gift card or fee is
# sold one at a time.
FIXED_QUANTITY = ("package", "membership", "gift_card", "fee")


async def _line_of(
    scope: TenantScope, ticket: dict[str, Any], line_id: uuid.UUID | str
) -> dict[str, Any]:
    line = await scope.get(TicketLine, line_id)
    if line["ticket_id"] != ticket["id"]:
        raise NotFound("ticket_line", str(line_id))
    return line


async def update_line(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    line_id: uuid.UUID | str,
    data: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> None:
    """Change a line's ``quantity``, ``note``, ``staff_id`` or ``tax_rate_id``.

    A product's quantity is limited to the stock on hand. Raises
    ValidationFailed naming the field, NotFound for an unknown ticket or a
    line not on it, and Conflict when the ticket is not open.
    """
    unknown = {
        key: "is not a field of a line" for key in data if key not in LINE_FIELDS
    }
    if unknown:
        raise ValidationFailed(unknown)
    async with write_transaction():
        ticket = await lock_open_ticket(scope, ticket_id)
        line = await _line_of(scope, ticket, line_id)
        values: dict[Any, Any] = {}
        if "quantity" in data:
            quantity = check_quantity(data["quantity"])
            if line["kind"] in FIXED_QUANTITY and quantity != 1:
                raise invalid(
                    "quantity", f"a {line['kind']} line is sold one at a time"
                )
            if line["kind"] == "product" and line["item_id"] is not None:
                product = await scope.get(Product, line["item_id"])
                if quantity > product["stock"]:
                    raise invalid(
                        "quantity",
                        f"only {product['stock']} of {product['name']!r} in stock",
                    )
            values[TicketLine.quantity] = quantity
        if "note" in data:
            values[TicketLine.note] = check_note(data["note"])
        if "staff_id" in data:
            values[TicketLine.staff_id] = await staff_id_of(scope, data["staff_id"])
        if "tax_rate_id" in data:
            rate = await named_rate(scope, data["tax_rate_id"])
            values[TicketLine.tax_rate] = rate["rate"]
            values[TicketLine.tax_name] = rate["name"]
        if values:
            await scope.update(TicketLine, values).where(TicketLine.id == line["id"])
        await reprice(scope, ticket["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ticket.line_changed",
            subject_type="ticket",
            subject_id=ticket["id"],
            before={
                "line_id": line["id"],
                "quantity": line["quantity"],
                "note": line["note"],
                "staff_id": line["staff_id"],
                "tax_rate": line["tax_rate"],
                "total": line["total"],
            },
            after={"line_id": line["id"], **data},
        )


async def hold_ticket(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    note: object,
    actor_id: uuid.UUID | None,
) -> None:
    """Park an open ticket: it cannot change or close until it is resumed.

    Raises Conflict unless the ticket is open.
    """
    text = check_note(note)
    async with write_transaction():
        ticket = await lock_open_ticket(scope, ticket_id)
        await scope.update(
            Ticket,
            {
                Ticket.status: "held",
                Ticket.held_at: utcnow(),
                Ticket.held_by: actor_id,
                Ticket.note: text or ticket["note"],
            },
        ).where(Ticket.id == ticket["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ticket.held",
            subject_type="ticket",
            subject_id=ticket["id"],
            before={"status": "open"},
            after={"status": "held", "note": text},
        )


async def resume_ticket(
    scope: TenantScope, ticket_id: uuid.UUID | str, actor_id: uuid.UUID | None
) -> None:
    """Reopen a held ticket and reprice it; raise Conflict unless it is held."""
    async with write_transaction():
        ticket = await scope.get(Ticket, ticket_id)
        resumed = (
            await scope.update(Ticket, {Ticket.status: "open", Ticket.held_at: None})
            .where(Ticket.id == ticket["id"])
            .where(Ticket.status == "held")
            .returning(Ticket.id)
        )
        if not resumed:
            raise Conflict(
                f"ticket {ticket['number']} is {ticket['status']}, not held",
                ticket_id=str(ticket["id"]),
            )
        # Rules and dates may have changed while it was parked.
        await reprice(scope, ticket["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ticket.resumed",
            subject_type="ticket",
            subject_id=ticket["id"],
            before={"status": "held"},
            after={"status": "open"},
        )


async def list_tickets(scope: TenantScope, status: str) -> list[dict[str, Any]]:
    """Return the open or held tickets, newest first, as short summaries."""
    if status not in ("open", "held"):
        raise invalid("status", f"{status!r} is not open or held")
    rows = (
        await scope.select(Ticket)
        .where(Ticket.status == status)
        .order_by(Ticket.opened_at, ascending=False)
        .limit(200)
    )
    return [
        {
            "id": str(row["id"]),
            "number": row["number"],
            "status": row["status"],
            "client_id": str(row["client_id"]) if row["client_id"] else None,
            "total": row["total"],
            "note": row["note"],
            "held_at": row["held_at"].isoformat() if row["held_at"] else None,
        }
        for row in rows
    ]


# Discounts.

DISCOUNT_FIELDS = {"line_id", "kind", "percent", "amount", "reason"}


async def add_discount(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    data: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> uuid.UUID:
    """Add a manual discount to a line (``line_id``) or the whole ticket.

    ``data``: ``kind`` percent (with ``percent``) or fixed (with ``amount``
    in minor units), optional ``reason``. A fixed amount above the line (or
    the ticket) is rejected on ``amount``. Returns the discount's id.
    """
    unknown = {
        key: "is not a field of a discount"
        for key in data
        if key not in DISCOUNT_FIELDS
    }
    if unknown:
        raise ValidationFailed(unknown)
    async with write_transaction():
        ticket = await lock_open_ticket(scope, ticket_id)
        line_id = None
        ceiling = ticket["subtotal"] - ticket["discount"]
        if data.get("line_id") not in (None, ""):
            line_id = as_uuid(data["line_id"], "line_id")
            line = (
                await scope.select(TicketLine)
                .where(TicketLine.id == line_id)
                .where(TicketLine.ticket_id == ticket["id"])
                .first()
            )
            if line is None:
                raise invalid("line_id", f"line {line_id} is not on this ticket")
            if line["kind"] == "gift_card":
                raise invalid("line_id", "a gift card sale cannot be discounted")
            ceiling = line["unit_price"] * line["quantity"] - line["line_discount"]
        errors: dict[str, str] = {}
        values = discounts.check_discount(data, errors, max_fixed=max(ceiling, 0))
        reason = discounts.check_reason(data.get("reason"), errors)
        if errors:
            raise ValidationFailed(errors)
        existing = await scope.select(TicketDiscount, TicketDiscount.id).where(
            TicketDiscount.ticket_id == ticket["id"]
        )
        discounts.ensure_room(existing)
        label = reason or "Discount"
        row = discounts.ticket_discount_row(
            ticket["id"],
            values,
            source="manual",
            reason=discounts.describe(
                values["kind"], values["percent"], values["amount"], label
            ),
            actor_id=actor_id,
            line_id=line_id,
        )
        await scope.insert(row)
        totals = await reprice(scope, ticket["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ticket.discount_added",
            subject_type="ticket",
            subject_id=ticket["id"],
            before={"total": ticket["total"], "discount": ticket["discount"]},
            after={**totals, "line_id": line_id, **values, "reason": reason},
        )
    return row.id  # type: ignore[no-any-return]


async def remove_discount(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    discount_id: uuid.UUID | str,
    actor_id: uuid.UUID | None,
) -> None:
    """Remove a discount (manual, promo code or points) from an open ticket."""
    async with write_transaction():
        ticket = await lock_open_ticket(scope, ticket_id)
        row = await scope.get(TicketDiscount, discount_id)
        if row["ticket_id"] != ticket["id"]:
            raise NotFound("ticket_discount", str(discount_id))
        await scope.delete(TicketDiscount).where(TicketDiscount.id == row["id"])
        totals = await reprice(scope, ticket["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ticket.discount_removed",
            subject_type="ticket",
            subject_id=ticket["id"],
            before={
                "total": ticket["total"],
                "source": row["source"],
                "reason": row["reason"],
                "applied": row["applied"],
            },
            after=totals,
        )


async def apply_promo(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    code: object,
    actor_id: uuid.UUID | None,
) -> None:
    """Put a promo code on an open ticket, replacing any code it had.

    The code must exist, be active, be within its dates (the tenant's local
    date) and under its usage limit, and the ticket's subtotal must reach
    its minimum. Its use is counted when the ticket closes. Raises
    ValidationFailed naming ``code``.
    """
    async with write_transaction():
        ticket = await lock_open_ticket(scope, ticket_id)
        promo = await discounts.find_promo(scope, code, "code")
        problem = discounts.promo_problem(
            promo, discounts.today_for(scope), ticket["subtotal"]
        )
        if problem:
            raise invalid("code", problem)
        await (
            scope.delete(TicketDiscount)
            .where(TicketDiscount.ticket_id == ticket["id"])
            .where(TicketDiscount.source == "promo")
        )
        await scope.insert(
            discounts.ticket_discount_row(
                ticket["id"],
                promo,
                source="promo",
                reason=discounts.describe(
                    promo["kind"], promo["percent"], promo["amount"], promo["code"]
                ),
                actor_id=actor_id,
                promo_code_id=promo["id"],
            )
        )
        totals = await reprice(scope, ticket["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ticket.promo_applied",
            subject_type="ticket",
            subject_id=ticket["id"],
            before={"total": ticket["total"], "discount": ticket["discount"]},
            after={**totals, "code": promo["code"]},
        )


async def redeem_points_discount(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    points: object,
    actor_id: uuid.UUID | None,
) -> None:
    """Take loyalty points off the ticket as a fixed discount.

    Each point is worth the tenant's ``loyalty_point_value`` minor units.
    The points are taken from the client's balance when the ticket closes.
    Raises ValidationFailed naming ``points`` when the ticket has no client,
    points are switched off, the client has too few, or the value exceeds
    the ticket.
    """
    # The ticket is looked up first, so another tenant's id is a 404 whatever
    # the body holds.
    await scope.get(Ticket, ticket_id)
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise invalid("points", f"{points!r} is not a whole number of points above 0")
    settings = await taxes.ledger_settings(scope)
    value = settings["loyalty_point_value"]
    if value <= 0:
        raise invalid("points", "loyalty points are not redeemable: set a point value")
    async with write_transaction():
        ticket = await lock_open_ticket(scope, ticket_id)
        if ticket["client_id"] is None:
            raise invalid("points", "the ticket has no client whose points to use")
        balance = (await loyalty.account_of(scope, ticket["client_id"]))["points"]
        used = await scope.select(TicketDiscount, TicketDiscount.points).where(
            TicketDiscount.ticket_id == ticket["id"]
        )
        already = sum(row["points"] for row in used)
        if points + already > balance:
            raise invalid(
                "points", f"the client has {balance - already} points left to use"
            )
        amount = points * value
        left = ticket["subtotal"] - ticket["discount"]
        if amount > left:
            raise invalid(
                "points",
                f"{points} points are worth {amount}, more than the {left} left "
                "to pay: use fewer points",
            )
        await scope.insert(
            discounts.ticket_discount_row(
                ticket["id"],
                {"kind": "fixed", "percent": "0", "amount": amount},
                source="points",
                reason=f"{points} loyalty points",
                actor_id=actor_id,
                points=points,
            )
        )
        totals = await reprice(scope, ticket["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ticket.points_discount",
            subject_type="ticket",
            subject_id=ticket["id"],
            before={"total": ticket["total"]},
            after={**totals, "points": points},
        )


def discount_views(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return a ticket's stored discounts as JSON."""
    return [
        {
            "id": str(row["id"]),
            "line_id": str(row["line_id"]) if row["line_id"] else None,
            "source": row["source"],
            "kind": row["kind"],
            "percent": row["percent"],
            "amount": row["amount"],
            "applied": row["applied"],
            "reason": row["reason"],
            "points": row["points"],
        }
        for row in rows
    ]
