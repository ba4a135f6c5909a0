"""Checkout API: tickets, their lines, closing with tenders, receipts, gift cards.

Every route needs a desk role. Money is in minor units of the tenant's
currency. Closing a ticket needs an ``Idempotency-Key`` header; a repeat of
the key returns the first result unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import MediaType, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from tillbook.errors import ValidationFailed, invalid
from tillbook.jobs.receipts import render_receipt
from tillbook.kernel.catalog.giftcards import (
    check_gift_card_amount,
    gift_card_balance,
)
from tillbook.kernel.ledger.cards import store_client_card
from tillbook.kernel.ledger.checkout import close_ticket
from tillbook.kernel.ledger.ticket_edits import (
    add_discount,
    apply_promo,
    hold_ticket,
    list_tickets,
    redeem_points_discount,
    remove_discount,
    resume_ticket,
    update_line,
)
from tillbook.kernel.ledger.tickets import (
    add_line,
    open_ticket_for_appointment,
    open_ticket_for_class_booking,
    open_walk_in_ticket,
    remove_line,
)
from tillbook.kernel.ledger.views import ticket_view
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

ROLES = {"roles": DESK}
LINE_REQUEST_FIELDS = {
    "kind",
    "product_id",
    "quantity",
    "staff_id",
    "service_id",
    "plan_id",
    "amount",
    "code",
    "description",
    "note",
    "tax_rate_id",
}

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description="A unique value per payment attempt; reuse it only to retry",
    ),
]


def _only(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = {
        str(key): f"is not a known field: use {', '.join(sorted(allowed))}"
        for key in data
        if key not in allowed
    }
    if unknown:
        raise ValidationFailed(unknown)


@post(f"{API}/appointments/{{appointment_id:str}}/ticket", opt=ROLES, status_code=200)
async def appointment_ticket(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
) -> dict[str, Any]:
    """Open the appointment's ticket, or return the one it has.

    Returns the ticket view (see ``GET /tickets/{id}``). Raises 404 for an
    unknown appointment and 409 for a cancelled one.
    """
    ticket_id = await open_ticket_for_appointment(
        tenant_scope, appointment_id, actor.account_id
    )
    return await ticket_view(tenant_scope, ticket_id, hooks)


@post(f"{API}/tickets", opt=ROLES, status_code=201)
async def walk_in_ticket(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Open a walk-in ticket: ``{"client_id"?}``; return its view."""
    _only(data, {"client_id"})
    ticket_id = await open_walk_in_ticket(
        tenant_scope, client_id=data.get("client_id"), actor_id=actor.account_id
    )
    return await ticket_view(tenant_scope, ticket_id, hooks)


@get(f"{API}/tickets/{{ticket_id:str}}", opt=ROLES)
async def show_ticket(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
) -> dict[str, Any]:
    """Return a ticket: lines, totals, package balances, prompts, tenders.

    Shape: ``{"id", "number", "status", "currency", "minor_digits", "client",
    "appointment", "lines", "totals", "packages", "stored_card", "prompts",
    "tenders_offered", "tenders", "tips", "change", "gift_cards", ...}``.
    """
    return await ticket_view(tenant_scope, ticket_id, hooks)


@post(f"{API}/tickets/{{ticket_id:str}}/lines", opt=ROLES, status_code=201)
async def create_line(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Add a line and return the ticket view.

    Body, by ``kind``: ``product`` ``{product_id, quantity, staff_id?}``,
    ``service`` ``{service_id, staff_id?}``, ``package`` ``{plan_id}``,
    ``membership`` ``{plan_id}``, ``gift_card`` ``{amount, code?}`` (a code
    reloads that card), ``fee`` ``{description, amount, staff_id?}``. Any
    kind takes ``note`` and ``tax_rate_id``. Raises 422 naming the field
    (such as ``quantity`` above the stock) and 409 when the ticket is closed
    or held.
    """
    _only(data, LINE_REQUEST_FIELDS)
    await add_line(tenant_scope, ticket_id, data, actor.account_id)
    return await ticket_view(tenant_scope, ticket_id, hooks)


@delete(
    f"{API}/tickets/{{ticket_id:str}}/lines/{{line_id:str}}", opt=ROLES, status_code=200
)
async def delete_line(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    line_id: FromPath[str],
) -> dict[str, Any]:
    """Remove a line from an open ticket and return the ticket view."""
    await remove_line(tenant_scope, ticket_id, line_id, actor.account_id)
    return await ticket_view(tenant_scope, ticket_id, hooks)


@post(f"{API}/tickets/{{ticket_id:str}}/close", opt=ROLES, status_code=200)
async def close(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Pay and close a ticket.

    Header ``Idempotency-Key`` is required (422 naming it when absent).
    Body: ``{"tenders": [{"kind": "cash", "amount"}, {"kind": "card",
    "amount"}, {"kind": "card_present", "amount", "reference"}, {"kind":
    "external_card", "amount", "reference"?}, {"kind": "gift_card", "code",
    "amount"}, {"kind": "wallet", "amount"}, {"kind": "loyalty", "points"},
    {"kind": "deposit", "amount"?}, {"kind": "package",
    "client_package_id"?, "line_id"?}, {"kind": "membership",
    "membership_id"?, "line_id"?}], "tips": [{"staff_id", "amount",
    "tender"?}]}``; ``tips`` may instead be a split ``{"amount", "tender"?,
    "split": [{"staff_id", "percent"}]}`` (or amounts).
    Returns the close result with the totals, tenders, change, gift cards
    issued and the journal entry id. Raises 402 when the card is declined,
    409 when the ticket is not open, 422 naming the bad field (``tenders``
    with ``due`` and ``tendered`` when the amounts do not add up).
    """
    _only(data, {"tenders", "tips"})
    return await close_ticket(
        tenant_scope,
        ticket_id,
        tenders=data.get("tenders"),
        tips=data.get("tips"),
        actor_id=actor.account_id,
        idempotency_key=idempotency_key,
        hooks=hooks,
    )


@get(f"{API}/tickets/{{ticket_id:str}}/receipt", opt=ROLES)
async def receipt(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
) -> Response[str]:
    """Return the receipt of a closed ticket as a branded HTML page.

    Raises 409 while the ticket is still open.
    """
    rendered = await render_receipt(tenant_scope, ticket_id, hooks)
    return Response(content=rendered.html, media_type=MediaType.HTML)


@get(f"{API}/gift-cards/{{code:str}}", opt=ROLES)
async def gift_card(
    tenant_scope: NamedDependency[TenantScope], code: FromPath[str]
) -> dict[str, Any]:
    """Return a gift card's balance: ``{"code", "balance", "initial_amount",
    "currency", "expires_at", "expired", ...}``; 404 for an unknown code.
    """
    return await gift_card_balance(tenant_scope, code)


@post(f"{API}/gift-cards", opt=ROLES, status_code=201)
async def sell_gift_card(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Put a gift card sale on a ticket; the card is issued when it closes.

    Body: ``{"amount", "ticket_id"?, "client_id"?, "code"?}``. Without
    ``ticket_id`` a walk-in ticket is opened (for ``client_id`` when given).
    With ``code`` the sale reloads that card instead of issuing a new one.
    Returns the ticket view; close it with a tender to issue the card.
    """
    _only(data, {"amount", "ticket_id", "client_id", "code"})
    amount = check_gift_card_amount(data.get("amount"))
    ticket_id = data.get("ticket_id")
    if ticket_id is not None and not isinstance(ticket_id, str):
        raise invalid("ticket_id", "must be a ticket id string")
    if not ticket_id:
        ticket_id = str(
            await open_walk_in_ticket(
                tenant_scope, client_id=data.get("client_id"), actor_id=actor.account_id
            )
        )
    line = {"kind": "gift_card", "amount": amount, "code": data.get("code")}
    await add_line(tenant_scope, ticket_id, line, actor.account_id)
    return await ticket_view(tenant_scope, ticket_id, hooks)


@post(f"{API}/clients/{{client_id:str}}/cards", opt=ROLES, status_code=201)
async def store_card(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    client_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Keep a client's card with the payment provider.

    Body: ``{"payment_method"}``, the token from the provider's browser SDK.
    Returns ``{"client_id", "provider", "label"}``. Raises 422 naming
    ``payment_method`` when it is malformed or no provider is configured,
    and 402 when the provider declines the card.
    """
    _only(data, {"payment_method"})
    return await store_client_card(
        tenant_scope, client_id, data.get("payment_method"), hooks, actor.account_id
    )


@post(f"{API}/class-bookings/{{booking_id:str}}/ticket", opt=ROLES, status_code=200)
async def class_booking_ticket(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    booking_id: FromPath[str],
) -> dict[str, Any]:
    """Open the ticket for a booked or attended class place, or return its one."""
    ticket_id = await open_ticket_for_class_booking(
        tenant_scope, booking_id, actor.account_id
    )
    return await ticket_view(tenant_scope, ticket_id, hooks)


@get(f"{API}/tickets", opt=ROLES)
async def ticket_list(
    tenant_scope: NamedDependency[TenantScope], status: str = "open"
) -> list[dict[str, Any]]:
    """List open (``?status=open``) or held (``?status=held``) tickets."""
    return await list_tickets(tenant_scope, status)


@patch(
    f"{API}/tickets/{{ticket_id:str}}/lines/{{line_id:str}}", opt=ROLES, status_code=200
)
async def change_line(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    line_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change a line: ``{quantity?, note?, staff_id?, tax_rate_id?}``."""
    await update_line(tenant_scope, ticket_id, line_id, data, actor.account_id)
    return await ticket_view(tenant_scope, ticket_id, hooks)


@post(f"{API}/tickets/{{ticket_id:str}}/hold", opt=ROLES, status_code=200)
async def hold(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Park an open ticket: ``{note?}``. It cannot change until resumed."""
    _only(data, {"note"})
    await hold_ticket(tenant_scope, ticket_id, data.get("note"), actor.account_id)
    return await ticket_view(tenant_scope, ticket_id, hooks)


@post(f"{API}/tickets/{{ticket_id:str}}/resume", opt=ROLES, status_code=200)
async def resume(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
) -> dict[str, Any]:
    """Reopen a held ticket and return its view; 409 unless it is held."""
    await resume_ticket(tenant_scope, ticket_id, actor.account_id)
    return await ticket_view(tenant_scope, ticket_id, hooks)


@post(f"{API}/tickets/{{ticket_id:str}}/discounts", opt=ROLES, status_code=201)
async def create_discount(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Add a discount: ``{line_id?, kind: percent|fixed, percent?, amount?,
    reason?}``. Without ``line_id`` it applies to the whole ticket. A fixed
    amount above the line or ticket is a 422 on ``amount``.
    """
    await add_discount(tenant_scope, ticket_id, data, actor.account_id)
    return await ticket_view(tenant_scope, ticket_id, hooks)


@delete(
    f"{API}/tickets/{{ticket_id:str}}/discounts/{{discount_id:str}}",
    opt=ROLES,
    status_code=200,
)
async def delete_discount(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    discount_id: FromPath[str],
) -> dict[str, Any]:
    """Remove a discount, promo code or points discount from an open ticket."""
    await remove_discount(tenant_scope, ticket_id, discount_id, actor.account_id)
    return await ticket_view(tenant_scope, ticket_id, hooks)


@post(f"{API}/tickets/{{ticket_id:str}}/promo", opt=ROLES, status_code=200)
async def promo(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Apply a promo code: ``{code}``; 422 naming ``code`` when unusable."""
    _only(data, {"code"})
    await apply_promo(tenant_scope, ticket_id, data.get("code"), actor.account_id)
    return await ticket_view(tenant_scope, ticket_id, hooks)


@post(f"{API}/tickets/{{ticket_id:str}}/points", opt=ROLES, status_code=200)
async def points_discount(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Take loyalty points off the ticket as a discount: ``{points}``."""
    _only(data, {"points"})
    await redeem_points_discount(
        tenant_scope, ticket_id, data.get("points"), actor.account_id
    )
    return await ticket_view(tenant_scope, ticket_id, hooks)


ROUTES: list[Any] = [
    class_booking_ticket,
    ticket_list,
    change_line,
    hold,
    resume,
    create_discount,
    delete_discount,
    promo,
    points_discount,
    appointment_ticket,
    walk_in_ticket,
    show_ticket,
    create_line,
    delete_line,
    close,
    receipt,
    gift_card,
    sell_gift_card,
    store_card,
]
