"""Staff checkout pages: the ticket at the till, paying it, and the receipt.

Forms post ordinary HTML forms. Amounts are typed in major units ("12.50")
and parsed exactly by the currency's minor digits. A bad amount re-renders
the ticket with a 422 naming the form field.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from tillbook.errors import Conflict, PaymentDeclined, ValidationFailed
from tillbook.jobs.receipts import render_receipt
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.catalog.stock import products_for_sale
from tillbook.kernel.ledger import taxes
from tillbook.kernel.ledger.checkout import close_ticket
from tillbook.kernel.ledger.money import parse_major
from tillbook.kernel.ledger.ticket_edits import (
    add_discount,
    apply_promo,
    hold_ticket,
    list_tickets,
    remove_discount,
    resume_ticket,
    update_line,
)
from tillbook.kernel.ledger.tickets import (
    add_line,
    open_ticket_for_appointment,
    open_walk_in_ticket,
    remove_line,
)
from tillbook.kernel.ledger.views import ticket_view
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

ROLES = {"roles": DESK}
CHECKED = ("on", "1", "yes", "true")


def _ticket_url(scope: TenantScope, ticket_id: Any) -> str:
    return f"/t/{scope.tenant.slug}/staff/tickets/{ticket_id}"


def tip_fields(view: dict[str, Any]) -> list[dict[str, str]]:
    """Return the tip inputs of a ticket: one per provider on it.

    A ticket with one provider gets a single field named ``tip``; with more,
    each provider's field is ``tip_<staff_id>``.
    """
    providers: dict[str, str] = {}
    if view["appointment"] is not None:
        appointment = view["appointment"]
        providers[appointment["staff_id"]] = appointment["staff_name"]
    for line in view["lines"]:
        if line["staff_id"] and line["kind"] == "service":
            providers.setdefault(line["staff_id"], line["staff_name"])
    if len(providers) == 1:
        staff_id, name = next(iter(providers.items()))
        return [{"name": "tip", "staff_id": staff_id, "staff_name": name}]
    return [
        {"name": f"tip_{staff_id}", "staff_id": staff_id, "staff_name": name}
        for staff_id, name in providers.items()
    ]


class CloseForm:
    """The close form turned into the kernel's tenders and tips.

    ``fields`` maps each tender's index to the form field that entered it,
    so kernel errors such as ``tenders[2].amount`` are shown on that field.
    """

    def __init__(self, form: FormMultiDict, view: dict[str, Any], digits: int) -> None:
        self.form = form
        self.view = view
        self.digits = digits
        self.errors: dict[str, str] = {}
        self.tenders: list[dict[str, Any]] = []
        self.tips: list[dict[str, Any]] = []
        self.fields: dict[int, dict[str, str]] = {}
        self.tip_fields: dict[int, str] = {}
        self.split: dict[str, Any] | None = None

    @property
    def tip_request(self) -> Any:
        """Return the tips as the kernel takes them: a split or a list."""
        return self.split if self.split is not None else self.tips

    def amount(self, name: str) -> int | None:
        try:
            return parse_major(str(self.form.get(name) or ""), self.digits, name)
        except ValidationFailed as exc:
            self.errors.update(exc.errors)
            return None

    def add_tender(self, tender: dict[str, Any], **fields: str) -> None:
        self.fields[len(self.tenders)] = fields
        self.tenders.append(tender)

    def read(self) -> None:
        self._read_tips()
        use_package = str(self.form.get("use_package") or "").strip()
        if use_package:
            tender: dict[str, Any] = {"kind": "package"}
            if use_package.lower() not in CHECKED:
                tender["client_package_id"] = use_package
            self.add_tender(tender, kind="use_package", client_package_id="use_package")
        self._read_gift_card()
        self._read_balances()
        for kind in ("card", "external_card", "cash"):
            field = f"{kind}_amount"
            amount = self.amount(field)
            if amount:
                tender = {"kind": kind, "amount": amount}
                if kind == "external_card":
                    tender["reference"] = str(
                        self.form.get("external_card_reference") or ""
                    ).strip()
                self.add_tender(tender, kind=field, amount=field)

    def _read_balances(self) -> None:
        """Read the membership, deposit, store credit and points tenders."""
        if str(self.form.get("use_membership") or "").strip().lower() in CHECKED:
            self.add_tender({"kind": "membership"}, kind="use_membership")
        if str(self.form.get("use_deposit") or "").strip().lower() in CHECKED:
            self.add_tender({"kind": "deposit"}, kind="use_deposit")
        amount = self.amount("wallet_amount")
        if amount:
            self.add_tender(
                {"kind": "wallet", "amount": amount},
                kind="wallet_amount",
                amount="wallet_amount",
            )
        points = str(self.form.get("loyalty_points") or "").strip()
        if points:
            if not is_whole_number(points) or int(points) <= 0:
                self.errors["loyalty_points"] = "enter a whole number of points"
            else:
                self.add_tender(
                    {"kind": "loyalty", "points": int(points)},
                    kind="loyalty_points",
                    points="loyalty_points",
                )

    def _read_split(self, fields: list[dict[str, str]]) -> bool:
        """Read a tip total split by percentage; return True when one was sent."""
        total = self.amount("tip_total")
        if not total:
            return False
        split = []
        for field in fields:
            text = str(self.form.get(f"pct_{field['staff_id']}") or "").strip()
            if text:
                split.append({"staff_id": field["staff_id"], "percent": text})
        if not split:
            self.errors["tip_total"] = "give each provider a percentage of the tip"
            return True
        self.split = {"amount": total, "split": split}
        return True

    def _read_tips(self) -> None:
        fields = tip_fields(self.view)
        if len(fields) > 1 and self._read_split(fields):
            return
        for field in fields:
            amount = self.amount(field["name"])
            if amount:
                self.tip_fields[len(self.tips)] = field["name"]
                self.tips.append({"staff_id": field["staff_id"], "amount": amount})
        # A tip on a ticket without a provider has no recipient, so it is
        # rejected rather than dropped.
        if not fields and str(self.form.get("tip") or "").strip():
            self.errors["tip"] = (
                "this ticket has no provider to tip: add a service with a provider"
            )

    def _read_gift_card(self) -> None:
        code = str(self.form.get("gift_card_code") or "").strip()
        amount = self.amount("gift_card_amount")
        if code and not amount and "gift_card_amount" not in self.errors:
            self.errors["gift_card_amount"] = (
                "is missing: enter how much to take from the gift card"
            )
        elif amount and not code:
            self.errors["gift_card_code"] = "is missing: enter the gift card's code"
        elif code and amount:
            self.add_tender(
                {"kind": "gift_card", "code": code, "amount": amount},
                kind="gift_card_code",
                code="gift_card_code",
                amount="gift_card_amount",
            )

    def form_errors(self, errors: dict[str, str]) -> dict[str, str]:
        """Rename kernel error keys (``tenders[1].amount``) to form field names."""
        renamed: dict[str, str] = {}
        for key, message in errors.items():
            renamed[self._field_for(key)] = message
        return renamed

    def _field_for(self, key: str) -> str:
        if key.startswith("tips."):
            return "tip_total"
        for prefix, mapping in (("tenders[", self.fields), ("tips[", None)):
            if not key.startswith(prefix):
                continue
            index_text, _, attribute = key[len(prefix) :].partition("]")
            if not is_whole_number(index_text):
                return key
            index = int(index_text)
            if mapping is None:
                return self.tip_fields.get(index, key)
            fields = mapping.get(index, {})
            return fields.get(attribute.lstrip("."), fields.get("kind", key))
        if key == "Idempotency-Key":
            return "idempotency_key"
        return key


async def _render_ticket(
    scope: TenantScope,
    actor: Actor,
    hooks: TenantHooks,
    ticket_id: Any,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    message: str = "",
) -> Template:
    view = await ticket_view(scope, ticket_id, hooks)
    if view["status"] == "closed":
        client = view["client"]
        return page(
            "checkout/closed.html",
            scope,
            actor,
            status_code=status_code,
            ticket=view,
            receipt_url=f"{_ticket_url(scope, view['id'])}/receipt",
            receipt_email=client["email"] if client else "",
            message=message,
        )
    return page(
        "checkout/ticket.html",
        scope,
        actor,
        status_code=status_code,
        ticket=view,
        products=await products_for_sale(scope),
        tax_rates=await taxes.tax_rates(scope, active_only=True),
        tips=tip_fields(view),
        errors=errors or {},
        form=form or {},
        message=message,
        idempotency_key=secrets.token_urlsafe(16),
    )


@get(f"{STAFF}/appointments/{{appointment_id:str}}/checkout", opt=ROLES)
async def checkout_appointment(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
) -> Redirect:
    """Open the appointment's ticket, or find the one it has, and go to it."""
    ticket_id = await open_ticket_for_appointment(
        tenant_scope, appointment_id, actor.account_id
    )
    return Redirect(_ticket_url(tenant_scope, ticket_id), status_code=303)


@post(f"{STAFF}/appointments/{{appointment_id:str}}/checkout", opt=ROLES)
async def checkout_appointment_post(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
) -> Redirect:
    """Open the appointment's ticket from a form button, and go to it."""
    ticket_id = await open_ticket_for_appointment(
        tenant_scope, appointment_id, actor.account_id
    )
    return Redirect(_ticket_url(tenant_scope, ticket_id), status_code=303)


@post(f"{STAFF}/tickets", opt=ROLES)
async def new_walk_in(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Redirect:
    """Open a walk-in ticket (form field ``client_id`` optional) and go to it."""
    form = await request.form()
    ticket_id = await open_walk_in_ticket(
        tenant_scope, client_id=form.get("client_id") or None, actor_id=actor.account_id
    )
    return Redirect(_ticket_url(tenant_scope, ticket_id), status_code=303)


@get(f"{STAFF}/tickets/{{ticket_id:str}}", opt=ROLES)
async def show_ticket_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
) -> Template:
    """Show an open ticket at the till, or a closed one with its receipt link."""
    return await _render_ticket(tenant_scope, actor, hooks, ticket_id)


@post(f"{STAFF}/tickets/{{ticket_id:str}}/lines", opt=ROLES)
async def add_product_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Add a line from the form: a product (``product_id``, ``quantity``),
    a suggested service (``service_id``) or a fee (``description``,
    ``amount`` in major units), with an optional ``note``.
    """
    form = await request.form()
    kind = str(form.get("kind") or "product")
    line: dict[str, Any] = {"kind": kind, "note": str(form.get("note") or "")}
    if kind == "service":
        line["service_id"] = str(form.get("service_id") or "")
    elif kind == "fee":
        line["description"] = str(form.get("description") or "")
        try:
            line["amount"] = parse_major(
                str(form.get("amount") or ""),
                tenant_scope.tenant.minor_digits,
                "amount",
            )
        except ValidationFailed as exc:
            return await _render_ticket(
                tenant_scope,
                actor,
                hooks,
                ticket_id,
                status_code=422,
                errors=exc.errors,
            )
    else:
        line["product_id"] = str(form.get("product_id") or "")
        line["quantity"] = str(form.get("quantity") or "1")
    try:
        await add_line(tenant_scope, ticket_id, line, actor.account_id)
    except ValidationFailed as exc:
        return await _render_ticket(
            tenant_scope, actor, hooks, ticket_id, status_code=422, errors=exc.errors
        )
    return Redirect(_ticket_url(tenant_scope, ticket_id), status_code=303)


@post(f"{STAFF}/tickets/{{ticket_id:str}}/lines/{{line_id:str}}/delete", opt=ROLES)
async def remove_line_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    ticket_id: FromPath[str],
    line_id: FromPath[str],
) -> Redirect:
    """Remove a line from an open ticket and return to it."""
    await remove_line(tenant_scope, ticket_id, line_id, actor.account_id)
    return Redirect(_ticket_url(tenant_scope, ticket_id), status_code=303)


@post(f"{STAFF}/tickets/{{ticket_id:str}}/close", opt=ROLES)
async def close_ticket_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Pay and close the ticket from the till form, then show it closed.

    A bad field re-renders the ticket with 422 naming it, a declined card with
    402, and a ticket closed meanwhile with 409; nothing is posted then.
    """
    form = await request.form()
    view = await ticket_view(tenant_scope, ticket_id, hooks)
    close_form = CloseForm(form, view, tenant_scope.tenant.minor_digits)
    close_form.read()
    values = {str(key): str(value) for key, value in form.items()}
    values.pop("idempotency_key", None)
    try:
        if close_form.errors:
            raise ValidationFailed(close_form.errors)
        await close_ticket(
            tenant_scope,
            view["id"],
            tenders=close_form.tenders,
            tips=close_form.tip_request,
            actor_id=actor.account_id,
            idempotency_key=str(form.get("idempotency_key") or "") or None,
            hooks=hooks,
        )
    except ValidationFailed as exc:
        return await _render_ticket(
            tenant_scope,
            actor,
            hooks,
            ticket_id,
            status_code=422,
            errors=close_form.form_errors(exc.errors),
            form=values,
            message=exc.message if "tenders" in exc.errors else "",
        )
    except (PaymentDeclined, Conflict) as exc:
        return await _render_ticket(
            tenant_scope,
            actor,
            hooks,
            ticket_id,
            status_code=exc.status_code,
            form=values,
            message=exc.message,
        )
    return Redirect(_ticket_url(tenant_scope, view["id"]), status_code=303)


@get(f"{STAFF}/tickets/{{ticket_id:str}}/receipt", opt=ROLES)
async def receipt_page(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
) -> Response[str]:
    """Show a closed ticket's receipt, ready to print."""
    rendered = await render_receipt(tenant_scope, ticket_id, hooks)
    return Response(content=rendered.html, media_type=MediaType.HTML)


async def _ticket_action(
    scope: TenantScope,
    actor: Actor,
    hooks: TenantHooks,
    ticket_id: str,
    action: Any,
) -> Redirect | Template:
    """Run ``action`` and return to the ticket, or re-render it with the error."""
    try:
        await action
    except ValidationFailed as exc:
        return await _render_ticket(
            scope, actor, hooks, ticket_id, status_code=422, errors=exc.errors
        )
    except Conflict as exc:
        return await _render_ticket(
            scope, actor, hooks, ticket_id, status_code=409, message=exc.message
        )
    return Redirect(_ticket_url(scope, ticket_id), status_code=303)


@post(f"{STAFF}/tickets/{{ticket_id:str}}/discounts", opt=ROLES)
async def add_discount_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Add a discount: ``line_id`` (blank for the ticket), ``kind``, ``value``
    (a percentage, or an amount in major units), ``reason``.
    """
    form = await request.form()
    kind = str(form.get("kind") or "percent")
    value = str(form.get("value") or "").strip()
    data: dict[str, Any] = {"kind": kind, "reason": str(form.get("reason") or "")}
    if form.get("line_id"):
        data["line_id"] = str(form.get("line_id"))
    if kind == "fixed":
        try:
            data["amount"] = parse_major(
                value, tenant_scope.tenant.minor_digits, "amount"
            )
        except ValidationFailed as exc:
            return await _render_ticket(
                tenant_scope,
                actor,
                hooks,
                ticket_id,
                status_code=422,
                errors=exc.errors,
            )
    else:
        data["percent"] = value
    return await _ticket_action(
        tenant_scope,
        actor,
        hooks,
        ticket_id,
        add_discount(tenant_scope, ticket_id, data, actor.account_id),
    )


@post(
    f"{STAFF}/tickets/{{ticket_id:str}}/discounts/{{discount_id:str}}/delete",
    opt=ROLES,
)
async def remove_discount_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    discount_id: FromPath[str],
) -> Redirect | Template:
    """Remove a discount or promo code from the ticket."""
    return await _ticket_action(
        tenant_scope,
        actor,
        hooks,
        ticket_id,
        remove_discount(tenant_scope, ticket_id, discount_id, actor.account_id),
    )


@post(f"{STAFF}/tickets/{{ticket_id:str}}/promo", opt=ROLES)
async def promo_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Apply the promo code in field ``code``."""
    form = await request.form()
    return await _ticket_action(
        tenant_scope,
        actor,
        hooks,
        ticket_id,
        apply_promo(tenant_scope, ticket_id, form.get("code"), actor.account_id),
    )


@post(f"{STAFF}/tickets/{{ticket_id:str}}/lines/{{line_id:str}}/note", opt=ROLES)
async def line_note_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    line_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Save a line's ``note`` and, when chosen, its ``tax_rate_id``."""
    form = await request.form()
    data: dict[str, Any] = {"note": str(form.get("note") or "")}
    if form.get("tax_rate_id"):
        data["tax_rate_id"] = str(form.get("tax_rate_id"))
    return await _ticket_action(
        tenant_scope,
        actor,
        hooks,
        ticket_id,
        update_line(tenant_scope, ticket_id, line_id, data, actor.account_id),
    )


@post(f"{STAFF}/tickets/{{ticket_id:str}}/hold", opt=ROLES)
async def hold_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
    request: Request[Any, Any, Any],
) -> Redirect | Template:
    """Park the ticket with an optional ``note``."""
    form = await request.form()
    return await _ticket_action(
        tenant_scope,
        actor,
        hooks,
        ticket_id,
        hold_ticket(tenant_scope, ticket_id, form.get("note"), actor.account_id),
    )


@post(f"{STAFF}/tickets/{{ticket_id:str}}/resume", opt=ROLES)
async def resume_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    ticket_id: FromPath[str],
) -> Redirect | Template:
    """Reopen a held ticket."""
    return await _ticket_action(
        tenant_scope,
        actor,
        hooks,
        ticket_id,
        resume_ticket(tenant_scope, ticket_id, actor.account_id),
    )


@get(f"{STAFF}/tickets", opt=ROLES)
async def open_tickets_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template:
    """List open and held tickets, to resume one at the till."""
    return page(
        "checkout/list.html",
        tenant_scope,
        actor,
        open_tickets=await list_tickets(tenant_scope, "open"),
        held_tickets=await list_tickets(tenant_scope, "held"),
    )


ROUTES: list[Any] = [
    add_discount_page,
    remove_discount_page,
    promo_page,
    line_note_page,
    hold_page,
    resume_page,
    open_tickets_page,
    checkout_appointment,
    checkout_appointment_post,
    new_walk_in,
    show_ticket_page,
    add_product_page,
    remove_line_page,
    close_ticket_page,
    receipt_page,
]
