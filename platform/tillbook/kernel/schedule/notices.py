"""Branded emails to clients about their appointments (HTML and plain text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader

from tillbook.tenancy.scope import TenantInfo

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


@dataclass(frozen=True)
class AppointmentNotice:
    """Formatted details of one appointment for an email to the client."""

    client_first_name: str
    service_name: str
    staff_name: str
    when: str
    duration_minutes: int
    price: str
    note: str
    cancel_url: str


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


def confirmation_email(
    tenant: TenantInfo, notice: AppointmentNotice
) -> tuple[str, str, str]:
    """Return the subject, HTML and text of a booking confirmation."""
    subject = f"Booked: {notice.service_name} on {notice.when}"
    lead = f"Your appointment at {tenant.name} is booked."
    return _render(tenant, notice, subject, "You're booked in", lead)


def cancellation_email(
    tenant: TenantInfo, notice: AppointmentNotice
) -> tuple[str, str, str]:
    """Return the subject, HTML and text of a cancellation notice."""
    subject = f"Cancelled: {notice.service_name} on {notice.when}"
    lead = f"Your appointment at {tenant.name} has been cancelled."
    return _render(tenant, notice, subject, "Appointment cancelled", lead)


def _render(
    tenant: TenantInfo,
    notice: AppointmentNotice,
    subject: str,
    heading: str,
    lead: str,
) -> tuple[str, str, str]:
    context = {"tenant": tenant, "notice": notice, "heading": heading, "lead": lead}
    html = _html_env.get_template("appointment.html").render(**context)
    text = _text_env.get_template("appointment.txt").render(**context)
    return subject, html, text
