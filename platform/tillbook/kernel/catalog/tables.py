"""Services, products, packages and gift cards.

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
    """A prepaid package on sale: N sessions of one service for a price."""

    name = Varchar(length=200)
    service_id = UUID()
    sessions = Integer()
    price = Integer()
    valid_days = Integer(default=365)
    active = Boolean(default=True)


class ClientPackage(TenantTable):
    """A package sold to a client, with the sessions left on it."""

    client_id = UUID(index=True)
    plan_id = UUID()
    service_id = UUID()
    sessions_total = Integer()
    sessions_left = Integer()
    unit_value = Integer()
    expires_at = Timestamptz()
    sold_at = Timestamptz()


class GiftCard(TenantTable):
    """A stored-value card identified by a random code."""

    code = Varchar(length=32)
    initial_amount = Integer()
    balance = Integer()
    client_id = UUID(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    issued_at = Timestamptz()
