"""Steps every appointment change shares.

Reading (on PostgreSQL, locking) the appointment row, showing it as JSON
with names, the payload of its ``appointment.*`` event, emailing the client,
and charging a fee with what is left of a deposit refunded.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from tillbook.db import is_postgres
from tillbook.errors import Conflict, NotFound, invalid
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.mail import queue_mail
from tillbook.kernel.schedule.appointments import appointment_json
from tillbook.kernel.schedule.fees import (
    FeeQuote,
    charge_fee,
    settle_remaining_deposit,
)
from tillbook.kernel.schedule.notices import (
    AppointmentNotice,
    describe_when,
    format_price,
    render_notification,
)
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.scope import TenantScope

MAX_REASON_LENGTH = 500
EVENT_KEYS = (
    "status",
    "start",
    "end",
    "date",
    "local",
    "client_id",
    "client_name",
    "service_id",
    "service_name",
    "staff_id",
    "staff_name",
    "source",
)


def actor_id_of(actor: Actor | uuid.UUID | None) -> uuid.UUID | None:
    """Return the account id of an actor given as an Actor, an id or None."""
    return actor.account_id if isinstance(actor, Actor) else actor


def event_payload(result: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Return the payload of an ``appointment.*`` event for appointment JSON."""
    return {
        "appointment_id": result["id"],
        **{k: result[k] for k in EVENT_KEYS},
        **extra,
    }


def clean_reason(reason: object) -> str:
    """Return a stripped cancellation reason; raise ValidationFailed on ``reason``."""
    if reason is None:
        return ""
    if not isinstance(reason, str):
        raise invalid("reason", "must be text")
    reason = reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise invalid(
            "reason", f"is longer than {MAX_REASON_LENGTH} characters: shorten it"
        )
    return reason


async def lock_appointment(
    scope: TenantScope, appointment_id: uuid.UUID | str
) -> dict[str, Any]:
    """Read an appointment for change; on PostgreSQL lock its row until commit.

    Call inside ``write_transaction()``. Raises NotFound for an id of no
    appointment of this tenant.
    """
    row = await scope.get(Appointment, appointment_id)
    if is_postgres():
        locked = (
            await scope.select(Appointment)
            .where(Appointment.id == row["id"])
            .lock_rows("NO KEY UPDATE")
            .first()
        )
        if locked is None:
            raise NotFound("appointment", str(appointment_id))
        row = locked
    return row


async def appointment_with_names(
    scope: TenantScope, row: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Return an appointment row as JSON with names, and its client row."""
    client = await scope.select(Client).where(Client.id == row["client_id"]).first()
    service = await scope.select(Service).where(Service.id == row["service_id"]).first()
    staff = await scope.select(Staff).where(Staff.id == row["staff_id"]).first()
    result = appointment_json(scope, row, client=client, service=service, staff=staff)
    result.update(
        {
            "deposit": row["deposit"] or 0,
            "cancelled_at": _iso(row["cancelled_at"]),
            "cancel_reason": row["cancel_reason"],
            "no_show_at": _iso(row["no_show_at"]),
            "fee_ticket_id": str(row["fee_ticket_id"])
            if row["fee_ticket_id"]
            else None,
        }
    )
    return result, client


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def notice_for(
    scope: TenantScope,
    result: dict[str, Any],
    client: dict[str, Any],
    **extra: str,
) -> AppointmentNotice:
    """Build the email notice of an appointment from its JSON and client row."""
    return AppointmentNotice(
        client_first_name=client["first_name"],
        service_name=result["service_name"],
        staff_name=result["staff_name"],
        when=describe_when(date.fromisoformat(result["date"]), result["local"]),
        duration_minutes=result["duration_minutes"],
        price=format_price(scope.tenant, result["price"]),
        note=result["note"],
        cancel_url=extra.pop("cancel_url", ""),
        **extra,
    )


async def send_notice(
    scope: TenantScope,
    name: str,
    result: dict[str, Any],
    client: dict[str, Any] | None,
    hooks: TenantHooks | None,
    **extra: str,
) -> None:
    """Queue notification ``name`` to the client, if the client has an email."""
    if client is None or not client["email"]:
        return
    notice = await notice_for(scope, result, client, **extra)
    subject, html, text = await render_notification(name, scope.tenant, notice, hooks)
    await queue_mail(
        scope, to=client["email"], subject=subject, html=html, text=text, kind=name
    )


async def charge_and_refund(
    scope: TenantScope,
    row: dict[str, Any],
    quote: FeeQuote,
    *,
    actor_id: uuid.UUID | None,
    hooks: TenantHooks | None,
) -> dict[str, Any]:
    """Charge the quote's fee, refund the rest of the deposit; return the fee JSON."""
    fee: dict[str, Any] = {"fee": 0, "from_deposit": 0, "due": 0, "ticket_id": None}
    if quote.fee:
        fee = await charge_fee(scope, row, quote, actor_id=actor_id)
    refunded = await settle_remaining_deposit(
        scope, row, quote, hooks=hooks, actor_id=actor_id
    )
    fee["deposit_refund"] = quote.refund
    fee["deposit_refunded_to_card"] = refunded
    return fee


def fee_sentence(scope: TenantScope, quote: FeeQuote, fee: dict[str, Any]) -> str:
    money = lambda amount: format_price(scope.tenant, amount)  # noqa: E731
    parts = []
    if quote.fee:
        label = (
            "A late cancellation fee"
            if quote.kind == "late_cancel"
            else "A no-show fee"
        )
        parts.append(f"{label} of {money(quote.fee)} applies.")
        if quote.from_deposit:
            parts.append(f"{money(quote.from_deposit)} of it comes from your deposit.")
        if quote.due:
            parts.append(f"The business will ask you for {money(quote.due)}.")
    if quote.refund:
        if fee.get("deposit_refunded_to_card"):
            parts.append(
                f"Your deposit of {money(quote.refund)} goes back to your card."
            )
        else:
            parts.append(f"Your deposit of {money(quote.refund)} will be refunded.")
    return " ".join(parts)


def require_booked(row: dict[str, Any], action: str) -> None:
    """Raise Conflict unless the appointment is booked; ``action`` names the change."""
    if row["status"] != "booked":
        raise Conflict(
            f"the appointment is {row['status'].replace('_', ' ')} "
            f"and can no longer be {action}"
        )
