"""Gift cards: codes, balances, issue, reload, redemption, expiry and breakage.

A code is 20 characters drawn with :mod:`secrets` from an alphabet of 31
symbols without look-alike characters (no 0/O, 1/I/L), so it carries about 99
bits and cannot be guessed. It is stored upper case without dashes and shown
in groups of four, ``ABCD-EFGH-JKMN-PQRS-TUVW``. Input is normalised the same
way, so staff may type it in either form and in any case. Cards issued before
codes grew to 20 characters keep their 16-character codes, which are still
accepted.

Selling or reloading a card goes through a ticket (a ``gift_card`` line), so
the money lands in the journal: the functions that change balances here are
called inside the ticket's close, refund or void transaction, and each change
adds a ``GiftCardActivity`` row with the balance after it.

A card sold from now on expires after the tenant's ``GiftCardPolicy.valid_days``
(none: never). ``post_breakage`` writes off the balance of expired cards: it
debits ``gift_card_liability`` and credits ``gift_card_breakage`` (revenue).
"""

from __future__ import annotations

import html
import secrets
import time
import uuid
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import GiftCard, GiftCardActivity, GiftCardPolicy
from tillbook.kernel.events.mail import queue_mail
from tillbook.kernel.ledger.journal import PostingDraft, post_entry
from tillbook.kernel.ledger.money import format_major
from tillbook.tenancy.scope import TenantInfo, TenantScope

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 20
# Codes issued before codes grew to 20 characters.
LEGACY_CODE_LENGTH = 16
GROUP = 4
# Upper bound on a card's value, in minor units: 10^8 is one million pounds.
MAX_GIFT_CARD_AMOUNT = 10**8
# Upper bound on a tenant's gift card validity, in days (about 30 years).
MAX_VALID_DAYS = 11_000
BREAKAGE_ACCOUNT = "gift_card_breakage"
LIABILITY_ACCOUNT = "gift_card_liability"


def new_code() -> str:
    """Return a fresh random code, undashed (20 characters)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """Return a stored code in dashed groups of four for people to read."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise_code(text: str, field: str = "code") -> str:
    """Return typed input as a stored code; raise ValidationFailed naming ``field``.

    Spaces and dashes are dropped and letters upper-cased before the check.
    """
    code = "".join(ch for ch in str(text).upper() if ch not in " -")
    length_ok = len(code) in (CODE_LENGTH, LEGACY_CODE_LENGTH)
    if not length_ok or any(ch not in ALPHABET for ch in code):
        raise invalid(
            field,
            f"{text!r} is not a gift card code: enter the 20 characters printed "
            "on the card, such as ABCD-EFGH-JKMN-PQRS-TUVW",
        )
    return code


def is_expired(row: dict[str, Any], now: datetime | None = None) -> bool:
    """Tell whether a gift card row has passed its expiry instant."""
    expires_at = row["expires_at"]
    return expires_at is not None and expires_at <= (now or utcnow())


def gift_card_view(row: dict[str, Any], tenant: TenantInfo) -> dict[str, Any]:
    """Return a gift card as JSON: code, balances in minor units, status, expiry."""
    expires_at = row["expires_at"]
    return {
        "id": str(row["id"]),
        "code": format_code(row["code"]),
        "balance": row["balance"],
        "initial_amount": row["initial_amount"],
        "currency": tenant.currency,
        "client_id": str(row["client_id"]) if row["client_id"] else None,
        "issued_at": row["issued_at"].isoformat(),
        "expires_at": expires_at.isoformat() if expires_at else None,
        "expired": is_expired(row),
        "status": row.get("status", "active"),
        "recipient_name": row.get("recipient_name", ""),
        "recipient_email": row.get("recipient_email", ""),
        "message": row.get("message", ""),
    }


async def find_gift_card(
    scope: TenantScope, code: str, field: str = "code"
) -> dict[str, Any]:
    """Return the gift card row for a typed code.

    Raises ValidationFailed naming ``field`` for a malformed code and
    NotFound for a code this tenant never issued.
    """
    stored = normalise_code(code, field)
    row = await scope.select(GiftCard).where(GiftCard.code == stored).first()
    if row is None:
        raise NotFound("gift card", format_code(stored))
    return row  # type: ignore[no-any-return]


async def gift_card_balance(scope: TenantScope, code: str) -> dict[str, Any]:
    """Return the JSON view of the card with ``code`` (see ``gift_card_view``)."""
    return gift_card_view(await find_gift_card(scope, code), scope.tenant)


def check_gift_card_amount(value: object, field: str = "amount") -> int:
    """Validate the value a card is sold or reloaded for, in minor units."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, f"{value!r} is not an integer amount in minor units")
    if value <= 0:
        raise invalid(field, f"{value} must be greater than 0")
    if value > MAX_GIFT_CARD_AMOUNT:
        raise invalid(field, f"{value} is more than {MAX_GIFT_CARD_AMOUNT}")
    return value


async def gift_card_valid_days(scope: TenantScope) -> int | None:
    """Return the tenant's gift card validity in days (None: cards never expire)."""
    row = await scope.select(GiftCardPolicy).first()
    return row["valid_days"] if row else None


async def set_gift_card_valid_days(
    scope: TenantScope, value: object, *, actor_id: uuid.UUID | None
) -> int | None:
    """Set how many days cards sold from now on stay valid; None for no expiry.

    Cards already sold keep their expiry. Raises ValidationFailed naming
    ``valid_days``.
    """
    if value is not None and (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_VALID_DAYS
    ):
        raise invalid(
            "valid_days",
            f"must be a whole number of days from 1 to {MAX_VALID_DAYS}, "
            "or null for cards that never expire",
        )
    async with write_transaction():
        before = await gift_card_valid_days(scope)
        if await scope.select(GiftCardPolicy, GiftCardPolicy.id).first():
            await scope.update(GiftCardPolicy, {GiftCardPolicy.valid_days: value})
        else:
            await scope.insert(GiftCardPolicy(valid_days=value))
        await record_audit(
            scope,
            actor_id=actor_id,
            action="gift_card_policy.updated",
            subject_type="gift_card_policy",
            subject_id=None,
            before={"valid_days": before},
            after={"valid_days": value},
        )
    return value  # type: ignore[return-value]


async def record_activity(
    scope: TenantScope,
    card_id: uuid.UUID,
    *,
    kind: str,
    amount: int,
    balance_after: int,
    at: datetime,
    ticket_id: uuid.UUID | None = None,
    refund_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    note: str = "",
) -> None:
    """Append one balance change of a card to its activity."""
    await scope.insert(
        GiftCardActivity(
            gift_card_id=card_id,
            kind=kind,
            amount=amount,
            balance_after=balance_after,
            ticket_id=ticket_id,
            refund_id=refund_id,
            actor_id=actor_id,
            at=at,
            note=note[:200],
        )
    )


async def issue_gift_card(
    scope: TenantScope,
    *,
    amount: int,
    client_id: uuid.UUID | None,
    valid_days: int | None = None,
    issued_at: datetime | None = None,
    ticket_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Create a card with a new unique code and ``amount`` on it; return its row.

    Without ``valid_days`` the tenant's gift card policy sets the expiry.
    Call inside the write transaction that records the sale, because only
    that transaction puts the money in the journal.
    """
    issued_at = issued_at or utcnow()
    if valid_days is None:
        valid_days = await gift_card_valid_days(scope)
    code = new_code()
    # 31^20 codes make a collision vanishingly rare; checking costs one query.
    while (
        await scope.select(GiftCard, GiftCard.id).where(GiftCard.code == code).first()
    ):
        code = new_code()
    card = GiftCard(
        code=code,
        initial_amount=amount,
        balance=amount,
        client_id=client_id,
        expires_at=issued_at + timedelta(days=valid_days) if valid_days else None,
        issued_at=issued_at,
        status="active",
        ticket_id=ticket_id,
    )
    await scope.insert(card)
    await record_activity(
        scope,
        card.id,
        kind="issue",
        amount=amount,
        balance_after=amount,
        at=issued_at,
        ticket_id=ticket_id,
    )
    return await scope.get(GiftCard, card.id)


def _usable(now: datetime) -> Any:
    """Return the condition of a card that can take or give value at ``now``."""
    return (GiftCard.status == "active") & (
        GiftCard.expires_at.is_null() | (GiftCard.expires_at > now)
    )


async def reload_gift_card(
    scope: TenantScope,
    card_id: uuid.UUID,
    amount: int,
    now: datetime,
    *,
    ticket_id: uuid.UUID | None = None,
) -> int | None:
    """Add ``amount`` to an active, unexpired card; return the new balance.

    Returns ``None`` when the card has expired or been voided in the
    meantime. Call inside the sale's write transaction.
    """
    rows = (
        await scope.update(GiftCard, {GiftCard.balance: GiftCard.balance + amount})
        .where(GiftCard.id == card_id)
        .where(_usable(now))
        .returning(GiftCard.balance)
    )
    if not rows:
        return None
    balance: int = rows[0]["balance"]
    await record_activity(
        scope,
        card_id,
        kind="reload",
        amount=amount,
        balance_after=balance,
        at=now,
        ticket_id=ticket_id,
    )
    return balance


async def redeem_gift_card(
    scope: TenantScope,
    card_id: uuid.UUID,
    amount: int,
    now: datetime,
    *,
    ticket_id: uuid.UUID | None = None,
) -> int | None:
    """Take ``amount`` off a card; return the new balance, or ``None`` if it cannot.

    The update is conditional on the balance covering ``amount`` and the card
    being active and unexpired, so two tickets redeeming the same card at
    once can never take more than it holds: the second update finds too
    little and returns ``None``. Call inside the close transaction.
    """
    rows = (
        await scope.update(GiftCard, {GiftCard.balance: GiftCard.balance - amount})
        .where(GiftCard.id == card_id)
        .where(GiftCard.balance >= amount)
        .where(_usable(now))
        .returning(GiftCard.balance)
    )
    if not rows:
        return None
    balance: int = rows[0]["balance"]
    await record_activity(
        scope,
        card_id,
        kind="redeem",
        amount=-amount,
        balance_after=balance,
        at=now,
        ticket_id=ticket_id,
    )
    return balance


async def restore_gift_card_balance(
    scope: TenantScope,
    card_id: uuid.UUID,
    amount: int,
    now: datetime,
    *,
    ticket_id: uuid.UUID | None,
    refund_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
) -> int:
    """Give ``amount`` back to a card a refunded ticket was paid with.

    The balance goes back even to an expired card: ``post_breakage`` writes
    it off again on its next run. Returns the new balance. Call inside the
    refund or void transaction.
    """
    rows = (
        await scope.update(GiftCard, {GiftCard.balance: GiftCard.balance + amount})
        .where(GiftCard.id == card_id)
        .returning(GiftCard.balance)
    )
    if not rows:
        raise NotFound("gift card", str(card_id))
    balance: int = rows[0]["balance"]
    await _audit_balance(scope, card_id, balance - amount, balance, actor_id, refund_id)
    await record_activity(
        scope,
        card_id,
        kind="refund",
        amount=amount,
        balance_after=balance,
        at=now,
        ticket_id=ticket_id,
        refund_id=refund_id,
        actor_id=actor_id,
    )
    return balance


async def take_back_sold_value(
    scope: TenantScope,
    card_id: uuid.UUID,
    amount: int,
    now: datetime,
    *,
    field: str,
    ticket_id: uuid.UUID | None,
    refund_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
) -> int:
    """Remove value sold onto a card when its sale is refunded or voided.

    Conditional on the card still holding ``amount``, so value already
    spent cannot be refunded as well. A card left empty this way is voided.
    Raises ValidationFailed naming ``field`` when the balance is too low.
    Returns the new balance. Call inside the refund or void transaction.
    """
    rows = (
        await scope.update(GiftCard, {GiftCard.balance: GiftCard.balance - amount})
        .where(GiftCard.id == card_id)
        .where(GiftCard.balance >= amount)
        .returning(GiftCard.balance, GiftCard.code)
    )
    if not rows:
        card = await scope.get(GiftCard, card_id)
        raise invalid(
            field,
            f"gift card {format_code(card['code'])} has only {card['balance']} left "
            f"of the {amount} sold on it: refund at most what is left on the card",
        )
    balance: int = rows[0]["balance"]
    await _audit_balance(scope, card_id, balance + amount, balance, actor_id, refund_id)
    if balance == 0:
        await scope.update(GiftCard, {GiftCard.status: "voided"}).where(
            GiftCard.id == card_id
        )
    await record_activity(
        scope,
        card_id,
        kind="void",
        amount=-amount,
        balance_after=balance,
        at=now,
        ticket_id=ticket_id,
        refund_id=refund_id,
        actor_id=actor_id,
    )
    return balance


async def _audit_balance(
    scope: TenantScope,
    card_id: uuid.UUID,
    before: int,
    after: int,
    actor_id: uuid.UUID | None,
    refund_id: uuid.UUID | None,
) -> None:
    await record_audit(
        scope,
        actor_id=actor_id,
        action="gift_card.balance_changed",
        subject_type="gift_card",
        subject_id=card_id,
        before={"balance": before},
        after={"balance": after, "refund_id": refund_id},
    )


async def post_breakage(
    scope: TenantScope, *, now: datetime | None = None, actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Write off the balances of cards that expired by ``now``; return a summary.

    Each card's balance is set to 0 with a conditional update on the balance
    read, so a concurrent refund onto the card is not lost, and the card's
    status becomes expired. All write-offs of one run are one journal entry
    debiting ``gift_card_liability`` and crediting ``gift_card_breakage``.
    Returns ``{"cards", "amount", "journal_entry_id"}``.
    """
    now = now or utcnow()
    async with write_transaction():
        rows = (
            await scope.select(GiftCard)
            .where(GiftCard.expires_at.is_not_null())
            .where(GiftCard.expires_at <= now)
            .where(GiftCard.balance > 0)
            .order_by(GiftCard.id)
        )
        drafts: list[PostingDraft] = []
        written_off = []
        for row in rows:
            changed = (
                await scope.update(
                    GiftCard, {GiftCard.balance: 0, GiftCard.status: "expired"}
                )
                .where(GiftCard.id == row["id"])
                .where(GiftCard.balance == row["balance"])
                .returning(GiftCard.id)
            )
            if not changed:
                continue
            amount = row["balance"]
            written_off.append({"id": str(row["id"]), "amount": amount})
            label = f"gift card {format_code(row['code'])}"
            drafts.append(
                PostingDraft(
                    LIABILITY_ACCOUNT, amount, item_name=label, item_id=row["id"]
                )
            )
            drafts.append(
                PostingDraft(
                    BREAKAGE_ACCOUNT, -amount, item_name=label, item_id=row["id"]
                )
            )
            await record_activity(
                scope,
                row["id"],
                kind="breakage",
                amount=-amount,
                balance_after=0,
                at=now,
                actor_id=actor_id,
                note="expired",
            )
        total = sum(item["amount"] for item in written_off)
        entry_id = None
        if written_off:
            entry_id = await post_entry(
                scope,
                kind="gift_card_breakage",
                at=now,
                drafts=drafts,
                memo=f"Breakage of {len(written_off)} expired gift cards",
                actor_id=actor_id,
            )
            await record_audit(
                scope,
                actor_id=actor_id,
                action="gift_card.breakage",
                subject_type="gift_card",
                subject_id=None,
                before={"cards": written_off},
                after={"balance": 0, "amount": total},
            )
    return {
        "cards": len(written_off),
        "amount": total,
        "journal_entry_id": str(entry_id) if entry_id else None,
    }


async def list_gift_cards(
    scope: TenantScope, *, limit: int = 200
) -> list[dict[str, Any]]:
    """Return the newest gift cards as JSON."""
    rows = (
        await scope.select(GiftCard)
        .order_by(GiftCard.issued_at, ascending=False)
        .limit(limit)
    )
    return [gift_card_view(row, scope.tenant) for row in rows]


async def gift_card_detail(
    scope: TenantScope, card_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return a card as JSON with its activity, oldest first."""
    row = await scope.get(GiftCard, card_id)
    activity = (
        await scope.select(GiftCardActivity)
        .where(GiftCardActivity.gift_card_id == row["id"])
        .order_by(GiftCardActivity.at)
    )
    return {
        **gift_card_view(row, scope.tenant),
        "activity": [
            {
                "kind": item["kind"],
                "amount": item["amount"],
                "balance_after": item["balance_after"],
                "at": item["at"].isoformat(),
                "ticket_id": str(item["ticket_id"]) if item["ticket_id"] else None,
                "refund_id": str(item["refund_id"]) if item["refund_id"] else None,
                "note": item["note"],
            }
            for item in activity
        ],
    }


def _check_email(value: object) -> str:
    if not isinstance(value, str) or "@" not in value.strip() or len(value) > 254:
        raise invalid(
            "recipient_email", "must be an email address such as ana@example.com"
        )
    address = value.strip()
    if any(ch.isspace() for ch in address) or address.startswith("@"):
        raise invalid(
            "recipient_email", "must be an email address such as ana@example.com"
        )
    return address


def _check_text(values: dict[str, Any], name: str, max_length: int) -> str:
    value = values.get(name) or ""
    if not isinstance(value, str) or len(value) > max_length:
        raise invalid(name, f"must be text of at most {max_length} characters")
    return value.strip()


async def send_gift_card(
    scope: TenantScope,
    card_id: uuid.UUID | str,
    values: dict[str, Any],
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Email a card's code to its recipient and remember who it is for.

    ``values``: ``recipient_email`` (required), ``recipient_name`` and
    ``message``. Queues the mail in the same transaction; returns the card
    JSON. Raises ValidationFailed naming the bad field and Conflict for a
    voided card.
    """
    existing = await scope.get(GiftCard, card_id)
    unknown = set(values) - {"recipient_email", "recipient_name", "message"}
    if unknown:
        raise invalid(
            sorted(unknown)[0],
            "is not a known field; use recipient_email, recipient_name, message",
        )
    email = _check_email(values.get("recipient_email"))
    name = _check_text(values, "recipient_name", 200)
    message = _check_text(values, "message", 1000)
    if existing["status"] == "voided":
        raise Conflict(f"gift card {format_code(existing['code'])} was voided")
    async with write_transaction():
        await scope.update(
            GiftCard,
            {
                GiftCard.recipient_email: email,
                GiftCard.recipient_name: name,
                GiftCard.message: message,
            },
        ).where(GiftCard.id == existing["id"])
        card = await scope.get(GiftCard, existing["id"])
        subject, body_html, body_text = gift_card_mail(scope.tenant, card)
        await queue_mail(
            scope,
            to=email,
            subject=subject,
            html=body_html,
            text=body_text,
            kind="gift_card",
        )
        await record_audit(
            scope,
            actor_id=actor_id,
            action="gift_card.sent",
            subject_type="gift_card",
            subject_id=existing["id"],
            before={"recipient_email": existing["recipient_email"]},
            after={"recipient_email": email, "recipient_name": name},
        )
    return gift_card_view(card, scope.tenant)


def gift_card_mail(tenant: TenantInfo, card: dict[str, Any]) -> tuple[str, str, str]:
    """Return the subject, HTML and text of the email that delivers a card."""
    amount = f"{tenant.currency} {format_major(card['balance'], tenant.minor_digits)}"
    code = format_code(card["code"])
    greeting = (
        f"Hello {card['recipient_name']}," if card["recipient_name"] else "Hello,"
    )
    expiry = (
        f"It is valid until {card['expires_at']:%Y-%m-%d}."
        if card["expires_at"]
        else "It does not expire."
    )
    lines = [
        greeting,
        f"You have a {tenant.name} gift card worth {amount}.",
        f"Code: {code}",
        expiry,
    ]
    if card["message"]:
        lines.insert(1, card["message"])
    text = "\n\n".join(lines)
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return f"Your {tenant.name} gift card", body, text


def check_policy_field(values: object) -> object:
    """Return ``valid_days`` from a settings body; raise ValidationFailed otherwise."""
    if not isinstance(values, dict) or set(values) != {"valid_days"}:
        raise ValidationFailed(
            {"valid_days": 'send {"valid_days": N} or {"valid_days": null}'}
        )
    return values["valid_days"]


class BalanceCheckLimiter:
    """Allow at most ``limit`` public balance checks per key in ``window`` seconds.

    Keys are the tenant and the caller's address. With 31^20 possible codes
    the limit is not what stops guessing. It keeps the page from being used
    to test leaked or partly known codes in bulk.
    """

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        """Count one check for ``key``; tell whether it is within the limit."""
        now = time.monotonic() if now is None else now
        recent = self._seen.setdefault(key, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) >= self.limit:
            return False
        recent.append(now)
        if len(self._seen) > 10_000:
            # Drop keys with no recent checks, so memory stays bounded.
            for stale in [k for k, v in self._seen.items() if not v]:
                del self._seen[stale]
        return True


# NOTE: counted per process, so each web worker allows the limit on its own.
BALANCE_LIMITER = BalanceCheckLimiter()


async def public_balance(scope: TenantScope, code: object) -> dict[str, Any]:
    """Return what the public balance page shows for a typed code.

    Only the balance, currency, expiry and status: no client or recipient.
    A malformed code raises ValidationFailed naming ``code``; an unknown
    one raises NotFound, with the same message for every unknown code.
    """
    card = await find_gift_card(scope, str(code or ""))
    expires_at = card["expires_at"]
    return {
        "code": format_code(card["code"]),
        "balance": card["balance"],
        "currency": scope.tenant.currency,
        "expires_at": expires_at.isoformat() if expires_at else None,
        "expired": is_expired(card),
        "status": card["status"],
    }
