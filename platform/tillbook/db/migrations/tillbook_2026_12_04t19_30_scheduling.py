"""Locations, resources, provider time, service timing, classes and series.

The new tables are frozen copies of the ones in
``tillbook.kernel.schedule.tables`` as they were when this migration was
written.
"""

from piccolo.columns import UUID, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from tillbook.db.migration_ops import create_tables, raw_migration, run_statements

ID = "2026-12-04T19:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "scheduling: locations, resources, time off, holds, classes, series"


class Location(Table, tablename="location"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    time_zone = Varchar(length=64, default="")
    address = Text(default="")
    phone = Varchar(length=40, default="")
    position = Integer(default=0)
    active = Boolean(default=True)


class LocationHours(Table, tablename="location_hours"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    location_id = UUID(index=True)
    weekday = Integer()
    start_minute = Integer()
    end_minute = Integer()


class Resource(Table, tablename="resource"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    location_id = UUID(null=True, default=None)
    name = Varchar(length=200)
    kind = Varchar(length=20, default="room")
    quantity = Integer(default=1)
    active = Boolean(default=True)


class ServiceResource(Table, tablename="service_resource"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    service_id = UUID(index=True)
    resource_id = UUID()
    quantity = Integer(default=1)


class StaffBreak(Table, tablename="staff_break"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    staff_id = UUID(index=True)
    weekday = Integer()
    start_minute = Integer()
    end_minute = Integer()
    label = Varchar(length=60, default="")


class ScheduleOverride(Table, tablename="schedule_override"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    staff_id = UUID(index=True)
    day = Date()
    start_minute = Integer()
    end_minute = Integer()
    location_id = UUID(null=True, default=None)
    note = Varchar(length=200, default="")


class TimeOff(Table, tablename="time_off"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    staff_id = UUID(index=True)
    start_at = Timestamptz()
    end_at = Timestamptz()
    reason = Varchar(length=20)
    note = Text(default="")
    created_at = Timestamptz()
    created_by = UUID(null=True, default=None)


class Closure(Table, tablename="closure"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    location_id = UUID(null=True, default=None)
    first_day = Date()
    last_day = Date()
    reason = Varchar(length=200, default="")


class Hold(Table, tablename="hold"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    appointment_id = UUID(null=True, default=None, index=True)
    session_id = UUID(null=True, default=None, index=True)
    staff_id = UUID(null=True, default=None)
    resource_id = UUID(null=True, default=None)
    unit = Integer(default=0)
    start_at = Timestamptz()
    end_at = Timestamptz()
    live = Boolean(default=True)


class SchedulePolicy(Table, tablename="schedule_policy"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    granularity_minutes = Integer(default=15)
    min_notice_minutes = Integer(default=60)
    max_advance_days = Integer(default=365)
    free_cancel_hours = Integer(default=24)
    late_cancel_fee = Integer(default=0)
    late_cancel_fee_percent = Integer(default=0)
    no_show_fee = Integer(default=0)
    no_show_fee_percent = Integer(default=0)
    reminder_offsets = Varchar(length=100, default="1440,120")
    class_late_cancel_hours = Integer(default=12)


class ClassSession(Table, tablename="class_session"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
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


class ClassBooking(Table, tablename="class_booking"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    session_id = UUID(index=True)
    client_id = UUID(index=True)
    status = Varchar(length=16, default="booked")
    waitlist_position = Integer(null=True, default=None)
    created_at = Timestamptz()
    promoted_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    checked_in_at = Timestamptz(null=True, default=None)
    source = Varchar(length=20, default="staff")
    ticket_id = UUID(null=True, default=None)
    note = Text(default="")


class Series(Table, tablename="series"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    kind = Varchar(length=12)
    rule = Text()
    start_local = Varchar(length=16)
    time_zone = Varchar(length=64)
    duration_minutes = Integer()
    service_id = UUID()
    staff_id = UUID()
    client_id = UUID(null=True, default=None)
    location_id = UUID(null=True, default=None)
    resource_id = UUID(null=True, default=None)
    capacity = Integer(null=True, default=None)
    exdates = Text(default="")
    parent_id = UUID(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()


class Reminder(Table, tablename="reminder"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    appointment_id = UUID(null=True, default=None, index=True)
    class_booking_id = UUID(null=True, default=None, index=True)
    offset_minutes = Integer()
    due_at = Timestamptz(index=True)
    for_start = Timestamptz()
    status = Varchar(length=12, default="pending")
    sent_at = Timestamptz(null=True, default=None)


NEW_COLUMNS = [
    "ALTER TABLE staff ADD COLUMN feed_token VARCHAR(64) NOT NULL DEFAULT ''",
    "ALTER TABLE working_hours ADD COLUMN location_id UUID",
    "ALTER TABLE appointment ADD COLUMN location_id UUID",
    "ALTER TABLE appointment ADD COLUMN visit_id UUID",
    "ALTER TABLE appointment ADD COLUMN any_provider BOOLEAN NOT NULL DEFAULT false",
    "ALTER TABLE appointment ADD COLUMN series_id UUID",
    "ALTER TABLE appointment ADD COLUMN occurrence_start TIMESTAMPTZ",
    "ALTER TABLE appointment ADD COLUMN buffer_before_minutes INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE appointment ADD COLUMN buffer_after_minutes INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE appointment ADD COLUMN processing_after_minutes INTEGER",
    "ALTER TABLE appointment ADD COLUMN processing_minutes INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE appointment ADD COLUMN deposit INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE appointment ADD COLUMN deposit_ref VARCHAR(100) NOT NULL DEFAULT ''",
    "ALTER TABLE appointment ADD COLUMN cancelled_at TIMESTAMPTZ",
    "ALTER TABLE appointment ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE appointment ADD COLUMN no_show_at TIMESTAMPTZ",
    "ALTER TABLE appointment ADD COLUMN fee_ticket_id UUID",
    "ALTER TABLE service ADD COLUMN kind VARCHAR(12) NOT NULL DEFAULT 'appointment'",
    "ALTER TABLE service ADD COLUMN buffer_before_minutes INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE service ADD COLUMN buffer_after_minutes INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE service ADD COLUMN processing_after_minutes INTEGER",
    "ALTER TABLE service ADD COLUMN processing_minutes INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE service ADD COLUMN granularity_minutes INTEGER",
    "ALTER TABLE service ADD COLUMN min_notice_minutes INTEGER",
    "ALTER TABLE service ADD COLUMN max_advance_days INTEGER",
    "ALTER TABLE service ADD COLUMN deposit INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE service ADD COLUMN capacity INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE service ADD COLUMN online BOOLEAN NOT NULL DEFAULT true",
    "ALTER TABLE service_provider ADD COLUMN duration_minutes INTEGER",
    "ALTER TABLE service_provider ADD COLUMN price INTEGER",
]

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS schedule_policy_tenant"
    " ON schedule_policy (tenant_id)",
    "CREATE INDEX IF NOT EXISTS hold_tenant_staff_start"
    " ON hold (tenant_id, staff_id, start_at)",
    "CREATE INDEX IF NOT EXISTS hold_tenant_resource_start"
    " ON hold (tenant_id, resource_id, start_at)",
    "CREATE INDEX IF NOT EXISTS time_off_tenant_staff_start"
    " ON time_off (tenant_id, staff_id, start_at)",
    "CREATE INDEX IF NOT EXISTS schedule_override_tenant_staff_day"
    " ON schedule_override (tenant_id, staff_id, day)",
    "CREATE INDEX IF NOT EXISTS class_session_tenant_start"
    " ON class_session (tenant_id, start_at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS class_booking_one_live_place"
    " ON class_booking (tenant_id, session_id, client_id)"
    " WHERE status IN ('booked', 'waitlisted', 'attended')",
    "CREATE INDEX IF NOT EXISTS reminder_pending_due"
    " ON reminder (due_at) WHERE status = 'pending'",
    "CREATE UNIQUE INDEX IF NOT EXISTS staff_feed_token"
    " ON staff (feed_token) WHERE feed_token <> ''",
]

POSTGRES_ONLY = [
    "ALTER TABLE hold ADD CONSTRAINT hold_staff_no_overlap"
    " EXCLUDE USING gist ("
    " tenant_id WITH =, staff_id WITH =, tstzrange(start_at, end_at) WITH &&"
    " ) WHERE (live AND staff_id IS NOT NULL)",
    "ALTER TABLE hold ADD CONSTRAINT hold_resource_no_overlap"
    " EXCLUDE USING gist ("
    " tenant_id WITH =, resource_id WITH =, unit WITH =,"
    " tstzrange(start_at, end_at) WITH &&"
    " ) WHERE (live AND resource_id IS NOT NULL)",
]


async def run() -> None:
    await create_tables(
        Location, LocationHours, Resource, ServiceResource, StaffBreak, ScheduleOverride, TimeOff, Closure, Hold, SchedulePolicy, ClassSession, ClassBooking, Series, Reminder,
    )
    await run_statements(NEW_COLUMNS + INDEXES, POSTGRES_ONLY)


async def forwards():
    return raw_migration(ID, DESCRIPTION, run)
