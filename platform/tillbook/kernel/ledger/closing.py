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
from tillbook.kernel.catalog import giftcards, memberships, packages, stock
from tillbook.kernel.catalog.tables import GiftCard
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.ledger import discounts, loyalty, wallet
from tillbook.kernel.ledger.journal import PostingDraft, line_postings, post_entry
from tillbook.kernel.ledger.money import format_major
from tillbook.kernel.ledger.tables import Tender, Ticket, TicketLine, Tip
from tillbook.kernel.ledger.tenders import (
    CASH_ROUNDING_ACCOUNT,
    ClosePlan,
    PlannedTender,
)
from tillbook.kernel.schedule.tables import Appointment
from tillbook.tenancy.scope import TenantScope


async def _claim_ticket(
    scope: TenantScope, plan: ClosePlan, actor_id: uuid.UUID | None, now: datetime
) -> None:
    """Mark the ticket closed, first in the transaction.

    The update only passes while the ticket is open at the revision the plan
    priced, so a line or discount changed since then (which bumps the
    revision) or a concurrent close makes it fail with Conflict.
    """
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
                Ticket.cash_rounding: plan.cash_rounding,
                Ticket.points_earned: _points_earned(scope, plan),
            },
        )
        .where(Ticket.id == ticket["id"])
        .where(Ticket.status == "open")
        .where(Ticket.revision == ticket["revision"])
        .returning(Ticket.id)
    )
    if not claimed:
        raise Conflict(
            f"ticket {ticket['number']} was closed or changed by another "
            "request: review it and close it again",
            ticket_id=str(ticket["id"]),
        )


def _points_earned(scope: TenantScope, plan: ClosePlan) -> int:
    """Return the loyalty points the close earns the client.

    Points are earned on what the client paid for the lines, leaving out gift
    card sales (value the client still holds) and the part paid with points.
    """
    if plan.client is None:
        return 0
    paid = sum(line["total"] for line in plan.lines if line["kind"] != "gift_card")
    paid -= sum(t.amount for t in plan.tenders if t.kind == "loyalty")
    return loyalty.points_earned(
        paid, scope.tenant.minor_digits, plan.settings.get("loyalty_points_per_unit", 0)
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
                scope,
                tender.gift_card_id,
                tender.amount,
                now,
                ticket_id=plan.ticket["id"],
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
        elif tender.kind == "membership":
            assert tender.membership_id is not None
            await memberships.use_membership_session(
                scope,
                membership_id=tender.membership_id,
                ticket_id=plan.ticket["id"],
                at=now,
            )


async def _redeem_client_balances(
    scope: TenantScope, plan: ClosePlan, actor_id: uuid.UUID | None, now: datetime
) -> None:
    """Take store credit, loyalty points and promo code uses for the close."""
    ticket_id = plan.ticket["id"]
    for tender in plan.tenders:
        if tender.kind == "wallet":
            assert plan.client is not None
            await wallet.change_balance(
                scope,
                plan.client["id"],
                -tender.amount,
                reason=f"Paid ticket {plan.ticket['number']}",
                field=f"tenders[{tender.index}].amount",
                ticket_id=ticket_id,
                actor_id=actor_id,
            )
    points = sum(t.points for t in plan.tenders if t.kind == "loyalty")
    points += sum(row["points"] for row in plan.discounts if row["source"] == "points")
    if points and plan.client is not None:
        await loyalty.spend(
            scope,
            plan.client["id"],
            points,
            field="points",
            ticket_id=ticket_id,
            actor_id=actor_id,
        )
    today = discounts.today_for(scope, now)
    for row in plan.discounts:
        if row["source"] != "promo" or row["promo_code_id"] is None:
            continue
        await discounts.count_promo_use(
            scope, row["promo_code_id"], today, "promo_code"
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
                ticket_id=plan.ticket["id"],
                line_id=line["id"],
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
        elif line["kind"] == "membership":
            assert client_id is not None
            await memberships.start_membership(
                scope,
                client_id=client_id,
                plan_id=line["item_id"],
                at=now,
                paid=True,
                ticket_id=plan.ticket["id"],
            )
    return card_of_line, cards, sold_packages


async def _sell_gift_card(
    scope: TenantScope,
    line: dict[str, Any],
    client_id: uuid.UUID | None,
    now: datetime,
) -> dict[str, Any]:
    if line["item_id"] is None:
        # The tenant's gift card policy sets the new card's expiry.
        return await giftcards.issue_gift_card(
            scope,
            amount=line["total"],
            client_id=client_id,
            issued_at=now,
            ticket_id=line["ticket_id"],
        )
    balance = await giftcards.reload_gift_card(
        scope, line["item_id"], line["total"], now, ticket_id=line["ticket_id"]
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
    if plan.cash_rounding:
        drafts.append(
            PostingDraft(CASH_ROUNDING_ACCOUNT, -plan.cash_rounding, item_name="cash")
        )
    return drafts


def _tender_rows(plan: ClosePlan) -> tuple[list[Tender], list[Tip]]:
    """Return the tender rows and the tip rows, each tip naming its tender."""
    ticket_id = plan.ticket["id"]
    tenders = [
        Tender(
            ticket_id=ticket_id,
            kind=tender.kind,
            amount=tender.amount,
            change_given=tender.change,
            reference=tender.reference[:100],
            detail=tender.detail,
            tip=tender.tip,
        )
        for tender in plan.tenders
    ]
    row_of = {t.index: row for t, row in zip(plan.tenders, tenders, strict=True)}
    largest = max(plan.tenders, key=lambda t: t.amount, default=None)
    tips = []
    for tip in plan.tips:
        index = tip.tender if tip.tender is not None else None
        if index is None and largest is not None:
            index = largest.index
        carrier = row_of.get(index) if index is not None else None
        tips.append(
            Tip(
                ticket_id=ticket_id,
                staff_id=tip.staff_id,
                amount=tip.amount,
                tender_id=carrier.id if carrier is not None else None,
                share=tip.share,
            )
        )
    return tenders, tips


async def _mark_visit(scope: TenantScope, plan: ClosePlan) -> None:
    """Complete the ticket's appointments and count the client's visit."""
    appointment_ids = {
        line["appointment_id"]
        for line in plan.lines
        if line["appointment_id"] is not None and line["kind"] == "service"
    }
    if plan.appointment is not None:
        appointment_ids.add(plan.appointment["id"])
    if appointment_ids:
        await scope.update(Appointment, {Appointment.status: "completed"}).where(
            Appointment.id.is_in(list(appointment_ids))
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
    await _redeem_client_balances(scope, plan, actor_id, now)
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
    tender_rows, tip_rows = _tender_rows(plan)
    if tender_rows:
        await scope.insert(*tender_rows)
    if tip_rows:
        await scope.insert(*tip_rows)
    points = _points_earned(scope, plan)
    if points and plan.client is not None:
        await loyalty.earn(
            scope, plan.client["id"], points, ticket_id=ticket["id"], actor_id=actor_id
        )
    await _mark_visit(scope, plan)
    body = _result(scope, plan, now, entry_id, cards, sold_packages, stock_levels)
    body["points_earned"] = points
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
            "discount": ticket["discount"],
            "discounts": [
                {
                    "source": row["source"],
                    "reason": row["reason"],
                    "applied": row["applied"],
                }
                for row in plan.discounts
            ],
            "cash_rounding": plan.cash_rounding,
            "points_earned": body["points_earned"],
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
                "tip": tender.tip,
            }
            for tender in plan.tenders
        ],
        "change": plan.change,
        "cash_rounding": plan.cash_rounding,
        "tips": [
            {"staff_id": str(tip.staff_id), "amount": tip.amount, "share": tip.share}
            for tip in plan.tips
        ],
        "gift_cards": cards,
        "packages": sold_packages,
        "stock": stock_levels,
        "journal_entry_id": str(entry_id),
    }
