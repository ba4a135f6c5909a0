"""The transactional outbox of domain events, and the local mail outbox."""

from __future__ import annotations

from piccolo.columns import JSON, Text, Timestamptz, Varchar

from tillbook.db.base import TenantTable


class OutboxEvent(TenantTable):
    """A domain event written in the same transaction as the change it reports."""

    name = Varchar(length=60)
    payload = JSON(default="{}")
    created_at = Timestamptz()
    dispatched_at = Timestamptz(null=True, default=None)


class MailMessage(TenantTable):
    """An email: sent through SMTP when configured, or kept for the staff UI."""

    to_address = Varchar(length=254)
    subject = Varchar(length=300)
    html = Text()
    text = Text(default="")
    kind = Varchar(length=40)
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    delivery = Varchar(length=20, default="pending")  # pending, smtp, outbox, failed
    error = Text(default="")
