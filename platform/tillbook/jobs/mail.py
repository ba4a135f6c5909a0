"""Delivering stored emails through SMTP or into the local outbox."""

from __future__ import annotations

import logging
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

import anyio

from tillbook.config import get_settings
from tillbook.db.base import utcnow
from tillbook.kernel.events.tables import MailMessage
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tenants import tenant_by_id

logger = logging.getLogger("tillbook.jobs.mail")


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    with smtplib.SMTP(
        parts.hostname or "127.0.0.1", parts.port or 25, timeout=20
    ) as smtp:
        smtp.send_message(message)


async def deliver(tenant_id: uuid.UUID, mail_id: uuid.UUID) -> None:
    """Send a stored email; without ``TILLBOOK_SMTP_URL`` it stays in the outbox.

    An SMTP failure is recorded on the row and re-raised so dramatiq retries.
    """
    scope = TenantScope(await tenant_by_id(tenant_id))
    row = await scope.get(MailMessage, mail_id)
    if row["sent_at"] is not None:
        return
    settings = get_settings()
    if not settings.smtp_url:
        await scope.update(
            MailMessage, {MailMessage.delivery: "outbox", MailMessage.sent_at: utcnow()}
        ).where(MailMessage.id == mail_id)
        return
    message = EmailMessage()
    message["From"] = (
        f"{scope.tenant.name} <{settings.mail_from.split('<')[-1].rstrip('>')}>"
    )
    message["To"] = row["to_address"]
    message["Subject"] = row["subject"]
    message["Message-ID"] = make_msgid(domain="tillbook.local")
    message.set_content(
        row["text"] or "This message needs an HTML-capable mail reader."
    )
    message.add_alternative(row["html"], subtype="html")
    try:
        await anyio.to_thread.run_sync(_send_smtp, settings.smtp_url, message)
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("SMTP delivery of mail %s failed: %s", mail_id, exc)
        await scope.update(
            MailMessage, {MailMessage.delivery: "failed", MailMessage.error: str(exc)}
        ).where(MailMessage.id == mail_id)
        raise
    await scope.update(
        MailMessage, {MailMessage.delivery: "smtp", MailMessage.sent_at: utcnow()}
    ).where(MailMessage.id == mail_id)
    logger.info("mail %s sent to SMTP", mail_id)
