"""Late-cancellation and no-show fees: quoting them and charging them.

A fee is charged by opening a ticket for the client with one ``fee`` line,
which the desk then takes payment for with any tender the till offers. A
deposit the client already paid is applied first: that part of the fee is
taken from ``client_deposits`` and only the rest goes on the ticket. What is
left of the deposit after a cancellation is refunded to the card.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.dates import format_datetime

from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.ledger.tickets import open_fee_ticket
from tillbook.kernel.schedule.deposits import forfeit_deposit, refund_deposit
from tillbook.kernel.schedule.notices import format_price
from tillbook.kernel.schedule.policy import Policy
from tillbook.kernel.schedule.tables import Appointment
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

FEE_LABELS = {"late_cancel": "Late cancellation fee", "no_show": "No-show fee"}


@dataclass(frozen=True)
class FeeQuote:
    """The cost of an event to the client: the fee and how the deposit covers it.

    ``kind`` is ``late_cancel`` or ``no_show``; ``fee`` is 0 when the event
    is free. ``from_deposit`` is the part taken from the deposit, ``due`` the
    part on a fee ticket and ``refund`` what is left of the deposit.
    """

    kind: str
    fee: int
    deposit: int
    free_until: datetime | None = None

    @property
    def from_deposit(self) -> int:
        return min(self.deposit, self.fee)

    @property
    def due(self) -> int:
        return self.fee - self.from_deposit

    @property
    def refund(self) -> int:
        return self.deposit - self.from_deposit

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "fee": self.fee,
            "deposit": self.deposit,
            "from_deposit": self.from_deposit,
            "due": self.due,
            "refund": self.refund,
            "free_until": self.free_until.isoformat() if self.free_until else None,
        }


async def lock_fee_tickets(scope: TenantScope) -> None:
    """Take the tenant's ticket-numbering lock; call first in the transaction.

    Opening a ticket for an appointment takes this lock and then the
    appointment's row. A cancellation or no-show that may open a fee ticket
    takes them in the same order, so the two do not deadlock each other on
    PostgreSQL.
    """
    # The lock is the till's own, so both sides share one order.
    from tillbook.kernel.ledger.tickets import _lock_ticket_numbers

    await _lock_ticket_numbers(scope)


def quote_cancellation(
    policy: Policy, appointment: dict[str, Any], now: datetime, *, waive: bool = False
) -> FeeQuote:
    """Return what cancelling ``appointment`` at ``now`` costs under ``policy``."""
    free_until = policy.free_cancel_until(appointment["start_at"])
    late = policy.is_late_cancellation(appointment["start_at"], now)
    fee = 0 if waive or not late else policy.late_cancel_fee_for(appointment["price"])
    return FeeQuote("late_cancel", fee, appointment["deposit"] or 0, free_until)


def quote_no_show(
    policy: Policy, appointment: dict[str, Any], *, waive: bool = False
) -> FeeQuote:
    """Return what a no-show of ``appointment`` costs under ``policy``."""
    fee = 0 if waive else policy.no_show_fee_for(appointment["price"])
    return FeeQuote("no_show", fee, appointment["deposit"] or 0)


def explain_cancellation(scope: TenantScope, policy: Policy, quote: FeeQuote) -> str:
    """Return sentences for a client about the cost of cancelling now."""
    money = _money(scope)
    zone = scope.tenant.zone
    if quote.fee == 0:
        text = "Cancelling now is free of charge."
        if quote.deposit:
            text += f" Your deposit of {money(quote.deposit)} will be refunded."
        return text
    until = (
        format_datetime(
            quote.free_until.astimezone(zone), "EEEE d MMMM 'at' HH:mm", locale="en_GB"
        )
        if quote.free_until
        else ""
    )
    text = (
        f"Free cancellation ended {until}. "
        f"Cancelling now costs a late cancellation fee of {money(quote.fee)}"
    )
    if quote.from_deposit:
        text += f"; your deposit of {money(quote.deposit)} is applied first"
        text += f", leaving {money(quote.due)} to pay" if quote.due else ""
    return text + "."


def describe_policy(scope: TenantScope, policy: Policy, price: int) -> str:
    """Return one sentence stating the cancellation policy for a price."""
    money = _money(scope)
    hours = policy.free_cancel_hours
    fee = policy.late_cancel_fee_for(price)
    if fee == 0:
        return "You can cancel free of charge until the appointment starts."
    window = f"{hours} hours" if hours != 1 else "1 hour"
    text = (
        f"Cancel free of charge up to {window} before the start; after that a fee "
        f"of {money(fee)} applies."
    )
    no_show = policy.no_show_fee_for(price)
    if no_show:
        text += f" Missing the appointment costs {money(no_show)}."
    return text


async def charge_fee(
    scope: TenantScope,
    appointment: dict[str, Any],
    quote: FeeQuote,
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Charge the fee of ``quote``: deposit first, the rest on a fee ticket.

    Call inside the transaction that cancels or marks the no-show. Sets the
    appointment's ``fee_ticket_id`` when a ticket is opened and appends the
    client's history ("Late cancellation fee £15.00 ...") and the audit log.
    Returns ``{"fee", "from_deposit", "due", "ticket_id", "summary"}``.
    """
    money = _money(scope)
    label = FEE_LABELS[quote.kind]
    summary = f"{label} {money(quote.fee)}"
    ticket_id = None
    if quote.from_deposit:
        await forfeit_deposit(
            scope,
            appointment,
            quote.from_deposit,
            memo=f"{label} for appointment {appointment['id']} from the deposit",
            actor_id=actor_id,
        )
    if quote.due:
        ticket = await open_fee_ticket(
            scope,
            client_id=appointment["client_id"],
            description=label,
            amount=quote.due,
            appointment_id=appointment["id"],
            actor=actor_id,
        )
        ticket_id = ticket["id"]
        await scope.update(Appointment, {Appointment.fee_ticket_id: ticket_id}).where(
            Appointment.id == appointment["id"]
        )
    if quote.from_deposit and quote.due:
        summary += (
            f": {money(quote.from_deposit)} taken from the deposit, "
            f"{money(quote.due)} on ticket {ticket['number']}"
        )
    elif quote.from_deposit:
        summary += ": taken from the deposit"
    elif quote.due:
        summary += f" on ticket {ticket['number']}"
    await add_history(
        scope, appointment["client_id"], f"fee.{quote.kind}", summary, appointment["id"]
    )
    result = {
        "fee": quote.fee,
        "from_deposit": quote.from_deposit,
        "due": quote.due,
        "ticket_id": str(ticket_id) if ticket_id else None,
        "summary": summary,
    }
    await record_audit(
        scope,
        actor_id=actor_id,
        action=f"appointment.fee_{quote.kind}",
        subject_type="appointment",
        subject_id=appointment["id"],
        before={"fee_ticket_id": appointment["fee_ticket_id"]},
        after=result,
    )
    return result


async def settle_remaining_deposit(
    scope: TenantScope,
    appointment: dict[str, Any],
    quote: FeeQuote,
    *,
    hooks: TenantHooks | None,
    actor_id: uuid.UUID | None,
) -> bool:
    """Refund what the fee left of the deposit and note it in the history.

    Returns whether the money went back to the card. Without a payment
    provider the deposit stays held, and the history entry tells the desk
    to refund it at the till.
    """
    if quote.refund <= 0:
        return False
    refunded = await refund_deposit(
        scope, appointment, quote.refund, hooks=hooks, actor_id=actor_id
    )
    amount = format_price(scope.tenant, quote.refund)
    sentence = (
        f"Deposit {amount} refunded to the card"
        if refunded
        else f"Deposit {amount} is still held: refund it at the till"
    )
    await add_history(
        scope,
        appointment["client_id"],
        "appointment.deposit",
        sentence,
        appointment["id"],
    )
    return refunded


def _money(scope: TenantScope) -> Any:
    return lambda amount: format_price(scope.tenant, amount)
