"""JSON API under ``/t/{slug}/api/v1`` (or ``/api/v1`` on a tenant's host name)."""

from __future__ import annotations

from typing import Any

from tillbook.web.api import (
    accounts,
    appointments,
    backoffice,
    catalog,
    classes,
    clients,
    ledger,
    locations,
    plugin_routes,
    pricing,
    provider_time,
    reports,
    schedule,
    staff,
)


def all_routes() -> list[Any]:
    """Return every API route handler."""
    return [
        *accounts.ROUTES,
        *catalog.ROUTES,
        *clients.ROUTES,
        *staff.ROUTES,
        *schedule.ROUTES,
        *ledger.ROUTES,
        *reports.ROUTES,
        *locations.ROUTES,
        *provider_time.ROUTES,
        *classes.ROUTES,
        *pricing.ROUTES,
        *appointments.ROUTES,
        *backoffice.ROUTES,
        *plugin_routes.all_routes(),
    ]
