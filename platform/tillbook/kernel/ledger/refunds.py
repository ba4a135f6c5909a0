"""Refunds of closed tickets, line by line and unit by unit.

A refund names lines and quantities. Each refunded part of a line takes its
share of the line's total, tax and discount in proportion to the quantity,
rounded half up, and its net is the total share minus the tax share. The
last units of a line take exactly what is left. So a line refunded in
several steps gives back exactly what it took.

Where the money goes, in this order (``REFUND_ORDER``):

1. A line paid by a package session or a membership's included session
   gets that session back.
2. The rest goes to the money tenders: cards first (a stored or present
   card is refunded through the payment provider, an external terminal card
   is refunded by staff on the terminal), then gift cards (balance
   restored), then the client's wallet, then cash, which the open drawer
   pays out. Cards come first so money returns the way it came without
   staff handling cash.
3. With ``to_wallet`` all of that money goes to the client's wallet instead.

Loyalty-point and deposit tenders are not paid back by a refund.

A tender is never refunded more than it paid for the lines (its amount
minus the tip it carried, minus what earlier refunds took from it). A line
is never refunded more units than it sold. Concurrent refunds of one ticket
are serialised by updating the ticket row first in the transaction.

Sold items on a refunded line are taken back: a gift card loses the value
sold onto it (refused if already spent), a package is voided (refused once a
session was used) and a membership is cancelled. Products go back into stock
when the request asks for ``restock``. Commissions are reversed in
proportion. Each refund is one balanced journal entry (kind ``refund``) that
mirrors the sale's postings, with the actor and the reason.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import anyio

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog import giftcards, packages
from tillbook.kernel.catalog.memberships import restore_membership_sessions
from tillbook.kernel.catalog.tables import ClientMembership, ClientPackage, Product
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.ledger import drawer, idempotency, wallet
from tillbook.kernel.ledger.backoffice_tables import Refund, RefundLine, RefundTender
from tillbook.kernel.ledger.cards import configured_provider
from tillbook.kernel.ledger.commissions import reverse_commissions
from tillbook.kernel.ledger.journal import PostingDraft, line_postings, post_entry
from tillbook.kernel.ledger.money import round_minor
from tillbook.kernel.ledger.tables import (
    JournalEntry,
    Posting,
    Tender,
    Ticket,
    TicketLine,
)
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

IDEMPOTENCY_SCOPE = "ticket.refund"
REFUND_ORDER = ("card", "card_present", "external_card", "gift_card", "wallet", "cash")
# Tenders refunded through the payment provider, by the charge reference.
PROVIDER_KINDS = ("card", "card_present")
# Tenders that pay one service line whole, with a session.
SESSION_KINDS = ("package", "membership")
MEMBERSHIP_ACCOUNT = "membership_benefits"
REFUND_FIELDS = frozenset({"lines", "reason", "restock", "to_wallet"})
REFUND_LINE_FIELDS = frozenset({"line_id", "quantity"})
MAX_LINES = 100
MAX_REASON = 500
WALLET_ACCOUNT = wallet.ACCOUNT


@dataclass
class LinePart:
    """The share of one ticket line a refund gives back."""

    line: dict[str, Any]
    quantity: int
    net: int
    discount: int
    tax: int

    @property
    def total(self) -> int:
        return self.net + self.tax


@dataclass
class TenderPart:
    """Money or sessions a refund gives back through one original tender."""

    tender: dict[str, Any] | None
    kind: str
    amount: int
    drafts: list[PostingDraft] = field(default_factory=list)
    sessions: int = 0
    package_id: uuid.UUID | None = None
    membership_id: uuid.UUID | None = None
    gift_card_id: uuid.UUID | None = None
    reference: str = ""


@dataclass
class RefundPlan:
    """Everything one refund or void does, worked out inside its transaction."""

    ticket: dict[str, Any]
    kind: str
    reason: str
    restock: bool
    to_wallet: bool
    lines: list[LinePart]
    tenders: list[TenderPart]
    tip_drafts: list[PostingDraft] = field(default_factory=list)

    @property
    def amount(self) -> int:
        return sum(part.amount for part in self.tenders)


@dataclass(frozen=True)
class LineRequest:
    """One line of a refund request, checked for shape only."""

    line_id: uuid.UUID
    quantity: int | None


@dataclass(frozen=True)
class RefundRequest:
    """A refund request body, checked for shape only."""

    lines: list[LineRequest]
    reason: str
    restock: bool
    to_wallet: bool

    def canonical(self, ticket_id: uuid.UUID) -> dict[str, Any]:
        return {
            "ticket_id": str(ticket_id),
            "lines": [[str(item.line_id), item.quantity] for item in self.lines],
            "reason": self.reason,
            "restock": self.restock,
            "to_wallet": self.to_wallet,
        }


def check_reason(value: object) -> str:
    """Return a refund or void reason; raise ValidationFailed naming ``reason``."""
    if not isinstance(value, str) or not value.strip():
        raise invalid("reason", "is required: say why the money goes back")
    if len(value.strip()) > MAX_REASON:
        raise invalid("reason", f"is longer than {MAX_REASON} characters")
    return value.strip()


def parse_refund(body: object) -> RefundRequest:
    """Check the shape of a refund body; raise ValidationFailed naming each field.

    ``{"lines": [{"line_id", "quantity"}], "reason", "restock", "to_wallet"}``;
    a line without ``quantity`` refunds every unit not yet refunded.
    """
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object with lines and reason")
    errors: dict[str, str] = {}
    for key in body:
        if key not in REFUND_FIELDS:
            errors[str(key)] = (
                f"is not a known field; use {', '.join(sorted(REFUND_FIELDS))}"
            )
    raw_lines = body.get("lines")
    lines: list[LineRequest] = []
    if not isinstance(raw_lines, list) or not raw_lines:
        errors["lines"] = "must be a non-empty list of {line_id, quantity}"
        raw_lines = []
    elif len(raw_lines) > MAX_LINES:
        errors["lines"] = f"has more than {MAX_LINES} lines"
        raw_lines = []
    seen: set[uuid.UUID] = set()
    for index, item in enumerate(raw_lines):
        prefix = f"lines[{index}]"
        if not isinstance(item, dict):
            errors[prefix] = "must be an object with line_id and quantity"
            continue
        unknown = sorted(str(key) for key in item if key not in REFUND_LINE_FIELDS)
        if unknown:
            # A line refunds whole units, so an "amount" here must not be
            # dropped silently and the whole line refunded instead.
            for key in unknown:
                errors[f"{prefix}.{key}"] = (
                    "is not a known field; use line_id, quantity"
                )
            continue
        try:
            line_id = uuid.UUID(str(item.get("line_id")))
        except ValueError:
            errors[f"{prefix}.line_id"] = "must be the id of a line on this ticket"
            continue
        if line_id in seen:
            errors[f"{prefix}.line_id"] = "names a line listed twice"
            continue
        seen.add(line_id)
        quantity = item.get("quantity")
        if quantity is not None and (
            isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1
        ):
            errors[f"{prefix}.quantity"] = (
                f"{quantity!r} is not a quantity: send a whole number of 1 or more"
            )
            continue
        lines.append(LineRequest(line_id, quantity))
    try:
        reason = check_reason(body.get("reason"))
    except ValidationFailed as exc:
        errors.update(exc.errors)
        reason = ""
    flags = {}
    for name in ("restock", "to_wallet"):
        value = body.get(name, False)
        if not isinstance(value, bool):
            errors[name] = "must be true or false"
        flags[name] = bool(value)
    if errors:
        raise ValidationFailed(errors)
    return RefundRequest(lines, reason, flags["restock"], flags["to_wallet"])


async def lock_ticket(scope: TenantScope, ticket_id: uuid.UUID) -> dict[str, Any]:
    """Update the ticket row first in the transaction, so refunds of it queue.

    On PostgreSQL the no-op update takes the row lock until commit; on SQLite
    the write transaction already holds the database write lock. Returns the
    ticket row.
    """
    locked = (
        await scope.update(Ticket, {Ticket.number: Ticket.number})
        .where(Ticket.id == ticket_id)
        .returning(Ticket.id)
    )
    if not locked:
        raise NotFound("ticket", str(ticket_id))
    return await scope.get(Ticket, ticket_id)


async def refunded_so_far(
    scope: TenantScope, ticket_id: uuid.UUID
) -> tuple[dict[uuid.UUID, dict[str, int]], dict[uuid.UUID, int]]:
    """Return what earlier refunds took per line and per tender.

    Lines map to ``{"quantity", "net", "discount", "tax"}``; tenders to the
    amount.
    """
    by_line: dict[uuid.UUID, dict[str, int]] = {}
    for row in await scope.select(RefundLine).where(RefundLine.ticket_id == ticket_id):
        seen = by_line.setdefault(
            row["line_id"], {"quantity": 0, "net": 0, "discount": 0, "tax": 0}
        )
        for key in seen:
            seen[key] += row[key]
    by_tender: dict[uuid.UUID, int] = {}
    rows = await scope.select(RefundTender).where(RefundTender.ticket_id == ticket_id)
    for row in rows:
        if row["tender_id"] is not None:
            by_tender[row["tender_id"]] = (
                by_tender.get(row["tender_id"], 0) + row["amount"]
            )
    return by_line, by_tender


def line_part(
    line: Mapping[str, Any], quantity: int, before: Mapping[str, int] | None
) -> LinePart:
    """Return the share of ``line`` that ``quantity`` more units give back."""
    before = before or {"quantity": 0, "net": 0, "discount": 0, "tax": 0}
    if before["quantity"] + quantity >= line["quantity"]:
        return LinePart(
            dict(line),
            quantity,
            net=line["net"] - before["net"],
            discount=line["discount"] - before["discount"],
            tax=line["tax"] - before["tax"],
        )
    # The total and the tax take their shares, and the net is what is left,
    # so the refunded part always sums like the line (net + tax = total).
    share = Decimal(quantity) / Decimal(line["quantity"])
    total = round_minor(line["total"] * share)
    tax = round_minor(line["tax"] * share)
    return LinePart(
        dict(line),
        quantity,
        net=total - tax,
        discount=round_minor(line["discount"] * share),
        tax=tax,
    )


def reversed_line_drafts(part: LinePart) -> list[PostingDraft]:
    """Return the postings that undo ``part`` of a sold line (debits revenue)."""
    line = part.line
    try:
        drafts = line_postings(
            line["kind"],
            net=part.net,
            discount=part.discount,
            tax=part.tax,
            total=part.total,
            item_id=line["item_id"],
            item_name=line["description"],
            category=line["category"],
            staff_id=line["staff_id"],
        )
    except KeyError:
        # A kind the journal posts to no named account (a fee or a
        # membership line): its revenue is reversed through other_revenue.
        drafts = [
            PostingDraft(
                "other_revenue",
                -part.total,
                item_name=line["description"],
                item_id=line["item_id"],
                category=line["category"],
                staff_id=line["staff_id"],
            )
        ]
    return [
        PostingDraft(
            draft.account,
            -draft.amount,
            item_name=draft.item_name,
            item_id=draft.item_id,
            category=draft.category,
            staff_id=draft.staff_id,
        )
        for draft in drafts
    ]


async def sale_postings(
    scope: TenantScope, ticket_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Return the postings of the ticket's sale entries."""
    entries = (
        await scope.select(JournalEntry, JournalEntry.id)
        .where(JournalEntry.ticket_id == ticket_id)
        .where(JournalEntry.kind == "sale")
    )
    if not entries:
        return []
    return list(
        await scope.select(Posting).where(
            Posting.entry_id.is_in([entry["id"] for entry in entries])
        )
    )


def _card_account(postings: list[dict[str, Any]]) -> str:
    for posting in postings:
        account = posting["account"]
        if account.startswith("card_clearing:") and account != "card_clearing:external":
            return str(account)
    return "card_clearing:unknown"


def _session_line(
    tender: Mapping[str, Any],
    lines: list[dict[str, Any]],
    covered: Mapping[uuid.UUID, set[uuid.UUID]],
    taken: set[uuid.UUID],
) -> dict[str, Any] | None:
    """Return the service line a package or membership tender paid whole.

    The tender row keeps the line's total as its amount and the line's
    description as its detail (a membership's detail is prefixed with the
    plan name), so those two identify the line.
    """
    try:
        package_id = uuid.UUID(tender["reference"])
    except ValueError:
        return None
    services = covered.get(package_id, set())
    for line in lines:
        if line["id"] in taken or line["kind"] != "service":
            continue
        if line["total"] != tender["amount"]:
            continue
        if tender["kind"] == "package" and line["description"] != tender["detail"]:
            continue
        if tender["kind"] == "membership" and not tender["detail"].endswith(
            line["description"]
        ):
            continue
        if services and line["item_id"] not in services:
            continue
        return line
    return None


async def session_tenders_by_line(
    scope: TenantScope, lines: list[dict[str, Any]], tenders: list[dict[str, Any]]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Return the package or membership tender that paid each line, by line id."""
    session_tenders = [tender for tender in tenders if tender["kind"] in SESSION_KINDS]
    ids = []
    for tender in session_tenders:
        if tender["kind"] != "package":
            continue
        try:
            ids.append(uuid.UUID(tender["reference"]))
        except ValueError:
            continue
    covered = await packages.package_service_ids(scope, ids)
    paid: dict[uuid.UUID, dict[str, Any]] = {}
    for tender in session_tenders:
        line = _session_line(tender, lines, covered, set(paid))
        if line is not None:
            paid[line["id"]] = tender
    return paid


async def session_part(
    scope: TenantScope, tender: Mapping[str, Any], amount: int, sessions: int
) -> TenderPart:
    """Return the part giving ``sessions`` back through a package or membership.

    The postings mirror the sale's. A package credits ``package_liability``
    at its unit value per session and the rest to ``package_variance``; a
    membership credits ``membership_benefits`` with the amount.
    """
    if tender["kind"] == "membership":
        membership_id = uuid.UUID(tender["reference"])
        return TenderPart(
            tender=dict(tender),
            kind="membership",
            amount=amount,
            sessions=sessions,
            membership_id=membership_id,
            drafts=[
                PostingDraft(
                    MEMBERSHIP_ACCOUNT,
                    -amount,
                    item_name="membership",
                    item_id=membership_id,
                )
            ],
        )
    package = await scope.get(ClientPackage, tender["reference"])
    released = package["unit_value"] * sessions
    return TenderPart(
        tender=dict(tender),
        kind="package",
        amount=amount,
        sessions=sessions,
        package_id=package["id"],
        drafts=[
            PostingDraft(
                "package_liability",
                -released,
                item_name="package",
                item_id=package["id"],
            ),
            PostingDraft(
                "package_variance",
                -(amount - released),
                item_name="package",
                item_id=package["id"],
            ),
        ],
    )


async def money_parts(
    scope: TenantScope,
    ticket: Mapping[str, Any],
    tenders: list[dict[str, Any]],
    refunded: Mapping[uuid.UUID, int],
    amount: int,
    *,
    include_tips: bool,
) -> list[TenderPart]:
    """Split ``amount`` over the money tenders in ``REFUND_ORDER``.

    Raises ValidationFailed naming ``lines`` when the tenders cannot cover
    it, because the request is for more than was paid.
    """
    postings = await sale_postings(scope, ticket["id"])
    ordered = sorted(
        (tender for tender in tenders if tender["kind"] in REFUND_ORDER),
        key=lambda tender: REFUND_ORDER.index(tender["kind"]),
    )
    parts: list[TenderPart] = []
    left = amount
    for tender in ordered:
        if left <= 0:
            break
        tip = 0 if include_tips else tender.get("tip", 0) or 0
        room = tender["amount"] - tip - refunded.get(tender["id"], 0)
        take = min(room, left)
        if take <= 0:
            continue
        left -= take
        parts.append(await _money_part(scope, tender, take, postings))
    if left > 0:
        raise invalid(
            "lines",
            f"the refund of {amount} is more than the {amount - left} still "
            "refundable on this ticket's card, gift card, wallet and cash "
            "tenders (loyalty points and deposits are not paid back): refund "
            "fewer units, or refund to wallet credit",
        )
    return parts


async def _money_part(
    scope: TenantScope,
    tender: Mapping[str, Any],
    amount: int,
    postings: list[dict[str, Any]],
) -> TenderPart:
    kind = tender["kind"]
    if kind == "gift_card":
        card = await giftcards.find_gift_card(scope, tender["reference"], "tenders")
        return TenderPart(
            dict(tender),
            kind,
            amount,
            gift_card_id=card["id"],
            drafts=[
                PostingDraft(
                    giftcards.LIABILITY_ACCOUNT,
                    -amount,
                    item_name="gift_card",
                    item_id=card["id"],
                )
            ],
        )
    account = {
        "cash": "cash",
        "external_card": "card_clearing:external",
        "card": _card_account(postings),
        "card_present": _card_account(postings),
        "wallet": WALLET_ACCOUNT,
    }[kind]
    return TenderPart(
        dict(tender),
        kind,
        amount,
        drafts=[PostingDraft(account, -amount, item_name=kind)],
    )


def wallet_part(client_id: uuid.UUID | None, amount: int) -> TenderPart:
    """Return the part crediting ``amount`` to the client's wallet."""
    if client_id is None:
        raise invalid(
            "to_wallet", "the ticket has no client whose wallet could take it"
        )
    return TenderPart(
        None,
        "wallet",
        amount,
        drafts=[PostingDraft(WALLET_ACCOUNT, -amount, item_name="wallet")],
    )


async def plan_refund(
    scope: TenantScope, ticket: dict[str, Any], request: RefundRequest
) -> RefundPlan:
    """Work out a refund of a locked, closed ticket; raise 4xx naming the field."""
    lines = list(
        await scope.select(TicketLine)
        .where(TicketLine.ticket_id == ticket["id"])
        .order_by(TicketLine.position)
    )
    by_id = {line["id"]: line for line in lines}
    tenders = list(await scope.select(Tender).where(Tender.ticket_id == ticket["id"]))
    line_refunds, tender_refunds = await refunded_so_far(scope, ticket["id"])
    paid_by_session = await session_tenders_by_line(scope, lines, tenders)
    errors: dict[str, str] = {}
    parts: list[LinePart] = []
    for index, item in enumerate(request.lines):
        line = by_id.get(item.line_id)
        if line is None:
            errors[f"lines[{index}].line_id"] = (
                f"{item.line_id} is not a line of ticket {ticket['number']}"
            )
            continue
        done = line_refunds.get(line["id"], {}).get("quantity", 0)
        left = line["quantity"] - done
        quantity = left if item.quantity is None else item.quantity
        if left <= 0:
            errors[f"lines[{index}].quantity"] = (
                f"every unit of {line['description']!r} is already refunded"
            )
            continue
        if quantity > left:
            errors[f"lines[{index}].quantity"] = (
                f"{quantity} is more than the {left} of {line['description']!r} "
                "not yet refunded"
            )
            continue
        if line["kind"] in ("package", "gift_card", "membership") and quantity != left:
            errors[f"lines[{index}].quantity"] = (
                f"a {line['kind'].replace('_', ' ')} line is refunded whole: "
                f"send {left} or leave the quantity out"
            )
            continue
        parts.append(line_part(line, quantity, line_refunds.get(line["id"])))
    if errors:
        raise ValidationFailed(errors)
    tender_parts: list[TenderPart] = []
    money = 0
    for part in parts:
        tender = paid_by_session.get(part.line["id"])
        if tender is None:
            money += part.total
            continue
        room = tender["amount"] - tender_refunds.get(tender["id"], 0)
        take = min(room, part.total)
        tender_parts.append(await session_part(scope, tender, take, part.quantity))
        money += part.total - take
    if money:
        if request.to_wallet:
            tender_parts.append(wallet_part(ticket["client_id"], money))
        else:
            tender_parts += await money_parts(
                scope, ticket, tenders, tender_refunds, money, include_tips=False
            )
    return RefundPlan(
        ticket=ticket,
        kind="refund",
        reason=request.reason,
        restock=request.restock,
        to_wallet=request.to_wallet,
        lines=parts,
        tenders=tender_parts,
    )


async def _take_back_items(
    scope: TenantScope,
    plan: RefundPlan,
    refund_id: uuid.UUID,
    at: datetime,
    actor_id: uuid.UUID | None,
) -> None:
    """Take back what refunded lines sold: card value, packages, memberships, stock."""
    ticket = plan.ticket
    for index, part in enumerate(plan.lines):
        line = part.line
        field_name = f"lines[{index}].line_id"
        if line["kind"] == "gift_card" and line["item_id"] is not None:
            await giftcards.take_back_sold_value(
                scope,
                line["item_id"],
                part.total,
                at,
                field=field_name,
                ticket_id=ticket["id"],
                refund_id=refund_id,
                actor_id=actor_id,
            )
        elif line["kind"] == "package":
            package = await _sold_package(scope, ticket, line)
            if package is None:
                raise Conflict(
                    f"the package sold on {line['description']!r} was not found"
                )
            await packages.void_package(
                scope, package["id"], field=field_name, actor_id=actor_id
            )
        elif line["kind"] == "membership":
            await scope.update(
                ClientMembership,
                {
                    ClientMembership.status: "cancelled",
                    ClientMembership.cancelled_at: at,
                    ClientMembership.next_charge_at: None,
                },
            ).where(ClientMembership.ticket_id == ticket["id"])
        elif line["kind"] == "product" and plan.restock and line["item_id"]:
            await scope.update(
                Product, {Product.stock: Product.stock + part.quantity}
            ).where(Product.id == line["item_id"])


async def _sold_package(
    scope: TenantScope, ticket: Mapping[str, Any], line: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Return the package a ticket line sold.

    A package that records its line is found by it. An older one is found by
    plan, client and the close instant, because the sale stamps that instant
    on both the ticket and the package.
    """
    row = (
        await scope.select(ClientPackage)
        .where(ClientPackage.line_id == line["id"])
        .first()
    )
    if row is not None:
        return row  # type: ignore[no-any-return]
    query = (
        scope.select(ClientPackage)
        .where(ClientPackage.plan_id == line["item_id"])
        .where(ClientPackage.sold_at == ticket["closed_at"])
        .where(ClientPackage.status == "active")
    )
    if ticket["client_id"] is not None:
        query = query.where(ClientPackage.client_id == ticket["client_id"])
    return await query.first()  # type: ignore[no-any-return]


async def _give_back(
    scope: TenantScope,
    plan: RefundPlan,
    refund_id: uuid.UUID,
    at: datetime,
    actor_id: uuid.UUID | None,
) -> None:
    """Restore gift card balances and package sessions; pay cash from the drawer."""
    ticket = plan.ticket
    cash = 0
    for part in plan.tenders:
        if part.kind == "gift_card" and part.gift_card_id is not None:
            await giftcards.restore_gift_card_balance(
                scope,
                part.gift_card_id,
                part.amount,
                at,
                ticket_id=ticket["id"],
                refund_id=refund_id,
                actor_id=actor_id,
            )
        elif part.kind == "package" and part.package_id is not None and part.sessions:
            await packages.restore_sessions(
                scope, part.package_id, part.sessions, actor_id=actor_id
            )
        elif part.kind == "membership" and part.membership_id is not None:
            await restore_membership_sessions(
                scope,
                ticket_id=ticket["id"],
                membership_id=part.membership_id,
                limit=part.sessions,
            )
        elif part.kind == "cash":
            cash += part.amount
        elif part.kind == "wallet":
            if ticket["client_id"] is None:
                raise invalid("to_wallet", "the ticket has no client with a wallet")
            await wallet.change_balance(
                scope,
                ticket["client_id"],
                part.amount,
                reason=f"Refund on ticket {ticket['number']}: {plan.reason}",
                field="to_wallet",
                ticket_id=ticket["id"],
                actor_id=actor_id,
            )
    await drawer.record_cash_refund(
        scope,
        ticket_id=ticket["id"],
        refund_id=refund_id,
        amount=cash,
        at=at,
        actor_id=actor_id,
    )


async def _refund_cards(
    scope: TenantScope,
    plan: RefundPlan,
    hooks: TenantHooks | None,
    key: str,
) -> None:
    """Refund the stored-card parts through the payment provider.

    Runs last in the refund transaction, so a failure before it moves no
    money, and a provider failure rolls the refund back.
    """
    card_parts = [part for part in plan.tenders if part.kind in PROVIDER_KINDS]
    if not card_parts:
        return
    provider = configured_provider(hooks) if hooks is not None else None
    if provider is None:
        raise Conflict(
            "no card payment provider is set up to send the card refund: set one "
            "up, or refund to wallet credit"
        )
    for part in card_parts:
        assert part.tender is not None
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        call = partial(
            provider.provider.refund,
            provider.settings,
            reference=part.tender["reference"],
            amount=part.amount,
            idempotency_key=f"tillbook-refund-{part.tender['id']}-{digest}",
        )
        part.reference = str(await anyio.to_thread.run_sync(call))[:100]
        logger.info(
            "refunded %s of charge %s for ticket %s of tenant %s: %s",
            part.amount,
            part.tender["reference"],
            plan.ticket["id"],
            scope.tenant_id,
            part.reference,
        )


def refund_json(
    scope: TenantScope, refund: Mapping[str, Any], plan: RefundPlan, entry_id: uuid.UUID
) -> dict[str, Any]:
    """Return the result of a refund or void as JSON-native values."""
    return {
        "refund_id": str(refund["id"]),
        "ticket_id": str(plan.ticket["id"]),
        "number": plan.ticket["number"],
        "kind": plan.kind,
        "currency": scope.tenant.currency,
        "amount": plan.amount,
        "reason": plan.reason,
        "to_wallet": plan.to_wallet,
        "restock": plan.restock,
        "at": refund["at"].isoformat(),
        "lines": [
            {
                "line_id": str(part.line["id"]),
                "description": part.line["description"],
                "quantity": part.quantity,
                "amount": part.total,
                "net": part.net,
                "discount": part.discount,
                "tax": part.tax,
            }
            for part in plan.lines
        ],
        "tenders": [
            {
                "tender_id": str(part.tender["id"]) if part.tender else None,
                "kind": part.kind,
                "amount": part.amount,
                "sessions": part.sessions,
                "reference": part.reference,
            }
            for part in plan.tenders
        ],
        "journal_entry_id": str(entry_id),
    }


async def apply_refund(
    scope: TenantScope,
    plan: RefundPlan,
    *,
    actor_id: uuid.UUID | None,
    hooks: TenantHooks | None,
    key: str,
    extra_drafts: list[PostingDraft] | None = None,
) -> dict[str, Any]:
    """Write a planned refund or void inside the caller's transaction.

    ``extra_drafts`` replaces the line and tender postings for a void, which
    reverses the sale entry as posted. Returns the refund JSON.
    """
    ticket = plan.ticket
    now = utcnow()
    refund = Refund(
        ticket_id=ticket["id"],
        kind=plan.kind,
        amount=plan.amount,
        reason=plan.reason,
        to_wallet=plan.to_wallet,
        restock=plan.restock,
        actor_id=actor_id,
        at=now,
    )
    await scope.insert(refund)
    if extra_drafts is not None:
        drafts = extra_drafts
    else:
        drafts = [draft for part in plan.lines for draft in reversed_line_drafts(part)]
        drafts += plan.tip_drafts
        drafts += [draft for part in plan.tenders for draft in part.drafts]
    label = "Void" if plan.kind == "void" else "Refund"
    entry_id = await post_entry(
        scope,
        kind=plan.kind,
        at=now,
        drafts=drafts,
        ticket_id=ticket["id"],
        memo=f"{label} on ticket {ticket['number']}: {plan.reason}"[:1000],
        actor_id=actor_id,
    )
    await scope.update(Refund, {Refund.entry_id: entry_id}).where(
        Refund.id == refund.id
    )
    if plan.lines:
        await scope.insert(
            *(
                RefundLine(
                    refund_id=refund.id,
                    ticket_id=ticket["id"],
                    line_id=part.line["id"],
                    quantity=part.quantity,
                    amount=part.total,
                    net=part.net,
                    discount=part.discount,
                    tax=part.tax,
                )
                for part in plan.lines
            )
        )
    await _take_back_items(scope, plan, refund.id, now, actor_id)
    await _give_back(scope, plan, refund.id, now, actor_id)
    await reverse_commissions(
        scope,
        refund_id=refund.id,
        refunded_net={part.line["id"]: part.net for part in plan.lines},
        at=now,
    )
    await _refund_cards(scope, plan, hooks, key)
    if plan.tenders:
        await scope.insert(
            *(
                RefundTender(
                    refund_id=refund.id,
                    ticket_id=ticket["id"],
                    tender_id=part.tender["id"] if part.tender else None,
                    kind=part.kind,
                    amount=part.amount,
                    reference=part.reference,
                )
                for part in plan.tenders
            )
        )
    row = await scope.get(Refund, refund.id)
    body = refund_json(scope, row, plan, entry_id)
    await _record(scope, plan, body, actor_id)
    return body


async def _record(
    scope: TenantScope,
    plan: RefundPlan,
    body: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> None:
    ticket = plan.ticket
    await record_audit(
        scope,
        actor_id=actor_id,
        action=f"ticket.{'voided' if plan.kind == 'void' else 'refunded'}",
        subject_type="ticket",
        subject_id=ticket["id"],
        before={"status": ticket["status"], "total": ticket["total"]},
        after={
            "status": "void" if plan.kind == "void" else ticket["status"],
            "refunded": body["amount"],
            "reason": plan.reason,
            "lines": body["lines"],
            "tenders": body["tenders"],
        },
    )
    if ticket["client_id"] is not None:
        label = "Voided" if plan.kind == "void" else "Refunded"
        await add_history(
            scope,
            ticket["client_id"],
            f"ticket.{'voided' if plan.kind == 'void' else 'refunded'}",
            f"{label} {body['amount']} on ticket {ticket['number']}: {plan.reason}",
            ticket["id"],
        )
    await record_event(
        scope,
        f"ticket.{'voided' if plan.kind == 'void' else 'refunded'}",
        {
            "ticket_id": str(ticket["id"]),
            "refund_id": body["refund_id"],
            "amount": body["amount"],
        },
    )


async def refund_ticket(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    body: object,
    *,
    actor_id: uuid.UUID | None,
    idempotency_key: str | None,
    hooks: TenantHooks | None = None,
) -> dict[str, Any]:
    """Refund lines of a closed ticket; return the refund JSON.

    See the module docstring for where the money goes. A repeated
    ``idempotency_key`` returns the first result. Raises NotFound for an
    unknown ticket and Conflict when it is not closed. Anything else raises
    ValidationFailed naming the field, such as ``lines[i].line_id``,
    ``lines[i].quantity``, ``reason`` or ``to_wallet``. Nothing changes
    when it raises.
    """
    ticket_uuid = _uuid(ticket_id)
    await scope.get(Ticket, ticket_uuid)
    key = idempotency.check_key(idempotency_key)
    request = parse_refund(body)
    digest = idempotency.request_digest(request.canonical(ticket_uuid))
    outcome = await idempotency.claim(scope, IDEMPOTENCY_SCOPE, key, digest)
    if isinstance(outcome, idempotency.Replay):
        return outcome.body
    try:
        async with write_transaction():
            ticket = await lock_ticket(scope, ticket_uuid)
            if ticket["status"] != "closed":
                raise Conflict(
                    f"ticket {ticket['number']} is {ticket['status']}: only a closed "
                    "ticket can be refunded",
                    ticket_id=str(ticket["id"]),
                )
            plan = await plan_refund(scope, ticket, request)
            result = await apply_refund(
                scope, plan, actor_id=actor_id, hooks=hooks, key=key
            )
            await idempotency.complete(scope, outcome, 200, result)
    except Exception:
        await idempotency.release(scope, outcome)
        raise
    logger.info(
        "refunded %s on ticket %s of tenant %s",
        result["amount"],
        ticket_uuid,
        scope.tenant_id,
    )
    return result


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("ticket", str(value)) from None


async def ticket_refunds(
    scope: TenantScope, ticket_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return what a ticket sold and what was refunded, per line and tender."""
    ticket = await scope.get(Ticket, ticket_id)
    lines = (
        await scope.select(TicketLine)
        .where(TicketLine.ticket_id == ticket["id"])
        .order_by(TicketLine.position)
    )
    tenders = await scope.select(Tender).where(Tender.ticket_id == ticket["id"])
    line_refunds, tender_refunds = await refunded_so_far(scope, ticket["id"])
    refunds = (
        await scope.select(Refund)
        .where(Refund.ticket_id == ticket["id"])
        .order_by(Refund.at)
    )
    return {
        "ticket_id": str(ticket["id"]),
        "number": ticket["number"],
        "status": ticket["status"],
        "currency": scope.tenant.currency,
        "closed_at": ticket["closed_at"].isoformat() if ticket["closed_at"] else None,
        "total": ticket["total"],
        "lines": [
            {
                "id": str(line["id"]),
                "kind": line["kind"],
                "description": line["description"],
                "quantity": line["quantity"],
                "total": line["total"],
                "refunded_quantity": line_refunds.get(line["id"], {}).get(
                    "quantity", 0
                ),
                "refunded_amount": line_refunds.get(line["id"], {}).get("net", 0)
                + line_refunds.get(line["id"], {}).get("tax", 0),
            }
            for line in lines
        ],
        "tenders": [
            {
                "id": str(tender["id"]),
                "kind": tender["kind"],
                "amount": tender["amount"],
                "reference": tender["reference"],
                "refunded": tender_refunds.get(tender["id"], 0),
            }
            for tender in tenders
        ],
        "refunds": [
            {
                "id": str(row["id"]),
                "kind": row["kind"],
                "amount": row["amount"],
                "reason": row["reason"],
                "to_wallet": row["to_wallet"],
                "at": row["at"].isoformat(),
                "actor_id": str(row["actor_id"]) if row["actor_id"] else None,
            }
            for row in refunds
        ],
    }


async def list_refunds(scope: TenantScope, *, limit: int = 100) -> list[dict[str, Any]]:
    """Return the newest refunds and voids with their ticket numbers."""
    rows = await scope.select(Refund).order_by(Refund.at, ascending=False).limit(limit)
    tickets = await scope.get_many(Ticket, [row["ticket_id"] for row in rows])
    return [
        {
            "id": str(row["id"]),
            "ticket_id": str(row["ticket_id"]),
            "number": tickets.get(row["ticket_id"], {}).get("number"),
            "kind": row["kind"],
            "amount": row["amount"],
            "reason": row["reason"],
            "at": row["at"].isoformat(),
        }
        for row in rows
    ]
