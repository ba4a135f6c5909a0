"""iCalendar feeds: each provider's appointments at a secret URL.

A calendar app subscribes to ``/t/{slug}/feeds/{token}.ics``. The token is
random (32 bytes, URL-safe), is stored on ``Staff.feed_token`` and is the
only credential, so rotating it cuts off every old subscription. Events
carry the service and the client's first name only, because calendar apps
sync them to other devices and services.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import NotFound
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.tables import Appointment, ClassSession, Staff
from tillbook.tenancy.scope import TenantScope

# 32 random bytes: 256 bits, well above the 128 a guessing attack must face.
TOKEN_BYTES = 32
# Shortest token the feed route will look up; shorter input is a 404 at once.
MIN_TOKEN_LENGTH = 32
# Cancelled appointments stay in the feed this long, marked CANCELLED, so
# subscribed calendars remove them instead of keeping a stale copy.
CANCELLED_KEPT = timedelta(days=30)
PAST_WINDOW = timedelta(days=90)
FUTURE_WINDOW = timedelta(days=366)
MAX_EVENTS = 5000
PRODUCT_ID = "-//Tillbook//Provider calendar//EN"


def feed_path(slug: str, token: str) -> str:
    """Return the path of a feed, relative to the site root."""
    return f"/t/{slug}/feeds/{token}.ics"


async def rotate_feed_token(
    scope: TenantScope, staff_id: uuid.UUID | str, *, actor_id: uuid.UUID | None
) -> str:
    """Give the staff member a new feed token and return it.

    The old URL stops working at once. Raises NotFound for an id of no
    staff member of this tenant.
    """
    async with write_transaction():
        staff = await scope.get(Staff, staff_id)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await scope.update(Staff, {Staff.feed_token: token}).where(
            Staff.id == staff["id"]
        )
        await record_audit(
            scope,
            actor_id=actor_id,
            action="staff.feed_rotated"
            if staff["feed_token"]
            else "staff.feed_created",
            subject_type="staff",
            subject_id=staff["id"],
        )
    return token


async def revoke_feed_token(
    scope: TenantScope, staff_id: uuid.UUID | str, *, actor_id: uuid.UUID | None
) -> None:
    """Remove the staff member's feed, so its URL returns 404."""
    async with write_transaction():
        staff = await scope.get(Staff, staff_id)
        await scope.update(Staff, {Staff.feed_token: ""}).where(Staff.id == staff["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="staff.feed_revoked",
            subject_type="staff",
            subject_id=staff["id"],
        )


async def staff_for_token(scope: TenantScope, token: str) -> dict[str, Any]:
    """Return the staff member whose feed token is ``token``; raise NotFound."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise NotFound("feed", "")
    row = await scope.select(Staff).where(Staff.feed_token == token).first()
    # The database matched the token; comparing again in constant time keeps
    # a collation that ignores case or trailing spaces from widening a match.
    if row is None or not secrets.compare_digest(row["feed_token"], token):
        raise NotFound("feed", "")
    return row  # type: ignore[no-any-return]


async def build_feed(
    scope: TenantScope, staff: Mapping[str, Any], *, now: datetime | None = None
) -> bytes:
    """Return the iCalendar text of a staff member's appointments and classes.

    The feed covers 90 days back to 366 days ahead. Cancelled appointments
    appear with STATUS:CANCELLED for 30 days after they were cancelled.
    """
    now = now or utcnow()
    rows = (
        await scope.select(Appointment)
        .where(Appointment.staff_id == staff["id"])
        .where(Appointment.end_at > now - PAST_WINDOW)
        .where(Appointment.start_at < now + FUTURE_WINDOW)
        .order_by(Appointment.start_at)
        .limit(MAX_EVENTS)
    )
    kept = [row for row in rows if _still_listed(row, now)]
    services = await scope.get_many(Service, (row["service_id"] for row in kept))
    clients = await scope.get_many(Client, (row["client_id"] for row in kept))
    sessions = (
        await scope.select(ClassSession)
        .where(ClassSession.staff_id == staff["id"])
        .where(ClassSession.end_at > now - PAST_WINDOW)
        .where(ClassSession.start_at < now + FUTURE_WINDOW)
        .order_by(ClassSession.start_at)
        .limit(MAX_EVENTS)
    )
    session_services = await scope.get_many(
        Service, (row["service_id"] for row in sessions)
    )

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{staff['name']} · {scope.tenant.name}")
    for row in kept:
        service = services.get(row["service_id"])
        client = clients.get(row["client_id"])
        title = service["name"] if service else "Appointment"
        if client and client["first_name"]:
            title = f"{title} · {client['first_name']}"
        calendar.add_component(
            _event(
                f"appointment-{row['id']}@tillbook",
                row["start_at"],
                row["end_at"],
                title,
                "CANCELLED" if row["status"] == "cancelled" else "CONFIRMED",
                now,
            )
        )
    for row in sessions:
        service = session_services.get(row["service_id"])
        calendar.add_component(
            _event(
                f"class-{row['id']}@tillbook",
                row["start_at"],
                row["end_at"],
                f"{service['name'] if service else 'Class'} · class",
                "CANCELLED" if row["status"] == "cancelled" else "CONFIRMED",
                now,
            )
        )
    return calendar.to_ical()  # type: ignore[no-any-return]


def _still_listed(row: Mapping[str, Any], now: datetime) -> bool:
    if row["status"] != "cancelled":
        return True
    cancelled_at = row["cancelled_at"] or row["start_at"]
    return bool(cancelled_at >= now - CANCELLED_KEPT)


def _event(
    uid: str, start: datetime, end: datetime, summary: str, status: str, now: datetime
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", summary)
    event.add("status", status)
    return event
