"""Prepaid packages: selling a plan to a client and redeeming its sessions.

A package is sold through a ticket line of kind ``package``; when the ticket
closes, the client gets a ``ClientPackage`` and the price is credited to
``package_liability`` (deferred revenue). Each session redeemed later debits
that liability by the package's ``unit_value``, which is the plan price
divided evenly by its sessions, rounded down to the minor unit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from tillbook.db.base import utcnow
from tillbook.errors import Conflict
from tillbook.kernel.catalog.tables import ClientPackage, PackagePlan
from tillbook.tenancy.scope import TenantScope


def unit_value(price: int, sessions: int) -> int:
    """Return the liability one session releases: ``price // sessions``."""
    if sessions <= 0:
        raise ValueError("a package needs at least one session")
    return price // sessions


async def plan_for_sale(scope: TenantScope, plan_id: uuid.UUID | str) -> dict[str, Any]:
    """Return an active package plan; raise NotFound or Conflict when retired."""
    plan = await scope.get(PackagePlan, plan_id)
    if not plan["active"]:
        raise Conflict(f"package plan {plan['name']!r} is no longer on sale")
    return plan


async def sell_package(
    scope: TenantScope,
    *,
    client_id: uuid.UUID,
    plan: dict[str, Any],
    sold_at: datetime,
) -> dict[str, Any]:
    """Give a client the sessions of ``plan``; return the new ClientPackage row.

    Call inside the close transaction of the ticket that sold it, so the
    package exists exactly when its price is in the journal.
    """
    package = ClientPackage(
        client_id=client_id,
        plan_id=plan["id"],
        service_id=plan["service_id"],
        sessions_total=plan["sessions"],
        sessions_left=plan["sessions"],
        unit_value=unit_value(plan["price"], plan["sessions"]),
        expires_at=sold_at + timedelta(days=plan["valid_days"]),
        sold_at=sold_at,
    )
    await scope.insert(package)
    return await scope.get(ClientPackage, package.id)


async def usable_packages(
    scope: TenantScope,
    client_id: uuid.UUID,
    service_ids: Iterable[uuid.UUID],
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Return the client's packages with sessions left for any of ``service_ids``.

    Expired packages are left out. The soonest to expire comes first, which
    is the one the till redeems when staff do not pick one.
    """
    wanted = list(set(service_ids))
    if not wanted:
        return []
    rows = (
        await scope.select(ClientPackage)
        .where(ClientPackage.client_id == client_id)
        .where(ClientPackage.service_id.is_in(wanted))
        .where(ClientPackage.sessions_left > 0)
        .where(ClientPackage.expires_at > (now or utcnow()))
        .order_by(ClientPackage.expires_at)
    )
    return list(rows)


async def plan_names(
    scope: TenantScope, plan_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Return the names of package plans by id."""
    plans = await scope.get_many(PackagePlan, plan_ids)
    return {plan_id: row["name"] for plan_id, row in plans.items()}


async def redeem_session(
    scope: TenantScope, package_id: uuid.UUID, sessions: int, now: datetime
) -> int | None:
    """Use ``sessions`` of a package; return the sessions left, or ``None``.

    Conditional on enough sessions being left and the package being
    unexpired, so concurrent redemptions can never take it below zero.
    Call inside the close transaction.
    """
    rows = (
        await scope.update(
            ClientPackage,
            {ClientPackage.sessions_left: ClientPackage.sessions_left - sessions},
        )
        .where(ClientPackage.id == package_id)
        .where(ClientPackage.sessions_left >= sessions)
        .where(ClientPackage.expires_at > now)
        .returning(ClientPackage.sessions_left)
    )
    return rows[0]["sessions_left"] if rows else None
