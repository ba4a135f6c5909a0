"""Open tickets: opening from an appointment or for a walk-in, and their lines.

A ticket opened from an appointment starts with the service at the booked
price and provider, less the loyalty discount when the client qualifies. Lines
may be added and removed while the ticket is open. Every change runs in a
write transaction that first takes the ticket row with a conditional update,
so a line can never be added to a ticket that is closing at the same moment.
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
    service_line,
)
from tillbook.kernel.ledger.tables import Ticket, TicketLine
from tillbook.kernel.schedule.tables import Appointment
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tables import Tenant

# Appointments in these states can still be checked out.
CHECKOUT_STATUSES = ("booked", "checked_in")


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


async def refresh_totals(scope: TenantScope, ticket_id: uuid.UUID) -> dict[str, int]:
    """Recompute a ticket's totals from its lines and store them.

    Call inside the transaction that changed the lines. Returns the totals.
    """
    lines = await scope.select(TicketLine).where(TicketLine.ticket_id == ticket_id)
    totals = {
        "subtotal": sum(line["unit_price"] * line["quantity"] for line in lines),
        "discount": sum(line["discount"] for line in lines),
        "tax": sum(line["tax"] for line in lines),
        "total": sum(line["total"] for line in lines),
    }
    await scope.update(
        Ticket,
        {
            Ticket.subtotal: totals["subtotal"],
            Ticket.discount: totals["discount"],
            Ticket.tax: totals["tax"],
            Ticket.total: totals["total"],
        },
    ).where(Ticket.id == ticket_id)
    return totals


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
) -> Ticket:
    """Insert a ticket with the next number; call after ``_lock_ticket_numbers``."""
    ticket = Ticket(
        number=await _next_number(scope),
        client_id=client_id,
        appointment_id=appointment_id,
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


async def open_ticket_for_appointment(
    scope: TenantScope, appointment_id: uuid.UUID | str, actor_id: uuid.UUID | None
) -> uuid.UUID:
    """Return the id of the appointment's ticket, opening one if it has none.

    Idempotent: the ticket already linked to the appointment (open or closed)
    is returned unchanged. A new ticket gets the next number of the tenant and
    a service line at the appointment's price and provider, with the loyalty
    discount when the client qualifies. The appointment's ``ticket_id`` is set
    in the same transaction. Raises NotFound for an unknown appointment and
    Conflict for one that is cancelled or otherwise past checkout.
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
        service = await scope.get(Service, appointment["service_id"])
        client = (
            await scope.select(Client)
            .where(Client.id == appointment["client_id"])
            .first()
        )
        ticket = await _insert_ticket(
            scope,
            client_id=appointment["client_id"],
            appointment_id=appointment["id"],
            actor_id=actor_id,
        )
        line = service_line(
            scope,
            ticket.id,
            service,
            staff_id=appointment["staff_id"],
            price=appointment["price"],
            client=client,
            position=1,
        )
        await scope.insert(line)
        await refresh_totals(scope, ticket.id)
        await scope.update(Appointment, {Appointment.ticket_id: ticket.id}).where(
            Appointment.id == appointment["id"]
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
    without one a new card is issued when the ticket closes). Adding a
    product already on the ticket grows that line and returns ``None``.
    Raises ValidationFailed naming the field, NotFound for an unknown
    ticket and Conflict for a closed one.
    """
    kind = request.get("kind", "product")
    builder = LINE_BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise invalid(
            "kind", f"{kind!r} is not a line kind: use one of {', '.join(LINE_KINDS)}"
        )
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
            await scope.insert(line)
        await refresh_totals(scope, ticket["id"])
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
        await scope.delete(TicketLine).where(TicketLine.id == line["id"])
        await refresh_totals(scope, ticket["id"])
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


def require_lines(lines: list[dict[str, Any]]) -> None:
    """Raise ValidationFailed when a ticket has nothing on it to pay for."""
    if not lines:
        raise ValidationFailed(
            {"lines": "the ticket has no lines: add a service or product first"}
        )
