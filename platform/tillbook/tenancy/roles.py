"""Staff roles and what each may do."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """A staff account's role within one tenant."""

    OWNER = "owner"
    MANAGER = "manager"
    FRONT_DESK = "front_desk"
    PROVIDER = "provider"


ALL_STAFF = frozenset(Role)
# Booking, check-in and checkout: everyone at the business, providers included,
# because a provider finishes checkout from the chair.
DESK = frozenset(Role)
# Catalog, staff, hours and reports.
MANAGERS = frozenset({Role.OWNER, Role.MANAGER})
OWNERS = frozenset({Role.OWNER})
