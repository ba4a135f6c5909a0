"""A seeded yoga studio shared by the class and series tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from tests.support import TenantHandle, make_tenant
from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.tables import MailMessage, OutboxEvent
from tillbook.kernel.schedule.tables import ClassBooking, Resource, Staff


@dataclass
class Studio:
    """A tenant with one class service, an instructor and a room."""

    tenant: TenantHandle
    service_id: str
    staff_id: str
    other_staff_id: str
    room_id: str

    def start(self, days: int = 3, clock: time = time(18, 0)) -> datetime:
        """Return the UTC instant of a local wall time ``days`` from today."""
        zone = self.tenant.scope.tenant.zone
        today = utcnow().astimezone(zone).date()
        local = datetime.combine(today + timedelta(days=days), clock, zone)
        return local.astimezone(UTC)

    def new_session(self, **overrides: Any) -> dict[str, Any]:
        """Schedule a session through the API and return its JSON."""
        body: dict[str, Any] = {
            "service_id": self.service_id,
            "staff_id": self.staff_id,
            "start": self.start().isoformat(),
        }
        body.update(overrides)
        response = self.tenant.post("/classes/sessions", body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def new_client(self, first_name: str) -> str:
        """Add a client with an email address and return the id."""
        row = Client(
            first_name=first_name,
            last_name="Client",
            email=f"{first_name.lower()}-{secrets.token_hex(3)}@example.com",
            created_at=utcnow(),
        )
        self.tenant.run(self.tenant.scope.insert, row)
        return str(row.id)

    def book(self, session_id: str, client_id: str, **extra: Any) -> Any:
        """Book a client through the desk API and return the response."""
        return self.tenant.post(
            f"/classes/sessions/{session_id}/bookings",
            {"client_id": client_id, **extra},
        )

    def rows(self, table: Any) -> list[dict[str, Any]]:
        """Return every row of ``table`` for this tenant."""
        scope = self.tenant.scope
        return self.tenant.run(lambda: scope.select(table))  # type: ignore[no-any-return]

    def events(self, name: str) -> list[dict[str, Any]]:
        """Return the outbox events called ``name``."""
        return [row for row in self.rows(OutboxEvent) if row["name"] == name]

    def mails_to(self, client_id: str) -> list[dict[str, Any]]:
        """Return the mails queued to a client's address."""
        email = next(
            row["email"] for row in self.rows(Client) if str(row["id"]) == client_id
        )
        return self.mails_to_address(email)

    def mails_to_address(self, email: str) -> list[dict[str, Any]]:
        """Return the mails queued to ``email``."""
        return [row for row in self.rows(MailMessage) if row["to_address"] == email]

    def bookings(self) -> list[dict[str, Any]]:
        """Return every class booking row."""
        return self.rows(ClassBooking)


def seed_studio(client: Any, *, capacity: int = 2, **tenant: Any) -> Studio:
    """Create a studio with a 60-minute class of ``capacity``, two instructors
    and one room."""
    handle = make_tenant(client, **tenant)
    scope = handle.scope

    async def seed() -> tuple[str, str, str, str]:
        service = Service(
            name="Vinyasa Flow",
            duration_minutes=60,
            price=1500,
            kind="class",
            capacity=capacity,
        )
        first = Staff(name="Iris Instructor")
        second = Staff(name="Omar Instructor")
        room = Resource(name="Studio A", kind="room", quantity=1)
        await scope.insert(service)
        await scope.insert(first, second)
        await scope.insert(room)
        return str(service.id), str(first.id), str(second.id), str(room.id)

    service_id, staff_id, other_id, room_id = handle.run(seed)
    return Studio(handle, service_id, staff_id, other_id, room_id)
