"""Loyalty points: earned on close per whole currency unit paid, redeemed later.

Points are not booked in the journal when they are earned, because they are
a promise of a discount rather than money received. Redeeming them as a
tender debits ``loyalty_redemptions`` (an expense); redeeming them as a
discount goes through the ``discounts`` account like any other discount.
Balances change only through conditional updates, so a balance never goes
below zero.
"""

from __future__ import annotations

import uuid
from typing import Any

from tillbook.db.base import utcnow
from tillbook.errors import invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.ledger.tables import LoyaltyAccount
from tillbook.tenancy.scope import TenantScope


async def account_of(scope: TenantScope, client_id: uuid.UUID) -> dict[str, Any]:
    """Return the client's points and lifetime points (zeros without an account)."""
    row = (
        await scope.select(LoyaltyAccount)
        .where(LoyaltyAccount.client_id == client_id)
        .first()
    )
    if row is None:
        return {"points": 0, "lifetime_points": 0}
    return {"points": row["points"], "lifetime_points": row["lifetime_points"]}


def points_earned(paid: int, minor_digits: int, points_per_unit: int) -> int:
    """Return the points for ``paid`` minor units: whole major units times the rate."""
    if paid <= 0 or points_per_unit <= 0:
        return 0
    return (paid // 10**minor_digits) * points_per_unit


async def earn(
    scope: TenantScope,
    client_id: uuid.UUID,
    points: int,
    *,
    ticket_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> None:
    """Add earned points to the client's account, creating it on first use."""
    if points <= 0:
        return
    now = utcnow()
    updated = (
        await scope.update(
            LoyaltyAccount,
            {
                LoyaltyAccount.points: LoyaltyAccount.points + points,
                LoyaltyAccount.lifetime_points: LoyaltyAccount.lifetime_points + points,
                LoyaltyAccount.updated_at: now,
            },
        )
        .where(LoyaltyAccount.client_id == client_id)
        .returning(LoyaltyAccount.points)
    )
    if updated:
        after = updated[0]["points"]
    else:
        await scope.insert(
            LoyaltyAccount(
                client_id=client_id,
                points=points,
                lifetime_points=points,
                updated_at=now,
            )
        )
        after = points
    await record_audit(
        scope,
        actor_id=actor_id,
        action="loyalty.earned",
        subject_type="client",
        subject_id=client_id,
        before={"points": after - points},
        after={"points": after, "ticket_id": ticket_id},
    )


async def spend(
    scope: TenantScope,
    client_id: uuid.UUID,
    points: int,
    *,
    field: str,
    ticket_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> None:
    """Take ``points`` from the client's account inside the close transaction.

    Raises ValidationFailed naming ``field`` when the balance is too low.
    """
    if points <= 0:
        return
    taken = (
        await scope.update(
            LoyaltyAccount,
            {
                LoyaltyAccount.points: LoyaltyAccount.points - points,
                LoyaltyAccount.updated_at: utcnow(),
            },
        )
        .where(LoyaltyAccount.client_id == client_id)
        .where(LoyaltyAccount.points >= points)
        .returning(LoyaltyAccount.points)
    )
    if not taken:
        balance = (await account_of(scope, client_id))["points"]
        raise invalid(
            field,
            f"the client has {balance} points, fewer than {points}: "
            "redeem at most the balance",
        )
    after = taken[0]["points"]
    await record_audit(
        scope,
        actor_id=actor_id,
        action="loyalty.redeemed",
        subject_type="client",
        subject_id=client_id,
        before={"points": after + points},
        after={"points": after, "ticket_id": ticket_id},
    )


def points_of_tender(tender: dict[str, Any]) -> int:
    """Return the points a stored ``loyalty`` tender redeemed.

    The close stores them only in the tender's detail, as ``"N points"``.
    """
    count, _, unit = str(tender["detail"]).partition(" ")
    if tender["kind"] != "loyalty" or unit != "points" or not is_whole_number(count):
        return 0
    return int(count)


async def reverse_for_ticket(
    scope: TenantScope,
    client_id: uuid.UUID,
    *,
    spent: int,
    earned: int,
    ticket_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> dict[str, int]:
    """Give back the points a voided ticket spent and take back those it earned.

    Runs inside the void transaction. Returns the points and lifetime points
    after it, and as ``unrecovered`` the earned points the client had
    already used: the balance stops at zero and the audit entry records
    them.
    """
    if spent <= 0 and earned <= 0:
        return {}
    # A no-op update reads the account and, on PostgreSQL, locks its row
    # until commit, so no close or void changes the points in between.
    locked = (
        await scope.update(
            LoyaltyAccount, {LoyaltyAccount.points: LoyaltyAccount.points}
        )
        .where(LoyaltyAccount.client_id == client_id)
        .returning(
            LoyaltyAccount.id, LoyaltyAccount.points, LoyaltyAccount.lifetime_points
        )
    )
    row = locked[0] if locked else None
    before = {
        "points": row["points"] if row else 0,
        "lifetime_points": row["lifetime_points"] if row else 0,
    }
    wanted = before["points"] + spent - earned
    after = {
        "points": max(wanted, 0),
        "lifetime_points": max(before["lifetime_points"] - earned, 0),
    }
    now = utcnow()
    if row is None:
        await scope.insert(
            LoyaltyAccount(
                client_id=client_id,
                points=after["points"],
                lifetime_points=after["lifetime_points"],
                updated_at=now,
            )
        )
    else:
        await scope.update(
            LoyaltyAccount,
            {
                LoyaltyAccount.points: after["points"],
                LoyaltyAccount.lifetime_points: after["lifetime_points"],
                LoyaltyAccount.updated_at: now,
            },
        ).where(LoyaltyAccount.id == row["id"])
    await record_audit(
        scope,
        actor_id=actor_id,
        action="loyalty.voided",
        subject_type="client",
        subject_id=client_id,
        before=before,
        after={
            **after,
            "ticket_id": ticket_id,
            "given_back": spent,
            "taken_back": earned,
            "unrecovered": max(-wanted, 0),
        },
    )
    return {**after, "unrecovered": max(-wanted, 0)}
