"""Emails to clients about their class places (HTML and plain text).

Each message names the class, the day and local start time, and the
instructor, and states what changed: booked, on the waitlist, promoted from
the waitlist, cancelled, or the whole session cancelled or moved.
"""

from __future__ import annotations

from html import escape
from typing import Any

from tillbook.kernel.events.mail import queue_mail
from tillbook.tenancy.scope import TenantScope

# kind: (subject prefix, lead sentence); {tenant} is the business name.
_MESSAGES = {
    "booked": ("Booked", "Your place in this class at {tenant} is booked."),
    "waitlisted": (
        "Waitlist",
        "This class at {tenant} is full, so you are on the waitlist at "
        "position {position}. We will email you if a place frees up.",
    ),
    "promoted": (
        "You're in",
        "A place freed up in this class at {tenant} and it is now yours.",
    ),
    "cancelled": ("Cancelled", "Your place in this class at {tenant} is cancelled."),
    "late_cancelled": (
        "Cancelled late",
        "Your place in this class at {tenant} is cancelled. Because it was "
        "cancelled less than {hours} hours before the start, it counts as a "
        "late cancellation.",
    ),
    "session_cancelled": (
        "Class cancelled",
        "{tenant} has cancelled this class. We are sorry for the change.",
    ),
    "session_moved": (
        "Class changed",
        "{tenant} has changed the time or instructor of this class. Your "
        "place is kept.",
    ),
}


def class_email(
    scope: TenantScope,
    kind: str,
    client: dict[str, Any],
    session: dict[str, Any],
    **values: Any,
) -> tuple[str, str, str]:
    """Return the subject, HTML and text of a class email of ``kind``.

    ``session`` is the session JSON (``service_name``, ``date``, ``local``,
    ``staff_name``); ``values`` fill the lead sentence (``position``,
    ``hours``) and add a ``reason`` line or a ``cancel_url`` line.
    """
    prefix, lead_pattern = _MESSAGES[kind]
    lead = lead_pattern.format(tenant=scope.tenant.name, **values)
    when = f"{session['date']} at {session['local']}"
    subject = f"{prefix}: {session['service_name']} on {when}"
    lines = [
        f"Hello {client['first_name']},",
        "",
        lead,
        "",
        f"Class: {session['service_name']}",
        f"When: {when} ({session['time_zone']})",
        f"Instructor: {session['staff_name']}",
    ]
    reason = str(values.get("reason") or "").strip()
    if reason:
        lines.append(f"Reason: {reason}")
    cancel_url = str(values.get("cancel_url") or "")
    if cancel_url:
        lines += ["", f"To cancel your place: {cancel_url}"]
    lines += ["", scope.tenant.name]
    text = "\n".join(lines) + "\n"
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in lines if line)
    html = (
        '<!doctype html><html><body style="font-family: sans-serif">'
        f'<h1 style="color: {escape(scope.tenant.brand_colour)}">'
        f"{escape(prefix)}</h1>{paragraphs}</body></html>"
    )
    return subject, html, text


async def mail_client(
    scope: TenantScope,
    kind: str,
    client: dict[str, Any] | None,
    session: dict[str, Any],
    **values: Any,
) -> None:
    """Queue a class email of ``kind`` to a client who has an email address."""
    if client is None or not client.get("email"):
        return
    subject, html, text = class_email(scope, kind, client, session, **values)
    await queue_mail(
        scope,
        to=client["email"],
        subject=subject,
        html=html,
        text=text,
        kind=f"class.{kind}",
    )
