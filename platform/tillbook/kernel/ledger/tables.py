"""Tickets, tenders and the double-entry journal.

Journal rows are append-only: a correction is a new, reversing entry. A
posting's amount is positive for a debit and negative for a credit, in minor
units; the postings of one entry sum to zero.
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Integer, Text, Timestamptz, Varchar

from tillbook.db.base import TenantTable


class Ticket(TenantTable):
    """A sale, opened from an appointment or as a walk-in, closed once paid."""

    number = Integer()
    client_id = UUID(null=True, default=None)
    appointment_id = UUID(null=True, default=None)
    status = Varchar(length=12, default="open")
    subtotal = Integer(default=0)
    discount = Integer(default=0)
    tax = Integer(default=0)
    tips = Integer(default=0)
    total = Integer(default=0)
    opened_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    closed_by = UUID(null=True, default=None)
    receipt_email = Varchar(length=254, default="")


class TicketLine(TenantTable):
    """One line of a ticket with its own discount and tax."""

    ticket_id = UUID(index=True)
    position = Integer(default=0)
    kind = Varchar(length=12)  # service, product, package, gift_card
    item_id = UUID(null=True, default=None)
    description = Varchar(length=200)
    category = Varchar(length=100, default="")
    staff_id = UUID(null=True, default=None)
    quantity = Integer(default=1)
    unit_price = Integer()
    discount = Integer(default=0)
    discount_reason = Varchar(length=100, default="")
    tax_rate = Varchar(length=16, default="0")
    tax = Integer(default=0)
    net = Integer(default=0)
    total = Integer(default=0)


class Tender(TenantTable):
    """A payment applied to a closed ticket."""

    ticket_id = UUID(index=True)
    kind = Varchar(length=20)
    amount = Integer()
    change_given = Integer(default=0)
    reference = Varchar(length=100, default="")
    detail = Text(default="")


class Tip(TenantTable):
    """A tip for one staff member on a ticket."""

    ticket_id = UUID(index=True)
    staff_id = UUID()
    amount = Integer()


class JournalEntry(TenantTable):
    """A balanced set of postings made by one money move."""

    at = Timestamptz(index=True)
    kind = Varchar(length=30)
    ticket_id = UUID(null=True, default=None)
    memo = Text(default="")
    actor_id = UUID(null=True, default=None)


class Posting(TenantTable):
    """One side of a journal entry, tagged with the dimensions reports group by."""

    entry_id = UUID(index=True)
    at = Timestamptz()
    account = Varchar(length=40)
    amount = Integer()
    staff_id = UUID(null=True, default=None)
    item_id = UUID(null=True, default=None)
    item_name = Varchar(length=200, default="")
    category = Varchar(length=100, default="")


class IdempotencyRecord(TenantTable):
    """The first response to a money-moving request, replayed for its key."""

    key = Varchar(length=200)
    scope = Varchar(length=100)
    request_hash = Varchar(length=64)
    response = JSON(default="{}")
    created_at = Timestamptz()
