"""Services, products, packages, memberships and gift cards.

Money columns hold integers in the tenant currency's minor unit. Tax rates are
decimal strings in percent (``"20"``, ``"8.875"``).
"""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Integer, Text, Timestamptz, Varchar

from tillbook.db.base import TenantTable


class Service(TenantTable):
    """A bookable service on the menu."""

    name = Varchar(length=200)
    category = Varchar(length=100, default="")
    description = Text(default="")
    duration_minutes = Integer()
    price = Integer()
    tax_rate = Varchar(length=16, default="0")
    rebook_interval_days = Integer(null=True, default=None)
    active = Boolean(default=True)
    kind = Varchar(length=12, default="appointment")  # or "class"
    buffer_before_minutes = Integer(default=0)
    buffer_after_minutes = Integer(default=0)
    # The processing gap starts this many minutes after the start (None: no gap)
    # and lasts processing_minutes; the provider is free during it.
    processing_after_minutes = Integer(null=True, default=None)
    processing_minutes = Integer(default=0)
    # None: the tenant's SchedulePolicy value.
    granularity_minutes = Integer(null=True, default=None)
    min_notice_minutes = Integer(null=True, default=None)
    max_advance_days = Integer(null=True, default=None)
    deposit = Integer(default=0)
    capacity = Integer(default=1)
    online = Boolean(default=True)


class ServiceProvider(TenantTable):
    """A staff member who performs a service."""

    service_id = UUID(index=True)
    staff_id = UUID(index=True)
    # This provider's own duration and price; None means the service's.
    duration_minutes = Integer(null=True, default=None)
    price = Integer(null=True, default=None)


class ServiceProduct(TenantTable):
    """A product linked to a service: consumed by it, or recommended with it."""

    service_id = UUID(index=True)
    product_id = UUID()
    link = Varchar(length=12)  # "consumes" or "recommends"
    quantity = Integer(default=1)


class Product(TenantTable):
    """A retail or back-bar product with stock on hand."""

    name = Varchar(length=200)
    sku = Varchar(length=64, default="")
    price = Integer()
    tax_rate = Varchar(length=16, default="0")
    stock = Integer(default=0)
    low_stock_threshold = Integer(default=0)
    retail = Boolean(default=True)
    active = Boolean(default=True)


class PackagePlan(TenantTable):
    """A prepaid package on sale: N sessions of one or more services for a price.

    ``service_id`` is the first service; ``PackagePlanService`` lists all of
    them, that one included.
    """

    name = Varchar(length=200)
    service_id = UUID()
    sessions = Integer()
    price = Integer()
    valid_days = Integer(default=365)
    active = Boolean(default=True)


class PackagePlanService(TenantTable):
    """A service whose sessions a package plan covers."""

    plan_id = UUID(index=True)
    service_id = UUID()


class ClientPackage(TenantTable):
    """A package sold to a client, with the sessions left on it.

    ``status`` is active, or voided once the sale that created it is voided
    or refunded. ``ticket_id`` and ``line_id`` name that sale.
    """

    client_id = UUID(index=True)
    plan_id = UUID()
    service_id = UUID()
    sessions_total = Integer()
    sessions_left = Integer()
    unit_value = Integer()
    expires_at = Timestamptz()
    sold_at = Timestamptz()
    status = Varchar(length=12, default="active")
    ticket_id = UUID(null=True, default=None)
    line_id = UUID(null=True, default=None)


class ClientPackageService(TenantTable):
    """A service a sold package covers, copied from its plan at the sale."""

    package_id = UUID(index=True)
    service_id = UUID()


class GiftCard(TenantTable):
    """A stored-value card identified by a random code.

    ``status`` is active, voided (its sale was voided or refunded) or
    expired (past ``expires_at`` with the balance written off as breakage).
    """

    code = Varchar(length=32)
    initial_amount = Integer()
    balance = Integer()
    client_id = UUID(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    issued_at = Timestamptz()
    status = Varchar(length=12, default="active")
    recipient_name = Varchar(length=200, default="")
    recipient_email = Varchar(length=254, default="")
    message = Text(default="")
    ticket_id = UUID(null=True, default=None)


class GiftCardActivity(TenantTable):
    """One change of a gift card's balance, with the balance after it.

    ``kind`` is issue, reload, redeem, refund (balance given back by a
    refund or void), void (a sold card taken back) or breakage. ``amount``
    is the signed change to the balance in minor units.
    """

    gift_card_id = UUID(index=True)
    kind = Varchar(length=12)
    amount = Integer()
    balance_after = Integer()
    ticket_id = UUID(null=True, default=None)
    refund_id = UUID(null=True, default=None)
    actor_id = UUID(null=True, default=None)
    at = Timestamptz()
    note = Varchar(length=200, default="")


class GiftCardPolicy(TenantTable):
    """A tenant's gift card rules; one row per tenant, absent means defaults.

    ``valid_days`` is how long a card sold from now on stays valid (None:
    never expires).
    """

    valid_days = Integer(null=True, default=None)


class MembershipPlan(TenantTable):
    """A membership on sale: a recurring price with one kind of benefit.

    ``benefit`` is ``sessions`` (``sessions_per_period`` included sessions of
    the listed services each period), ``discount`` (``discount_percent`` off
    the listed services, or off every service when none is listed) or
    ``unlimited`` (the listed services at no charge). The period is
    ``interval_count`` times ``interval`` (week, month or year).
    """

    name = Varchar(length=200)
    price = Integer()
    interval = Varchar(length=8, default="month")
    interval_count = Integer(default=1)
    benefit = Varchar(length=12, default="sessions")
    sessions_per_period = Integer(default=0)
    discount_percent = Integer(default=0)
    active = Boolean(default=True)


class MembershipPlanService(TenantTable):
    """A service a membership plan's benefit applies to."""

    plan_id = UUID(index=True)
    service_id = UUID()


class ClientMembership(TenantTable):
    """A client's membership, with the current period and its usage.

    ``status`` is active, paused or cancelled. ``next_charge_at`` is when
    the next period's price is due; a payment plugin charges it and marks
    the period paid. The benefit applies only while the current period is
    paid (``next_charge_at`` at or after ``period_end``).
    """

    client_id = UUID(index=True)
    plan_id = UUID()
    status = Varchar(length=12, default="active")
    price = Integer()
    started_at = Timestamptz()
    period_start = Timestamptz()
    period_end = Timestamptz()
    sessions_used = Integer(default=0)
    next_charge_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    ticket_id = UUID(null=True, default=None)


class MembershipUse(TenantTable):
    """One included session taken from a membership period by a ticket.

    ``status`` becomes restored when a refund or void gives the session back.
    """

    membership_id = UUID(index=True)
    ticket_id = UUID(null=True, default=None)
    period_start = Timestamptz()
    at = Timestamptz()
    status = Varchar(length=12, default="used")
