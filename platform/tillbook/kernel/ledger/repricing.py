"""Repricing an open ticket after any change to its lines or discounts.

``reprice`` reads the lines, the stored discounts, the tenant's settings and
tax rates, and the client's automatic rules, prices the ticket with
``pricing.price_ticket`` and writes back only the lines whose amounts
changed, then the ticket's totals and a new revision.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any

from tillbook.db.base import utcnow
from tillbook.kernel.catalog import memberships
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger import discounts, loyalty, taxes
from tillbook.kernel.ledger.pricing import Discount, PricedTicket, price_ticket
from tillbook.kernel.ledger.tables import Ticket, TicketDiscount, TicketLine
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

PRICED_COLUMNS = ("discount", "line_discount", "tax", "net", "total", "tax_name")


async def _membership_discounts(
    scope: TenantScope, client: dict[str, Any], lines: list[dict[str, Any]]
) -> dict[uuid.UUID, Discount]:
    """Return a membership discount per service line the client's plan covers."""
    found: dict[uuid.UUID, Discount] = {}
    now = utcnow()
    for line in lines:
        if line["kind"] != "service" or line["item_id"] is None:
            continue
        benefit = await memberships.membership_benefit(
            scope, client_id=client["id"], service_id=line["item_id"], at=now
        )
        if benefit is None or benefit["kind"] != "discount":
            continue
        percent = benefit["discount_percent"]
        if percent <= 0:
            continue
        found[line["id"]] = Discount(
            key=f"membership:{benefit['membership_id']}",
            kind="percent",
            percent=Decimal(percent),
            reason=f"{benefit['plan_name']} {percent}%",
            source="membership",
            line_id=line["id"],
        )
    return found


async def automatic_for(
    scope: TenantScope, client: dict[str, Any] | None, lines: list[dict[str, Any]]
) -> dict[uuid.UUID, list[Discount]]:
    """Return the automatic discounts of each line for ``client``."""
    if client is None:
        return {}
    rules = await discounts.active_rules(scope)
    lifetime = 0
    if any(rule["min_points"] > 0 for rule in rules):
        lifetime = (await loyalty.account_of(scope, client["id"]))["lifetime_points"]
    qualifying = discounts.qualifying_rules(
        rules, client, lifetime_points=lifetime, today=discounts.today_for(scope)
    )
    tenant = scope.tenant
    per_line = discounts.automatic_discounts(
        lines,
        qualifying,
        tenant_loyalty=(tenant.loyalty_percent, tenant.loyalty_min_visits),
        client=client,
    )
    for line_id, discount in (
        await _membership_discounts(scope, client, lines)
    ).items():
        per_line.setdefault(line_id, []).append(discount)
    return per_line


async def price_open_ticket(
    scope: TenantScope,
    ticket: dict[str, Any],
    lines: list[dict[str, Any]],
    settings: dict[str, Any] | None = None,
) -> tuple[PricedTicket, list[dict[str, Any]]]:
    """Price a ticket's lines; return the priced ticket and its discount rows."""
    settings = settings or await taxes.ledger_settings(scope)
    rows = list(
        await scope.select(TicketDiscount)
        .where(TicketDiscount.ticket_id == ticket["id"])
        .order_by(TicketDiscount.created_at)
    )
    client = None
    if ticket["client_id"] is not None:
        client = (
            await scope.select(Client).where(Client.id == ticket["client_id"]).first()
        )
    automatic = await automatic_for(scope, client, lines)
    priced = price_ticket(
        lines,
        [discounts.as_discount(row) for row in rows],
        automatic,
        rounding=taxes.rounding_of(settings),
        stack_automatic=settings["stack_automatic"],
    )
    return priced, rows


async def reprice(scope: TenantScope, ticket_id: uuid.UUID) -> dict[str, int]:
    """Reprice an open ticket and store the result; return its totals.

    Call inside the write transaction that changed the ticket, after
    ``lock_open_ticket``.
    """
    ticket = await scope.get(Ticket, ticket_id)
    lines = list(
        await scope.select(TicketLine)
        .where(TicketLine.ticket_id == ticket_id)
        .order_by(TicketLine.position)
    )
    priced, rows = await price_open_ticket(scope, ticket, lines)
    rates = await taxes.tax_rates(scope)
    by_id = {line.line_id: line for line in priced.lines}
    for line in lines:
        result = by_id[line["id"]]
        values = {
            "discount": result.discount,
            "line_discount": result.line_discount,
            "tax": result.tax,
            "net": result.net,
            "total": result.total,
            "tax_name": line["tax_name"]
            or taxes.name_for_rate(rates, line["tax_rate"]),
        }
        reason = ", ".join(dict.fromkeys(result.reasons))[:100]
        if any(line[name] != values[name] for name in PRICED_COLUMNS) or (
            line["discount_reason"] != reason
        ):
            await scope.update(
                TicketLine,
                {
                    **{getattr(TicketLine, k): v for k, v in values.items()},
                    TicketLine.discount_reason: reason,
                },
            ).where(TicketLine.id == line["id"])
    for row in rows:
        applied = priced.applied.get(str(row["id"]), 0)
        if applied != row["applied"]:
            await scope.update(TicketDiscount, {TicketDiscount.applied: applied}).where(
                TicketDiscount.id == row["id"]
            )
    totals = {
        "subtotal": priced.subtotal,
        "discount": priced.discount,
        "tax": priced.tax,
        "total": priced.total,
    }
    await scope.update(
        Ticket,
        {
            Ticket.subtotal: totals["subtotal"],
            Ticket.discount: totals["discount"],
            Ticket.tax: totals["tax"],
            Ticket.total: totals["total"],
            Ticket.revision: Ticket.revision + 1,
        },
    ).where(Ticket.id == ticket_id)
    return totals
