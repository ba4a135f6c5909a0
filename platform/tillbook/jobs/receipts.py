"""Receipts: rendering a closed ticket's receipt and emailing it to the client.

When ``ticket.closed`` is dispatched, the ``send_receipt`` job renders the
tenant-branded receipt and queues it for the client's email address. The
ticket's ``receipt_email`` records where the receipt went. A conditional
update sets it in the same transaction as the queued mail, so a retried or
repeated job never queues a second receipt for one ticket.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dramatiq
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from tillbook.config import get_settings
from tillbook.db import write_transaction
from tillbook.jobs import actors, runtime
from tillbook.kernel.events.mail import queue_mail
from tillbook.kernel.ledger.money import format_major
from tillbook.kernel.ledger.receipt import receipt_context
from tillbook.kernel.ledger.tables import Ticket
from tillbook.plugins import TenantHooks
from tillbook.tenancy.plugin_settings import load_tenant_hooks
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tenants import tenant_by_id

logger = logging.getLogger("tillbook.jobs.receipts")

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"


@dataclass(frozen=True)
class RenderedReceipt:
    """A receipt ready to send: who it is for, its subject and both bodies."""

    to: str
    subject: str
    html: str
    text: str


@cache
def _environment() -> Environment:
    from tillbook.web.templating import configure_environment

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape()
    )
    configure_environment(environment)
    return environment


def _plain_text(scope: TenantScope, context: dict[str, Any]) -> str:
    """Return the text part of the receipt email, for readers without HTML."""
    tenant = scope.tenant

    def money(amount: int) -> str:
        return f"{tenant.currency} {format_major(amount, tenant.minor_digits)}"

    ticket = context["ticket"]
    rows = [f"{tenant.name}: receipt for ticket {ticket['number']}", ""]
    for line in context["lines"]:
        rows.append(
            f"{line['quantity']} x {line['description']}: {money(line['total'])}"
        )
        if line["discount"]:
            rows.append(
                f"  {line['discount_reason'] or 'Discount'}: -{money(line['discount'])}"
            )
    for tip in context["tips"]:
        rows.append(f"Tip for {tip['staff_name']}: {money(tip['amount'])}")
    rows.append(f"Total: {money(ticket['total'])} (tax {money(ticket['tax'])})")
    for tender in context["tenders"]:
        rows.append(f"Paid by {tender['label']}: {money(tender['amount'])}")
    if context["change"]:
        rows.append(f"Change: {money(context['change'])}")
    for product in context["recommendations"]:
        rows.append(f"Recommended for you: {product['name']}")
    if context["rebook"]:
        rows.append(
            f"Book your next {context['rebook']['service']} around "
            f"{context['rebook']['text']}."
        )
    return "\n".join(rows) + "\n"


async def render_receipt(
    scope: TenantScope, ticket_id: uuid.UUID | str, hooks: TenantHooks
) -> RenderedReceipt:
    """Render a closed ticket's receipt with the tenant's branding.

    Raises NotFound for an unknown ticket and Conflict for one still open.
    """
    context = await receipt_context(scope, ticket_id, hooks)
    template = _environment().get_template("receipt/receipt.html")
    html = template.render(
        tenant=scope.tenant,
        book_url=f"{get_settings().public_url.rstrip('/')}/t/{scope.tenant.slug}/book",
        sections=[Markup(section) for section in context.pop("sections")],  # noqa: S704 - plugins escape their own HTML, as the hook spec requires
        **context,
    )
    client = context["client"]
    return RenderedReceipt(
        to=client["email"] if client else "",
        subject=f"Your receipt from {scope.tenant.name}",
        html=html,
        text=_plain_text(scope, context),
    )


async def email_receipt(tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> uuid.UUID | None:
    """Queue a closed ticket's receipt for the client's email; return the mail id.

    Returns ``None`` without sending when the client has no email address,
    the receipt was already sent for this ticket, or the ticket is no longer
    closed (voided before the job ran).
    """
    scope = TenantScope(await tenant_by_id(tenant_id))
    ticket = await scope.get(Ticket, ticket_id)
    if ticket["receipt_email"]:
        return None
    if ticket["status"] != "closed":
        logger.info(
            "ticket %s of tenant %s is %s: no receipt",
            ticket["number"],
            tenant_id,
            ticket["status"],
        )
        return None
    hooks = await load_tenant_hooks(scope)
    receipt = await render_receipt(scope, ticket_id, hooks)
    if not receipt.to:
        logger.info(
            "ticket %s of tenant %s has no client email: no receipt",
            ticket_id,
            tenant_id,
        )
        return None
    async with write_transaction():
        claimed = (
            await scope.update(Ticket, {Ticket.receipt_email: receipt.to})
            .where(Ticket.id == ticket["id"])
            .where(Ticket.receipt_email == "")
            .returning(Ticket.id)
        )
        if not claimed:
            return None
        mail_id = await queue_mail(
            scope,
            to=receipt.to,
            subject=receipt.subject,
            html=receipt.html,
            text=receipt.text,
            kind="receipt",
        )
    logger.info(
        "queued receipt mail %s for ticket %s of tenant %s",
        mail_id,
        ticket_id,
        tenant_id,
    )
    return mail_id


@dramatiq.actor(max_retries=5, min_backoff=1_000, max_backoff=60_000)
def send_receipt(tenant_id: str, ticket_id: str) -> None:
    """Queue a closed ticket's receipt for its client; see ``email_receipt``."""
    logger.info("sending receipt for ticket %s of tenant %s", ticket_id, tenant_id)
    runtime.run(email_receipt(uuid.UUID(tenant_id), uuid.UUID(ticket_id)))


@actors.on_event("ticket.closed")
def _send_receipt_for_closed_ticket(tenant_id: str, payload: dict[str, Any]) -> None:
    send_receipt.send(tenant_id, str(payload["ticket_id"]))


if send_receipt not in actors.ALL_ACTORS:
    actors.ALL_ACTORS.append(send_receipt)
