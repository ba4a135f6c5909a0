"""Staff, working hours and appointments.

Instants are stored in UTC; working hours are minutes after local midnight in
the tenant's time zone.
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


class Staff(TenantTable):
    """A provider or other staff member who can hold appointments."""

    name = Varchar(length=200)
    email = Varchar(length=254, default="")
    title = Varchar(length=100, default="")
    colour = Varchar(length=7, default="#7a8b99")
    bookable = Boolean(default=True)
    active = Boolean(default=True)
    # Secret for the provider's iCalendar feed URL; empty until one is made.
    feed_token = Varchar(length=64, default="")


class WorkingHours(TenantTable):
    """One working interval of a staff member on a weekday (0 is Monday)."""

    staff_id = UUID(index=True)
    weekday = Integer()
    start_minute = Integer()
    # Up to 2880: an overnight shift ends on the next day.
    end_minute = Integer()
    # Where the provider works then; None means the tenant's first location.
    location_id = UUID(null=True, default=None)


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
    location_id = UUID(null=True, default=None)
    # Appointments booked together in one visit share a visit id.
    visit_id = UUID(null=True, default=None)
    # True when the client asked for any provider and the system picked one.
    any_provider = Boolean(default=False)
    series_id = UUID(null=True, default=None)
    # The start the series rule gave this occurrence, before any edit.
    occurrence_start = Timestamptz(null=True, default=None)
    # The service's timing as it was when booked.
    buffer_before_minutes = Integer(default=0)
    buffer_after_minutes = Integer(default=0)
    processing_after_minutes = Integer(null=True, default=None)
    processing_minutes = Integer(default=0)
    deposit = Integer(default=0)
    deposit_ref = Varchar(length=100, default="")
    cancelled_at = Timestamptz(null=True, default=None)
    cancel_reason = Text(default="")
    no_show_at = Timestamptz(null=True, default=None)
    fee_ticket_id = UUID(null=True, default=None)
    # Values of plugin booking fields given at booking, reused when it moves.
    plugin_fields = JSON(default="{}")


class Location(TenantTable):
    """A place where the business works, with its own time zone."""

    name = Varchar(length=200)
    # An IANA zone name; empty means the tenant's zone.
    time_zone = Varchar(length=64, default="")
    address = Text(default="")
    phone = Varchar(length=40, default="")
    position = Integer(default=0)
    active = Boolean(default=True)


class LocationHours(TenantTable):
    """One opening interval of a location on a weekday (0 is Monday)."""

    location_id = UUID(index=True)
    weekday = Integer()
    start_minute = Integer()
    end_minute = Integer()


class Resource(TenantTable):
    """A room, chair, table or piece of equipment that services may need."""

    location_id = UUID(null=True, default=None)
    name = Varchar(length=200)
    kind = Varchar(length=20, default="room")
    quantity = Integer(default=1)
    active = Boolean(default=True)


class ServiceResource(TenantTable):
    """A resource a service needs for its whole length, and how many units."""

    service_id = UUID(index=True)
    resource_id = UUID()
    quantity = Integer(default=1)


class StaffBreak(TenantTable):
    """A weekly break of a staff member, in local minutes after midnight."""

    staff_id = UUID(index=True)
    weekday = Integer()
    start_minute = Integer()
    end_minute = Integer()
    label = Varchar(length=60, default="")


class ScheduleOverride(TenantTable):
    """A one-off change of a staff member's hours on one local date.

    The override rows of a date replace the weekly hours of that date. A row
    whose start and end are both 0 means the staff member does not work.
    """

    staff_id = UUID(index=True)
    day = Date()
    start_minute = Integer()
    end_minute = Integer()
    location_id = UUID(null=True, default=None)
    note = Varchar(length=200, default="")


class TimeOff(TenantTable):
    """Time a staff member is away: holiday, sickness, training, personal."""

    staff_id = UUID(index=True)
    start_at = Timestamptz()
    end_at = Timestamptz()
    reason = Varchar(length=20)
    note = Text(default="")
    created_at = Timestamptz()
    created_by = UUID(null=True, default=None)


class Closure(TenantTable):
    """Local dates on which a location (or, with no location, all) is closed."""

    location_id = UUID(null=True, default=None)
    first_day = Date()
    last_day = Date()
    reason = Varchar(length=200, default="")


class Hold(TenantTable):
    """A span during which an appointment or class occupies a provider or a unit.

    An appointment places one hold on its provider per busy span (a
    processing gap splits it in two) and one per resource unit it uses. On
    PostgreSQL exclusion constraints forbid two live holds on one provider,
    or on one unit of one resource, at once.
    """

    appointment_id = UUID(null=True, default=None, index=True)
    session_id = UUID(null=True, default=None, index=True)
    staff_id = UUID(null=True, default=None)
    resource_id = UUID(null=True, default=None)
    unit = Integer(default=0)
    start_at = Timestamptz()
    end_at = Timestamptz()
    live = Boolean(default=True)


class SchedulePolicy(TenantTable):
    """A tenant's booking rules; one row per tenant, defaults when absent."""

    granularity_minutes = Integer(default=15)
    min_notice_minutes = Integer(default=60)
    max_advance_days = Integer(default=365)
    free_cancel_hours = Integer(default=24)
    late_cancel_fee = Integer(default=0)
    late_cancel_fee_percent = Integer(default=0)
    no_show_fee = Integer(default=0)
    no_show_fee_percent = Integer(default=0)
    # Minutes before the start, comma-separated, e.g. "1440,120".
    reminder_offsets = Varchar(length=100, default="1440,120")
    class_late_cancel_hours = Integer(default=12)


class ClassSession(TenantTable):
    """One meeting of a group service, with its own capacity and room."""

    service_id = UUID(index=True)
    staff_id = UUID()
    location_id = UUID(null=True, default=None)
    resource_id = UUID(null=True, default=None)
    start_at = Timestamptz()
    end_at = Timestamptz()
    capacity = Integer()
    status = Varchar(length=12, default="scheduled")
    series_id = UUID(null=True, default=None)
    occurrence_start = Timestamptz(null=True, default=None)
    note = Text(default="")
    created_at = Timestamptz()


class ClassBooking(TenantTable):
    """A client's place on a class roster or its waitlist."""

    session_id = UUID(index=True)
    client_id = UUID(index=True)
    # booked, waitlisted, cancelled, late_cancelled, no_show, attended
    status = Varchar(length=16, default="booked")
    waitlist_position = Integer(null=True, default=None)
    created_at = Timestamptz()
    promoted_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    checked_in_at = Timestamptz(null=True, default=None)
    source = Varchar(length=20, default="staff")
    ticket_id = UUID(null=True, default=None)
    note = Text(default="")
    # Secret of the client's cancel link; empty for places added before it.
    cancel_token = Varchar(length=64, default="")


class Series(TenantTable):
    """A recurring appointment or class series from an RFC 5545 rule."""

    kind = Varchar(length=12)  # appointment or class
    rule = Text()
    # Local wall time of the first occurrence, "YYYY-MM-DDTHH:MM".
    start_local = Varchar(length=16)
    time_zone = Varchar(length=64)
    duration_minutes = Integer()
    service_id = UUID()
    staff_id = UUID()
    client_id = UUID(null=True, default=None)
    location_id = UUID(null=True, default=None)
    resource_id = UUID(null=True, default=None)
    capacity = Integer(null=True, default=None)
    # Local wall times removed from the rule, comma-separated.
    exdates = Text(default="")
    parent_id = UUID(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()


class Reminder(TenantTable):
    """An email reminder planned for an appointment or a class place."""

    appointment_id = UUID(null=True, default=None, index=True)
    class_booking_id = UUID(null=True, default=None, index=True)
    offset_minutes = Integer()
    due_at = Timestamptz(index=True)
    # The start the reminder was planned for; a moved booking no longer matches.
    for_start = Timestamptz()
    status = Varchar(length=12, default="pending")
    sent_at = Timestamptz(null=True, default=None)
