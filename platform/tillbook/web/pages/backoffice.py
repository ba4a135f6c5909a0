"""Staff back-office pages: gift cards, refunds and voids, drawers,
commission rules and the payroll report; and the public gift card balance page.

Forms post ordinary HTML forms. Amounts are typed in major units ("12.50")
and parsed exactly by the currency's minor digits. A bad field re-renders
the page with a 422 naming it; other errors show the error page.
Refund and void forms carry an idempotency key made when the form is shown,
so a double submit refunds once.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from tillbook.errors import NotFound, ValidationFailed
from tillbook.kernel.catalog import giftcards
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.catalog.tables import GiftCard
from tillbook.kernel.ledger import commissions, drawer, refunds, voids
from tillbook.kernel.ledger.backoffice_tables import CashDrawer, DrawerSession
from tillbook.kernel.ledger.money import parse_major
from tillbook.kernel.ledger.tables import Ticket
from tillbook.kernel.reports.payroll import parse_period, payroll
from tillbook.kernel.schedule.tables import Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.api.backoffice import DRAWER_ROLES, PeriodEnd, PeriodStart
from tillbook.web.paths import STAFF, TENANT
from tillbook.web.templating import page

CHECKED = ("on", "1", "yes", "true")


def _url(scope: TenantScope, path: str) -> str:
    return f"/t/{scope.tenant.slug}/staff{path}"


def _money(
    form: Any, name: str, scope: TenantScope, errors: dict[str, str]
) -> int | None:
    """Parse a major-unit amount field into minor units, collecting errors."""
    try:
        return parse_major(str(form.get(name) or ""), scope.tenant.minor_digits, name)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        return None


@get(f"{STAFF}/backoffice", opt={"roles": DESK})
async def backoffice_home(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Template:
    """Show links to the back-office pages the actor's role may use."""
    return page("backoffice/home.html", tenant_scope, actor)


# Gift cards.


@get(f"{STAFF}/gift-cards", opt={"roles": DESK})
async def gift_cards_page(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Template:
    """List gift cards with the validity policy and the breakage button."""
    return page(
        "backoffice/gift_cards.html",
        tenant_scope,
        actor,
        cards=await giftcards.list_gift_cards(tenant_scope),
        valid_days=await giftcards.gift_card_valid_days(tenant_scope),
    )


@get(f"{STAFF}/gift-cards/{{gift_card_id:uuid}}", opt={"roles": DESK})
async def gift_card_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    gift_card_id: FromPath[uuid.UUID],
) -> Template:
    """Show a printable gift card with its activity and the email form."""
    return page(
        "backoffice/gift_card.html",
        tenant_scope,
        actor,
        card=await giftcards.gift_card_detail(tenant_scope, gift_card_id),
        errors={},
    )


@post(f"{STAFF}/gift-cards/{{gift_card_id:uuid}}/send", opt={"roles": DESK})
async def gift_card_send_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    gift_card_id: FromPath[uuid.UUID],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Email the card to the recipient typed in the form."""
    await tenant_scope.get(GiftCard, gift_card_id)
    form = await request.form()
    values = {
        name: str(form.get(name) or "")
        for name in ("recipient_email", "recipient_name", "message")
    }
    try:
        await giftcards.send_gift_card(
            tenant_scope, gift_card_id, values, actor_id=actor.account_id
        )
    except ValidationFailed as exc:
        return page(
            "backoffice/gift_card.html",
            tenant_scope,
            actor,
            status_code=422,
            card=await giftcards.gift_card_detail(tenant_scope, gift_card_id),
            errors=exc.errors,
        )
    return Redirect(_url(tenant_scope, f"/gift-cards/{gift_card_id}"), status_code=303)


@post(f"{STAFF}/gift-card-policy", opt={"roles": MANAGERS})
async def gift_card_policy_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Redirect:
    """Save the validity in days; an empty field means cards never expire."""
    form = await request.form()
    text = str(form.get("valid_days") or "").strip()
    value: object = None
    if text:
        value = int(text) if is_whole_number(text) else text
    await giftcards.set_gift_card_valid_days(
        tenant_scope, value, actor_id=actor.account_id
    )
    return Redirect(_url(tenant_scope, "/gift-cards"), status_code=303)


@post(f"{STAFF}/gift-cards/breakage", opt={"roles": MANAGERS})
async def gift_card_breakage_page(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Redirect:
    """Write off expired balances now, then go back to the list."""
    await giftcards.post_breakage(tenant_scope, actor_id=actor.account_id)
    return Redirect(_url(tenant_scope, "/gift-cards"), status_code=303)


@get(f"{TENANT}/gift-card-balance", opt={"public": True})
async def balance_page(tenant_scope: NamedDependency[TenantScope]) -> Template:
    """Show the public form to check a gift card's balance."""
    return page("backoffice/balance.html", tenant_scope, card=None, error="")


@post(f"{TENANT}/gift-card-balance", opt={"public": True})
async def balance_check_page(
    tenant_scope: NamedDependency[TenantScope], request: Request[Any, Any, Any]
) -> Template:
    """Show a card's balance for the typed code; at most 10 checks a minute."""
    address = request.client.host if request.client else "unknown"
    if not giftcards.BALANCE_LIMITER.allow(f"{tenant_scope.tenant_id}:{address}"):
        return page(
            "backoffice/balance.html",
            tenant_scope,
            status_code=429,
            card=None,
            error="Too many checks: wait a minute and try again.",
        )
    form = await request.form()
    try:
        card = await giftcards.public_balance(tenant_scope, form.get("code"))
    except ValidationFailed as exc:
        message = next(iter(exc.errors.values()))
        return page(
            "backoffice/balance.html",
            tenant_scope,
            status_code=422,
            card=None,
            error=message,
        )
    except NotFound:
        # Every unknown code gets the same text, so the page reveals nothing more.
        return page(
            "backoffice/balance.html",
            tenant_scope,
            status_code=404,
            card=None,
            error="No gift card has that code: check it and try again.",
        )
    return page("backoffice/balance.html", tenant_scope, card=card, error="")


# Refunds and voids.


async def _refund_page(
    scope: TenantScope,
    actor: Actor,
    ticket_id: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    return page(
        "backoffice/refund.html",
        scope,
        actor,
        status_code=status_code,
        summary=await refunds.ticket_refunds(scope, ticket_id),
        errors=errors or {},
        key=secrets.token_hex(16),
    )


@get(f"{STAFF}/tickets/{{ticket_id:str}}/refund", opt={"roles": MANAGERS})
async def refund_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    ticket_id: FromPath[str],
) -> Template:
    """Show a ticket's lines with what is left to refund, and the void button."""
    return await _refund_page(tenant_scope, actor, ticket_id)


@post(f"{STAFF}/tickets/{{ticket_id:str}}/refund", opt={"roles": MANAGERS})
async def refund_submit(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Refund the quantities typed per line (fields ``qty_<line id>``)."""
    summary = await refunds.ticket_refunds(tenant_scope, ticket_id)
    form = await request.form()
    lines = []
    errors: dict[str, str] = {}
    for line in summary["lines"]:
        text = str(form.get(f"qty_{line['id']}") or "").strip()
        if not text or text == "0":
            continue
        if not is_whole_number(text):
            errors[f"qty_{line['id']}"] = "type a whole number of units"
            continue
        lines.append({"line_id": line["id"], "quantity": int(text)})
    if errors:
        return await _refund_page(
            tenant_scope, actor, ticket_id, status_code=422, errors=errors
        )
    body = {
        "lines": lines,
        "reason": str(form.get("reason") or ""),
        "restock": str(form.get("restock") or "") in CHECKED,
        "to_wallet": str(form.get("to_wallet") or "") in CHECKED,
    }
    try:
        await refunds.refund_ticket(
            tenant_scope,
            ticket_id,
            body,
            actor_id=actor.account_id,
            idempotency_key=str(form.get("key") or "") or None,
            hooks=hooks,
        )
    except ValidationFailed as exc:
        return await _refund_page(
            tenant_scope, actor, ticket_id, status_code=422, errors=exc.errors
        )
    return Redirect(_url(tenant_scope, f"/tickets/{ticket_id}/refund"), status_code=303)


@post(f"{STAFF}/tickets/{{ticket_id:str}}/void", opt={"roles": MANAGERS})
async def void_submit(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Void the ticket with the reason typed in the form."""
    await tenant_scope.get(Ticket, ticket_id)
    form = await request.form()
    try:
        await voids.void_ticket(
            tenant_scope,
            ticket_id,
            {"reason": str(form.get("reason") or "")},
            actor_id=actor.account_id,
            idempotency_key=str(form.get("key") or "") or None,
            hooks=hooks,
        )
    except ValidationFailed as exc:
        return await _refund_page(
            tenant_scope, actor, ticket_id, status_code=422, errors=exc.errors
        )
    return Redirect(_url(tenant_scope, f"/tickets/{ticket_id}/refund"), status_code=303)


@get(f"{STAFF}/refunds", opt={"roles": MANAGERS})
async def refunds_page(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Template:
    """List the latest refunds and voids."""
    return page(
        "backoffice/refunds.html",
        tenant_scope,
        actor,
        refunds=await refunds.list_refunds(tenant_scope),
    )


# Cash drawers.


@get(f"{STAFF}/drawers", opt={"roles": DRAWER_ROLES})
async def drawers_page(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Template:
    """List drawers with open and close actions and the latest sessions."""
    return page(
        "backoffice/drawers.html",
        tenant_scope,
        actor,
        drawers=await drawer.list_drawers(tenant_scope),
        sessions=await drawer.list_sessions(tenant_scope),
        errors={},
    )


@post(f"{STAFF}/drawers", opt={"roles": MANAGERS})
async def drawer_add_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Redirect:
    """Add a drawer named in the form."""
    form = await request.form()
    await drawer.create_drawer(
        tenant_scope, {"name": str(form.get("name") or "")}, actor_id=actor.account_id
    )
    return Redirect(_url(tenant_scope, "/drawers"), status_code=303)


@post(f"{STAFF}/drawers/{{cash_drawer_id:uuid}}/open", opt={"roles": DRAWER_ROLES})
async def drawer_open_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    cash_drawer_id: FromPath[uuid.UUID],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Open the drawer with the float typed in the form."""
    await tenant_scope.get(CashDrawer, cash_drawer_id)
    form = await request.form()
    errors: dict[str, str] = {}
    amount = _money(form, "opening_float", tenant_scope, errors)
    if amount is None:
        return page(
            "backoffice/drawers.html",
            tenant_scope,
            actor,
            status_code=422,
            drawers=await drawer.list_drawers(tenant_scope),
            sessions=await drawer.list_sessions(tenant_scope),
            errors=errors,
        )
    report = await drawer.open_session(
        tenant_scope, cash_drawer_id, amount, actor_id=actor.account_id
    )
    return Redirect(
        _url(tenant_scope, f"/drawer-sessions/{report['id']}"), status_code=303
    )


async def _session_page(
    scope: TenantScope,
    actor: Actor,
    session_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    return page(
        "backoffice/drawer_session.html",
        scope,
        actor,
        status_code=status_code,
        report=await drawer.session_report(scope, session_id),
        errors=errors or {},
        key=secrets.token_hex(16),
    )


@get(f"{STAFF}/drawer-sessions/{{drawer_session_id:uuid}}", opt={"roles": DRAWER_ROLES})
async def drawer_session_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    drawer_session_id: FromPath[uuid.UUID],
) -> Template:
    """Show a drawer session's end-of-day report, with move and count forms."""
    return await _session_page(tenant_scope, actor, drawer_session_id)


@post(
    f"{STAFF}/drawer-sessions/{{drawer_session_id:uuid}}/moves",
    opt={"roles": DRAWER_ROLES},
)
async def drawer_move_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    drawer_session_id: FromPath[uuid.UUID],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Record cash in or out (``kind``, ``amount``, ``reason``)."""
    await tenant_scope.get(DrawerSession, drawer_session_id)
    form = await request.form()
    errors: dict[str, str] = {}
    amount = _money(form, "amount", tenant_scope, errors)
    if amount is not None:
        try:
            await drawer.move_cash(
                tenant_scope,
                drawer_session_id,
                {
                    "kind": str(form.get("kind") or ""),
                    "amount": amount,
                    "reason": str(form.get("reason") or ""),
                },
                actor_id=actor.account_id,
                idempotency_key=str(form.get("key") or "") or None,
            )
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        return await _session_page(
            tenant_scope, actor, drawer_session_id, status_code=422, errors=errors
        )
    return Redirect(
        _url(tenant_scope, f"/drawer-sessions/{drawer_session_id}"), status_code=303
    )


@post(
    f"{STAFF}/drawer-sessions/{{drawer_session_id:uuid}}/close",
    opt={"roles": DRAWER_ROLES},
)
async def drawer_close_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    drawer_session_id: FromPath[uuid.UUID],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Close the session with the counted cash."""
    await tenant_scope.get(DrawerSession, drawer_session_id)
    form = await request.form()
    errors: dict[str, str] = {}
    counted = _money(form, "counted", tenant_scope, errors)
    if counted is not None:
        try:
            await drawer.close_session(
                tenant_scope,
                drawer_session_id,
                {"counted": counted, "note": str(form.get("note") or "")},
                actor_id=actor.account_id,
            )
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        return await _session_page(
            tenant_scope, actor, drawer_session_id, status_code=422, errors=errors
        )
    return Redirect(
        _url(tenant_scope, f"/drawer-sessions/{drawer_session_id}"), status_code=303
    )


# Commissions and payroll.


async def _commissions_page(
    scope: TenantScope,
    actor: Actor,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    staff = await scope.select(Staff).order_by(Staff.name)
    return page(
        "backoffice/commissions.html",
        scope,
        actor,
        status_code=status_code,
        rules=await commissions.list_rules(scope),
        staff=staff,
        staff_names={str(row["id"]): row["name"] for row in staff},
        errors=errors or {},
    )


@get(f"{STAFF}/commissions", opt={"roles": MANAGERS})
async def commissions_page(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Template:
    """List commission rules by precedence, with a form to add one."""
    return await _commissions_page(tenant_scope, actor)


@post(f"{STAFF}/commissions", opt={"roles": MANAGERS})
async def commission_add_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Add a rule from the form, with at most one tier."""
    form = await request.form()
    errors: dict[str, str] = {}
    fixed = _money(form, "fixed", tenant_scope, errors) if form.get("fixed") else 0
    values: dict[str, Any] = {
        "name": str(form.get("name") or ""),
        "staff_id": str(form.get("staff_id") or "") or None,
        "kind": str(form.get("kind") or ""),
        "category": str(form.get("category") or ""),
        "percent": str(form.get("percent") or "0"),
        "fixed": fixed,
    }
    if form.get("tier_threshold"):
        threshold = _money(form, "tier_threshold", tenant_scope, errors)
        values["tiers"] = [
            {"threshold": threshold, "percent": str(form.get("tier_percent") or "0")}
        ]
    if not errors:
        try:
            await commissions.save_rule(tenant_scope, values, actor_id=actor.account_id)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        return await _commissions_page(
            tenant_scope, actor, status_code=422, errors=errors
        )
    return Redirect(_url(tenant_scope, "/commissions"), status_code=303)


@get(f"{STAFF}/reports/payroll", opt={"roles": MANAGERS})
async def payroll_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    first: PeriodStart = None,
    last: PeriodEnd = None,
) -> Template:
    """Show per provider revenue, commission and tips, with a CSV link."""
    first_day, last_day = parse_period(first, last, tenant_scope)
    return page(
        "backoffice/payroll.html",
        tenant_scope,
        actor,
        hooks=hooks,
        report=await payroll(tenant_scope, first_day, last_day, hooks),
    )


ROUTES: list[Any] = [
    backoffice_home,
    gift_cards_page,
    gift_card_page,
    gift_card_send_page,
    gift_card_policy_page,
    gift_card_breakage_page,
    balance_page,
    balance_check_page,
    refund_page,
    refund_submit,
    void_submit,
    refunds_page,
    drawers_page,
    drawer_add_page,
    drawer_open_page,
    drawer_session_page,
    drawer_move_page,
    drawer_close_page,
    commissions_page,
    commission_add_page,
    payroll_page,
]
