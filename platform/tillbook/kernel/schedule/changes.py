"""Changes to booked appointments: check-in, cancel, reschedule and no-show.

Rescheduling is in ``reschedule`` and no-shows in ``no_shows``, and both
are importable from here. The steps they share are in ``change_steps``.

Each change runs in one write transaction that first reads (on PostgreSQL,
locks) the appointment row, so two changes of one appointment apply one
after the other. In that transaction it also releases or moves the
appointment's holds, re-plans its reminders, charges any fee the tenant's
policy sets, and appends the client's history, the audit log, a domain event
and an email to the client.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.schedule.change_steps import (
    actor_id_of,
    appointment_with_names,
    charge_and_refund,
    clean_reason,
    event_payload,
    fee_sentence,
    lock_appointment,
    send_notice,
)
from tillbook.kernel.schedule.fees import (
    describe_policy,
    explain_cancellation,
    lock_fee_tickets,
    quote_cancellation,
)
from tillbook.kernel.schedule.holds import release_holds
from tillbook.kernel.schedule.no_shows import mark_no_show
from tillbook.kernel.schedule.notices import format_price
from tillbook.kernel.schedule.policy import load_policy
from tillbook.kernel.schedule.reminders import cancel_reminders
from tillbook.kernel.schedule.reschedule import (
    reschedule_appointment,
    reschedule_by_token,
)
from tillbook.kernel.schedule.tables import Appointment
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

__all__ = [
    "appointment_with_names",
    "cancel_appointment",
    "cancel_by_token",
    "cancellation_preview",
    "check_in",
    "mark_no_show",
    "reschedule_appointment",
    "reschedule_by_token",
]


# -- check-in ------------------------------------------------------------------


async def check_in(
    scope: TenantScope,
    appointment_id: uuid.UUID | str,
    actor: Actor | uuid.UUID | None = None,
) -> dict[str, Any]:
    """Mark a booked appointment as checked in (arrived); return it as JSON.

    Checking in twice returns the appointment unchanged. Appends history,
    audit and the ``appointment.checked_in`` event. Raises NotFound for an id
    of no appointment of this tenant, and Conflict for an appointment that is
    cancelled, completed or a no-show.
    """
    actor_id = actor_id_of(actor)
    async with write_transaction():
        row = await lock_appointment(scope, appointment_id)
        if row["status"] == "checked_in":
            return (await appointment_with_names(scope, row))[0]
        if row["status"] != "booked":
            raise Conflict(
                f"the appointment is {row['status'].replace('_', ' ')} "
                "and cannot be checked in"
            )
        at = utcnow()
        await scope.update(
            Appointment,
            {Appointment.status: "checked_in", Appointment.checked_in_at: at},
        ).where(Appointment.id == row["id"])
        row = {**row, "status": "checked_in", "checked_in_at": at}
        result, _client = await appointment_with_names(scope, row)
        await add_history(
            scope,
            row["client_id"],
            "appointment.checked_in",
            f"Checked in for {result['service_name']} with {result['staff_name']}",
            row["id"],
        )
        await record_audit(
            scope,
            actor_id=actor_id,
            action="appointment.checked_in",
            subject_type="appointment",
            subject_id=row["id"],
            before={"status": "booked"},
            after={"status": "checked_in", "checked_in_at": at},
        )
        await record_event(
            scope,
            "appointment.checked_in",
            event_payload(result, checked_in_at=at.isoformat()),
        )
    return result


# -- cancel --------------------------------------------------------------------


async def cancellation_preview(
    scope: TenantScope,
    row: dict[str, Any],
    *,
    now: datetime | None = None,
    waive_fee: bool = False,
) -> dict[str, Any]:
    """Return what cancelling an appointment now would cost, and why.

    Returns the fee quote's JSON plus ``explanation`` (sentences for the
    client) and ``policy`` (the policy in one sentence).
    """
    now = now or utcnow()
    policy = await load_policy(scope)
    quote = quote_cancellation(policy, row, now, waive=waive_fee)
    return {
        **quote.to_json(),
        "late": policy.is_late_cancellation(row["start_at"], now),
        "explanation": explain_cancellation(scope, policy, quote),
        "policy": describe_policy(scope, policy, row["price"]),
    }


async def cancel_appointment(
    scope: TenantScope,
    appointment_id: uuid.UUID | str,
    *,
    actor_id: uuid.UUID | None = None,
    reason: str = "",
    waive_fee: bool = False,
    hooks: TenantHooks | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Cancel a booked appointment for staff; return it as JSON.

    The provider's time is free again at once and pending reminders are
    cancelled. Inside the policy's fee window the late-cancellation fee is
    charged (see ``fees.charge_fee``) unless ``waive_fee`` is true; what is
    left of a deposit is refunded. Cancelling an appointment that is already
    cancelled returns it unchanged. Appends history, audit, the
    ``appointment.cancelled`` event and a cancellation mail.

    Raises NotFound for an id of no appointment of this tenant,
    ValidationFailed naming ``reason``, and Conflict for an appointment that
    is checked in, completed or a no-show.
    """
    reason = clean_reason(reason)
    async with write_transaction():
        await lock_fee_tickets(scope)
        row = await lock_appointment(scope, appointment_id)
        return await _cancel(
            scope,
            row,
            actor_id=actor_id,
            by="staff",
            reason=reason,
            waive_fee=waive_fee,
            hooks=hooks,
            now=now or utcnow(),
        )


async def cancel_by_token(
    scope: TenantScope,
    token: str,
    *,
    now: datetime | None = None,
    hooks: TenantHooks | None = None,
    reason: str = "",
    expected_fee: int | None = None,
) -> dict[str, Any]:
    """Cancel the appointment of a client's cancel link; return it as JSON.

    The policy applies as for staff, without a way to waive the fee. When
    ``expected_fee`` is given (the fee the client saw and confirmed) and the
    fee is now different, it raises Conflict and changes nothing, so the
    client can review the new fee. Raises NotFound for an unknown token,
    and Conflict once the appointment has started or is no longer booked.
    """
    from tillbook.kernel.schedule.booking import appointment_by_token

    now = now or utcnow()
    reason = clean_reason(reason)
    found = await appointment_by_token(scope, token)
    async with write_transaction():
        await lock_fee_tickets(scope)
        row = await lock_appointment(scope, found["id"])
        if row["status"] == "booked" and row["start_at"] <= now:
            raise Conflict("the appointment has already started: contact the business")
        if expected_fee is not None and row["status"] == "booked":
            quote = quote_cancellation(await load_policy(scope), row, now)
            if quote.fee != expected_fee:
                fee_text = format_price(scope.tenant, quote.fee)
                raise Conflict(
                    f"the cancellation fee is now {fee_text}: "
                    "review it and confirm again",
                    fee=quote.fee,
                )
        return await _cancel(
            scope,
            row,
            actor_id=None,
            by="client",
            reason=reason,
            waive_fee=False,
            hooks=hooks,
            now=now,
        )


async def _cancel(
    scope: TenantScope,
    row: dict[str, Any],
    *,
    actor_id: uuid.UUID | None,
    by: str,
    reason: str,
    waive_fee: bool,
    hooks: TenantHooks | None,
    now: datetime,
) -> dict[str, Any]:
    if row["status"] == "cancelled":
        return (await appointment_with_names(scope, row))[0]
    if row["status"] != "booked":
        raise Conflict(
            f"the appointment is {row['status'].replace('_', ' ')} "
            "and can no longer be cancelled"
        )
    policy = await load_policy(scope)
    quote = quote_cancellation(policy, row, now, waive=waive_fee)
    await scope.update(
        Appointment,
        {
            Appointment.status: "cancelled",
            Appointment.cancelled_at: now,
            Appointment.cancel_reason: reason,
        },
    ).where(Appointment.id == row["id"])
    await release_holds(scope, appointment_id=row["id"])
    await cancel_reminders(scope, row["id"])
    row = {**row, "status": "cancelled", "cancelled_at": now, "cancel_reason": reason}
    result, client = await appointment_with_names(scope, row)
    summary = (
        f"Cancelled {result['service_name']} with {result['staff_name']} "
        f"on {result['date']} at {result['local']}"
        + (" by the client" if by == "client" else "")
        + (f": {reason[:200]}" if reason else "")
    )
    await add_history(
        scope, row["client_id"], "appointment.cancelled", summary, row["id"]
    )
    fee = await charge_and_refund(scope, row, quote, actor_id=actor_id, hooks=hooks)
    result["fee"] = fee
    if fee.get("ticket_id"):
        result["fee_ticket_id"] = fee["ticket_id"]
    await record_audit(
        scope,
        actor_id=actor_id,
        action="appointment.cancelled",
        subject_type="appointment",
        subject_id=row["id"],
        before={"status": "booked"},
        after={
            "status": "cancelled",
            "by": by,
            "reason": reason,
            "fee": quote.fee,
            "waived": waive_fee,
        },
    )
    await record_event(
        scope,
        "appointment.cancelled",
        event_payload(result, cancelled_by=by, fee=quote.fee),
    )
    await send_notice(
        scope,
        "appointment.cancellation",
        result,
        client,
        hooks,
        fee=fee_sentence(scope, quote, fee),
    )
    logger.info(
        "cancelled appointment %s of tenant %s by %s, fee %s",
        row["id"],
        scope.tenant_id,
        by,
        quote.fee,
    )
    return result
