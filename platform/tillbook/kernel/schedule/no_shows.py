"""No-shows: recording that a client did not come, and charging the fee."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.ledger.tables import Ticket
from tillbook.kernel.schedule.change_steps import (
    actor_id_of,
    appointment_with_names,
    charge_and_refund,
    event_payload,
    fee_sentence,
    lock_appointment,
    send_notice,
)
from tillbook.kernel.schedule.fees import lock_fee_tickets, quote_no_show
from tillbook.kernel.schedule.holds import release_holds
from tillbook.kernel.schedule.policy import load_policy
from tillbook.kernel.schedule.reminders import cancel_reminders
from tillbook.kernel.schedule.tables import Appointment
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.scope import TenantScope


async def mark_no_show(
    scope: TenantScope,
    appointment_id: uuid.UUID | str,
    *,
    actor: Actor | uuid.UUID | None,
    waive_fee: bool = False,
    hooks: TenantHooks | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record that the client did not come; return the appointment as JSON.

    Allowed once the appointment has started, for one that is booked or
    checked in without a closed ticket. The provider's remaining time is
    freed, the policy's no-show fee is charged unless ``waive_fee`` (a paid
    deposit covers it first) and the client gets an email when a fee
    applies. Marking a no-show twice returns it unchanged.

    An open ticket of a checked-in appointment stays open, for the desk to
    void. Raises NotFound for an unknown id and Conflict before the start or
    for an appointment that is cancelled, completed or checked out.
    """
    now = now or utcnow()
    actor_id = actor_id_of(actor)
    async with write_transaction():
        await lock_fee_tickets(scope)
        row = await lock_appointment(scope, appointment_id)
        if row["status"] == "no_show":
            return (await appointment_with_names(scope, row))[0]
        await _check_no_show_allowed(scope, row, now)
        policy = await load_policy(scope)
        quote = quote_no_show(policy, row, waive=waive_fee)
        before = {"status": row["status"]}
        await scope.update(
            Appointment, {Appointment.status: "no_show", Appointment.no_show_at: now}
        ).where(Appointment.id == row["id"])
        await release_holds(scope, appointment_id=row["id"])
        await cancel_reminders(scope, row["id"])
        row = {**row, "status": "no_show", "no_show_at": now}
        result, client = await appointment_with_names(scope, row)
        await add_history(
            scope,
            row["client_id"],
            "appointment.no_show",
            f"Did not attend {result['service_name']} with {result['staff_name']} "
            f"on {result['date']} at {result['local']}",
            row["id"],
        )
        fee = await charge_and_refund(scope, row, quote, actor_id=actor_id, hooks=hooks)
        result["fee"] = fee
        if fee.get("ticket_id"):
            result["fee_ticket_id"] = fee["ticket_id"]
        await record_audit(
            scope,
            actor_id=actor_id,
            action="appointment.no_show",
            subject_type="appointment",
            subject_id=row["id"],
            before=before,
            after={"status": "no_show", "fee": quote.fee, "waived": waive_fee},
        )
        await record_event(
            scope, "appointment.no_show", event_payload(result, fee=quote.fee)
        )
        if quote.fee or quote.refund:
            await send_notice(
                scope,
                "appointment.no_show",
                result,
                client,
                hooks,
                fee=fee_sentence(scope, quote, fee),
            )
    return result


async def _check_no_show_allowed(
    scope: TenantScope, row: dict[str, Any], now: datetime
) -> None:
    if row["status"] not in ("booked", "checked_in"):
        raise Conflict(
            f"the appointment is {row['status'].replace('_', ' ')}: "
            "only a booked or checked-in appointment can be a no-show"
        )
    if now < row["start_at"]:
        local = row["start_at"].astimezone(scope.tenant.zone).strftime("%H:%M")
        raise Conflict(
            f"the appointment starts at {local}: mark a no-show only after it starts"
        )
    if row["ticket_id"] is not None:
        ticket = (
            await scope.select(Ticket, Ticket.status)
            .where(Ticket.id == row["ticket_id"])
            .first()
        )
        if ticket is not None and ticket["status"] == "closed":
            raise Conflict("the appointment is checked out: it cannot be a no-show")
