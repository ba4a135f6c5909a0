"""The ticket as the till shows it: lines, totals, balances, prompts, tenders."""

from __future__ import annotations

import uuid
from typing import Any

from tillbook.db.base import utcnow
from tillbook.kernel.catalog import memberships, packages
from tillbook.kernel.catalog.giftcards import format_code
from tillbook.kernel.catalog.tables import GiftCard, Product, Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger import loyalty, taxes, wallet
from tillbook.kernel.ledger.cards import configured_provider, stored_card_of
from tillbook.kernel.ledger.tables import (
    Tender,
    Ticket,
    TicketDiscount,
    TicketLine,
    Tip,
)
from tillbook.kernel.ledger.ticket_edits import discount_views
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


def hook_row(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return a row for a plugin hook: ids as strings, money as integers."""
    if row is None:
        return None
    return {
        key: str(value) if isinstance(value, uuid.UUID) else value
        for key, value in row.items()
    }


def hook_ticket(ticket: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a ticket with its ``lines`` as hooks receive it."""
    view = hook_row(ticket) or {}
    view["lines"] = [hook_row(line) for line in lines]
    return view


async def plugin_prompts(
    scope: TenantScope,
    hooks: TenantHooks,
    client: dict[str, Any] | None,
    appointment: dict[str, Any] | None,
    ticket: dict[str, Any],
) -> list[str]:
    """Return the prompts of enabled plugins, flattened in plugin order."""
    prompts: list[str] = []
    results = await hooks.tillbook_checkout_prompts(
        scope=scope,
        client=hook_row(client),
        appointment=hook_row(appointment),
        ticket=ticket,
    )
    for result in results or []:
        prompts.extend(str(item) for item in result or [])
    return prompts


async def upsell_suggestions(
    scope: TenantScope,
    hooks: TenantHooks,
    ticket: dict[str, Any],
    lines: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Return plugin suggestions for items not on the ticket and still on sale.

    Each is ``{"kind", "item_id", "name", "price", "reason"}``.
    """
    results = await hooks.tillbook_upsell_suggestions(scope=scope, ticket=ticket)
    wanted: list[tuple[str, uuid.UUID, str]] = []
    on_ticket = {line["item_id"] for line in lines}
    for result in results or []:
        for item in result or []:
            if not isinstance(item, dict) or item.get("kind") not in (
                "product",
                "service",
            ):
                continue
            try:
                item_id = uuid.UUID(str(item.get("item_id")))
            except ValueError:
                continue
            if item_id not in on_ticket:
                wanted.append((item["kind"], item_id, str(item.get("reason", ""))))
    if not wanted:
        return []
    products = await scope.get_many(
        Product, [i for kind, i, _ in wanted if kind == "product"]
    )
    services = await scope.get_many(
        Service, [i for kind, i, _ in wanted if kind == "service"]
    )
    suggestions = []
    seen: set[uuid.UUID] = set()
    for kind, item_id, reason in wanted:
        row = (products if kind == "product" else services).get(item_id)
        if row is None or not row["active"] or item_id in seen:
            continue
        if kind == "product" and row["stock"] <= 0:
            continue
        seen.add(item_id)
        suggestions.append(
            {
                "kind": kind,
                "item_id": str(item_id),
                "name": row["name"],
                "price": row["price"],
                "reason": reason,
            }
        )
    return suggestions


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
        "line_discount": line["line_discount"],
        "tax_rate": line["tax_rate"],
        "tax_name": line["tax_name"],
        "tax_included": line["tax_included"],
        "tax": line["tax"],
        "net": line["net"],
        "total": line["total"],
        "note": line["note"],
        "appointment_id": _id(line["appointment_id"]),
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
                "tip": row["tip"],
            }
            for row in tenders
        ],
        "tips": [
            {
                "staff_id": str(row["staff_id"]),
                "staff_name": staff_names.get(row["staff_id"], ""),
                "amount": row["amount"],
                "share": row["share"],
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
    balances = await _client_balances(scope, client, closed)
    discount_rows = list(
        await scope.select(TicketDiscount)
        .where(TicketDiscount.ticket_id == ticket["id"])
        .order_by(TicketDiscount.created_at)
    )
    offered = _tenders_offered(
        provider,
        card,
        bool(package_views),
        balances,
        await _has_membership_sessions(scope, client, lines) if not closed else False,
    )
    hook_view = hook_ticket(ticket, lines)

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
        + (
            []
            if closed
            else await plugin_prompts(scope, hooks, client, appointment, hook_view)
        ),
        "suggestions": (
            []
            if ticket["status"] != "open"
            else await upsell_suggestions(scope, hooks, hook_view, lines)
        ),
        "discounts": discount_views(discount_rows),
        "balances": balances,
        "note": ticket["note"],
        "held_at": _instant(scope, ticket["held_at"]),
        "cash_rounding": ticket["cash_rounding"],
        "points_earned": ticket["points_earned"],
        "tax_summary": taxes.tax_summary(lines),
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


async def _has_membership_sessions(
    scope: TenantScope, client: dict[str, Any] | None, lines: list[dict[str, Any]]
) -> bool:
    """Tell whether a membership of the client pays a service line's session."""
    if client is None:
        return False
    now = utcnow()
    for line in lines:
        if line["kind"] != "service" or line["item_id"] is None:
            continue
        benefit = await memberships.membership_benefit(
            scope, client_id=client["id"], service_id=line["item_id"], at=now
        )
        if benefit is not None and benefit["kind"] != "discount":
            return True
    return False


async def _client_balances(
    scope: TenantScope, client: dict[str, Any] | None, closed: bool
) -> dict[str, int]:
    """Return the client's store credit, points and what a point is worth."""
    if client is None or closed:
        return {"wallet": 0, "points": 0, "point_value": 0}
    settings = await taxes.ledger_settings(scope)
    return {
        "wallet": await wallet.balance_of(scope, client["id"]),
        "points": (await loyalty.account_of(scope, client["id"]))["points"],
        "point_value": settings["loyalty_point_value"],
    }


def _tenders_offered(
    provider: Any,
    card: Any,
    has_packages: bool,
    balances: dict[str, int],
    has_memberships: bool,
) -> list[str]:
    offered = ["cash", "gift_card"]
    if has_packages:
        offered.append("package")
    if has_memberships:
        offered.append("membership")
    if balances["wallet"] > 0:
        offered.append("wallet")
    if balances["points"] > 0 and balances["point_value"] > 0:
        offered.append("loyalty")
    offered.append(
        "card" if provider is not None and card is not None else "external_card"
    )
    if provider is not None and hasattr(provider.provider, "charge_card_present"):
        offered.append("card_present")
    return offered


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
