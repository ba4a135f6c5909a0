"""Tickets, tenders and the double-entry journal.

Journal rows are append-only: a correction is a new, reversing entry. A
posting's amount is positive for a debit and negative for a credit, in minor
units; the postings of one entry sum to zero.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Date,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)

from tillbook.db.base import TenantTable


class Ticket(TenantTable):
    """A sale, opened from an appointment, a class or as a walk-in, closed once paid.

    ``status`` is open, held (parked, no changes until resumed), closed or
    void. ``cash_rounding`` is the amount the cash tender was rounded by to
    the tenant's cash increment (positive when the client paid more).
    ``revision`` grows with every change of lines or discounts, so a close
    can tell that the ticket it priced is still the ticket it claims.
    """

    number = Integer()
    client_id = UUID(null=True, default=None)
    appointment_id = UUID(null=True, default=None)
    visit_id = UUID(null=True, default=None)
    class_booking_id = UUID(null=True, default=None)
    status = Varchar(length=12, default="open")
    note = Text(default="")
    held_at = Timestamptz(null=True, default=None)
    held_by = UUID(null=True, default=None)
    cash_rounding = Integer(default=0)
    points_earned = Integer(default=0)
    revision = Integer(default=0)
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
    kind = Varchar(length=12)  # service, product, package, membership, gift_card, fee
    item_id = UUID(null=True, default=None)
    description = Varchar(length=200)
    category = Varchar(length=100, default="")
    staff_id = UUID(null=True, default=None)
    quantity = Integer(default=1)
    unit_price = Integer()
    discount = Integer(default=0)
    discount_reason = Varchar(length=100, default="")
    tax_rate = Varchar(length=16, default="0")
    tax_name = Varchar(length=60, default="")
    tax_included = Boolean(default=False)
    tax = Integer(default=0)
    net = Integer(default=0)
    total = Integer(default=0)
    note = Text(default="")
    appointment_id = UUID(null=True, default=None)
    # The part of ``discount`` from the line's own discounts (automatic
    # rules and manual line discounts); the rest is its share of ticket-level
    # discounts such as promo codes.
    line_discount = Integer(default=0)


class Tender(TenantTable):
    """A payment applied to a closed ticket."""

    ticket_id = UUID(index=True)
    kind = Varchar(length=20)
    amount = Integer()
    change_given = Integer(default=0)
    reference = Varchar(length=100, default="")
    detail = Text(default="")
    tip = Integer(default=0)


class Tip(TenantTable):
    """A tip for one staff member on a ticket, with the tender that carried it."""

    ticket_id = UUID(index=True)
    staff_id = UUID()
    amount = Integer()
    tender_id = UUID(null=True, default=None)
    share = Varchar(length=16, default="")


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


class LedgerSettings(TenantTable):
    """The tenant's rounding, cash and loyalty settings; at most one row.

    ``rounding_mode`` is half_up, half_even, up or down and applies to every
    per-line tax and percentage discount. ``cash_increment`` is the smallest
    cash amount in minor units (5 rounds cash totals to 0.05); 0 or 1 means
    cash is not rounded. Loyalty earns ``loyalty_points_per_unit`` points per
    whole major unit paid and each point is worth ``loyalty_point_value``
    minor units when redeemed; 0 turns that side off.
    """

    rounding_mode = Varchar(length=12, default="half_up")
    cash_increment = Integer(default=0)
    loyalty_points_per_unit = Integer(default=0)
    loyalty_point_value = Integer(default=0)
    stack_automatic = Boolean(default=False)


class TaxRate(TenantTable):
    """A named tax rate; ``exempt`` marks the zero rate shown as tax-exempt."""

    name = Varchar(length=60)
    rate = Varchar(length=16, default="0")
    is_default = Boolean(default=False)
    exempt = Boolean(default=False)
    active = Boolean(default=True)
    position = Integer(default=0)


class PromoCode(TenantTable):
    """A code a client gives at the till for a percentage or fixed ticket discount.

    ``used_count`` only grows on close, through a conditional update that
    never passes ``usage_limit`` (None = unlimited).
    """

    code = Varchar(length=40)
    description = Varchar(length=200, default="")
    kind = Varchar(length=10, default="percent")
    percent = Varchar(length=16, default="0")
    amount = Integer(default=0)
    valid_from = Date(null=True, default=None)
    valid_until = Date(null=True, default=None)
    usage_limit = Integer(null=True, default=None)
    used_count = Integer(default=0)
    min_subtotal = Integer(default=0)
    active = Boolean(default=True)
    created_at = Timestamptz()


class DiscountRule(TenantTable):
    """An automatic discount: a loyalty tier, a first visit or a birthday month.

    ``applies_to`` is service, product or all. A loyalty tier applies from
    ``min_visits`` completed visits or ``min_points`` lifetime points.
    """

    name = Varchar(length=100)
    trigger = Varchar(length=20)
    kind = Varchar(length=10, default="percent")
    percent = Varchar(length=16, default="0")
    amount = Integer(default=0)
    applies_to = Varchar(length=10, default="all")
    min_visits = Integer(default=0)
    min_points = Integer(default=0)
    active = Boolean(default=True)
    position = Integer(default=0)


class TicketDiscount(TenantTable):
    """A discount applied to a ticket or one of its lines, as requested.

    ``source`` is manual, promo, rule, points or membership. ``applied`` is
    the amount it took off after the combining order and the zero cap.
    """

    ticket_id = UUID(index=True)
    line_id = UUID(null=True, default=None)
    source = Varchar(length=12)
    kind = Varchar(length=10)
    percent = Varchar(length=16, default="0")
    amount = Integer(default=0)
    applied = Integer(default=0)
    reason = Varchar(length=200, default="")
    promo_code_id = UUID(null=True, default=None)
    rule_id = UUID(null=True, default=None)
    points = Integer(default=0)
    created_at = Timestamptz()
    created_by = UUID(null=True, default=None)


class Wallet(TenantTable):
    """A client's store credit in minor units; at most one row per client."""

    client_id = UUID(index=True)
    balance = Integer(default=0)
    updated_at = Timestamptz()


class WalletEntry(TenantTable):
    """One change of a wallet balance, with the ticket and reason behind it."""

    client_id = UUID(index=True)
    ticket_id = UUID(null=True, default=None)
    amount = Integer()
    balance_after = Integer()
    reason = Varchar(length=200, default="")
    at = Timestamptz()
    actor_id = UUID(null=True, default=None)


class LoyaltyAccount(TenantTable):
    """A client's loyalty points; at most one row per client."""

    client_id = UUID(index=True)
    points = Integer(default=0)
    lifetime_points = Integer(default=0)
    updated_at = Timestamptz()
