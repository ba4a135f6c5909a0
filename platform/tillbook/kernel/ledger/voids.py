"""Voiding a ticket: an unpaid one, or a closed one on the day it closed.

An open or held ticket has posted nothing, so voiding it only marks it
``void``. A closed ticket can be voided until the end of the local day it
closed on, and only before any refund of it.

The void reverses the sale entry posting by posting in one ``void`` entry,
tips included. It refunds every tender in full: the stored card through the
payment provider, gift card balances and package sessions restored, and cash
paid out of the open drawer. It puts sold products back in stock and takes
back the gift cards, packages and memberships the ticket sold. It gives back
membership sessions and loyalty points the ticket used, takes back the points
it earned and reverses its commissions. Later in
the day, or after a refund, refund the rest line by line instead.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog import giftcards
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.ledger import idempotency, loyalty
from tillbook.kernel.ledger.backoffice_tables import Refund
from tillbook.kernel.ledger.journal import PostingDraft
from tillbook.kernel.ledger.refunds import (
    LinePart,
    RefundPlan,
    TenderPart,
    apply_refund,
    check_reason,
    lock_ticket,
    sale_postings,
    session_tenders_by_line,
)
from tillbook.kernel.ledger.tables import Tender, Ticket, TicketDiscount, TicketLine
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

IDEMPOTENCY_SCOPE = "ticket.void"
UNPAID_STATUSES = ("open", "held")


def _parse(body: object) -> str:
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object with a reason")
    unknown = set(body) - {"reason"}
    if unknown:
        raise invalid(sorted(unknown)[0], "is not a known field; send only reason")
    return check_reason(body.get("reason"))


async def _void_unpaid(
    scope: TenantScope, ticket: dict[str, Any], reason: str, actor_id: uuid.UUID | None
) -> dict[str, Any]:
    changed = (
        await scope.update(Ticket, {Ticket.status: "void"})
        .where(Ticket.id == ticket["id"])
        .where(Ticket.status.is_in(list(UNPAID_STATUSES)))
        .returning(Ticket.id)
    )
    if not changed:
        raise Conflict(f"ticket {ticket['number']} changed: reload it and try again")
    await record_audit(
        scope,
        actor_id=actor_id,
        action="ticket.voided",
        subject_type="ticket",
        subject_id=ticket["id"],
        before={"status": ticket["status"], "total": ticket["total"]},
        after={"status": "void", "reason": reason},
    )
    await record_event(
        scope,
        "ticket.voided",
        {"ticket_id": str(ticket["id"]), "refund_id": None, "amount": 0},
    )
    return {
        "refund_id": None,
        "ticket_id": str(ticket["id"]),
        "number": ticket["number"],
        "kind": "void",
        "currency": scope.tenant.currency,
        "amount": 0,
        "reason": reason,
        "lines": [],
        "tenders": [],
        "journal_entry_id": None,
    }


def _check_same_day(scope: TenantScope, ticket: dict[str, Any]) -> None:
    zone = scope.tenant.zone
    closed_day = ticket["closed_at"].astimezone(zone).date()
    today = utcnow().astimezone(zone).date()
    if closed_day != today:
        raise Conflict(
            f"ticket {ticket['number']} closed on {closed_day.isoformat()}: a "
            "closed ticket can be voided only on the day it closed; refund it instead",
            ticket_id=str(ticket["id"]),
        )


async def _tender_parts(
    scope: TenantScope, lines: list[dict[str, Any]], tenders: list[dict[str, Any]]
) -> list[TenderPart]:
    """Return every tender refunded in full, with what to give back through it."""
    paid_by_session = await session_tenders_by_line(scope, lines, tenders)
    sessions_of = {
        tender["id"]: next(line["quantity"] for line in lines if line["id"] == line_id)
        for line_id, tender in paid_by_session.items()
    }
    parts: list[TenderPart] = []
    for tender in tenders:
        part = TenderPart(dict(tender), tender["kind"], tender["amount"])
        if tender["kind"] == "gift_card":
            card = await giftcards.find_gift_card(scope, tender["reference"], "tenders")
            part.gift_card_id = card["id"]
        elif tender["kind"] == "package" and tender["id"] in sessions_of:
            part.package_id = uuid.UUID(tender["reference"])
            part.sessions = sessions_of[tender["id"]]
        elif tender["kind"] == "membership":
            part.membership_id = uuid.UUID(tender["reference"])
            part.sessions = sessions_of.get(tender["id"], 1)
        parts.append(part)
    return parts


async def _reverse_points(
    scope: TenantScope,
    ticket: dict[str, Any],
    parts: list[TenderPart],
    actor_id: uuid.UUID | None,
) -> dict[str, int]:
    """Give back the loyalty points the ticket spent and take back those it earned.

    Points spent count both ``loyalty`` tenders and points taken as a
    discount. Their money is already reversed by the void entry, which
    credits ``loyalty_redemptions`` and ``discounts`` back. Returns the
    points moved (empty when the ticket moved none).
    """
    if ticket["client_id"] is None:
        return {}
    spent = sum(loyalty.points_of_tender(part.tender) for part in parts if part.tender)
    if ticket["discount"]:
        rows = await scope.select(TicketDiscount, TicketDiscount.points).where(
            (TicketDiscount.ticket_id == ticket["id"])
            & (TicketDiscount.source == "points")
        )
        spent += sum(row["points"] for row in rows)
    earned = ticket["points_earned"]
    if not spent and not earned:
        return {}
    balance = await loyalty.reverse_for_ticket(
        scope,
        ticket["client_id"],
        spent=spent,
        earned=earned,
        ticket_id=ticket["id"],
        actor_id=actor_id,
    )
    return {
        "given_back": spent,
        "taken_back": earned,
        "unrecovered": balance["unrecovered"],
        "points": balance["points"],
    }


async def _plan_void(
    scope: TenantScope, ticket: dict[str, Any], reason: str
) -> tuple[RefundPlan, list[PostingDraft]]:
    if (
        await scope.select(Refund, Refund.id)
        .where(Refund.ticket_id == ticket["id"])
        .first()
    ):
        raise Conflict(
            f"ticket {ticket['number']} already has a refund: refund the rest "
            "line by line instead of voiding it",
            ticket_id=str(ticket["id"]),
        )
    lines = list(
        await scope.select(TicketLine)
        .where(TicketLine.ticket_id == ticket["id"])
        .order_by(TicketLine.position)
    )
    tenders = list(await scope.select(Tender).where(Tender.ticket_id == ticket["id"]))
    parts = [
        LinePart(
            dict(line),
            line["quantity"],
            net=line["net"],
            discount=line["discount"],
            tax=line["tax"],
        )
        for line in lines
    ]
    reversal = [
        PostingDraft(
            posting["account"],
            -posting["amount"],
            item_name=posting["item_name"],
            item_id=posting["item_id"],
            category=posting["category"],
            staff_id=posting["staff_id"],
        )
        for posting in await sale_postings(scope, ticket["id"])
    ]
    plan = RefundPlan(
        ticket=ticket,
        kind="void",
        reason=reason,
        restock=True,
        to_wallet=False,
        lines=parts,
        tenders=await _tender_parts(scope, lines, tenders),
    )
    return plan, reversal


async def void_ticket(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    body: object,
    *,
    actor_id: uuid.UUID | None,
    idempotency_key: str | None,
    hooks: TenantHooks | None = None,
) -> dict[str, Any]:
    """Void a ticket (see the module docstring); return the void as JSON.

    ``body`` is ``{"reason": str}``. A repeated ``idempotency_key`` returns
    the first result. Raises NotFound for an unknown ticket and
    ValidationFailed naming ``reason``. Raises Conflict when the ticket is
    already void, closed on an earlier day or has a refund. Nothing changes
    when it raises.
    """
    existing = await scope.get(Ticket, ticket_id)
    key = idempotency.check_key(idempotency_key)
    reason = _parse(body)
    digest = idempotency.request_digest(
        {"ticket_id": str(existing["id"]), "reason": reason}
    )
    outcome = await idempotency.claim(scope, IDEMPOTENCY_SCOPE, key, digest)
    if isinstance(outcome, idempotency.Replay):
        return outcome.body
    try:
        async with write_transaction():
            ticket = await lock_ticket(scope, existing["id"])
            if ticket["status"] in UNPAID_STATUSES:
                result = await _void_unpaid(scope, ticket, reason, actor_id)
            elif ticket["status"] == "closed":
                _check_same_day(scope, ticket)
                plan, reversal = await _plan_void(scope, ticket, reason)
                await scope.update(Ticket, {Ticket.status: "void"}).where(
                    Ticket.id == ticket["id"]
                )
                result = await apply_refund(
                    scope,
                    plan,
                    actor_id=actor_id,
                    hooks=hooks,
                    key=key,
                    extra_drafts=reversal,
                )
                result["loyalty"] = await _reverse_points(
                    scope, ticket, plan.tenders, actor_id
                )
            else:
                raise Conflict(
                    f"ticket {ticket['number']} is already {ticket['status']}",
                    ticket_id=str(ticket["id"]),
                )
            await idempotency.complete(scope, outcome, 200, result)
    except Exception:
        await idempotency.release(scope, outcome)
        raise
    logger.info(
        "voided ticket %s of tenant %s (%s back)",
        existing["id"],
        scope.tenant_id,
        result["amount"],
    )
    return result
