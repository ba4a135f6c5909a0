"""Open tickets: opening from an appointment, a visit, a class or a walk-in.

A ticket opened from an appointment starts with one service line per
appointment of the visit, at the booked price and provider. Lines may be
added and removed while the ticket is open, and each change reprices the
ticket (discounts, then tax). Every change runs in a write transaction that first
takes the ticket row with a conditional update, so a line can never be added
to a ticket that is closing at the same moment.
"""

from __future__ import annotations

import uuid
from typing import Any

from tillbook.db import is_postgres, write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.outbox import record_event
from tillbook.kernel.ledger.lines import (
    LINE_BUILDERS,
    LINE_KINDS,
    as_uuid,
    fee_description,
    fee_line,
    service_line,
)
from tillbook.kernel.ledger.money import check_amount
from tillbook.kernel.ledger.repricing import reprice
from tillbook.kernel.ledger.tables import TaxRate, Ticket, TicketDiscount, TicketLine
from tillbook.kernel.schedule.tables import Appointment, ClassBooking, ClassSession
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tables import Tenant

# Appointments in these states can still be checked out.
CHECKOUT_STATUSES = ("booked", "checked_in")
CLASS_CHECKOUT_STATUSES = ("booked", "attended")
MAX_NOTE = 500


async def _lock_ticket_numbers(scope: TenantScope) -> None:
    """Serialise ticket numbering of the tenant; call in a write transaction.

    On PostgreSQL this locks the tenant row until commit, so two transactions
    opening tickets at once take numbers one after the other. SQLite's write
    transaction is exclusive already.
    """
    if is_postgres():
        await (
            Tenant.select(Tenant.id)
            .where(Tenant.id == scope.tenant_id)
            .lock_rows("NO KEY UPDATE")
        )


async def _next_number(scope: TenantScope) -> int:
    """Return the next ticket number; call after ``_lock_ticket_numbers``."""
    last = (
        await scope.select(Ticket, Ticket.number)
        .order_by(Ticket.number, ascending=False)
        .first()
    )
    return int(last["number"]) + 1 if last else 1


async def lock_open_ticket(
    scope: TenantScope, ticket_id: uuid.UUID | str
) -> dict[str, Any]:
    """Take the row of an open ticket for this transaction and return it.

    A no-op conditional update holds the row lock on PostgreSQL until commit,
    which orders this change after or before a concurrent close. Raises
    NotFound for an unknown ticket and Conflict for a closed one.
    """
    ticket = await scope.get(Ticket, ticket_id)
    taken = (
        await scope.update(Ticket, {Ticket.status: "open"})
        .where(Ticket.id == ticket["id"])
        .where(Ticket.status == "open")
        .returning(Ticket.id)
    )
    if not taken:
        raise Conflict(
            f"ticket {ticket['number']} is {ticket['status']}: it cannot change",
            ticket_id=str(ticket["id"]),
        )
    return ticket


async def _insert_ticket(
    scope: TenantScope,
    *,
    client_id: uuid.UUID | None,
    appointment_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    visit_id: uuid.UUID | None = None,
    class_booking_id: uuid.UUID | None = None,
) -> Ticket:
    """Insert a ticket with the next number; call after ``_lock_ticket_numbers``."""
    ticket = Ticket(
        number=await _next_number(scope),
        client_id=client_id,
        appointment_id=appointment_id,
        visit_id=visit_id,
        class_booking_id=class_booking_id,
        status="open",
        opened_at=utcnow(),
    )
    await scope.insert(ticket)
    await record_event(
        scope,
        "ticket.opened",
        {
            "ticket_id": str(ticket.id),
            "appointment_id": str(appointment_id) if appointment_id else None,
            "client_id": str(client_id) if client_id else None,
            "number": ticket.number,
        },
    )
    await record_audit(
        scope,
        actor_id=actor_id,
        action="ticket.opened",
        subject_type="ticket",
        subject_id=ticket.id,
        after={"number": ticket.number, "appointment_id": appointment_id},
    )
    return ticket


async def _visit_appointments(
    scope: TenantScope, appointment: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return the appointment and the others of its visit still to check out."""
    if appointment["visit_id"] is None:
        return [appointment]
    rows = (
        await scope.select(Appointment)
        .where(Appointment.visit_id == appointment["visit_id"])
        .where(Appointment.ticket_id.is_null())
        .where(Appointment.status.is_in(list(CHECKOUT_STATUSES)))
        .order_by(Appointment.start_at)
    )
    visit = [row for row in rows if row["client_id"] == appointment["client_id"]]
    if not any(row["id"] == appointment["id"] for row in visit):
        visit.insert(0, appointment)
    return visit


async def open_ticket_for_appointment(
    scope: TenantScope, appointment_id: uuid.UUID | str, actor_id: uuid.UUID | None
) -> uuid.UUID:
    """Return the id of the appointment's ticket, opening one if it has none.

    Idempotent: the ticket already linked to the appointment (open or closed)
    is returned unchanged. A new ticket gets the next number of the tenant and
    one service line per appointment of the visit (appointments sharing
    ``visit_id`` that are not on a ticket yet), each at its booked price and
    provider; automatic discounts apply on repricing. Every appointment's
    ``ticket_id`` is set in the same transaction. Raises NotFound for an
    unknown appointment and Conflict for one that is cancelled or otherwise
    past checkout.
    """
    appointment = await scope.get(Appointment, appointment_id)
    if appointment["ticket_id"] is not None:
        return appointment["ticket_id"]  # type: ignore[no-any-return]
    async with write_transaction():
        # Taking the numbering lock first serialises concurrent opens of the
        # same appointment, so the re-read below reads a ticket committed by
        # the other transaction and returns it instead of opening a second.
        await _lock_ticket_numbers(scope)
        appointment = await scope.get(Appointment, appointment["id"])
        if appointment["ticket_id"] is not None:
            return appointment["ticket_id"]  # type: ignore[no-any-return]
        if appointment["status"] not in CHECKOUT_STATUSES:
            raise Conflict(
                f"appointment is {appointment['status']}: only booked or "
                "checked-in appointments can be checked out",
                appointment_id=str(appointment["id"]),
            )
        visit = await _visit_appointments(scope, appointment)
        services = await scope.get_many(Service, [row["service_id"] for row in visit])
        ticket = await _insert_ticket(
            scope,
            client_id=appointment["client_id"],
            appointment_id=appointment["id"],
            actor_id=actor_id,
            visit_id=appointment["visit_id"],
        )
        lines = [
            service_line(
                scope,
                ticket.id,
                services[row["service_id"]],
                staff_id=row["staff_id"],
                price=row["price"],
                position=position,
                appointment_id=row["id"],
            )
            for position, row in enumerate(visit, start=1)
            if row["service_id"] in services
        ]
        await scope.insert(*lines)
        await reprice(scope, ticket.id)
        await scope.update(Appointment, {Appointment.ticket_id: ticket.id}).where(
            Appointment.id.is_in([row["id"] for row in visit])
        )
    return ticket.id  # type: ignore[no-any-return]


async def open_ticket_for_class_booking(
    scope: TenantScope, booking_id: uuid.UUID | str, actor_id: uuid.UUID | None
) -> uuid.UUID:
    """Return the id of a class booking's ticket, opening one if it has none.

    The booking must be booked or attended. The ticket gets one service line
    for the class at the service's price, with the session's instructor, and
    the booking's ``ticket_id`` is set in the same transaction. Raises
    NotFound for an unknown booking and Conflict for one in another state.
    """
    booking = await scope.get(ClassBooking, booking_id)
    if booking["ticket_id"] is not None:
        return booking["ticket_id"]  # type: ignore[no-any-return]
    async with write_transaction():
        await _lock_ticket_numbers(scope)
        booking = await scope.get(ClassBooking, booking["id"])
        if booking["ticket_id"] is not None:
            return booking["ticket_id"]  # type: ignore[no-any-return]
        if booking["status"] not in CLASS_CHECKOUT_STATUSES:
            raise Conflict(
                f"class booking is {booking['status']}: only booked or attended "
                "places can be checked out",
                booking_id=str(booking["id"]),
            )
        session = await scope.get(ClassSession, booking["session_id"])
        service = await scope.get(Service, session["service_id"])
        ticket = await _insert_ticket(
            scope,
            client_id=booking["client_id"],
            appointment_id=None,
            actor_id=actor_id,
            class_booking_id=booking["id"],
        )
        line = service_line(
            scope,
            ticket.id,
            service,
            staff_id=session["staff_id"],
            price=service["price"],
            position=1,
        )
        await scope.insert(line)
        await reprice(scope, ticket.id)
        await scope.update(ClassBooking, {ClassBooking.ticket_id: ticket.id}).where(
            ClassBooking.id == booking["id"]
        )
    return ticket.id  # type: ignore[no-any-return]


async def open_walk_in_ticket(
    scope: TenantScope, *, client_id: object = None, actor_id: uuid.UUID | None
) -> uuid.UUID:
    """Open an empty ticket with no appointment, optionally for a client.

    Raises ValidationFailed naming ``client_id`` for a malformed or unknown id.
    """
    client_uuid: uuid.UUID | None = None
    if client_id not in (None, ""):
        client_uuid = as_uuid(client_id, "client_id")
        if (
            not await scope.select(Client, Client.id)
            .where(Client.id == client_uuid)
            .first()
        ):
            raise invalid("client_id", f"client {client_id} not found")
    async with write_transaction():
        await _lock_ticket_numbers(scope)
        ticket = await _insert_ticket(
            scope, client_id=client_uuid, appointment_id=None, actor_id=actor_id
        )
    return ticket.id  # type: ignore[no-any-return]


async def open_fee_ticket(
    scope: TenantScope,
    *,
    client_id: uuid.UUID | str | None,
    description: str,
    amount: int,
    appointment_id: uuid.UUID | str | None,
    actor: uuid.UUID | None,
) -> dict[str, Any]:
    """Open a ticket holding one fee line, such as a late-cancellation fee.

    The fee is taxed at the tenant's default tax rate when one is marked
    default and untaxed otherwise (see ``lines.fee_line``). The ticket is
    linked to the client, and the line to ``appointment_id``, but the
    appointment itself is not changed: the caller records the ticket on it
    (``Appointment.fee_ticket_id``). Runs in its own write transaction, or
    joins the caller's. Returns the open ticket row. Raises ValidationFailed
    naming ``client_id``, ``description``, ``amount`` or ``appointment_id``.
    """
    text = fee_description(description)
    fee = check_amount(amount, "amount")
    client_uuid = None
    if client_id not in (None, ""):
        client_uuid = as_uuid(client_id, "client_id")
    appointment_uuid = None
    if appointment_id not in (None, ""):
        appointment_uuid = as_uuid(appointment_id, "appointment_id")
    async with write_transaction():
        if client_uuid is not None and not (
            await scope.select(Client, Client.id)
            .where(Client.id == client_uuid)
            .first()
        ):
            raise invalid("client_id", f"client {client_uuid} not found")
        staff_id = None
        if appointment_uuid is not None:
            appointment = (
                await scope.select(Appointment, Appointment.id, Appointment.staff_id)
                .where(Appointment.id == appointment_uuid)
                .first()
            )
            if appointment is None:
                raise invalid(
                    "appointment_id", f"appointment {appointment_uuid} not found"
                )
            staff_id = appointment["staff_id"]
        await _lock_ticket_numbers(scope)
        ticket = await _insert_ticket(
            scope, client_id=client_uuid, appointment_id=None, actor_id=actor
        )
        line = await fee_line(
            scope,
            ticket.id,
            description=text,
            amount=fee,
            position=1,
            staff_id=staff_id,
            appointment_id=appointment_uuid,
        )
        await scope.insert(line)
        await reprice(scope, ticket.id)
        await record_audit(
            scope,
            actor_id=actor,
            action="ticket.line_added",
            subject_type="ticket",
            subject_id=ticket.id,
            after={
                "kind": "fee",
                "description": text,
                "amount": fee,
                "appointment_id": appointment_uuid,
            },
        )
        return await scope.get(Ticket, ticket.id)


async def add_line(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    request: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> uuid.UUID | None:
    """Add a line to an open ticket; return the new line's id.

    ``request`` is one of ``{"kind": "product", "product_id", "quantity",
    "staff_id"?}``, ``{"kind": "service", "service_id", "staff_id"?}``,
    ``{"kind": "package", "plan_id"}`` (needs a client on the ticket) or
    ``{"kind": "gift_card", "amount", "code"?}`` (a code reloads that card;
    without one a new card is issued when the ticket closes),
    ``{"kind": "membership", "plan_id"}`` or ``{"kind": "fee",
    "description", "amount"}``. Any kind may add ``"note"`` and
    ``"tax_rate_id"`` (a named rate that replaces the item's, such as a
    tax-exempt rate). Adding a product already on the ticket grows that line
    and returns ``None``. Raises ValidationFailed naming the field, NotFound
    for an unknown ticket and Conflict for a closed or held one.
    """
    kind = request.get("kind", "product")
    builder = LINE_BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise invalid(
            "kind", f"{kind!r} is not a line kind: use one of {', '.join(LINE_KINDS)}"
        )
    note = check_note(request.get("note"))
    async with write_transaction():
        ticket = await lock_open_ticket(scope, ticket_id)
        last = (
            await scope.select(TicketLine, TicketLine.position)
            .where(TicketLine.ticket_id == ticket["id"])
            .order_by(TicketLine.position, ascending=False)
            .first()
        )
        position = int(last["position"]) + 1 if last else 1
        line = await builder(scope, ticket, request, position)
        if line is not None:
            line.note = note
            if request.get("tax_rate_id") not in (None, ""):
                rate = await named_rate(scope, request["tax_rate_id"])
                line.tax_rate, line.tax_name = rate["rate"], rate["name"]
            await scope.insert(line)
        await reprice(scope, ticket["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ticket.line_added",
            subject_type="ticket",
            subject_id=ticket["id"],
            after={k: v for k, v in request.items() if k != "code"},
        )
    return line.id if line is not None else None


async def remove_line(
    scope: TenantScope,
    ticket_id: uuid.UUID | str,
    line_id: uuid.UUID | str,
    actor_id: uuid.UUID | None,
) -> None:
    """Remove a line from an open ticket.

    Raises NotFound for an unknown ticket or a line not on it, and Conflict
    when the ticket is closed.
    """
    async with write_transaction():
        ticket = await lock_open_ticket(scope, ticket_id)
        line = await scope.get(TicketLine, line_id)
        if line["ticket_id"] != ticket["id"]:
            raise NotFound("ticket_line", str(line_id))
        await scope.delete(TicketDiscount).where(TicketDiscount.line_id == line["id"])
        await scope.delete(TicketLine).where(TicketLine.id == line["id"])
        await reprice(scope, ticket["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="ticket.line_removed",
            subject_type="ticket",
            subject_id=ticket["id"],
            before={
                "line_id": line["id"],
                "description": line["description"],
                "quantity": line["quantity"],
                "total": line["total"],
            },
        )


def check_note(value: object) -> str:
    """Return a line note; raise ValidationFailed naming ``note``."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_NOTE:
        raise invalid("note", f"must be text of at most {MAX_NOTE} characters")
    return value.strip()


async def named_rate(scope: TenantScope, rate_id: object) -> dict[str, Any]:
    """Return an active tax rate by id; raise ValidationFailed on ``tax_rate_id``."""
    rate_uuid = as_uuid(rate_id, "tax_rate_id")
    row = (
        await scope.select(TaxRate)
        .where(TaxRate.id == rate_uuid)
        .where(TaxRate.active.eq(True))
        .first()
    )
    if row is None:
        raise invalid("tax_rate_id", f"tax rate {rate_id} not found or switched off")
    return row  # type: ignore[no-any-return]


def require_lines(lines: list[dict[str, Any]]) -> None:
    """Raise ValidationFailed when a ticket has nothing on it to pay for."""
    if not lines:
        raise ValidationFailed(
            {"lines": "the ticket has no lines: add a service or product first"}
        )
