"""Gift cards: codes, balances, issue, reload and redemption.

A code is 16 characters drawn with :mod:`secrets` from an alphabet without
look-alike characters (no 0/O, 1/I/L). It is stored upper case without dashes
and shown in groups of four, ``ABCD-EFGH-JKMN-PQRS``. Input is normalised the
same way, so staff may type it in either form and in any case.

Selling or reloading a card goes through a ticket (a ``gift_card`` line), so
the money lands in the journal: the functions that change balances here are
called inside the ticket's close transaction.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from tillbook.db.base import utcnow
from tillbook.errors import NotFound, invalid
from tillbook.kernel.catalog.tables import GiftCard
from tillbook.tenancy.scope import TenantInfo, TenantScope

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16
GROUP = 4
# Upper bound on a card's value, in minor units: 10^8 is one million pounds.
MAX_GIFT_CARD_AMOUNT = 10**8


def new_code() -> str:
    """Return a fresh random code, undashed (16 characters)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """Return a stored code in dashed groups of four for people to read."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise_code(text: str, field: str = "code") -> str:
    """Return typed input as a stored code; raise ValidationFailed naming ``field``.

    Spaces and dashes are dropped and letters upper-cased before the check.
    """
    code = "".join(ch for ch in str(text).upper() if ch not in " -")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise invalid(
            field,
            f"{text!r} is not a gift card code: enter the 16 characters printed "
            "on the card, such as ABCD-EFGH-JKMN-PQRS",
        )
    return code


def is_expired(row: dict[str, Any], now: datetime | None = None) -> bool:
    """Tell whether a gift card row has passed its expiry instant."""
    expires_at = row["expires_at"]
    return expires_at is not None and expires_at <= (now or utcnow())


def gift_card_view(row: dict[str, Any], tenant: TenantInfo) -> dict[str, Any]:
    """Return a gift card as JSON: code, balances in minor units, expiry."""
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


async def issue_gift_card(
    scope: TenantScope,
    *,
    amount: int,
    client_id: uuid.UUID | None,
    valid_days: int | None = None,
    issued_at: datetime | None = None,
) -> dict[str, Any]:
    """Create a card with a new unique code and ``amount`` on it; return its row.

    Call inside the write transaction that records the sale, because only
    that transaction puts the money in the journal.
    """
    issued_at = issued_at or utcnow()
    code = new_code()
    # 31^16 codes make a collision vanishingly rare; checking costs one query.
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
    )
    await scope.insert(card)
    return await scope.get(GiftCard, card.id)


async def reload_gift_card(
    scope: TenantScope, card_id: uuid.UUID, amount: int, now: datetime
) -> int | None:
    """Add ``amount`` to an unexpired card; return the new balance.

    Returns ``None`` when the card has expired in the meantime. Call inside
    the sale's write transaction.
    """
    rows = (
        await scope.update(GiftCard, {GiftCard.balance: GiftCard.balance + amount})
        .where(GiftCard.id == card_id)
        .where(GiftCard.expires_at.is_null() | (GiftCard.expires_at > now))
        .returning(GiftCard.balance)
    )
    return rows[0]["balance"] if rows else None


async def redeem_gift_card(
    scope: TenantScope, card_id: uuid.UUID, amount: int, now: datetime
) -> int | None:
    """Take ``amount`` off a card; return the new balance, or ``None`` if it cannot.

    The update is conditional on the balance covering ``amount`` and the card
    being unexpired, so two tickets redeeming the same card at once can never
    take more than it holds: the second update finds too little and returns
    ``None``. Call inside the close transaction.
    """
    rows = (
        await scope.update(GiftCard, {GiftCard.balance: GiftCard.balance - amount})
        .where(GiftCard.id == card_id)
        .where(GiftCard.balance >= amount)
        .where(GiftCard.expires_at.is_null() | (GiftCard.expires_at > now))
        .returning(GiftCard.balance)
    )
    return rows[0]["balance"] if rows else None
