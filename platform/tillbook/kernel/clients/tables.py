"""Clients and their history."""

from __future__ import annotations

from piccolo.columns import UUID, Date, Integer, Text, Timestamptz, Varchar

from tillbook.db.base import TenantTable


class Client(TenantTable):
    """A customer of the business."""

    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    email = Varchar(length=254, default="")
    phone = Varchar(length=40, default="")
    preferences = Text(default="")
    notes = Text(default="")
    completed_visits = Integer(default=0)
    payment_customer_ref = Varchar(length=100, default="")
    payment_method_ref = Varchar(length=100, default="")
    payment_method_label = Varchar(length=100, default="")
    created_at = Timestamptz()
    birthday = Date(null=True, default=None)


class ClientHistory(TenantTable):
    """One time-stamped entry on a client's timeline."""

    client_id = UUID(index=True)
    at = Timestamptz()
    kind = Varchar(length=40)
    summary = Text()
    ref_id = UUID(null=True, default=None)
