"""Closing a ticket: take payment, post the journal, update everything at once.

The order is fixed by what can be undone. First the request is validated
against the database (``plan_close``), so a bad request moves nothing. Then a
stored card is charged, outside any database transaction, with a provider
idempotency key derived from the ticket and the request's key. Then one write
transaction applies the close (``closing.apply_close``). If it fails, the
card charge is refunded.
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
from tillbook.kernel.ledger.cards import charge_stored_card, refund_charge
from tillbook.kernel.ledger.closing import apply_close
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

    ``tenders`` is a list of ``{"kind", "amount", ...}``. The kinds are
    ``cash``, ``card``, ``external_card``, ``gift_card`` (with ``code``) and
    ``package`` (with optional ``client_package_id`` and ``line_id``).
    ``tips`` is a list of ``{"staff_id", "amount"}``. Amounts are in minor
    units. The tenders must pay the lines plus tips exactly, except that cash
    may exceed it and gives change.

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
    tip_requests = parse_tips(tips)
    ticket_uuid = _ticket_uuid(ticket_id)
    digest = idempotency.request_digest(
        canonical_request(ticket_uuid, tender_requests, tip_requests)
    )
    outcome = await idempotency.claim(scope, IDEMPOTENCY_SCOPE, key, digest)
    if isinstance(outcome, idempotency.Replay):
        return outcome.body
    try:
        plan = await plan_close(
            scope, ticket_uuid, tender_requests, tip_requests, hooks
        )
        charge = await _charge_card(scope, plan, key)
        try:
            async with write_transaction():
                body = await apply_close(scope, plan, actor_id, now=utcnow())
                await idempotency.complete(scope, outcome, 200, body)
        except Exception:
            if charge is not None:
                await _refund_after_failure(scope, plan, charge, key)
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
