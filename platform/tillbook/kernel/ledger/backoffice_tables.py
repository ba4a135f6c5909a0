"""Refunds, voids, commissions and cash drawers.

Money columns hold integers in the tenant currency's minor unit. Percentages
are decimal strings (``"12.5"``), like tax rates.
"""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Integer, Text, Timestamptz, Varchar

from tillbook.db.base import TenantTable


class Refund(TenantTable):
    """Money given back on a closed ticket, or a whole ticket voided.

    ``kind`` is refund or void. ``amount`` is what went back to the client
    (lines plus tips), positive. ``entry_id`` is the reversing journal entry.
    """

    ticket_id = UUID(index=True)
    kind = Varchar(length=8, default="refund")
    amount = Integer()
    reason = Text(default="")
    to_wallet = Boolean(default=False)
    restock = Boolean(default=False)
    actor_id = UUID(null=True, default=None)
    at = Timestamptz()
    entry_id = UUID(null=True, default=None)


class RefundLine(TenantTable):
    """The part of one ticket line a refund gave back.

    ``amount`` is the line total refunded (after discount, with tax);
    ``net``, ``discount`` and ``tax`` split it as the sale's postings did.
    """

    refund_id = UUID(index=True)
    ticket_id = UUID(index=True)
    line_id = UUID(index=True)
    quantity = Integer()
    amount = Integer()
    net = Integer()
    discount = Integer(default=0)
    tax = Integer(default=0)


class RefundTender(TenantTable):
    """The part of one original tender a refund paid back through.

    ``tender_id`` is None for money that went to wallet credit.
    ``reference`` is the payment provider's refund reference for cards.
    """

    refund_id = UUID(index=True)
    ticket_id = UUID(index=True)
    tender_id = UUID(null=True, default=None, index=True)
    kind = Varchar(length=20)
    amount = Integer()
    reference = Varchar(length=100, default="")


class CommissionRule(TenantTable):
    """A commission rate for matching lines: a percentage, a fixed amount or both.

    Empty ``staff_id``, ``kind``, ``category`` and ``item_id`` match any
    value. ``kind`` is service or product. ``percent`` applies to the line's
    net revenue; ``fixed`` is per unit sold. ``CommissionTier`` rows replace
    both once the provider's revenue in the period reaches a threshold.
    """

    name = Varchar(length=200, default="")
    staff_id = UUID(null=True, default=None)
    kind = Varchar(length=12, default="")
    category = Varchar(length=100, default="")
    item_id = UUID(null=True, default=None)
    percent = Varchar(length=16, default="0")
    fixed = Integer(default=0)
    period = Varchar(length=8, default="month")
    active = Boolean(default=True)


class CommissionTier(TenantTable):
    """A rate that applies once period revenue reaches ``threshold``."""

    rule_id = UUID(index=True)
    threshold = Integer()
    percent = Varchar(length=16, default="0")
    fixed = Integer(default=0)


class Commission(TenantTable):
    """A provider's commission on one ticket line.

    A refund or void adds a negative row with its ``refund_id``, so the sum
    of a line's rows is what the provider keeps. ``source`` is rule, plugin
    or none (no rule matched and the amount is 0).
    """

    ticket_id = UUID(index=True)
    line_id = UUID(index=True)
    staff_id = UUID(index=True)
    refund_id = UUID(null=True, default=None)
    revenue = Integer()
    amount = Integer()
    rule_id = UUID(null=True, default=None)
    source = Varchar(length=8, default="rule")
    at = Timestamptz(index=True)


class CashDrawer(TenantTable):
    """A physical cash drawer at a location."""

    name = Varchar(length=100)
    location_id = UUID(null=True, default=None)
    active = Boolean(default=True)


class DrawerSession(TenantTable):
    """A drawer from its opening float to its count.

    ``status`` is open or closed; a unique partial index allows one open
    session per drawer. ``expected`` is the float plus every move;
    ``over_short`` is ``counted - expected`` (negative when cash is missing).
    """

    drawer_id = UUID(index=True)
    status = Varchar(length=8, default="open")
    opening_float = Integer()
    opened_at = Timestamptz()
    opened_by = UUID(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    closed_by = UUID(null=True, default=None)
    expected = Integer(null=True, default=None)
    counted = Integer(null=True, default=None)
    over_short = Integer(null=True, default=None)
    note = Text(default="")
    entry_id = UUID(null=True, default=None)


class DrawerMove(TenantTable):
    """Cash into (positive) or out of (negative) an open drawer session.

    ``kind`` is sale (cash tendered), change, refund, cash_in or cash_out.
    """

    session_id = UUID(index=True)
    kind = Varchar(length=10)
    amount = Integer()
    reason = Varchar(length=200, default="")
    ticket_id = UUID(null=True, default=None)
    refund_id = UUID(null=True, default=None)
    actor_id = UUID(null=True, default=None)
    at = Timestamptz()
