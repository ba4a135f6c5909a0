"""Client wallets: store credit in minor units, spent as a tender.

The ``wallet_liability`` account is credited when credit is added and
debited when it is spent, so its balance equals the sum of the wallets.
Balances change only through conditional updates and never go below zero.
Each change writes a ``WalletEntry`` and an audit entry with the balance
before and after; the caller posts the journal entry of the money move.
"""

from __future__ import annotations

import uuid
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.journal import PostingDraft, post_entry
from tillbook.kernel.ledger.money import check_amount
from tillbook.kernel.ledger.tables import Wallet, WalletEntry
from tillbook.tenancy.scope import TenantScope

ACCOUNT = "wallet_liability"
MAX_REASON = 200


async def balance_of(scope: TenantScope, client_id: uuid.UUID) -> int:
    """Return the client's store credit in minor units (0 without a wallet)."""
    row = (
        await scope.select(Wallet, Wallet.balance)
        .where(Wallet.client_id == client_id)
        .first()
    )
    return int(row["balance"]) if row else 0


async def change_balance(
    scope: TenantScope,
    client_id: uuid.UUID,
    amount: int,
    *,
    reason: str,
    field: str,
    ticket_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
) -> int:
    """Add ``amount`` (negative to spend) to a wallet; return the new balance.

    Call inside the transaction of the money move. Spending more than the
    balance raises ValidationFailed naming ``field``. Refunds to store credit
    call this with a positive amount and post their own journal entry.
    """
    now = utcnow()
    query = scope.update(
        Wallet, {Wallet.balance: Wallet.balance + amount, Wallet.updated_at: now}
    ).where(Wallet.client_id == client_id)
    if amount < 0:
        query = query.where(Wallet.balance >= -amount)
    changed = await query.returning(Wallet.balance)
    if changed:
        after = int(changed[0]["balance"])
    elif amount > 0:
        await scope.insert(Wallet(client_id=client_id, balance=amount, updated_at=now))
        after = amount
    else:
        have = await balance_of(scope, client_id)
        raise invalid(
            field,
            f"the client's store credit is {have}, less than {-amount}: "
            "take at most the balance",
        )
    await scope.insert(
        WalletEntry(
            client_id=client_id,
            ticket_id=ticket_id,
            amount=amount,
            balance_after=after,
            reason=reason[:MAX_REASON],
            at=now,
            actor_id=actor_id,
        )
    )
    await record_audit(
        scope,
        actor_id=actor_id,
        action="wallet.changed",
        subject_type="client",
        subject_id=client_id,
        before={"balance": after - amount},
        after={"balance": after, "reason": reason, "ticket_id": ticket_id},
    )
    return after


async def issue_credit(
    scope: TenantScope,
    client_id: uuid.UUID | str,
    data: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Give a client goodwill store credit: ``{"amount", "reason"}``.

    Posts one entry debiting ``goodwill`` (an expense) and crediting
    ``wallet_liability``. Returns ``{"client_id", "balance"}``.
    """
    client = await scope.get(Client, client_id)
    amount = check_amount(data.get("amount"), "amount")
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise invalid("reason", "is required: say why the credit is given")
    now = utcnow()
    async with write_transaction():
        balance = await change_balance(
            scope,
            client["id"],
            amount,
            reason=reason.strip(),
            field="amount",
            actor_id=actor_id,
        )
        await post_entry(
            scope,
            kind="wallet_credit",
            at=now,
            drafts=[
                PostingDraft("goodwill", amount, item_name="store credit"),
                PostingDraft(ACCOUNT, -amount, item_name="store credit"),
            ],
            memo=reason.strip(),
            actor_id=actor_id,
        )
    return {"client_id": str(client["id"]), "balance": balance}


async def wallet_view(scope: TenantScope, client_id: uuid.UUID | str) -> dict:
    """Return a client's balance and latest 50 wallet entries."""
    client = await scope.get(Client, client_id)
    entries = (
        await scope.select(WalletEntry)
        .where(WalletEntry.client_id == client["id"])
        .order_by(WalletEntry.at, ascending=False)
        .limit(50)
    )
    return {
        "client_id": str(client["id"]),
        "balance": await balance_of(scope, client["id"]),
        "entries": [
            {
                "amount": row["amount"],
                "balance_after": row["balance_after"],
                "reason": row["reason"],
                "at": row["at"].isoformat(),
                "ticket_id": str(row["ticket_id"]) if row["ticket_id"] else None,
            }
            for row in entries
        ],
    }
