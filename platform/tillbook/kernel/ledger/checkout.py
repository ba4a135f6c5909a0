"""Closing a ticket: take payment, post the journal, update everything at once.

The order is fixed by what can be undone. After the idempotency key is
claimed, one write transaction does the rest, so every read and write runs
on one connection. It validates the request against the database
(``plan_close``), so a bad request moves nothing. Then it charges a card, if
a tender needs one, with a provider idempotency key derived from the ticket
and the request's key, and applies the close (``closing.apply_close``). If
anything after the charge fails, the commit included, the charge is
refunded. NOTE: the charge is a network call made while the transaction is
open, so on SQLite (one writer at a time) other writes wait for it.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import NotFound
from tillbook.kernel.ledger import idempotency
from tillbook.kernel.ledger.cards import (
    charge_card_present,
    charge_stored_card,
    refund_charge,
)
from tillbook.kernel.ledger.closing import apply_close
from tillbook.kernel.ledger.commissions import record_commissions
from tillbook.kernel.ledger.drawer import record_cash_tenders
from tillbook.kernel.ledger.tenders import (
    ClosePlan,
    canonical_request,
    parse_tenders,
    parse_tips,
    plan_close,
)
from tillbook.payments import Charge
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

IDEMPOTENCY_SCOPE = "ticket.close"


def provider_key(ticket_id: uuid.UUID, request_key: str) -> str:
    """Return the provider idempotency key for a ticket's close attempt.

    The request key is hashed so that whatever a client sends stays within
    the provider's key length and character rules.
    """
    digest = hashlib.sha256(request_key.encode()).hexdigest()[:32]
    return f"tillbook-close-{ticket_id}-{digest}"


async def close_ticket(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    *,
    tenders: object,
    tips: object,
    actor_id: uuid.UUID | None,
    idempotency_key: str | None,
    hooks: TenantHooks,
) -> dict[str, Any]:
    """Take payment for an open ticket and close it; return the close result.

    ``tenders`` is a list of ``{"kind", "amount", ...}`` (see
    ``tenders.parse_tenders`` for every kind). ``tips`` is a list of
    ``{"staff_id", "amount", "tender"?}`` or a split ``{"amount", "split"}``
    (see ``tenders.parse_tips``). Amounts are in minor units. The tenders
    must pay the lines plus tips exactly, except that cash may exceed it and
    gives change, after rounding to the tenant's cash increment. At most one
    card tender (on file or card present) is charged, before the database
    transaction; if the transaction then fails, the charge is refunded.

    A repeated ``idempotency_key`` returns the first successful result
    unchanged, even for requests that arrive together. The same key with a
    different request raises ValidationFailed naming ``Idempotency-Key``.

    Returns ``{"ticket_id", "number", "status", "currency", "closed_at",
    "totals", "tenders", "change", "tips", "gift_cards", "packages",
    "stock", "journal_entry_id"}``. Raises NotFound for an unknown ticket,
    Conflict when it is not open (or changed while closing),
    ValidationFailed naming the bad field, and PaymentDeclined when the card
    is declined; in each case nothing is posted.
    """
    key = idempotency.check_key(idempotency_key)
    tender_requests = parse_tenders(tenders)
    tip_requests = parse_tips(tips, len(tender_requests))
    ticket_uuid = _ticket_uuid(ticket_id)
    digest = idempotency.request_digest(
        canonical_request(ticket_uuid, tender_requests, tip_requests)
    )
    outcome = await idempotency.claim(scope, IDEMPOTENCY_SCOPE, key, digest)
    if isinstance(outcome, idempotency.Replay):
        return outcome.body
    charged: list[tuple[ClosePlan, Charge]] = []
    try:
        try:
            async with write_transaction():
                plan = await plan_close(
                    scope, ticket_uuid, tender_requests, tip_requests, hooks
                )
                charge = await _charge_card(scope, plan, key)
                if charge is not None:
                    charged.append((plan, charge))
                now = utcnow()
                body = await apply_close(scope, plan, actor_id, now=now)
                # The plan's rows are what the close just wrote, so the
                # commission and drawer steps take them instead of reading
                # the ticket, its lines and its tenders again.
                await record_commissions(
                    scope, ticket_id=ticket_uuid, hooks=hooks, at=now, lines=plan.lines
                )
                await record_cash_tenders(
                    scope,
                    ticket_id=ticket_uuid,
                    actor_id=actor_id,
                    at=now,
                    tenders=[
                        {"amount": tender.amount, "change_given": tender.change}
                        for tender in plan.tenders
                        if tender.kind == "cash"
                    ],
                )
                await idempotency.complete(scope, outcome, 200, body)
        except Exception:
            # The commit itself may have failed, so the refund runs after
            # the transaction is gone, whatever raised.
            for charged_plan, charge in charged:
                await _refund_after_failure(scope, charged_plan, charge, key)
            raise
    except Exception:
        await idempotency.release(scope, outcome)
        raise
    logger.info(
        "closed ticket %s of tenant %s for %s",
        plan.ticket["id"],
        scope.tenant_id,
        plan.due,
    )
    return body


def _ticket_uuid(ticket_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(ticket_id, uuid.UUID):
        return ticket_id
    try:
        return uuid.UUID(str(ticket_id))
    except ValueError:
        raise NotFound("ticket", str(ticket_id)) from None


async def _charge_card(scope: TenantScope, plan: ClosePlan, key: str) -> Charge | None:
    if plan.card_present_tender is not None:
        return await _charge_card_present(scope, plan, key)
    tender = plan.card_tender
    if tender is None:
        return None
    assert plan.provider is not None and plan.stored_card is not None
    ticket = plan.ticket
    charge = await charge_stored_card(
        plan.provider,
        card=plan.stored_card,
        amount=tender.amount,
        currency=scope.tenant.currency,
        idempotency_key=provider_key(ticket["id"], key),
        description=f"{scope.tenant.name} ticket {ticket['number']}",
    )
    tender.reference = charge.reference
    logger.info(
        "charged %s for ticket %s of tenant %s: %s",
        plan.provider.name,
        ticket["id"],
        scope.tenant_id,
        charge.reference,
    )
    return charge


async def _charge_card_present(scope: TenantScope, plan: ClosePlan, key: str) -> Charge:
    """Charge a card at the provider's reader named in the tender's reference."""
    tender = plan.card_present_tender
    assert tender is not None and plan.provider is not None
    ticket = plan.ticket
    charge = await charge_card_present(
        plan.provider,
        reader=tender.reference,
        amount=tender.amount,
        currency=scope.tenant.currency,
        idempotency_key=provider_key(ticket["id"], key),
        description=f"{scope.tenant.name} ticket {ticket['number']}",
    )
    tender.reference = charge.reference
    logger.info(
        "charged %s at a card reader for ticket %s of tenant %s: %s",
        plan.provider.name,
        ticket["id"],
        scope.tenant_id,
        charge.reference,
    )
    return charge


async def _refund_after_failure(
    scope: TenantScope, plan: ClosePlan, charge: Charge, key: str
) -> None:
    assert plan.provider is not None
    ticket_id = plan.ticket["id"]
    try:
        refund = await refund_charge(
            plan.provider, charge, provider_key(ticket_id, key) + "-refund"
        )
    except Exception:
        # NOTE: the client stays charged for a ticket that did not close. Staff
        # must refund the charge in the provider's dashboard, using the
        # reference in this log line.
        logger.exception(
            "refund of charge %s failed after ticket %s of tenant %s did not close",
            charge.reference,
            ticket_id,
            scope.tenant_id,
        )
        return
    logger.warning(
        "refunded charge %s (refund %s) because ticket %s of tenant %s did not close",
        charge.reference,
        refund,
        ticket_id,
        scope.tenant_id,
    )
