"""Receipt data: lines, tax, tips, tenders and advice for the next visit.

``receipt_context`` gathers a closed ticket's data for the receipt template.
That is the lines with discounts and tax, a tax summary by rate, tips by
provider, tenders with change and gift cards sold. It adds the products
recommended with the services received (``ServiceProduct`` links of kind
``recommends``), a suggested rebooking date, and plugins' HTML sections.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from tillbook.errors import Conflict
from tillbook.kernel.catalog.giftcards import format_code
from tillbook.kernel.catalog.stock import RECOMMENDS, linked_products
from tillbook.kernel.catalog.tables import GiftCard, Product, Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger import taxes
from tillbook.kernel.ledger.tables import Tender, Ticket, TicketLine, Tip
from tillbook.kernel.ledger.views import hook_ticket
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

TENDER_LABELS = {
    "cash": "Cash",
    "card": "Card",
    "card_present": "Card",
    "external_card": "Card (terminal)",
    "gift_card": "Gift card",
    "wallet": "Store credit",
    "package": "Package session",
    "membership": "Membership",
    "loyalty": "Loyalty points",
    "deposit": "Deposit",
}


def tender_label(tender: dict[str, Any]) -> str:
    """Return how a tender reads on a receipt, such as ``Card Visa 4242``."""
    label = TENDER_LABELS.get(tender["kind"], tender["kind"])
    if tender["kind"] == "card" and tender["detail"]:
        return f"{label} {tender['detail']}"
    if tender["kind"] == "gift_card" and tender["reference"]:
        return f"{label} {tender['reference']}"
    if tender["kind"] in ("package", "membership", "loyalty") and tender["detail"]:
        return f"{label}: {tender['detail']}"
    return label


def tax_summary(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the net and tax of the lines per named rate, for the receipt.

    Gift card and package sales carry no tax and are left out.
    """
    taxed = [line for line in lines if line["kind"] not in ("gift_card", "package")]
    return taxes.tax_summary(taxed)


def rebook_date(visit: date, interval_days: int | None) -> date | None:
    """Return the suggested next visit: ``visit + interval_days``, if set."""
    if not interval_days or interval_days <= 0:
        return None
    return visit + timedelta(days=interval_days)


async def _recommendations(
    scope: TenantScope, service_ids: list[uuid.UUID]
) -> list[dict[str, Any]]:
    links = await linked_products(scope, service_ids, RECOMMENDS)
    products = await scope.get_many(Product, [link["product_id"] for link in links])
    seen: set[uuid.UUID] = set()
    recommended = []
    for link in links:
        product = products.get(link["product_id"])
        if product is None or not product["active"] or product["id"] in seen:
            continue
        seen.add(product["id"])
        recommended.append({"name": product["name"], "price": product["price"]})
    return sorted(recommended, key=lambda item: item["name"])


async def _rebooking(
    scope: TenantScope, services: dict[uuid.UUID, dict[str, Any]], visit: datetime
) -> dict[str, Any] | None:
    local_day = visit.astimezone(scope.tenant.zone).date()
    best: dict[str, Any] | None = None
    for service in services.values():
        suggested = rebook_date(local_day, service["rebook_interval_days"])
        if suggested is not None and (best is None or suggested < best["date"]):
            best = {"date": suggested, "service": service["name"]}
    if best is None:
        return None
    best["text"] = best["date"].strftime("%A %-d %B %Y")
    return best


async def receipt_context(
    scope: TenantScope, ticket_id: uuid.UUID | str, hooks: TenantHooks
) -> dict[str, Any]:
    """Return the template context of a closed ticket's receipt.

    Raises NotFound for an unknown ticket and Conflict for one still open.
    """
    ticket = await scope.get(Ticket, ticket_id)
    if ticket["status"] != "closed":
        raise Conflict(f"ticket {ticket['number']} is not closed yet: no receipt")
    lines = list(
        await scope.select(TicketLine)
        .where(TicketLine.ticket_id == ticket["id"])
        .order_by(TicketLine.position)
    )
    tenders = list(await scope.select(Tender).where(Tender.ticket_id == ticket["id"]))
    tips = list(await scope.select(Tip).where(Tip.ticket_id == ticket["id"]))
    client = None
    if ticket["client_id"]:
        client = (
            await scope.select(Client).where(Client.id == ticket["client_id"]).first()
        )
    appointment = None
    if ticket["appointment_id"]:
        appointment = (
            await scope.select(Appointment)
            .where(Appointment.id == ticket["appointment_id"])
            .first()
        )
    staff_ids = {line["staff_id"] for line in lines if line["staff_id"]}
    staff = await scope.get_many(Staff, staff_ids | {tip["staff_id"] for tip in tips})
    service_ids = [line["item_id"] for line in lines if line["kind"] == "service"]
    services = await scope.get_many(Service, [i for i in service_ids if i])
    card_ids = [line["item_id"] for line in lines if line["kind"] == "gift_card"]
    cards = await scope.get_many(GiftCard, [i for i in card_ids if i])
    visit = appointment["start_at"] if appointment else ticket["closed_at"]

    sections: list[str] = []
    results = await hooks.tillbook_receipt_sections(
        scope=scope, ticket=hook_ticket(ticket, lines)
    )
    for result in results or []:
        sections.extend(str(item) for item in result or [])
    return {
        "ticket": ticket,
        "client": client,
        "lines": [
            {**line, "staff_name": staff[line["staff_id"]]["name"]}
            if line["staff_id"] in staff
            else {**line, "staff_name": ""}
            for line in lines
        ],
        "tax_summary": tax_summary(lines),
        "tips": [
            {"staff_name": staff[tip["staff_id"]]["name"], "amount": tip["amount"]}
            for tip in tips
            if tip["staff_id"] in staff
        ],
        "tenders": [{**tender, "label": tender_label(tender)} for tender in tenders],
        "change": sum(tender["change_given"] for tender in tenders),
        "gift_cards": [
            {"code": format_code(card["code"]), "balance": card["balance"]}
            for card in cards.values()
        ],
        "recommendations": await _recommendations(scope, list(services)),
        "rebook": await _rebooking(scope, services, visit),
        "visit": visit,
        "sections": sections,
    }
