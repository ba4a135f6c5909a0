"""Staff, working hours and appointments.

Instants are stored in UTC; working hours are minutes after local midnight in
the tenant's time zone.
"""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Integer, Text, Timestamptz, Varchar

from tillbook.db.base import TenantTable


class Staff(TenantTable):
    """A provider or other staff member who can hold appointments."""

    name = Varchar(length=200)
    email = Varchar(length=254, default="")
    title = Varchar(length=100, default="")
    colour = Varchar(length=7, default="#7a8b99")
    bookable = Boolean(default=True)
    active = Boolean(default=True)


class WorkingHours(TenantTable):
    """One working interval of a staff member on a weekday (0 is Monday)."""

    staff_id = UUID(index=True)
    weekday = Integer()
    start_minute = Integer()
    end_minute = Integer()


class Appointment(TenantTable):
    """A booking of one service with one provider for one client."""

    client_id = UUID(index=True)
    service_id = UUID()
    staff_id = UUID()
    start_at = Timestamptz()
    end_at = Timestamptz()
    status = Varchar(length=20, default="booked")
    note = Text(default="")
    source = Varchar(length=20, default="staff")
    price = Integer()
    cancel_token = Varchar(length=64)
    created_at = Timestamptz()
    checked_in_at = Timestamptz(null=True, default=None)
    ticket_id = UUID(null=True, default=None)
