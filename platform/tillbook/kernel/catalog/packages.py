"""Prepaid packages: selling a plan to a client and redeeming its sessions.

A package covers the sessions of one or more services: the plan's services
are copied to ``ClientPackageService`` when it is sold, so later changes to
the plan leave sold packages alone. A package sold on a ticket that is
voided or refunded gets status ``voided`` and can no longer be redeemed.

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
from tillbook.errors import Conflict, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import (
    ClientPackage,
    ClientPackageService,
    PackagePlan,
    PackagePlanService,
)
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
    ticket_id: uuid.UUID | None = None,
    line_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Give a client the sessions of ``plan``; return the new ClientPackage row.

    Call inside the close transaction of the ticket that sold it, so the
    package exists exactly when its price is in the journal.
    """
    service_ids = await plan_service_ids(scope, plan)
    package = ClientPackage(
        client_id=client_id,
        plan_id=plan["id"],
        service_id=plan["service_id"],
        sessions_total=plan["sessions"],
        sessions_left=plan["sessions"],
        unit_value=unit_value(plan["price"], plan["sessions"]),
        expires_at=sold_at + timedelta(days=plan["valid_days"]),
        sold_at=sold_at,
        status="active",
        ticket_id=ticket_id,
        line_id=line_id,
    )
    await scope.insert(package)
    await scope.insert(
        *(
            ClientPackageService(package_id=package.id, service_id=service_id)
            for service_id in service_ids
        )
    )
    return await scope.get(ClientPackage, package.id)


async def plan_service_ids(scope: TenantScope, plan: dict[str, Any]) -> list[uuid.UUID]:
    """Return the services a plan covers, its first ``service_id`` first."""
    rows = await scope.select(PackagePlanService, PackagePlanService.service_id).where(
        PackagePlanService.plan_id == plan["id"]
    )
    ids = [plan["service_id"]]
    ids += [row["service_id"] for row in rows if row["service_id"] not in ids]
    return ids


async def package_service_ids(
    scope: TenantScope, package_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Return the services each sold package covers.

    A package sold before packages could cover several services covers its
    own ``service_id``, which is included in any case.
    """
    wanted = list(set(package_ids))
    if not wanted:
        return {}
    rows = (await scope.get_many(ClientPackage, wanted)).values()
    return await covered_services(scope, rows)


async def covered_services(
    scope: TenantScope, packages: Iterable[dict[str, Any]]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Return the services each of the given ClientPackage rows covers.

    Same result as ``package_service_ids`` for rows the caller already read,
    with one query for the links instead of two.
    """
    covered = {package["id"]: {package["service_id"]} for package in packages}
    if not covered:
        return {}
    links = await scope.select(ClientPackageService).where(
        ClientPackageService.package_id.is_in(list(covered))
    )
    for link in links:
        covered.setdefault(link["package_id"], set()).add(link["service_id"])
    return covered


def package_covers(
    package: dict[str, Any],
    service_id: uuid.UUID | None,
    covered: dict[uuid.UUID, set[uuid.UUID]],
) -> bool:
    """Tell whether a sold package pays for a session of ``service_id``."""
    services = covered.get(package["id"], {package["service_id"]})
    return service_id in services


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
    wanted = set(service_ids)
    if not wanted:
        return []
    rows = (
        await scope.select(ClientPackage)
        .where(ClientPackage.client_id == client_id)
        .where(ClientPackage.status == "active")
        .where(ClientPackage.sessions_left > 0)
        .where(ClientPackage.expires_at > (now or utcnow()))
        .order_by(ClientPackage.expires_at)
    )
    covered = await covered_services(scope, rows)
    return [row for row in rows if covered.get(row["id"], {row["service_id"]}) & wanted]


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
        .where(ClientPackage.status == "active")
        .where(ClientPackage.sessions_left >= sessions)
        .where(ClientPackage.expires_at > now)
        .returning(ClientPackage.sessions_left)
    )
    return rows[0]["sessions_left"] if rows else None


async def restore_sessions(
    scope: TenantScope,
    package_id: uuid.UUID,
    sessions: int,
    *,
    actor_id: uuid.UUID | None = None,
) -> int:
    """Give back ``sessions`` a refunded ticket took; return the sessions left.

    Raises Conflict rather than raise the count above the sessions sold
    (a conditional update checks it). Sessions go back even to
    an expired package, where they cannot be used. Call inside the refund or
    void transaction.
    """
    package = await scope.get(ClientPackage, package_id)
    rows = (
        await scope.update(
            ClientPackage,
            {ClientPackage.sessions_left: ClientPackage.sessions_left + sessions},
        )
        .where(ClientPackage.id == package_id)
        .where(ClientPackage.sessions_left <= package["sessions_total"] - sessions)
        .returning(ClientPackage.sessions_left)
    )
    if not rows:
        raise Conflict("the package already has all its sessions back")
    left: int = rows[0]["sessions_left"]
    await record_audit(
        scope,
        actor_id=actor_id,
        action="package.sessions_restored",
        subject_type="client_package",
        subject_id=package_id,
        before={"sessions_left": left - sessions},
        after={"sessions_left": left},
    )
    return left


async def void_package(
    scope: TenantScope,
    package_id: uuid.UUID,
    *,
    field: str,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Void a sold package whose sale is refunded; return its row before.

    Only an untouched package (every session left) can be voided, so
    sessions already used are not refunded twice. Raises ValidationFailed
    naming ``field`` otherwise. Call inside the refund or void transaction.
    """
    package = await scope.get(ClientPackage, package_id)
    rows = (
        await scope.update(ClientPackage, {ClientPackage.status: "voided"})
        .where(ClientPackage.id == package_id)
        .where(ClientPackage.status == "active")
        .where(ClientPackage.sessions_left == ClientPackage.sessions_total)
        .returning(ClientPackage.id)
    )
    if not rows:
        raise invalid(
            field,
            f"the package sold on this line has {package['sessions_left']} of "
            f"{package['sessions_total']} sessions left or is already voided: "
            "a package can be refunded only before its first session",
        )
    await record_audit(
        scope,
        actor_id=actor_id,
        action="package.voided",
        subject_type="client_package",
        subject_id=package_id,
        before={"status": package["status"], "sessions_left": package["sessions_left"]},
        after={"status": "voided", "sessions_left": package["sessions_left"]},
    )
    return package


def client_package_json(
    row: dict[str, Any], services: set[uuid.UUID], plan_name: str
) -> dict[str, Any]:
    """Return a sold package as the API shows it."""
    return {
        "id": str(row["id"]),
        "client_id": str(row["client_id"]),
        "plan_id": str(row["plan_id"]),
        "plan_name": plan_name,
        "service_ids": sorted(str(item) for item in services),
        "sessions_total": row["sessions_total"],
        "sessions_left": row["sessions_left"],
        "unit_value": row["unit_value"],
        "status": row["status"],
        "sold_at": row["sold_at"].isoformat(),
        "expires_at": row["expires_at"].isoformat(),
        "expired": row["expires_at"] <= utcnow(),
    }


async def client_packages(
    scope: TenantScope, client_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Return a client's packages, soonest to expire first."""
    rows = (
        await scope.select(ClientPackage)
        .where(ClientPackage.client_id == client_id)
        .order_by(ClientPackage.expires_at)
    )
    covered = await package_service_ids(scope, [row["id"] for row in rows])
    names = await plan_names(scope, [row["plan_id"] for row in rows])
    return [
        client_package_json(
            row,
            covered.get(row["id"], {row["service_id"]}),
            names.get(row["plan_id"], ""),
        )
        for row in rows
    ]
