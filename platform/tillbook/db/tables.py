"""The list of every kernel table, in creation order."""

from __future__ import annotations

from piccolo.table import Table

from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.catalog.tables import (
    ClientPackage,
    GiftCard,
    PackagePlan,
    Product,
    Service,
    ServiceProduct,
    ServiceProvider,
)
from tillbook.kernel.clients.tables import Client, ClientHistory
from tillbook.kernel.events.tables import MailMessage, OutboxEvent
from tillbook.kernel.ledger.tables import (
    IdempotencyRecord,
    JournalEntry,
    Posting,
    Tender,
    Ticket,
    TicketLine,
    Tip,
)
from tillbook.kernel.schedule.tables import (
    Appointment,
    ClassBooking,
    ClassSession,
    Closure,
    Hold,
    Location,
    LocationHours,
    Reminder,
    Resource,
    ScheduleOverride,
    SchedulePolicy,
    Series,
    ServiceResource,
    Staff,
    StaffBreak,
    TimeOff,
    WorkingHours,
)
from tillbook.tenancy.tables import (
    Account,
    ApiToken,
    Membership,
    PluginSetting,
    Tenant,
)

GLOBAL_TABLES: list[type[Table]] = [Tenant, Account]

TENANT_TABLES: list[type[Table]] = [
    Membership,
    ApiToken,
    PluginSetting,
    Client,
    ClientHistory,
    Service,
    ServiceProvider,
    ServiceProduct,
    Product,
    PackagePlan,
    ClientPackage,
    GiftCard,
    Staff,
    WorkingHours,
    Appointment,
    Location,
    LocationHours,
    Resource,
    ServiceResource,
    StaffBreak,
    ScheduleOverride,
    TimeOff,
    Closure,
    Hold,
    SchedulePolicy,
    ClassSession,
    ClassBooking,
    Series,
    Reminder,
    Ticket,
    TicketLine,
    Tender,
    Tip,
    JournalEntry,
    Posting,
    IdempotencyRecord,
    AuditEntry,
    OutboxEvent,
    MailMessage,
]

ALL_TABLES: list[type[Table]] = GLOBAL_TABLES + TENANT_TABLES
