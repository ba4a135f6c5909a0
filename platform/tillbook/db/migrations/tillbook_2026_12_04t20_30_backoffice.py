"""Gift card activity, multi-service packages, memberships, refunds, commissions
and cash drawers.

The new tables are frozen copies of the ones in
``tillbook.kernel.catalog.tables`` and ``tillbook.kernel.ledger.backoffice_tables``
as they were when this migration was written.
"""

from piccolo.columns import UUID, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from tillbook.db.migration_ops import create_tables, raw_migration, run_statements

ID = "2026-12-04T20:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "back office: gift card activity, memberships, refunds, drawers"


class PackagePlanService(Table, tablename="package_plan_service"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    plan_id = UUID(index=True)
    service_id = UUID()


class ClientPackageService(Table, tablename="client_package_service"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    package_id = UUID(index=True)
    service_id = UUID()


class GiftCardActivity(Table, tablename="gift_card_activity"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    gift_card_id = UUID(index=True)
    kind = Varchar(length=12)
    amount = Integer()
    balance_after = Integer()
    ticket_id = UUID(null=True, default=None)
    refund_id = UUID(null=True, default=None)
    actor_id = UUID(null=True, default=None)
    at = Timestamptz()
    note = Varchar(length=200, default="")


class GiftCardPolicy(Table, tablename="gift_card_policy"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    valid_days = Integer(null=True, default=None)


class MembershipPlan(Table, tablename="membership_plan"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    price = Integer()
    interval = Varchar(length=8, default="month")
    interval_count = Integer(default=1)
    benefit = Varchar(length=12, default="sessions")
    sessions_per_period = Integer(default=0)
    discount_percent = Integer(default=0)
    active = Boolean(default=True)


class MembershipPlanService(Table, tablename="membership_plan_service"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    plan_id = UUID(index=True)
    service_id = UUID()


class ClientMembership(Table, tablename="client_membership"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    client_id = UUID(index=True)
    plan_id = UUID()
    status = Varchar(length=12, default="active")
    price = Integer()
    started_at = Timestamptz()
    period_start = Timestamptz()
    period_end = Timestamptz()
    sessions_used = Integer(default=0)
    next_charge_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    ticket_id = UUID(null=True, default=None)


class MembershipUse(Table, tablename="membership_use"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    membership_id = UUID(index=True)
    ticket_id = UUID(null=True, default=None)
    period_start = Timestamptz()
    at = Timestamptz()
    status = Varchar(length=12, default="used")


class Refund(Table, tablename="refund"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    ticket_id = UUID(index=True)
    kind = Varchar(length=8, default="refund")
    amount = Integer()
    reason = Text(default="")
    to_wallet = Boolean(default=False)
    restock = Boolean(default=False)
    actor_id = UUID(null=True, default=None)
    at = Timestamptz()
    entry_id = UUID(null=True, default=None)


class RefundLine(Table, tablename="refund_line"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    refund_id = UUID(index=True)
    ticket_id = UUID(index=True)
    line_id = UUID(index=True)
    quantity = Integer()
    amount = Integer()
    net = Integer()
    discount = Integer(default=0)
    tax = Integer(default=0)


class RefundTender(Table, tablename="refund_tender"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    refund_id = UUID(index=True)
    ticket_id = UUID(index=True)
    tender_id = UUID(null=True, default=None, index=True)
    kind = Varchar(length=20)
    amount = Integer()
    reference = Varchar(length=100, default="")


class CommissionRule(Table, tablename="commission_rule"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    name = Varchar(length=200, default="")
    staff_id = UUID(null=True, default=None)
    kind = Varchar(length=12, default="")
    category = Varchar(length=100, default="")
    item_id = UUID(null=True, default=None)
    percent = Varchar(length=16, default="0")
    fixed = Integer(default=0)
    period = Varchar(length=8, default="month")
    active = Boolean(default=True)


class CommissionTier(Table, tablename="commission_tier"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    rule_id = UUID(index=True)
    threshold = Integer()
    percent = Varchar(length=16, default="0")
    fixed = Integer(default=0)


class Commission(Table, tablename="commission"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    ticket_id = UUID(index=True)
    line_id = UUID(index=True)
    staff_id = UUID(index=True)
    refund_id = UUID(null=True, default=None)
    revenue = Integer()
    amount = Integer()
    rule_id = UUID(null=True, default=None)
    source = Varchar(length=8, default="rule")
    at = Timestamptz(index=True)


class CashDrawer(Table, tablename="cash_drawer"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    name = Varchar(length=100)
    location_id = UUID(null=True, default=None)
    active = Boolean(default=True)


class DrawerSession(Table, tablename="drawer_session"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    drawer_id = UUID(index=True)
    status = Varchar(length=8, default="open")
    opening_float = Integer()
    opened_at = Timestamptz()
    opened_by = UUID(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    closed_by = UUID(null=True, default=None)
    expected = Integer(null=True, default=None)
    counted = Integer(null=True, default=None)
    over_short = Integer(null=True, default=None)
    note = Text(default="")
    entry_id = UUID(null=True, default=None)


class DrawerMove(Table, tablename="drawer_move"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    session_id = UUID(index=True)
    kind = Varchar(length=10)
    amount = Integer()
    reason = Varchar(length=200, default="")
    ticket_id = UUID(null=True, default=None)
    refund_id = UUID(null=True, default=None)
    actor_id = UUID(null=True, default=None)
    at = Timestamptz()


NEW_COLUMNS = [
    "ALTER TABLE client_package ADD COLUMN status VARCHAR(12) NOT NULL DEFAULT 'active'",
    "ALTER TABLE client_package ADD COLUMN ticket_id UUID",
    "ALTER TABLE client_package ADD COLUMN line_id UUID",
    "ALTER TABLE gift_card ADD COLUMN status VARCHAR(12) NOT NULL DEFAULT 'active'",
    "ALTER TABLE gift_card ADD COLUMN recipient_name VARCHAR(200) NOT NULL DEFAULT ''",
    "ALTER TABLE gift_card ADD COLUMN recipient_email VARCHAR(254) NOT NULL DEFAULT ''",
    "ALTER TABLE gift_card ADD COLUMN message TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE gift_card ADD COLUMN ticket_id UUID",
]

# Packages sold before this migration cover their one service.
BACKFILL = [
    "INSERT INTO package_plan_service (tenant_id, id, plan_id, service_id)"
    " SELECT tenant_id, id, id, service_id FROM package_plan",
    "INSERT INTO client_package_service (tenant_id, id, package_id, service_id)"
    " SELECT tenant_id, id, id, service_id FROM client_package",
]

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS gift_card_policy_tenant"
    " ON gift_card_policy (tenant_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS package_plan_service_once"
    " ON package_plan_service (tenant_id, plan_id, service_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS membership_plan_service_once"
    " ON membership_plan_service (tenant_id, plan_id, service_id)",
    "CREATE INDEX IF NOT EXISTS client_package_service_tenant_service"
    " ON client_package_service (tenant_id, service_id)",
    "CREATE INDEX IF NOT EXISTS commission_tenant_staff_at"
    " ON commission (tenant_id, staff_id, at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS drawer_session_one_open"
    " ON drawer_session (tenant_id, drawer_id) WHERE status = 'open'",
]


async def run() -> None:
    await create_tables(
        PackagePlanService, ClientPackageService, GiftCardActivity, GiftCardPolicy, MembershipPlan, MembershipPlanService, ClientMembership, MembershipUse, Refund, RefundLine, RefundTender, CommissionRule, CommissionTier, Commission, CashDrawer, DrawerSession, DrawerMove,
    )
    await run_statements(NEW_COLUMNS + BACKFILL + INDEXES)


async def forwards():
    return raw_migration(ID, DESCRIPTION, run)
