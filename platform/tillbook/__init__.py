"""Tillbook: booking and point of sale for service businesses.

The names exported here are the public API for plugins; ``docs/plugins.md``
shows them in use. Plugins import from ``tillbook`` (and implement the hooks
in ``tillbook.hookspecs``) and never from kernel modules, whose names may
change between releases.

- ``hookimpl``: the decorator for hook implementations.
- ``TenantScope``, ``TenantTable``, ``utcnow``: tenant tables and the scope
  that reads and writes them; ``write_transaction`` for atomic writes.
- ``PluginMigration``: one step of a plugin's schema, returned by
  ``tillbook_migrations``; ``plugin_settings(scope, plugin)``: the tenant's
  settings for a plugin, stored values over the schema's defaults;
  ``tiers_error(value)``: what is wrong with a commission tier list.
- Errors: ``TillbookError``, ``ValidationFailed``, ``invalid``,
  ``NotFound``, ``Conflict``, ``NotAllowed``, ``PluginFailed``.
- Money in integer minor units: ``percent_of``, ``parse_major``,
  ``format_major``, ``check_amount``, ``minor_digits``.
- Staff roles for route ``opt``: ``Role``, ``ALL_STAFF``, ``DESK``,
  ``MANAGERS``, ``OWNERS``.
- Payments: ``PaymentProvider``, ``Charge``, ``StoredCard``.
- Kernel tables a plugin may read through a ``TenantScope`` (never write:
  the kernel's functions and API do that): ``Client``, ``Service``,
  ``Staff``, ``Product``, ``Appointment``, ``ClassSession``,
  ``ClassBooking``.
- Class roll call: ``roll_call(scope, session_id, marks, actor_id=...,
  hooks=...)`` marks places attended or no-show, as the kernel's own
  roll call does.
- Appointment check-in: ``check_in_appointment(scope, appointment_id,
  actor_id)`` marks a booked appointment arrived, as the calendar does.
"""

from tillbook.db import write_transaction
from tillbook.db.base import TenantTable, utcnow
from tillbook.errors import (
    Conflict,
    NotAllowed,
    NotFound,
    TillbookError,
    ValidationFailed,
    invalid,
)
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.catalog.tables import Product, Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.money import (
    check_amount,
    format_major,
    parse_major,
    percent_of,
)
from tillbook.kernel.schedule.changes import check_in as check_in_appointment
from tillbook.kernel.schedule.class_roster import roll_call
from tillbook.kernel.schedule.tables import (
    Appointment,
    ClassBooking,
    ClassSession,
    Staff,
)
from tillbook.payments import Charge, PaymentProvider, StoredCard
from tillbook.plugins import PluginFailed, PluginMigration, hookimpl
from tillbook.tenancy.plugin_settings import plugin_settings, tiers_error
from tillbook.tenancy.roles import ALL_STAFF, DESK, MANAGERS, OWNERS, Role
from tillbook.tenancy.scope import TenantScope, minor_digits
from tillbook.web.templating import render_plugin_page

__all__ = [
    "ALL_STAFF",
    "DESK",
    "MANAGERS",
    "OWNERS",
    "Appointment",
    "Charge",
    "ClassBooking",
    "ClassSession",
    "Client",
    "Conflict",
    "NotAllowed",
    "NotFound",
    "PaymentProvider",
    "PluginFailed",
    "PluginMigration",
    "Product",
    "Role",
    "Service",
    "Staff",
    "StoredCard",
    "TenantScope",
    "TenantTable",
    "TillbookError",
    "ValidationFailed",
    "check_amount",
    "check_in_appointment",
    "format_major",
    "hookimpl",
    "invalid",
    "is_whole_number",
    "minor_digits",
    "parse_major",
    "percent_of",
    "plugin_settings",
    "render_plugin_page",
    "roll_call",
    "tiers_error",
    "utcnow",
    "write_transaction",
]
