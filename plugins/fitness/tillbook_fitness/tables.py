"""The fitness plugin's tables: class passes, the credits they pay, and fees.

A pass is a class pack (``credits_left`` of ``credits_total`` classes until
``expires_on``) or a membership (unlimited, or ``credits_total`` classes in
each calendar week or month). Every class place paid by a pass has one
``ClassCredit`` row, so a cancellation refunds exactly what the booking spent.
"""

from __future__ import annotations

from piccolo.columns import UUID, Date, Integer, Text, Timestamptz, Varchar

from tillbook import TenantTable


class ClassPass(TenantTable, tablename="fitness_pass"):
    """A client's class pack or membership."""

    client_id = UUID(index=True)
    kind = Varchar(length=12)  # pack or membership
    name = Varchar(length=120)
    # Pack: classes bought. Membership: classes per period, None for unlimited.
    credits_total = Integer(null=True, default=None)
    credits_left = Integer(default=0)
    period = Varchar(length=8, default="")  # membership: week or month
    starts_on = Date()
    expires_on = Date(null=True, default=None)
    price = Integer(default=0)
    status = Varchar(length=12, default="active")  # active or cancelled
    note = Text(default="")
    created_at = Timestamptz()


class ClassCredit(TenantTable, tablename="fitness_credit"):
    """One class place paid by a pass: spent, refunded or forfeited."""

    pass_id = UUID(index=True)
    class_booking_id = UUID(index=True)
    session_id = UUID()
    client_id = UUID(index=True)
    session_start = Timestamptz()
    status = Varchar(length=12, default="spent")
    created_at = Timestamptz()
    changed_at = Timestamptz(null=True, default=None)


class ClassFee(TenantTable, tablename="fitness_fee"):
    """A late-cancellation or no-show fee a client owes, to take at the till."""

    client_id = UUID(index=True)
    class_booking_id = UUID(index=True)
    session_id = UUID()
    reason = Varchar(length=16)  # late_cancel or no_show
    amount = Integer()
    status = Varchar(length=12, default="owed")  # owed, waived or paid
    created_at = Timestamptz()
