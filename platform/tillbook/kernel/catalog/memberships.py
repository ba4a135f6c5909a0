"""Memberships: plans with a recurring price, client memberships and benefits.

A membership's benefit is usable while it is active and its current period
is paid: ``period_start <= at < period_end`` and ``next_charge_at`` at or
after ``period_end``. Staff or a payment plugin marks a period paid with
``mark_period_paid``, which posts the money and moves to the next period
once the current one is already paid. The kernel never charges the card
itself (see ``memberships_due``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from tillbook.db import is_postgres, write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader
from tillbook.kernel.catalog.tables import (
    ClientMembership,
    MembershipPlan,
    MembershipPlanService,
    MembershipUse,
    Service,
)
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger import idempotency
from tillbook.kernel.ledger.journal import PostingDraft, post_entry
from tillbook.tenancy.scope import TenantScope

BENEFITS = ("sessions", "discount", "unlimited")
INTERVALS = ("week", "month", "year")
PLAN_FIELDS = frozenset(
    {
        "name",
        "price",
        "interval",
        "interval_count",
        "benefit",
        "sessions_per_period",
        "discount_percent",
        "service_ids",
        "active",
    }
)
# The account a membership period's price is credited to when it is paid.
REVENUE_ACCOUNT = "membership_revenue"
# Accounts a paid period may be debited to: what received the money.
PAYMENT_ACCOUNT_PREFIXES = ("cash", "card_clearing:")


def clean_membership_plan(
    values: Mapping[str, Any], *, partial: bool
) -> dict[str, Any]:
    """Return valid membership plan fields, or raise ValidationFailed naming each."""
    reader = FieldReader(values, PLAN_FIELDS, partial=partial)
    reader.text("name", required=True)
    reader.money("price", required=True)
    reader.integer("interval_count", minimum=1, maximum=24, default=1)
    reader.integer("sessions_per_period", minimum=0, maximum=1000, default=0)
    reader.integer("discount_percent", minimum=0, maximum=100, default=0)
    reader.uuid_list("service_ids")
    reader.boolean("active", default=True)
    for name, choices, default in (
        ("interval", INTERVALS, "month"),
        ("benefit", BENEFITS, "sessions"),
    ):
        if name in values:
            if values[name] not in choices:
                reader.errors[name] = f"must be one of {', '.join(choices)}"
            else:
                reader.cleaned[name] = values[name]
        elif not partial:
            reader.cleaned[name] = default
    return reader.finish()


def _check_benefit(plan: Mapping[str, Any], service_ids: list[uuid.UUID]) -> None:
    benefit = plan["benefit"]
    if benefit == "sessions" and plan["sessions_per_period"] < 1:
        raise invalid("sessions_per_period", "must be 1 or more for a sessions benefit")
    if benefit == "discount" and plan["discount_percent"] < 1:
        raise invalid("discount_percent", "must be 1 to 100 for a discount benefit")
    if benefit in ("sessions", "unlimited") and not service_ids:
        raise invalid(
            "service_ids",
            f"list the services a {benefit} benefit covers (at least one)",
        )


async def _plan_service_ids(scope: TenantScope, plan_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await scope.select(
        MembershipPlanService, MembershipPlanService.service_id
    ).where(MembershipPlanService.plan_id == plan_id)
    return [row["service_id"] for row in rows]


def membership_plan_json(
    row: Mapping[str, Any], currency: str, service_ids: list[uuid.UUID]
) -> dict[str, Any]:
    """Return a membership plan row as the API shows it."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "price": row["price"],
        "currency": currency,
        "interval": row["interval"],
        "interval_count": row["interval_count"],
        "benefit": row["benefit"],
        "sessions_per_period": row["sessions_per_period"],
        "discount_percent": row["discount_percent"],
        "service_ids": [str(service_id) for service_id in service_ids],
        "active": row["active"],
    }


async def get_membership_plan(
    scope: TenantScope, plan_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return one membership plan as JSON; raise NotFound if not the tenant's."""
    row = await scope.get(MembershipPlan, plan_id)
    services = await _plan_service_ids(scope, row["id"])
    return membership_plan_json(row, scope.tenant.currency, services)


async def list_membership_plans(
    scope: TenantScope, *, active: bool | None = None
) -> list[dict[str, Any]]:
    """Return the tenant's membership plans by name."""
    query = scope.select(MembershipPlan).order_by(MembershipPlan.name)
    if active is not None:
        query = query.where(MembershipPlan.active == active)
    rows = await query
    links = await scope.select(MembershipPlanService)
    by_plan: dict[uuid.UUID, list[uuid.UUID]] = {}
    for link in links:
        by_plan.setdefault(link["plan_id"], []).append(link["service_id"])
    return [
        membership_plan_json(row, scope.tenant.currency, by_plan.get(row["id"], []))
        for row in rows
    ]


async def _replace_plan_services(
    scope: TenantScope, plan_id: uuid.UUID, service_ids: list[uuid.UUID]
) -> None:
    found = await scope.get_many(Service, service_ids)
    missing = [str(service_id) for service_id in service_ids if service_id not in found]
    if missing:
        raise invalid(
            "service_ids", f"{', '.join(missing)} are not services of this business"
        )
    await scope.delete(MembershipPlanService).where(
        MembershipPlanService.plan_id == plan_id
    )
    if service_ids:
        await scope.insert(
            *(
                MembershipPlanService(plan_id=plan_id, service_id=service_id)
                for service_id in service_ids
            )
        )


async def create_membership_plan(
    scope: TenantScope, values: Mapping[str, Any], *, actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Validate and add a membership plan; return it as JSON.

    Raises ValidationFailed naming each bad field, including a sessions or
    unlimited benefit without ``service_ids``.
    """
    cleaned = clean_membership_plan(values, partial=False)
    service_ids = cleaned.pop("service_ids")
    _check_benefit(cleaned, service_ids)
    async with write_transaction():
        row = MembershipPlan(**cleaned)
        await scope.insert(row)
        await _replace_plan_services(scope, row.id, service_ids)
        created = await get_membership_plan(scope, row.id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="membership_plan.created",
            subject_type="membership_plan",
            subject_id=row.id,
            after=created,
        )
    return created


async def update_membership_plan(
    scope: TenantScope,
    plan_id: uuid.UUID | str,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Change a membership plan; memberships already sold keep their price."""
    existing = await scope.get(MembershipPlan, plan_id)
    cleaned = clean_membership_plan(changes, partial=True)
    async with write_transaction():
        before = await get_membership_plan(scope, existing["id"])
        service_ids = cleaned.pop("service_ids", None)
        merged = {**existing, **cleaned}
        if service_ids is None:
            service_ids = await _plan_service_ids(scope, existing["id"])
        _check_benefit(merged, service_ids)
        if cleaned:
            await scope.update(
                MembershipPlan,
                {getattr(MembershipPlan, key): value for key, value in cleaned.items()},
            ).where(MembershipPlan.id == existing["id"])
        if "service_ids" in changes:
            await _replace_plan_services(scope, existing["id"], service_ids)
        after = await get_membership_plan(scope, existing["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="membership_plan.updated",
            subject_type="membership_plan",
            subject_id=existing["id"],
            before=before,
            after=after,
        )
    return after


def period_end_after(
    scope: TenantScope, plan: Mapping[str, Any], start: datetime
) -> datetime:
    """Return the end of a period of ``plan`` that begins at ``start``.

    The period is counted in the tenant's local calendar, so a monthly
    membership started on 31 January ends on 28 or 29 February at the same
    local time.
    """
    zone = scope.tenant.zone
    local = start.astimezone(zone)
    count = plan["interval_count"]
    step = {
        "week": relativedelta(weeks=count),
        "month": relativedelta(months=count),
        "year": relativedelta(years=count),
    }[plan["interval"]]
    return (local + step).astimezone(start.tzinfo)


def client_membership_json(
    row: Mapping[str, Any], plan: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Return a client membership as the API shows it."""
    sessions_left = None
    if plan is not None and plan["benefit"] == "sessions":
        sessions_left = max(plan["sessions_per_period"] - row["sessions_used"], 0)
    return {
        "id": str(row["id"]),
        "client_id": str(row["client_id"]),
        "plan_id": str(row["plan_id"]),
        "plan_name": plan["name"] if plan else "",
        "benefit": plan["benefit"] if plan else "",
        "status": row["status"],
        "price": row["price"],
        "started_at": row["started_at"].isoformat(),
        "period_start": row["period_start"].isoformat(),
        "period_end": row["period_end"].isoformat(),
        "sessions_used": row["sessions_used"],
        "sessions_left": sessions_left,
        "period_paid": _period_paid(row),
        "next_charge_at": row["next_charge_at"].isoformat()
        if row["next_charge_at"]
        else None,
        "cancelled_at": row["cancelled_at"].isoformat()
        if row["cancelled_at"]
        else None,
    }


def _period_paid(row: Mapping[str, Any]) -> bool:
    return (
        row["next_charge_at"] is not None and row["next_charge_at"] >= row["period_end"]
    )


async def get_client_membership(
    scope: TenantScope, membership_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return one client membership as JSON; raise NotFound if not the tenant's."""
    row = await scope.get(ClientMembership, membership_id)
    plans = await scope.get_many(MembershipPlan, [row["plan_id"]])
    return client_membership_json(row, plans.get(row["plan_id"]))


async def list_client_memberships(
    scope: TenantScope, *, client_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Return memberships, newest first, optionally of one client."""
    query = scope.select(ClientMembership).order_by(
        ClientMembership.started_at, ascending=False
    )
    if client_id is not None:
        query = query.where(ClientMembership.client_id == client_id)
    rows = await query
    plans = await scope.get_many(MembershipPlan, [row["plan_id"] for row in rows])
    return [client_membership_json(row, plans.get(row["plan_id"])) for row in rows]


async def start_membership(
    scope: TenantScope,
    *,
    client_id: uuid.UUID,
    plan_id: uuid.UUID,
    at: datetime,
    paid: bool,
    ticket_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Enrol a client in a plan from ``at``; return the new membership row.

    With ``paid`` (the first period was sold on a ticket) the benefit is
    usable at once; otherwise the first period is due at ``at`` and the
    benefit waits for ``mark_period_paid``. Call inside a write transaction.
    """
    plan = await scope.get(MembershipPlan, plan_id)
    if not plan["active"]:
        raise invalid("plan_id", f"membership plan {plan['name']!r} is not on sale")
    await scope.get(Client, client_id)
    period_end = period_end_after(scope, plan, at)
    row = ClientMembership(
        client_id=client_id,
        plan_id=plan["id"],
        status="active",
        price=plan["price"],
        started_at=at,
        period_start=at,
        period_end=period_end,
        sessions_used=0,
        next_charge_at=period_end if paid else at,
        ticket_id=ticket_id,
    )
    await scope.insert(row)
    created = await scope.get(ClientMembership, row.id)
    await record_audit(
        scope,
        actor_id=actor_id,
        action="membership.started",
        subject_type="client_membership",
        subject_id=row.id,
        after=client_membership_json(created, plan),
    )
    return created


async def enrol_client(
    scope: TenantScope, values: Mapping[str, Any], *, actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Start a membership from the API, with its first period unpaid.

    ``values``: ``client_id`` and ``plan_id``. Returns the membership JSON.
    """
    reader = FieldReader(values, {"client_id", "plan_id"}, partial=False)
    reader.uuid_value("client_id", required=True)
    reader.uuid_value("plan_id", required=True)
    cleaned = reader.finish()
    if not await scope.get_many(Client, [cleaned["client_id"]]):
        raise invalid("client_id", "is not a client of this business")
    if not await scope.get_many(MembershipPlan, [cleaned["plan_id"]]):
        raise invalid("plan_id", "is not a membership plan of this business")
    async with write_transaction():
        row = await start_membership(
            scope,
            client_id=cleaned["client_id"],
            plan_id=cleaned["plan_id"],
            at=utcnow(),
            paid=False,
            actor_id=actor_id,
        )
    return await get_client_membership(scope, row["id"])


async def _active_memberships(
    scope: TenantScope, client_id: uuid.UUID, at: datetime
) -> list[dict[str, Any]]:
    rows = (
        await scope.select(ClientMembership)
        .where(ClientMembership.client_id == client_id)
        .where(ClientMembership.status == "active")
        .where(ClientMembership.period_start <= at)
        .where(ClientMembership.period_end > at)
    )
    return [row for row in rows if _period_paid(row)]


async def membership_benefit(
    scope: TenantScope,
    *,
    client_id: uuid.UUID,
    service_id: uuid.UUID,
    at: datetime,
) -> dict[str, Any] | None:
    """Return the best membership benefit a client has for a service at ``at``.

    The result is ``{"kind", "membership_id", "plan_name", "discount_percent",
    "sessions_left"}`` with ``kind`` sessions, discount or unlimited, or
    ``None`` when no paid, active membership covers the service. Unlimited
    beats included sessions (while some are left this period), which beat
    a discount; among discounts the largest wins. ``sessions_left`` is None
    except for a sessions benefit.
    """
    memberships = await _active_memberships(scope, client_id, at)
    if not memberships:
        return None
    plans = await scope.get_many(
        MembershipPlan, [row["plan_id"] for row in memberships]
    )
    links = await scope.select(MembershipPlanService).where(
        MembershipPlanService.plan_id.is_in(list(plans))
    )
    services_of: dict[uuid.UUID, set[uuid.UUID]] = {}
    for link in links:
        services_of.setdefault(link["plan_id"], set()).add(link["service_id"])
    candidates: list[tuple[int, dict[str, Any]]] = []
    for row in memberships:
        plan = plans.get(row["plan_id"])
        if plan is None:
            continue
        covered = services_of.get(plan["id"], set())
        benefit = plan["benefit"]
        if benefit == "discount":
            if covered and service_id not in covered:
                continue
            rank = plan["discount_percent"]
            sessions_left = None
        elif service_id not in covered:
            continue
        elif benefit == "unlimited":
            rank, sessions_left = 1000, None
        else:
            sessions_left = plan["sessions_per_period"] - row["sessions_used"]
            if sessions_left <= 0:
                continue
            rank = 500
        candidates.append(
            (
                rank,
                {
                    "kind": benefit,
                    "membership_id": str(row["id"]),
                    "plan_name": plan["name"],
                    "discount_percent": plan["discount_percent"]
                    if benefit == "discount"
                    else 0,
                    "sessions_left": sessions_left,
                },
            )
        )
    if not candidates:
        return None
    candidates.sort(key=lambda item: item[0], reverse=True)
    return candidates[0][1]


async def use_membership_session(
    scope: TenantScope,
    *,
    membership_id: uuid.UUID,
    ticket_id: uuid.UUID | None,
    at: datetime,
) -> None:
    """Take one included session from a membership's current period.

    The update is conditional on a session being left (unlimited plans have
    no limit) and the period being current and paid, so concurrent tickets
    can never use more than the period includes. Raises Conflict (409) when
    none is left or the membership cannot be used, and ValidationFailed for
    a discount-only plan. Call inside the caller's write transaction.
    """
    row = await scope.get(ClientMembership, membership_id)
    plan = await scope.get(MembershipPlan, row["plan_id"])
    if plan["benefit"] == "discount":
        raise invalid(
            "membership_id",
            f"membership {plan['name']!r} gives a discount, not sessions",
        )
    update = (
        scope.update(
            ClientMembership,
            {ClientMembership.sessions_used: ClientMembership.sessions_used + 1},
        )
        .where(ClientMembership.id == row["id"])
        .where(ClientMembership.status == "active")
        .where(ClientMembership.period_start <= at)
        .where(ClientMembership.period_end > at)
        .where(ClientMembership.next_charge_at >= ClientMembership.period_end)
    )
    if plan["benefit"] == "sessions":
        update = update.where(
            ClientMembership.sessions_used < plan["sessions_per_period"]
        )
    changed = await update.returning(
        ClientMembership.sessions_used, ClientMembership.period_start
    )
    if not changed:
        raise Conflict(
            f"membership {plan['name']!r} has no sessions left this period, "
            "or is not active and paid",
            membership_id=str(row["id"]),
        )
    await scope.insert(
        MembershipUse(
            membership_id=row["id"],
            ticket_id=ticket_id,
            period_start=changed[0]["period_start"],
            at=at,
            status="used",
        )
    )


async def restore_membership_sessions(
    scope: TenantScope,
    *,
    ticket_id: uuid.UUID,
    membership_id: uuid.UUID | None = None,
    limit: int | None = None,
) -> int:
    """Give back the sessions a ticket took, in periods still current.

    ``membership_id`` and ``limit`` narrow it to that many sessions of one
    membership. A session taken in a period that has since ended is marked
    restored but not counted back, because its period is over. Returns how
    many were counted back. Call inside the refund or void transaction.
    """
    query = (
        scope.select(MembershipUse)
        .where(MembershipUse.ticket_id == ticket_id)
        .where(MembershipUse.status == "used")
        .order_by(MembershipUse.at)
    )
    if membership_id is not None:
        query = query.where(MembershipUse.membership_id == membership_id)
    if limit is not None:
        query = query.limit(limit)
    uses = await query
    restored = 0
    for use in uses:
        await scope.update(MembershipUse, {MembershipUse.status: "restored"}).where(
            MembershipUse.id == use["id"]
        )
        changed = (
            await scope.update(
                ClientMembership,
                {ClientMembership.sessions_used: ClientMembership.sessions_used - 1},
            )
            .where(ClientMembership.id == use["membership_id"])
            .where(ClientMembership.period_start == use["period_start"])
            .where(ClientMembership.sessions_used > 0)
            .returning(ClientMembership.id)
        )
        restored += len(changed)
    return restored


async def mark_period_paid(
    scope: TenantScope,
    membership_id: uuid.UUID | str,
    *,
    amount: object,
    account: object,
    reference: object = "",
    actor_id: uuid.UUID | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Record the payment of a membership period; return the membership JSON.

    If the current period is unpaid, it becomes paid. If it is already
    paid, the membership moves to the next period (sessions reset) and that
    period becomes paid. ``account`` is where the money arrived: ``cash`` or
    ``card_clearing:<provider>``. Posts one journal entry (the account
    debited, ``membership_revenue`` credited) and an audit entry. A repeated
    ``idempotency_key`` returns the first result and records nothing more.
    """
    existing = await scope.get(ClientMembership, membership_id)
    errors: dict[str, str] = {}
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        errors["amount"] = "must be a whole number of minor units, zero or more"
    if not isinstance(account, str) or not (
        account == "cash" or account.startswith("card_clearing:")
    ):
        errors["account"] = 'must be "cash" or "card_clearing:<provider>"'
    if not isinstance(reference, str) or len(reference) > 100:
        errors["reference"] = "must be text of at most 100 characters"
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(amount, int) and isinstance(account, str)
    key = idempotency.check_key(idempotency_key)
    digest = idempotency.request_digest(
        {
            "membership_id": str(existing["id"]),
            "amount": amount,
            "account": account,
            "reference": reference,
        }
    )
    outcome = await idempotency.claim(scope, "membership.paid", key, digest)
    if isinstance(outcome, idempotency.Replay):
        return outcome.body
    try:
        after = await _apply_payment(
            scope, existing["id"], amount, account, str(reference), actor_id, outcome
        )
    except Exception:
        await idempotency.release(scope, outcome)
        raise
    return after


async def _lock_membership(
    scope: TenantScope, membership_id: uuid.UUID | str
) -> dict[str, Any]:
    """Read a membership for change, on PostgreSQL locking its row until commit.

    Without the lock two payments at once both see the same period, both
    post their money and only one period is credited.
    """
    row = await scope.get(ClientMembership, membership_id)
    if is_postgres():
        locked = (
            await scope.select(ClientMembership)
            .where(ClientMembership.id == row["id"])
            .lock_rows("NO KEY UPDATE")
            .first()
        )
        row = locked or row
    return row  # type: ignore[no-any-return]


async def _apply_payment(
    scope: TenantScope,
    membership_id: uuid.UUID,
    amount: int,
    account: str,
    reference: str,
    actor_id: uuid.UUID | None,
    outcome: idempotency.Claim,
) -> dict[str, Any]:
    async with write_transaction():
        row = await _lock_membership(scope, membership_id)
        if row["status"] == "cancelled":
            raise Conflict("the membership is cancelled: start a new one")
        plan = await scope.get(MembershipPlan, row["plan_id"])
        before = client_membership_json(row, plan)
        now = utcnow()
        if _period_paid(row):
            start = row["period_end"]
            values: dict[Any, Any] = {
                ClientMembership.period_start: start,
                ClientMembership.period_end: period_end_after(scope, plan, start),
                ClientMembership.sessions_used: 0,
            }
            values[ClientMembership.next_charge_at] = values[
                ClientMembership.period_end
            ]
        else:
            values = {ClientMembership.next_charge_at: row["period_end"]}
        values[ClientMembership.status] = "active"
        await scope.update(ClientMembership, values).where(
            ClientMembership.id == row["id"]
        )
        await post_entry(
            scope,
            kind="membership",
            at=now,
            drafts=[
                PostingDraft(
                    account, amount, item_name=plan["name"], item_id=plan["id"]
                ),
                PostingDraft(
                    REVENUE_ACCOUNT, -amount, item_name=plan["name"], item_id=plan["id"]
                ),
            ],
            memo=f"Membership {plan['name']} period paid {reference}".strip(),
            actor_id=actor_id,
        )
        after_row = await scope.get(ClientMembership, row["id"])
        after = client_membership_json(after_row, plan)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="membership.period_paid",
            subject_type="client_membership",
            subject_id=row["id"],
            before=before,
            after={**after, "amount": amount, "account": account},
        )
        await idempotency.complete(scope, outcome, 200, after)
    return after


async def set_membership_status(
    scope: TenantScope,
    membership_id: uuid.UUID | str,
    status: object,
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Pause, resume or cancel a membership; return its JSON."""
    existing = await scope.get(ClientMembership, membership_id)
    if status not in ("active", "paused", "cancelled"):
        raise invalid("status", "must be active, paused or cancelled")
    async with write_transaction():
        row = await _lock_membership(scope, existing["id"])
        plans = await scope.get_many(MembershipPlan, [row["plan_id"]])
        before = client_membership_json(row, plans.get(row["plan_id"]))
        if row["status"] == "cancelled":
            raise Conflict("the membership is cancelled: start a new one")
        values: dict[Any, Any] = {ClientMembership.status: status}
        if status == "cancelled":
            values[ClientMembership.cancelled_at] = utcnow()
            values[ClientMembership.next_charge_at] = None
        await scope.update(ClientMembership, values).where(
            ClientMembership.id == row["id"]
        )
        after = await get_client_membership(scope, row["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action=f"membership.{status}",
            subject_type="client_membership",
            subject_id=row["id"],
            before=before,
            after=after,
        )
    return after


async def memberships_due(scope: TenantScope, now: datetime) -> list[dict[str, Any]]:
    """Return active memberships whose next charge is due at ``now``, as JSON.

    A membership whose paid period has ended stays active but gives no
    benefit until ``mark_period_paid`` records the next period.
    """
    # TODO: a payment plugin charges each returned membership's stored card
    # here through its PaymentProvider, then calls mark_period_paid. The
    # kernel itself never charges a recurring price.
    rows = (
        await scope.select(ClientMembership)
        .where(ClientMembership.status == "active")
        .where(ClientMembership.next_charge_at <= now)
    )
    plans = await scope.get_many(MembershipPlan, [row["plan_id"] for row in rows])
    return [client_membership_json(row, plans.get(row["plan_id"])) for row in rows]
