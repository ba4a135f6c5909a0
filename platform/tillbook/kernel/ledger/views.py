"""The ticket as the till shows it: lines, totals, balances, prompts, tenders."""

from __future__ import annotations

import uuid
from typing import Any

from tillbook.kernel.catalog import packages
from tillbook.kernel.catalog.giftcards import format_code
from tillbook.kernel.catalog.tables import GiftCard, Product
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.cards import configured_provider, stored_card_of
from tillbook.kernel.ledger.tables import Tender, Ticket, TicketLine, Tip
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _instant(scope: TenantScope, value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    return {
        "at": value.isoformat(),
        "local": value.astimezone(scope.tenant.zone).strftime("%Y-%m-%d %H:%M"),
    }


def kernel_prompts(
    client: dict[str, Any] | None, appointment: dict[str, Any] | None
) -> list[str]:
    """Return the kernel's own checkout reminders: preferences, notes, booking note."""
    prompts: list[str] = []
    if client is not None:
        if client["preferences"].strip():
            prompts.append(f"Preferences: {client['preferences'].strip()}")
        if client["notes"].strip():
            prompts.append(f"Notes: {client['notes'].strip()}")
    if appointment is not None and appointment["note"].strip():
        prompts.append(f"Booking note: {appointment['note'].strip()}")
    return prompts


def plugin_prompts(
    hooks: TenantHooks,
    client: dict[str, Any] | None,
    appointment: dict[str, Any] | None,
) -> list[str]:
    """Return the prompts of enabled plugins, flattened in plugin order."""
    prompts: list[str] = []
    for result in hooks.tillbook_checkout_prompts(
        client=client, appointment=appointment
    ):
        prompts.extend(str(item) for item in result or [])
    return prompts


def line_view(
    line: dict[str, Any],
    staff_names: dict[uuid.UUID, str],
    stock: dict[uuid.UUID, int],
) -> dict[str, Any]:
    """Return one ticket line as JSON, with its provider's name and stock level."""
    view = {
        "id": str(line["id"]),
        "position": line["position"],
        "kind": line["kind"],
        "item_id": _id(line["item_id"]),
        "description": line["description"],
        "category": line["category"],
        "staff_id": _id(line["staff_id"]),
        "staff_name": staff_names.get(line["staff_id"], ""),
        "quantity": line["quantity"],
        "unit_price": line["unit_price"],
        "gross": line["unit_price"] * line["quantity"],
        "discount": line["discount"],
        "discount_reason": line["discount_reason"],
        "tax_rate": line["tax_rate"],
        "tax": line["tax"],
        "net": line["net"],
        "total": line["total"],
    }
    if line["kind"] == "product" and line["item_id"] in stock:
        view["stock"] = stock[line["item_id"]]
    return view


async def _lines(scope: TenantScope, ticket_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (
        await scope.select(TicketLine)
        .where(TicketLine.ticket_id == ticket_id)
        .order_by(TicketLine.position)
    )
    return list(rows)


async def _package_views(
    scope: TenantScope, client_id: uuid.UUID | None, lines: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    services = {line["item_id"] for line in lines if line["kind"] == "service"}
    if client_id is None or not services:
        return []
    rows = await packages.usable_packages(scope, client_id, services)
    names = await packages.plan_names(scope, [row["plan_id"] for row in rows])
    return [
        {
            "id": str(row["id"]),
            "name": names.get(row["plan_id"], "Package"),
            "service_id": str(row["service_id"]),
            "sessions_left": row["sessions_left"],
            "sessions_total": row["sessions_total"],
            "unit_value": row["unit_value"],
            "expires_at": row["expires_at"].isoformat(),
            "line_ids": [
                str(line["id"])
                for line in lines
                if line["kind"] == "service" and line["item_id"] == row["service_id"]
            ],
        }
        for row in rows
    ]


async def _closed_details(
    scope: TenantScope, ticket_id: uuid.UUID, staff_names: dict[uuid.UUID, str]
) -> dict[str, Any]:
    tenders = await scope.select(Tender).where(Tender.ticket_id == ticket_id)
    tips = await scope.select(Tip).where(Tip.ticket_id == ticket_id)
    return {
        "tenders": [
            {
                "kind": row["kind"],
                "amount": row["amount"],
                "change_given": row["change_given"],
                "reference": row["reference"],
                "detail": row["detail"],
            }
            for row in tenders
        ],
        "tips": [
            {
                "staff_id": str(row["staff_id"]),
                "staff_name": staff_names.get(row["staff_id"], ""),
                "amount": row["amount"],
            }
            for row in tips
        ],
        "change": sum(row["change_given"] for row in tenders),
    }


async def ticket_view(
    scope: TenantScope, ticket_id: uuid.UUID | str, hooks: TenantHooks
) -> dict[str, Any]:
    """Return a ticket as JSON for the till and the API.

    Shape: ``{"id", "number", "status", "currency", "minor_digits",
    "opened", "closed", "client", "appointment", "lines", "totals",
    "packages", "stored_card", "prompts", "tenders_offered", "tenders",
    "tips", "change", "gift_cards", "receipt_email"}``. Money is in minor
    units. ``packages`` lists the client's unexpired packages with sessions
    left for a service on the ticket. ``tenders_offered`` lists the tender
    kinds the till offers now: ``card`` when a provider is configured and the
    client has a stored card, else ``external_card``. Raises NotFound for an
    unknown ticket.
    """
    ticket = await scope.get(Ticket, ticket_id)
    lines = await _lines(scope, ticket["id"])
    client = None
    if ticket["client_id"] is not None:
        client = (
            await scope.select(Client).where(Client.id == ticket["client_id"]).first()
        )
    appointment = None
    if ticket["appointment_id"] is not None:
        appointment = (
            await scope.select(Appointment)
            .where(Appointment.id == ticket["appointment_id"])
            .first()
        )
    staff_ids = {line["staff_id"] for line in lines if line["staff_id"]}
    if appointment is not None:
        staff_ids.add(appointment["staff_id"])
    closed = ticket["status"] == "closed"
    tips = (
        await scope.select(Tip).where(Tip.ticket_id == ticket["id"]) if closed else []
    )
    staff_ids |= {row["staff_id"] for row in tips}
    staff = await scope.get_many(Staff, staff_ids)
    staff_names = {staff_id: row["name"] for staff_id, row in staff.items()}
    product_ids = [line["item_id"] for line in lines if line["kind"] == "product"]
    products = await scope.get_many(Product, product_ids)
    stock = {product_id: row["stock"] for product_id, row in products.items()}

    package_views = (
        [] if closed else await _package_views(scope, ticket["client_id"], lines)
    )
    card = stored_card_of(client)
    provider = configured_provider(hooks)
    offered = ["cash", "gift_card"]
    if package_views:
        offered.append("package")
    offered.append(
        "card" if provider is not None and card is not None else "external_card"
    )

    view: dict[str, Any] = {
        "id": str(ticket["id"]),
        "number": ticket["number"],
        "status": ticket["status"],
        "currency": scope.tenant.currency,
        "minor_digits": scope.tenant.minor_digits,
        "prices_include_tax": scope.tenant.prices_include_tax,
        "opened": _instant(scope, ticket["opened_at"]),
        "closed": _instant(scope, ticket["closed_at"]),
        "client": _client_view(client),
        "appointment": _appointment_view(appointment, staff_names, scope),
        "lines": [line_view(line, staff_names, stock) for line in lines],
        "totals": {
            "subtotal": ticket["subtotal"],
            "discount": ticket["discount"],
            "tax": ticket["tax"],
            "lines": ticket["total"] - ticket["tips"],
            "tips": ticket["tips"],
            "total": ticket["total"],
        },
        "packages": package_views,
        "stored_card": (
            {"label": card.label, "provider": provider.name if provider else None}
            if card is not None
            else None
        ),
        "prompts": kernel_prompts(client, appointment)
        + plugin_prompts(hooks, client, appointment),
        "tenders_offered": offered,
        "tenders": [],
        "tips": [],
        "change": 0,
        "gift_cards": [],
        "receipt_email": ticket["receipt_email"],
    }
    if closed:
        view.update(await _closed_details(scope, ticket["id"], staff_names))
        view["gift_cards"] = await _gift_cards_sold(scope, lines)
    return view


async def _gift_cards_sold(
    scope: TenantScope, lines: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    card_ids = [line["item_id"] for line in lines if line["kind"] == "gift_card"]
    cards = await scope.get_many(GiftCard, [i for i in card_ids if i is not None])
    return [
        {
            "id": str(row["id"]),
            "code": format_code(row["code"]),
            "balance": row["balance"],
            "expires_at": row["expires_at"].isoformat() if row["expires_at"] else None,
        }
        for row in cards.values()
    ]


def _client_view(client: dict[str, Any] | None) -> dict[str, Any] | None:
    if client is None:
        return None
    return {
        "id": str(client["id"]),
        "name": f"{client['first_name']} {client['last_name']}".strip(),
        "email": client["email"],
        "phone": client["phone"],
        "completed_visits": client["completed_visits"],
    }


def _appointment_view(
    appointment: dict[str, Any] | None,
    staff_names: dict[uuid.UUID, str],
    scope: TenantScope,
) -> dict[str, Any] | None:
    if appointment is None:
        return None
    return {
        "id": str(appointment["id"]),
        "service_id": str(appointment["service_id"]),
        "staff_id": str(appointment["staff_id"]),
        "staff_name": staff_names.get(appointment["staff_id"], ""),
        "status": appointment["status"],
        "note": appointment["note"],
        "start": _instant(scope, appointment["start_at"]),
    }
