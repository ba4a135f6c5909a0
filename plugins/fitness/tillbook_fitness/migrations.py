"""Schema steps of the fitness plugin, applied when a tenant enables it.

Each step declares frozen copies of the tables as they were when the step
was written. Add a new step with a new id for every schema change.
"""

from __future__ import annotations

from piccolo.columns import UUID, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from tillbook import PluginMigration


class ClassPass(Table, tablename="fitness_pass"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    client_id = UUID(index=True)
    kind = Varchar(length=12)
    name = Varchar(length=120)
    credits_total = Integer(null=True, default=None)
    credits_left = Integer(default=0)
    period = Varchar(length=8, default="")
    starts_on = Date()
    expires_on = Date(null=True, default=None)
    price = Integer(default=0)
    status = Varchar(length=12, default="active")
    note = Text(default="")
    created_at = Timestamptz()


class ClassCredit(Table, tablename="fitness_credit"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    pass_id = UUID(index=True)
    class_booking_id = UUID(index=True)
    session_id = UUID()
    client_id = UUID(index=True)
    session_start = Timestamptz()
    status = Varchar(length=12, default="spent")
    created_at = Timestamptz()
    changed_at = Timestamptz(null=True, default=None)


class ClassFee(Table, tablename="fitness_fee"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    client_id = UUID(index=True)
    class_booking_id = UUID(index=True)
    session_id = UUID()
    reason = Varchar(length=16)
    amount = Integer()
    status = Varchar(length=12, default="owed")
    created_at = Timestamptz()


MIGRATIONS = [
    PluginMigration(
        id="2026-12-04T19:30 passes",
        description="class packs, memberships, credits and fees",
        tables=(ClassPass, ClassCredit, ClassFee),
        statements=(
            "CREATE INDEX IF NOT EXISTS fitness_pass_client"
            " ON fitness_pass (tenant_id, client_id)",
            "CREATE INDEX IF NOT EXISTS fitness_credit_booking"
            " ON fitness_credit (tenant_id, class_booking_id)",
        ),
    )
]
