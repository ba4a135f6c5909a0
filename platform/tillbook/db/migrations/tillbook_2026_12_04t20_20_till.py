"""Till pricing: tax rates, discounts, promo codes, wallets and loyalty.

The new tables are frozen copies of the ones in ``tillbook.kernel.ledger.tables``
as they were when this migration was written. New columns on tickets, lines,
tenders and tips carry line notes, held tickets, the tax treatment of each
line and the tender each tip rode on; ``client.birthday`` drives the
birthday-month discount.
"""

from piccolo.columns import UUID, Boolean, Date, Integer, Timestamptz, Varchar
from piccolo.table import Table

from tillbook.db.migration_ops import create_tables, raw_migration, run_statements

ID = "2026-12-04T20:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "till pricing: tax rates, discounts, promo codes, wallets, loyalty"


class LedgerSettings(Table, tablename="ledger_settings"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    rounding_mode = Varchar(length=12, default="half_up")
    cash_increment = Integer(default=0)
    loyalty_points_per_unit = Integer(default=0)
    loyalty_point_value = Integer(default=0)
    stack_automatic = Boolean(default=False)


class TaxRate(Table, tablename="tax_rate"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    name = Varchar(length=60)
    rate = Varchar(length=16, default="0")
    is_default = Boolean(default=False)
    exempt = Boolean(default=False)
    active = Boolean(default=True)
    position = Integer(default=0)


class PromoCode(Table, tablename="promo_code"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    code = Varchar(length=40)
    description = Varchar(length=200, default="")
    kind = Varchar(length=10, default="percent")
    percent = Varchar(length=16, default="0")
    amount = Integer(default=0)
    valid_from = Date(null=True, default=None)
    valid_until = Date(null=True, default=None)
    usage_limit = Integer(null=True, default=None)
    used_count = Integer(default=0)
    min_subtotal = Integer(default=0)
    active = Boolean(default=True)
    created_at = Timestamptz()


class DiscountRule(Table, tablename="discount_rule"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    name = Varchar(length=100)
    trigger = Varchar(length=20)
    kind = Varchar(length=10, default="percent")
    percent = Varchar(length=16, default="0")
    amount = Integer(default=0)
    applies_to = Varchar(length=10, default="all")
    min_visits = Integer(default=0)
    min_points = Integer(default=0)
    active = Boolean(default=True)
    position = Integer(default=0)


class TicketDiscount(Table, tablename="ticket_discount"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    ticket_id = UUID(index=True)
    line_id = UUID(null=True, default=None)
    source = Varchar(length=12)
    kind = Varchar(length=10)
    percent = Varchar(length=16, default="0")
    amount = Integer(default=0)
    applied = Integer(default=0)
    reason = Varchar(length=200, default="")
    promo_code_id = UUID(null=True, default=None)
    rule_id = UUID(null=True, default=None)
    points = Integer(default=0)
    created_at = Timestamptz()
    created_by = UUID(null=True, default=None)


class Wallet(Table, tablename="wallet"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    client_id = UUID(index=True)
    balance = Integer(default=0)
    updated_at = Timestamptz()


class WalletEntry(Table, tablename="wallet_entry"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    client_id = UUID(index=True)
    ticket_id = UUID(null=True, default=None)
    amount = Integer()
    balance_after = Integer()
    reason = Varchar(length=200, default="")
    at = Timestamptz()
    actor_id = UUID(null=True, default=None)


class LoyaltyAccount(Table, tablename="loyalty_account"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    client_id = UUID(index=True)
    points = Integer(default=0)
    lifetime_points = Integer(default=0)
    updated_at = Timestamptz()


NEW_COLUMNS = [
    "ALTER TABLE ticket ADD COLUMN visit_id UUID",
    "ALTER TABLE ticket ADD COLUMN class_booking_id UUID",
    "ALTER TABLE ticket ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE ticket ADD COLUMN held_at TIMESTAMPTZ",
    "ALTER TABLE ticket ADD COLUMN held_by UUID",
    "ALTER TABLE ticket ADD COLUMN cash_rounding INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE ticket ADD COLUMN points_earned INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE ticket ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE ticket_line ADD COLUMN tax_name VARCHAR(60) NOT NULL DEFAULT ''",
    "ALTER TABLE ticket_line ADD COLUMN tax_included BOOLEAN NOT NULL DEFAULT false",
    "ALTER TABLE ticket_line ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE ticket_line ADD COLUMN appointment_id UUID",
    "ALTER TABLE ticket_line ADD COLUMN line_discount INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE tender ADD COLUMN tip INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE tip ADD COLUMN tender_id UUID",
    "ALTER TABLE tip ADD COLUMN share VARCHAR(16) NOT NULL DEFAULT ''",
    "ALTER TABLE client ADD COLUMN birthday DATE",
]

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS ledger_settings_tenant"
    " ON ledger_settings (tenant_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS tax_rate_tenant_name"
    " ON tax_rate (tenant_id, name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS promo_code_tenant_code"
    " ON promo_code (tenant_id, code)",
    "CREATE UNIQUE INDEX IF NOT EXISTS wallet_tenant_client"
    " ON wallet (tenant_id, client_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS loyalty_account_tenant_client"
    " ON loyalty_account (tenant_id, client_id)",
    "CREATE INDEX IF NOT EXISTS ticket_tenant_status ON ticket (tenant_id, status)",
]


async def run() -> None:
    await create_tables(
        LedgerSettings,
        TaxRate,
        PromoCode,
        DiscountRule,
        TicketDiscount,
        Wallet,
        WalletEntry,
        LoyaltyAccount,
    )
    await run_statements(NEW_COLUMNS + INDEXES)


async def forwards():
    return raw_migration(ID, DESCRIPTION, run)
