"""Schema steps of the salon plugin, applied when a tenant enables it.

The tables here are frozen copies of ``tables.py`` as it was when the step
was written, so a later change to ``tables.py`` never changes what an old
step creates. A schema change gets a new step with a new id.
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from tillbook import PluginMigration


class SalonService(Table, tablename="salon_service"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    service_id = UUID(index=True)
    colour = Boolean(default=False)
    processing_after_minutes = Integer(null=True, default=None)
    processing_minutes = Integer(null=True, default=None)
    rebook_weeks = Integer(null=True, default=None)


class SalonVariant(Table, tablename="salon_variant"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    service_id = UUID(index=True)
    hair_length = Varchar(length=12)
    duration_minutes = Integer()
    price = Integer()


class SalonFormula(Table, tablename="salon_formula"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    client_id = UUID(index=True)
    staff_id = UUID(null=True, default=None)
    service_id = UUID(null=True, default=None)
    formula = Text()
    developer = Varchar(length=60, default="")
    processing_minutes = Integer(null=True, default=None)
    notes = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SalonStylistCommission(Table, tablename="salon_stylist_commission"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    staff_id = UUID(index=True)
    service_tiers = JSON(default="[]")
    product_percent = Varchar(length=16, null=True, default=None)


class SalonCommissionSale(Table, tablename="salon_commission_sale"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    staff_id = UUID(index=True)
    line_id = UUID(index=True)
    month = Varchar(length=7)
    amount = Integer()
    commission = Integer()
    percent = Varchar(length=16)


MIGRATIONS = [
    PluginMigration(
        id="0001_initial",
        description="salon services, variants, formulas and commission",
        tables=(
            SalonService,
            SalonVariant,
            SalonFormula,
            SalonStylistCommission,
            SalonCommissionSale,
        ),
        statements=(
            "CREATE UNIQUE INDEX IF NOT EXISTS salon_service_one "
            "ON salon_service (tenant_id, service_id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS salon_variant_one "
            "ON salon_variant (tenant_id, service_id, hair_length)",
            "CREATE UNIQUE INDEX IF NOT EXISTS salon_stylist_commission_one "
            "ON salon_stylist_commission (tenant_id, staff_id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS salon_commission_sale_line "
            "ON salon_commission_sale (tenant_id, line_id)",
        ),
    ),
]
