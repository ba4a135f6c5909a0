"""Back-office API: gift cards, packages, memberships, refunds and voids,
commissions, cash drawers and the payroll report.

Money is in minor units of the tenant's currency. Refunds, voids and paid
membership periods need an ``Idempotency-Key`` header; a repeat of the key
returns the first result unchanged. Roles: refunds, voids, commission rules,
plans and payroll need a manager or owner; drawers need front desk or
above; looking up gift cards, packages and memberships needs any staff role.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from tillbook.db.base import utcnow
from tillbook.errors import TillbookError, invalid
from tillbook.kernel.catalog import giftcards, memberships, packages
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger import commissions, drawer, refunds, voids
from tillbook.kernel.ledger.backoffice_tables import CashDrawer
from tillbook.kernel.reports.payroll import parse_period, payroll, payroll_csv
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS, Role
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

DRAWER_ROLES = frozenset({Role.OWNER, Role.MANAGER, Role.FRONT_DESK})
BACKOFFICE = f"{API}/backoffice"

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description="A unique value per money request; reuse it only to retry",
    ),
]
PeriodStart = Annotated[
    str | None,
    QueryParameter(
        name="from", description="First local day, YYYY-MM-DD; the 1st of the month"
    ),
]
PeriodEnd = Annotated[
    str | None,
    QueryParameter(name="to", description="Last local day, YYYY-MM-DD; today"),
]


class TooManyChecks(TillbookError):
    """The public balance page was asked too often from one address."""

    code = "too_many_requests"
    status_code = 429


# Gift cards.


@get(f"{BACKOFFICE}/gift-cards", opt={"roles": DESK})
async def gift_card_list(tenant_scope: NamedDependency[TenantScope]) -> dict[str, Any]:
    """Return the newest 200 gift cards: ``{"gift_cards": [...]}``."""
    return {"gift_cards": await giftcards.list_gift_cards(tenant_scope)}


@get(f"{BACKOFFICE}/gift-cards/{{gift_card_id:uuid}}", opt={"roles": DESK})
async def gift_card_detail(
    tenant_scope: NamedDependency[TenantScope], gift_card_id: FromPath[uuid.UUID]
) -> dict[str, Any]:
    """Return one gift card with its balance changes, oldest first."""
    return await giftcards.gift_card_detail(tenant_scope, gift_card_id)


@post(
    f"{BACKOFFICE}/gift-cards/{{gift_card_id:uuid}}/send",
    opt={"roles": DESK},
    status_code=200,
)
async def gift_card_send(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    gift_card_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Email the card to ``{"recipient_email", "recipient_name"?, "message"?}``."""
    return await giftcards.send_gift_card(
        tenant_scope, gift_card_id, data, actor_id=actor.account_id
    )


@get(f"{BACKOFFICE}/gift-card-policy", opt={"roles": MANAGERS})
async def gift_card_policy(
    tenant_scope: NamedDependency[TenantScope],
) -> dict[str, Any]:
    """Return ``{"valid_days"}``: days a new card stays valid (null: no expiry)."""
    return {"valid_days": await giftcards.gift_card_valid_days(tenant_scope)}


@put(f"{BACKOFFICE}/gift-card-policy", opt={"roles": MANAGERS})
async def gift_card_policy_save(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Set ``{"valid_days": N or null}`` for cards sold from now on."""
    value = giftcards.check_policy_field(data)
    saved = await giftcards.set_gift_card_valid_days(
        tenant_scope, value, actor_id=actor.account_id
    )
    return {"valid_days": saved}


@post(f"{BACKOFFICE}/gift-cards/breakage", opt={"roles": MANAGERS}, status_code=200)
async def gift_card_breakage(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> dict[str, Any]:
    """Write off the balances of expired cards now; return the summary."""
    return await giftcards.post_breakage(tenant_scope, actor_id=actor.account_id)


@post(f"{API}/public/gift-card-balance", opt={"public": True}, status_code=200)
async def public_gift_card_balance(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Return a card's balance for ``{"code"}``; at most 10 checks a minute.

    The code travels in the body, not the URL, so it stays out of access
    logs. Returns 429 beyond the limit.
    """
    address = request.client.host if request.client else "unknown"
    if not giftcards.BALANCE_LIMITER.allow(f"{tenant_scope.tenant_id}:{address}"):
        raise TooManyChecks("too many balance checks: wait a minute and try again")
    return await giftcards.public_balance(tenant_scope, data.get("code"))


# Packages and memberships.


@get(f"{BACKOFFICE}/clients/{{client_id:uuid}}/packages", opt={"roles": DESK})
async def client_package_list(
    tenant_scope: NamedDependency[TenantScope], client_id: FromPath[uuid.UUID]
) -> dict[str, Any]:
    """Return a client's packages with sessions left: ``{"packages": [...]}``."""
    await tenant_scope.get(Client, client_id)
    return {"packages": await packages.client_packages(tenant_scope, client_id)}


@get(f"{BACKOFFICE}/membership-plans", opt={"roles": DESK})
async def membership_plan_list(
    tenant_scope: NamedDependency[TenantScope],
) -> dict[str, Any]:
    """Return every membership plan: ``{"membership_plans": [...]}``."""
    return {"membership_plans": await memberships.list_membership_plans(tenant_scope)}


@post(f"{BACKOFFICE}/membership-plans", opt={"roles": MANAGERS}, status_code=201)
async def membership_plan_add(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Add a plan: ``{"name", "price", "interval", "interval_count", "benefit",
    "sessions_per_period", "discount_percent", "service_ids", "active"}``.
    """
    return await memberships.create_membership_plan(
        tenant_scope, data, actor_id=actor.account_id
    )


@get(f"{BACKOFFICE}/membership-plans/{{membership_plan_id:uuid}}", opt={"roles": DESK})
async def membership_plan_show(
    tenant_scope: NamedDependency[TenantScope],
    membership_plan_id: FromPath[uuid.UUID],
) -> dict[str, Any]:
    """Return one membership plan."""
    return await memberships.get_membership_plan(tenant_scope, membership_plan_id)


@patch(
    f"{BACKOFFICE}/membership-plans/{{membership_plan_id:uuid}}",
    opt={"roles": MANAGERS},
)
async def membership_plan_change(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    membership_plan_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change some fields of a plan; memberships sold keep their price."""
    return await memberships.update_membership_plan(
        tenant_scope, membership_plan_id, data, actor_id=actor.account_id
    )


@get(f"{BACKOFFICE}/client-memberships", opt={"roles": DESK})
async def client_membership_list(
    tenant_scope: NamedDependency[TenantScope],
    client_id: Annotated[uuid.UUID | None, QueryParameter(name="client_id")] = None,
) -> dict[str, Any]:
    """Return memberships, newest first, optionally of one client."""
    return {
        "memberships": await memberships.list_client_memberships(
            tenant_scope, client_id=client_id
        )
    }


@post(f"{BACKOFFICE}/client-memberships", opt={"roles": MANAGERS}, status_code=201)
async def client_membership_start(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Enrol ``{"client_id", "plan_id"}``; the first period is due at once.

    Sell the membership on a ticket instead to take the first period's
    price at the till.
    """
    return await memberships.enrol_client(tenant_scope, data, actor_id=actor.account_id)


@get(f"{BACKOFFICE}/memberships-due", opt={"roles": MANAGERS})
async def client_membership_due(
    tenant_scope: NamedDependency[TenantScope],
) -> dict[str, Any]:
    """Return memberships whose next period is due, for a payment plugin to charge."""
    return {"memberships": await memberships.memberships_due(tenant_scope, utcnow())}


@get(
    f"{BACKOFFICE}/client-memberships/{{client_membership_id:uuid}}",
    opt={"roles": DESK},
)
async def client_membership_show(
    tenant_scope: NamedDependency[TenantScope],
    client_membership_id: FromPath[uuid.UUID],
) -> dict[str, Any]:
    """Return one membership with its period and sessions left."""
    return await memberships.get_client_membership(tenant_scope, client_membership_id)


@post(
    f"{BACKOFFICE}/client-memberships/{{client_membership_id:uuid}}/paid",
    opt={"roles": MANAGERS},
    status_code=200,
)
async def client_membership_paid(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    client_membership_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Mark a period paid: ``{"amount", "account", "reference"?}``.

    ``account`` is ``cash`` or ``card_clearing:<provider>``.
    """
    await tenant_scope.get(memberships.ClientMembership, client_membership_id)
    _only(data, {"amount", "account", "reference"})
    return await memberships.mark_period_paid(
        tenant_scope,
        client_membership_id,
        amount=data.get("amount"),
        account=data.get("account"),
        reference=data.get("reference") or "",
        actor_id=actor.account_id,
        idempotency_key=idempotency_key,
    )


@post(
    f"{BACKOFFICE}/client-memberships/{{client_membership_id:uuid}}/status",
    opt={"roles": MANAGERS},
    status_code=200,
)
async def client_membership_status(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    client_membership_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Pause, resume or cancel: ``{"status": "paused"|"active"|"cancelled"}``."""
    await tenant_scope.get(memberships.ClientMembership, client_membership_id)
    _only(data, {"status"})
    return await memberships.set_membership_status(
        tenant_scope,
        client_membership_id,
        data.get("status"),
        actor_id=actor.account_id,
    )


# Refunds and voids.


@get(f"{API}/tickets/{{ticket_id:str}}/refunds", opt={"roles": MANAGERS})
async def ticket_refund_summary(
    tenant_scope: NamedDependency[TenantScope], ticket_id: FromPath[str]
) -> dict[str, Any]:
    """Return the ticket's lines and tenders with what was refunded of each."""
    return await refunds.ticket_refunds(tenant_scope, ticket_id)


@post(
    f"{API}/tickets/{{ticket_id:str}}/refunds", opt={"roles": MANAGERS}, status_code=201
)
async def ticket_refund(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Refund lines of a closed ticket.

    Body: ``{"lines": [{"line_id", "quantity"?}], "reason", "restock"?,
    "to_wallet"?}``. Returns the refund with the parts of each line and
    tender. 422 names the bad field; 409 when the ticket is not closed.
    """
    return await refunds.refund_ticket(
        tenant_scope,
        ticket_id,
        data,
        actor_id=actor.account_id,
        idempotency_key=idempotency_key,
        hooks=hooks,
    )


@post(f"{API}/tickets/{{ticket_id:str}}/void", opt={"roles": MANAGERS}, status_code=200)
async def ticket_void(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Void an unpaid ticket, or a closed one on its day: ``{"reason"}``."""
    return await voids.void_ticket(
        tenant_scope,
        ticket_id,
        data,
        actor_id=actor.account_id,
        idempotency_key=idempotency_key,
        hooks=hooks,
    )


@get(f"{BACKOFFICE}/refunds", opt={"roles": MANAGERS})
async def refund_list(tenant_scope: NamedDependency[TenantScope]) -> dict[str, Any]:
    """Return the newest 100 refunds and voids."""
    return {"refunds": await refunds.list_refunds(tenant_scope)}


# Commissions.


@get(f"{BACKOFFICE}/commission-rules", opt={"roles": MANAGERS})
async def commission_rule_list(
    tenant_scope: NamedDependency[TenantScope],
) -> dict[str, Any]:
    """Return every commission rule, most specific first."""
    return {"rules": await commissions.list_rules(tenant_scope)}


@post(f"{BACKOFFICE}/commission-rules", opt={"roles": MANAGERS}, status_code=201)
async def commission_rule_add(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Add a rule: ``{"name", "staff_id", "kind", "category", "item_id",
    "percent", "fixed", "period", "active", "tiers": [{threshold, percent,
    fixed}]}``; empty matchers match anything.
    """
    return await commissions.save_rule(tenant_scope, data, actor_id=actor.account_id)


@patch(
    f"{BACKOFFICE}/commission-rules/{{commission_rule_id:uuid}}",
    opt={"roles": MANAGERS},
)
async def commission_rule_change(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    commission_rule_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change some fields of a rule; sent tiers replace its tiers."""
    return await commissions.save_rule(
        tenant_scope, data, rule_id=commission_rule_id, actor_id=actor.account_id
    )


# Cash drawers.


@get(f"{BACKOFFICE}/cash-drawers", opt={"roles": DRAWER_ROLES})
async def cash_drawer_list(
    tenant_scope: NamedDependency[TenantScope],
) -> dict[str, Any]:
    """Return the drawers with their open session ids."""
    return {"drawers": await drawer.list_drawers(tenant_scope)}


@post(f"{BACKOFFICE}/cash-drawers", opt={"roles": MANAGERS}, status_code=201)
async def cash_drawer_add(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Add a drawer: ``{"name", "location_id"?}``."""
    return await drawer.create_drawer(tenant_scope, data, actor_id=actor.account_id)


@post(
    f"{BACKOFFICE}/cash-drawers/{{cash_drawer_id:uuid}}/sessions",
    opt={"roles": DRAWER_ROLES},
    status_code=201,
)
async def drawer_session_open(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    cash_drawer_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Open the drawer with ``{"opening_float"}``; 409 when it is already open."""
    await tenant_scope.get(CashDrawer, cash_drawer_id)
    _only(data, {"opening_float"})
    return await drawer.open_session(
        tenant_scope,
        cash_drawer_id,
        data.get("opening_float"),
        actor_id=actor.account_id,
    )


@get(f"{BACKOFFICE}/drawer-sessions", opt={"roles": DRAWER_ROLES})
async def drawer_session_list(
    tenant_scope: NamedDependency[TenantScope],
    cash_drawer_id: Annotated[
        uuid.UUID | None, QueryParameter(name="cash_drawer_id")
    ] = None,
) -> dict[str, Any]:
    """Return the latest 50 sessions, optionally of one drawer."""
    return {
        "sessions": await drawer.list_sessions(tenant_scope, drawer_id=cash_drawer_id)
    }


@get(
    f"{BACKOFFICE}/drawer-sessions/{{drawer_session_id:uuid}}",
    opt={"roles": DRAWER_ROLES},
)
async def drawer_session_show(
    tenant_scope: NamedDependency[TenantScope], drawer_session_id: FromPath[uuid.UUID]
) -> dict[str, Any]:
    """Return the session's end-of-day report with every move."""
    return await drawer.session_report(tenant_scope, drawer_session_id)


@post(
    f"{BACKOFFICE}/drawer-sessions/{{drawer_session_id:uuid}}/moves",
    opt={"roles": DRAWER_ROLES},
    status_code=201,
)
async def drawer_session_move(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    drawer_session_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Put cash in or take it out: ``{"kind": "cash_in"|"cash_out", "amount",
    "reason"}``; returns the session report. A repeated ``Idempotency-Key``
    records nothing more.
    """
    return await drawer.move_cash(
        tenant_scope,
        drawer_session_id,
        data,
        actor_id=actor.account_id,
        idempotency_key=idempotency_key,
    )


@post(
    f"{BACKOFFICE}/drawer-sessions/{{drawer_session_id:uuid}}/close",
    opt={"roles": DRAWER_ROLES},
    status_code=200,
)
async def drawer_session_close(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    drawer_session_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Close with ``{"counted", "note"?}``; returns the report with over/short."""
    return await drawer.close_session(
        tenant_scope, drawer_session_id, data, actor_id=actor.account_id
    )


# Payroll.


@get(f"{API}/reports/payroll", opt={"roles": MANAGERS})
async def payroll_report(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    first: PeriodStart = None,
    last: PeriodEnd = None,
) -> dict[str, Any]:
    """Return per provider revenue, commission and tips for ``from`` to ``to``."""
    first_day, last_day = parse_period(first, last, tenant_scope)
    return await payroll(tenant_scope, first_day, last_day, hooks)


@get(f"{API}/reports/payroll.csv", opt={"roles": MANAGERS})
async def payroll_report_csv(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    first: PeriodStart = None,
    last: PeriodEnd = None,
) -> Response[str]:
    """Return the payroll report as a CSV download, money in major units."""
    first_day, last_day = parse_period(first, last, tenant_scope)
    report = await payroll(tenant_scope, first_day, last_day, hooks)
    name = f"{tenant_scope.tenant.slug}-payroll-{first_day}-{last_day}.csv"
    return Response(
        content=payroll_csv(report, tenant_scope.tenant.minor_digits),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _only(data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise invalid(
                str(key), f"is not a known field: use {', '.join(sorted(allowed))}"
            )


ROUTES: list[Any] = [
    gift_card_list,
    gift_card_detail,
    gift_card_send,
    gift_card_policy,
    gift_card_policy_save,
    gift_card_breakage,
    public_gift_card_balance,
    client_package_list,
    membership_plan_list,
    membership_plan_add,
    membership_plan_show,
    membership_plan_change,
    client_membership_list,
    client_membership_start,
    client_membership_due,
    client_membership_show,
    client_membership_paid,
    client_membership_status,
    ticket_refund_summary,
    ticket_refund,
    ticket_void,
    refund_list,
    commission_rule_list,
    commission_rule_add,
    commission_rule_change,
    cash_drawer_list,
    cash_drawer_add,
    drawer_session_open,
    drawer_session_list,
    drawer_session_show,
    drawer_session_move,
    drawer_session_close,
    payroll_report,
    payroll_report_csv,
]
