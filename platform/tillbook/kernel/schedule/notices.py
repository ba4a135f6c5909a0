"""Branded emails to clients about their appointments (HTML and plain text).

Each email has a name such as ``appointment.reminder``. A plugin may replace
any of them through the ``tillbook_notification_template`` hook. The hook
gets the name and a context with the tenant, the appointment and the
kernel's own rendering as ``default``. It returns ``subject``, ``html`` and
``text``.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader

from tillbook.tenancy.scope import TenantInfo

if TYPE_CHECKING:
    from tillbook.plugins import TenantHooks

logger = logging.getLogger(__name__)

_TEMPLATES = Path(__file__).parent / "mail"
_html_env = Environment(
    loader=FileSystemLoader(_TEMPLATES), autoescape=True, keep_trailing_newline=True
)
# Plain-text mail must not be HTML-escaped.
_text_env = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=False,  # noqa: S701
    keep_trailing_newline=True,
)

Rendered = tuple[str, str, str]


@dataclass(frozen=True)
class AppointmentNotice:
    """Formatted details of one appointment for an email to the client.

    ``previous_when`` is the old time of a moved appointment. ``fee`` is a
    sentence about a fee charged, and ``policy`` one about the cancellation
    policy. Empty fields are left out of the email.
    """

    client_first_name: str
    service_name: str
    staff_name: str
    when: str
    duration_minutes: int
    price: str
    note: str
    cancel_url: str
    previous_when: str = ""
    fee: str = ""
    policy: str = ""
    manage_url: str = ""


def manage_link(tenant: TenantInfo, token: str) -> str:
    """Return the public URL at which a client moves or cancels with ``token``."""
    from tillbook.config import get_settings

    base = get_settings().public_url.rstrip("/")
    return f"{base}/t/{tenant.slug}/book/manage/{token}"


def describe_day(day: date) -> str:
    """Format a date as ``Saturday 12 December 2026``."""
    return format_date(day, format="EEEE d MMMM y", locale="en_GB")


def describe_when(day: date, clock: str) -> str:
    """Format a local date and ``HH:MM`` as ``Saturday 12 December 2026 at 15:00``."""
    return f"{describe_day(day)} at {clock}"


def format_price(tenant: TenantInfo, amount: int) -> str:
    """Format an amount in minor units in the tenant's currency, such as ``£65.00``."""
    value = Decimal(amount).scaleb(-tenant.minor_digits)
    return format_currency(value, tenant.currency, locale="en_GB", currency_digits=True)


def confirmation_email(tenant: TenantInfo, notice: AppointmentNotice) -> Rendered:
    """Return the subject, HTML and text of a booking confirmation."""
    subject = f"Booked: {notice.service_name} on {notice.when}"
    lead = f"Your appointment at {tenant.name} is booked."
    return _render(tenant, notice, subject, "You're booked in", lead)


def cancellation_email(tenant: TenantInfo, notice: AppointmentNotice) -> Rendered:
    """Return the subject, HTML and text of a cancellation notice."""
    subject = f"Cancelled: {notice.service_name} on {notice.when}"
    lead = f"Your appointment at {tenant.name} has been cancelled."
    return _render(tenant, notice, subject, "Appointment cancelled", lead)


def moved_email(tenant: TenantInfo, notice: AppointmentNotice) -> Rendered:
    """Return the subject, HTML and text of a notice that an appointment moved."""
    subject = f"Moved: {notice.service_name} is now on {notice.when}"
    lead = f"Your appointment at {tenant.name} has a new time."
    return _render(tenant, notice, subject, "Appointment moved", lead)


def reminder_email(tenant: TenantInfo, notice: AppointmentNotice) -> Rendered:
    """Return the subject, HTML and text of a reminder before an appointment."""
    subject = f"Reminder: {notice.service_name} on {notice.when}"
    lead = f"This is a reminder of your appointment at {tenant.name}."
    return _render(tenant, notice, subject, "See you soon", lead)


def no_show_email(tenant: TenantInfo, notice: AppointmentNotice) -> Rendered:
    """Return the subject, HTML and text of a notice of a missed appointment."""
    subject = f"Missed: {notice.service_name} on {notice.when}"
    lead = f"We missed you at {tenant.name} for your appointment."
    return _render(tenant, notice, subject, "We missed you", lead)


_BUILDERS = {
    "appointment.confirmation": confirmation_email,
    "appointment.cancellation": cancellation_email,
    "appointment.moved": moved_email,
    "appointment.reminder": reminder_email,
    "appointment.no_show": no_show_email,
    "class.reminder": reminder_email,
}
NOTIFICATION_NAMES = tuple(_BUILDERS)


async def render_notification(
    name: str,
    tenant: TenantInfo,
    notice: AppointmentNotice,
    hooks: TenantHooks | None = None,
) -> Rendered:
    """Render notification ``name``, letting an enabled plugin replace it.

    ``name`` is one of ``NOTIFICATION_NAMES``. The first plugin that returns
    a dict from ``tillbook_notification_template`` wins. A key it leaves out
    or returns as something other than text keeps the kernel's version.
    Raises KeyError for an unknown name.
    """
    subject, html, text = _BUILDERS[name](tenant, notice)
    if hooks is None:
        return subject, html, text
    context = notification_context(tenant, notice, (subject, html, text))
    replacement = await hooks.tillbook_notification_template(name=name, context=context)
    if not isinstance(replacement, dict):
        return subject, html, text
    chosen = []
    for key, kernel_value in (("subject", subject), ("html", html), ("text", text)):
        value = replacement.get(key)
        if value is not None and not isinstance(value, str):
            logger.warning(
                "notification template %s of tenant %s returned a %s for %s; "
                "the kernel's version is used",
                name,
                tenant.id,
                type(value).__name__,
                key,
            )
            value = None
        chosen.append(value if value is not None else kernel_value)
    return chosen[0], chosen[1], chosen[2]


def notification_context(
    tenant: TenantInfo, notice: AppointmentNotice, default: Rendered
) -> dict[str, Any]:
    """Return the JSON-safe context a notification template plugin receives."""
    return {
        "tenant": {
            "name": tenant.name,
            "slug": tenant.slug,
            "brand_colour": tenant.brand_colour,
            "logo_url": tenant.logo_url,
            "time_zone": tenant.time_zone,
            "currency": tenant.currency,
        },
        "appointment": dataclasses.asdict(notice),
        "default": {"subject": default[0], "html": default[1], "text": default[2]},
    }


def _render(
    tenant: TenantInfo,
    notice: AppointmentNotice,
    subject: str,
    heading: str,
    lead: str,
) -> Rendered:
    context = {"tenant": tenant, "notice": notice, "heading": heading, "lead": lead}
    html = _html_env.get_template("appointment.html").render(**context)
    text = _text_env.get_template("appointment.txt").render(**context)
    return subject, html, text
