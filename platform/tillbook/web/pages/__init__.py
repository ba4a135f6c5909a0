"""HTML pages: sign-up, the public booking page and the staff UI."""

from __future__ import annotations

from typing import Any

from tillbook.web.pages import (
    admin,
    appointment_actions,
    backoffice,
    booking,
    booking_manage,
    calendar,
    checkout,
    classes,
    locations,
    memberships,
    policy,
    pricing,
    public,
    public_classes,
    reports,
    team,
)


def all_routes() -> list[Any]:
    """Return every page route handler."""
    return [
        *public.ROUTES,
        *booking.ROUTES,
        *calendar.ROUTES,
        *team.ROUTES,
        *checkout.ROUTES,
        *admin.ROUTES,
        *reports.ROUTES,
        *appointment_actions.ROUTES,
        *booking_manage.ROUTES,
        *policy.ROUTES,
        *locations.ROUTES,
        *pricing.ROUTES,
        *backoffice.ROUTES,
        *memberships.ROUTES,
        *classes.ROUTES,
        *public_classes.ROUTES,
    ]
