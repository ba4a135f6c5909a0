"""HTML pages: sign-up, the public booking page and the staff UI."""

from __future__ import annotations

from typing import Any

from tillbook.web.pages import (
    admin,
    booking,
    calendar,
    checkout,
    public,
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
    ]
