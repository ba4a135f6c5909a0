"""Reading appointments: JSON shapes, the day schedule and the appointment view."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import ClientPackage, PackagePlan, Service
from tillbook.kernel.clients.tables import Client, ClientHistory
from tillbook.kernel.schedule.availability import local_day_bounds
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.tenancy.scope import TenantScope

STATUSES = ("booked", "checked_in", "completed", "cancelled", "no_show")
HISTORY_LIMIT = 50


def client_name(client: Mapping[str, Any] | None) -> str:
    """Return a client's full name, or an empty string."""
    if client is None:
        return ""
    return f"{client['first_name']} {client['last_name']}".strip()


def appointment_json(
    scope: TenantScope,
    row: Mapping[str, Any],
    *,
    client: Mapping[str, Any] | None = None,
    service: Mapping[str, Any] | None = None,
    staff: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return an appointment row as API JSON, with names where rows are given.

    Instants are ISO 8601 in UTC; ``date``, ``local`` and ``local_end`` are
    the tenant's wall date and ``HH:MM`` times. ``deposit`` is the deposit
    taken, in minor units. The cancel token is left out.
    """
    zone = scope.tenant.zone
    start_local = row["start_at"].astimezone(zone)
    end_local = row["end_at"].astimezone(zone)
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "start": row["start_at"].isoformat(),
        "end": row["end_at"].isoformat(),
        "date": start_local.date().isoformat(),
        "local": start_local.strftime("%H:%M"),
        "local_end": end_local.strftime("%H:%M"),
        "duration_minutes": int(
            (row["end_at"] - row["start_at"]).total_seconds() // 60
        ),
        "client_id": str(row["client_id"]),
        "client_name": client_name(client),
        "service_id": str(row["service_id"]),
        "service_name": service["name"] if service else "",
        "staff_id": str(row["staff_id"]),
        "staff_name": staff["name"] if staff else "",
        "price": row["price"],
        "currency": scope.tenant.currency,
        "note": row["note"],
        "source": row["source"],
        "created_at": _iso(row["created_at"]),
        "checked_in_at": _iso(row["checked_in_at"]),
        "ticket_id": _text(row["ticket_id"]),
        "location_id": _text(row.get("location_id")),
        "visit_id": _text(row.get("visit_id")),
        "any_provider": bool(row.get("any_provider")),
        "series_id": _text(row.get("series_id")),
        "deposit": row.get("deposit") or 0,
        "cancelled_at": _iso(row.get("cancelled_at")),
        "no_show_at": _iso(row.get("no_show_at")),
        "fee_ticket_id": _text(row.get("fee_ticket_id")),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


async def appointments_json(
    scope: TenantScope, rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Return appointment rows as JSON, loading names with one query per table."""
    rows = list(rows)
    clients = await scope.get_many(Client, (row["client_id"] for row in rows))
    services = await scope.get_many(Service, (row["service_id"] for row in rows))
    staff = await scope.get_many(Staff, (row["staff_id"] for row in rows))
    return [
        appointment_json(
            scope,
            row,
            client=clients.get(row["client_id"]),
            service=services.get(row["service_id"]),
            staff=staff.get(row["staff_id"]),
        )
        for row in rows
    ]


async def appointments_on(scope: TenantScope, day: date) -> list[dict[str, Any]]:
    """Return every appointment that starts on local date ``day``, by start time."""
    day_start, day_end = local_day_bounds(day, scope.tenant.zone)
    rows = (
        await scope.select(Appointment)
        .where(Appointment.start_at >= day_start)
        .where(Appointment.start_at < day_end)
        .order_by(Appointment.start_at)
    )
    return await appointments_json(scope, rows)


async def day_schedule(scope: TenantScope, day: date) -> dict[str, Any]:
    """Return the calendar of local date ``day``: one column per provider.

    Columns are the active bookable staff by name, plus anyone else who has an
    appointment that day. Each column lists its appointments by start time,
    cancelled ones included so the desk can see them.
    """
    appointments = await appointments_on(scope, day)
    staff_rows = await scope.select(Staff).order_by(Staff.name)
    busy_ids = {item["staff_id"] for item in appointments}
    columns = []
    for row in staff_rows:
        shown = row["active"] and row["bookable"]
        if not shown and str(row["id"]) not in busy_ids:
            continue
        columns.append(
            {
                "id": str(row["id"]),
                "name": row["name"],
                "title": row["title"],
                "colour": row["colour"],
                "appointments": [
                    item for item in appointments if item["staff_id"] == str(row["id"])
                ],
            }
        )
    return {
        "date": day.isoformat(),
        "time_zone": scope.tenant.time_zone,
        "staff": columns,
    }


async def appointment_detail(
    scope: TenantScope, appointment_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return an appointment with its client's contact, preferences, notes,
    history timeline and package balances.

    Raises NotFound for an id of no appointment of this tenant.
    """
    row = await scope.get(Appointment, appointment_id)
    client = await scope.select(Client).where(Client.id == row["client_id"]).first()
    service = await scope.select(Service).where(Service.id == row["service_id"]).first()
    staff = await scope.select(Staff).where(Staff.id == row["staff_id"]).first()
    detail = appointment_json(scope, row, client=client, service=service, staff=staff)
    detail["client"] = _client_json(client)
    detail["history"] = await _history(scope, row["client_id"])
    detail["packages"] = await client_packages(scope, row["client_id"])
    return detail


def _client_json(client: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if client is None:
        return None
    return {
        "id": str(client["id"]),
        "name": client_name(client),
        "first_name": client["first_name"],
        "last_name": client["last_name"],
        "email": client["email"],
        "phone": client["phone"],
        "preferences": client["preferences"],
        "notes": client["notes"],
        "completed_visits": client["completed_visits"],
    }


async def _history(scope: TenantScope, client_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (
        await scope.select(ClientHistory)
        .where(ClientHistory.client_id == client_id)
        .order_by(ClientHistory.at, ascending=False)
        .limit(HISTORY_LIMIT)
    )
    return [
        {
            "at": row["at"].isoformat(),
            "local": row["at"].astimezone(scope.tenant.zone).strftime("%Y-%m-%d %H:%M"),
            "kind": row["kind"],
            "summary": row["summary"],
            "ref_id": str(row["ref_id"]) if row["ref_id"] else None,
        }
        for row in rows
    ]


async def client_packages(
    scope: TenantScope, client_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Return a client's packages that still have sessions, soonest expiry first."""
    rows = (
        await scope.select(ClientPackage)
        .where(ClientPackage.client_id == client_id)
        .where(ClientPackage.sessions_left > 0)
        .order_by(ClientPackage.expires_at)
    )
    plans = await scope.get_many(PackagePlan, (row["plan_id"] for row in rows))
    services = await scope.get_many(Service, (row["service_id"] for row in rows))
    now = utcnow()
    return [
        {
            "id": str(row["id"]),
            "plan_name": plans[row["plan_id"]]["name"]
            if row["plan_id"] in plans
            else "",
            "service_id": str(row["service_id"]),
            "service_name": (
                services[row["service_id"]]["name"]
                if row["service_id"] in services
                else ""
            ),
            "sessions_left": row["sessions_left"],
            "sessions_total": row["sessions_total"],
            "expires_at": row["expires_at"].isoformat(),
            "expires_on": row["expires_at"]
            .astimezone(scope.tenant.zone)
            .date()
            .isoformat(),
            "expired": row["expires_at"] <= now,
        }
        for row in rows
    ]
