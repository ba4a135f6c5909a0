"""The close transaction: everything a paid ticket changes, applied at once.

``apply_close`` runs inside the caller's write transaction. It closes the
ticket first, so a concurrent close or line change waits or fails. Then it
redeems gift cards and packages with conditional updates, takes stock and
sells the gift cards and packages on the ticket. Last it posts the journal
entry and writes tenders, tips, history, audit and the ``ticket.closed``
event.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from tillbook.errors import Conflict, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog import giftcards, packages, stock
from tillbook.kernel.catalog.tables import GiftCard
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.ledger.journal import PostingDraft, line_postings, post_entry
from tillbook.kernel.ledger.money import format_major
from tillbook.kernel.ledger.tables import Tender, Ticket, TicketLine, Tip
from tillbook.kernel.ledger.tenders import ClosePlan, PlannedTender
from tillbook.kernel.schedule.tables import Appointment
from tillbook.tenancy.scope import TenantScope


def _line_signature(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (str(line["id"]), line["quantity"], line["total"], line["item_id"])
        for line in lines
    )


async def _claim_ticket(
    scope: TenantScope, plan: ClosePlan, actor_id: uuid.UUID | None, now: datetime
) -> None:
    """Mark the ticket closed, first in the transaction, and check its lines."""
    ticket = plan.ticket
    claimed = (
        await scope.update(
            Ticket,
            {
                Ticket.status: "closed",
                Ticket.closed_at: now,
                Ticket.closed_by: actor_id,
                Ticket.tips: plan.tips_total,
                Ticket.total: plan.due,
            },
        )
        .where(Ticket.id == ticket["id"])
        .where(Ticket.status == "open")
        .returning(Ticket.id)
    )
    if not claimed:
        raise Conflict(
            f"ticket {ticket['number']} was closed by another request",
            ticket_id=str(ticket["id"]),
        )
    current = await scope.select(TicketLine).where(TicketLine.ticket_id == ticket["id"])
    if _line_signature(list(current)) != _line_signature(plan.lines):
        raise Conflict(
            f"ticket {ticket['number']} changed while it was being paid: "
            "review the lines and close it again",
            ticket_id=str(ticket["id"]),
        )


async def _redeem(scope: TenantScope, plan: ClosePlan, now: datetime) -> None:
    """Take gift card balances and package sessions with conditional updates."""
    money = scope.tenant
    # Rows are updated in id order, so two closes that redeem the same cards
    # and packages take their row locks in the same order.
    ordered = sorted(
        plan.tenders, key=lambda t: str(t.gift_card_id or t.package_id or "")
    )
    for tender in ordered:
        if tender.kind == "gift_card":
            assert tender.gift_card_id is not None
            left = await giftcards.redeem_gift_card(
                scope, tender.gift_card_id, tender.amount, now
            )
            if left is None:
                card = await scope.get(GiftCard, tender.gift_card_id)
                balance = format_major(card["balance"], money.minor_digits)
                raise invalid(
                    f"tenders[{tender.index}].amount",
                    f"gift card {tender.reference} now has {money.currency} {balance} "
                    "left or has expired: take at most its balance",
                )
        elif tender.kind == "package":
            assert tender.package_id is not None
            left = await packages.redeem_session(
                scope, tender.package_id, tender.sessions, now
            )
            if left is None:
                raise invalid(
                    f"tenders[{tender.index}].client_package_id",
                    "the package has no sessions left or has expired",
                )


async def _take_stock(scope: TenantScope, plan: ClosePlan) -> list[dict[str, Any]]:
    sold: Counter[uuid.UUID] = Counter()
    performed: Counter[uuid.UUID] = Counter()
    for line in plan.lines:
        if line["kind"] == "product" and line["item_id"] is not None:
            sold[line["item_id"]] += line["quantity"]
        elif line["kind"] == "service" and line["item_id"] is not None:
            performed[line["item_id"]] += line["quantity"]
    consumed = await stock.consumed_quantities(scope, performed)
    levels = await stock.take_stock(scope, sold=sold, consumed=consumed)
    return [
        {
            "product_id": str(level["product_id"]),
            "name": level["name"],
            "stock": level["stock"],
            "low": level["low"],
        }
        for level in levels
    ]


async def _sell_items(
    scope: TenantScope, plan: ClosePlan, now: datetime
) -> tuple[dict[uuid.UUID, uuid.UUID], list[dict[str, Any]], list[dict[str, Any]]]:
    """Issue or reload gift cards and create packages sold on the ticket.

    Returns the gift card id per gift card line, and the JSON of the cards
    and packages.
    """
    card_of_line: dict[uuid.UUID, uuid.UUID] = {}
    cards: list[dict[str, Any]] = []
    sold_packages: list[dict[str, Any]] = []
    client_id = plan.client["id"] if plan.client else None
    for line in plan.lines:
        if line["kind"] == "gift_card":
            card = await _sell_gift_card(scope, line, client_id, now)
            card_of_line[line["id"]] = card["id"]
            cards.append(giftcards.gift_card_view(card, scope.tenant))
            if line["item_id"] is None:
                await scope.update(TicketLine, {TicketLine.item_id: card["id"]}).where(
                    TicketLine.id == line["id"]
                )
        elif line["kind"] == "package":
            assert client_id is not None
            package = await packages.sell_package(
                scope,
                client_id=client_id,
                plan=plan.plans[line["item_id"]],
                sold_at=now,
            )
            sold_packages.append(
                {
                    "id": str(package["id"]),
                    "plan_id": str(package["plan_id"]),
                    "service_id": str(package["service_id"]),
                    "sessions_left": package["sessions_left"],
                    "unit_value": package["unit_value"],
                    "expires_at": package["expires_at"].isoformat(),
                }
            )
    return card_of_line, cards, sold_packages


async def _sell_gift_card(
    scope: TenantScope, line: dict[str, Any], client_id: uuid.UUID | None, now: datetime
) -> dict[str, Any]:
    if line["item_id"] is None:
        # TODO: cards sold at the till never expire until the tenant has a
        # gift card validity setting to pass here as ``valid_days``.
        return await giftcards.issue_gift_card(
            scope, amount=line["total"], client_id=client_id, issued_at=now
        )
    balance = await giftcards.reload_gift_card(
        scope, line["item_id"], line["total"], now
    )
    if balance is None:
        raise Conflict(
            f"{line['description']}: the card expired before the sale closed"
        )
    return await scope.get(GiftCard, line["item_id"])


def _tender_postings(tender: PlannedTender) -> list[PostingDraft]:
    if tender.kind == "package":
        released = tender.unit_value * tender.sessions
        return [
            PostingDraft(
                "package_liability",
                released,
                item_name="package",
                item_id=tender.package_id,
            ),
            PostingDraft(
                "package_variance",
                tender.amount - released,
                item_name="package",
                item_id=tender.package_id,
            ),
        ]
    return [
        PostingDraft(
            tender.account,
            tender.amount,
            item_name=tender.kind,
            item_id=tender.gift_card_id,
        )
    ]


def close_postings(
    plan: ClosePlan, card_of_line: dict[uuid.UUID, uuid.UUID]
) -> list[PostingDraft]:
    """Return the postings of a close: lines, tips and tenders, summing to zero."""
    drafts: list[PostingDraft] = []
    for line in plan.lines:
        item_id = card_of_line.get(line["id"], line["item_id"])
        drafts += line_postings(
            line["kind"],
            net=line["net"],
            discount=line["discount"],
            tax=line["tax"],
            total=line["total"],
            item_id=item_id,
            item_name=line["description"],
            category=line["category"],
            staff_id=line["staff_id"],
        )
    for tip in plan.tips:
        drafts.append(
            PostingDraft(
                "tips_payable", -tip.amount, item_name="tip", staff_id=tip.staff_id
            )
        )
    for tender in plan.tenders:
        drafts += _tender_postings(tender)
    return drafts


def _tender_rows(plan: ClosePlan) -> list[Tender]:
    return [
        Tender(
            ticket_id=plan.ticket["id"],
            kind=tender.kind,
            amount=tender.amount,
            change_given=tender.change,
            reference=tender.reference[:100],
            detail=tender.detail,
        )
        for tender in plan.tenders
    ]


async def _mark_visit(scope: TenantScope, plan: ClosePlan) -> None:
    """Complete the appointment and count the client's visit."""
    if plan.appointment is not None:
        await scope.update(Appointment, {Appointment.status: "completed"}).where(
            Appointment.id == plan.appointment["id"]
        )
    served = any(line["kind"] == "service" for line in plan.lines)
    if plan.client is not None and served:
        await scope.update(
            Client, {Client.completed_visits: Client.completed_visits + 1}
        ).where(Client.id == plan.client["id"])


def _summary(scope: TenantScope, plan: ClosePlan) -> str:
    tenant = scope.tenant
    items = ", ".join(line["description"] for line in plan.lines)
    paid = format_major(plan.due, tenant.minor_digits)
    return f"Paid {tenant.currency} {paid} on ticket {plan.ticket['number']}: {items}"


async def apply_close(
    scope: TenantScope,
    plan: ClosePlan,
    actor_id: uuid.UUID | None,
    *,
    now: datetime,
) -> dict[str, Any]:
    """Apply a planned close at instant ``now`` inside the caller's transaction.

    Raises Conflict or ValidationFailed when a balance or the ticket changed
    since the plan was made, and the caller's transaction then rolls back.
    """
    ticket = plan.ticket
    await _claim_ticket(scope, plan, actor_id, now)
    await _redeem(scope, plan, now)
    stock_levels = await _take_stock(scope, plan)
    card_of_line, cards, sold_packages = await _sell_items(scope, plan, now)
    entry_id = await post_entry(
        scope,
        kind="sale",
        at=now,
        drafts=close_postings(plan, card_of_line),
        ticket_id=ticket["id"],
        memo=f"Ticket {ticket['number']}",
        actor_id=actor_id,
    )
    tender_rows = _tender_rows(plan)
    if tender_rows:
        await scope.insert(*tender_rows)
    if plan.tips:
        await scope.insert(
            *(
                Tip(ticket_id=ticket["id"], staff_id=tip.staff_id, amount=tip.amount)
                for tip in plan.tips
            )
        )
    await _mark_visit(scope, plan)
    body = _result(scope, plan, now, entry_id, cards, sold_packages, stock_levels)
    await _record(scope, plan, body, actor_id)
    return body


async def _record(
    scope: TenantScope,
    plan: ClosePlan,
    body: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> None:
    """Write the history entry, the audit entry and the ``ticket.closed`` event."""
    ticket = plan.ticket
    if plan.client is not None:
        await add_history(
            scope,
            plan.client["id"],
            "ticket.closed",
            _summary(scope, plan),
            ticket["id"],
        )
    await record_audit(
        scope,
        actor_id=actor_id,
        action="ticket.closed",
        subject_type="ticket",
        subject_id=ticket["id"],
        before={"status": ticket["status"], "total": ticket["total"], "tips": 0},
        after={
            "status": "closed",
            "total": plan.due,
            "tips": plan.tips_total,
            "tenders": [
                {"kind": tender["kind"], "amount": tender["amount"]}
                for tender in body["tenders"]
            ],
        },
    )
    await record_event(
        scope,
        "ticket.closed",
        {
            "ticket_id": str(ticket["id"]),
            "appointment_id": str(ticket["appointment_id"])
            if ticket["appointment_id"]
            else None,
            "client_id": str(ticket["client_id"]) if ticket["client_id"] else None,
            "number": ticket["number"],
            "total": plan.due,
        },
    )


def _result(
    scope: TenantScope,
    plan: ClosePlan,
    now: datetime,
    entry_id: uuid.UUID,
    cards: list[dict[str, Any]],
    sold_packages: list[dict[str, Any]],
    stock_levels: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return the close result as JSON-native values, as stored for replay."""
    ticket = plan.ticket
    return {
        "ticket_id": str(ticket["id"]),
        "number": ticket["number"],
        "status": "closed",
        "currency": scope.tenant.currency,
        "closed_at": now.isoformat(),
        "totals": {
            "subtotal": ticket["subtotal"],
            "discount": ticket["discount"],
            "tax": ticket["tax"],
            "lines": plan.lines_total,
            "tips": plan.tips_total,
            "total": plan.due,
        },
        "tenders": [
            {
                "kind": tender.kind,
                "amount": tender.amount,
                "change_given": tender.change,
                "reference": tender.reference,
                "detail": tender.detail,
            }
            for tender in plan.tenders
        ],
        "change": plan.change,
        "tips": [
            {"staff_id": str(tip.staff_id), "amount": tip.amount} for tip in plan.tips
        ],
        "gift_cards": cards,
        "packages": sold_packages,
        "stock": stock_levels,
        "journal_entry_id": str(entry_id),
    }
