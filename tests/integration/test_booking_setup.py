"""A seeded spa shared by the booking, calendar and staff tests.

``seed_spa`` gives a tenant two services and three providers who work 09:00
to 17:00 every day, and picks a local date two days ahead so every slot of
that day is bookable whatever the time the tests run.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tests.support import TenantHandle, make_tenant
from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import (
    ClientPackage,
    PackagePlan,
    Service,
    ServiceProvider,
)
from tillbook.kernel.schedule.availability import WorkingInterval
from tillbook.kernel.schedule.staff import create_staff, set_weekly_hours
from tillbook.kernel.schedule.tables import Appointment
from tillbook.tenancy.accounts import create_api_token, hash_password
from tillbook.tenancy.roles import Role
from tillbook.tenancy.tables import Account, Membership

NINE_TO_FIVE = [WorkingInterval(weekday, 9 * 60, 17 * 60) for weekday in range(7)]


@dataclass
class Spa:
    """A tenant with services and providers, and the local date tests book on."""

    tenant: TenantHandle
    facial_id: str
    massage_id: str
    staff: dict[str, str]
    day: date

    def at(self, clock: str, day: date | None = None) -> str:
        """Return the UTC ISO instant of local ``HH:MM`` on the spa's test day."""
        hour, minute = (int(part) for part in clock.split(":"))
        local = datetime.combine(day or self.day, time(hour, minute))
        aware = local.replace(tzinfo=self.tenant.scope.tenant.zone)
        return aware.astimezone(utcnow().tzinfo).isoformat()

    def booking(self, clock: str = "10:00", **overrides: Any) -> dict[str, Any]:
        """Return a public booking body for the facial with Ava at ``clock``."""
        body: dict[str, Any] = {
            "service_id": self.facial_id,
            "staff_id": self.staff["Ava"],
            "start": self.at(clock),
            "first_name": "Maya",
            "last_name": "Lind",
            "email": f"maya-{secrets.token_hex(3)}@example.com",
            "phone": "+44 20 7946 0000",
            "note": "Prefer lavender scent, please.",
        }
        body.update(overrides)
        return body

    def appointments(self) -> list[dict[str, Any]]:
        """Return every appointment row of the tenant."""
        scope = self.tenant.scope
        return self.tenant.run(lambda: scope.select(Appointment))  # type: ignore[no-any-return]


def seed_spa(client: Any, **tenant_overrides: Any) -> Spa:
    """Create a spa with a 60-minute facial (Ava, Ben) and a 30-minute
    massage (Ava, Ben, Cleo), everyone working 09:00-17:00 every day."""
    tenant = make_tenant(client, **tenant_overrides)
    scope = tenant.scope

    async def seed() -> tuple[str, str, dict[str, str]]:
        staff: dict[str, str] = {}
        for name in ("Ava", "Ben", "Cleo"):
            row = await create_staff(
                scope, {"name": name, "title": "Therapist"}, actor_id=None
            )
            staff[name] = row["id"]
            await set_weekly_hours(scope, row["id"], NINE_TO_FIVE, actor_id=None)
        facial = Service(name="Signature Facial", duration_minutes=60, price=6500)
        massage = Service(name="Back Massage", duration_minutes=30, price=4000)
        await scope.insert(facial, massage)
        links = [
            ServiceProvider(service_id=facial.id, staff_id=uuid.UUID(staff[name]))
            for name in ("Ava", "Ben")
        ] + [
            ServiceProvider(service_id=massage.id, staff_id=uuid.UUID(staff[name]))
            for name in ("Ava", "Ben", "Cleo")
        ]
        await scope.insert(*links)
        return str(facial.id), str(massage.id), staff

    facial_id, massage_id, staff = tenant.run(seed)
    today = utcnow().astimezone(scope.tenant.zone).date()
    return Spa(tenant, facial_id, massage_id, staff, today + timedelta(days=2))


async def give_package(
    spa: Spa, client_id: uuid.UUID, *, name: str, sessions_left: int, days: int
) -> None:
    """Sell the client a five-facial package with ``sessions_left`` unused."""
    scope = spa.tenant.scope
    plan = PackagePlan(
        name=name, service_id=uuid.UUID(spa.facial_id), sessions=5, price=30000
    )
    await scope.insert(plan)
    await scope.insert(
        ClientPackage(
            client_id=client_id,
            plan_id=plan.id,
            service_id=uuid.UUID(spa.facial_id),
            sessions_total=5,
            sessions_left=sessions_left,
            unit_value=6000,
            expires_at=utcnow() + timedelta(days=days),
            sold_at=utcnow(),
        )
    )


def add_member(client: Any, tenant: TenantHandle, role: Role) -> dict[str, str]:
    """Add a staff account with ``role`` to the tenant; return its auth header."""

    async def create() -> str:
        account = Account(
            email=f"{role.value}-{secrets.token_hex(4)}@example.com",
            name=f"{role.value.title()} Person",
            password_hash=hash_password("correct horse battery"),
            created_at=utcnow(),
        )
        await account.save()
        await tenant.scope.insert(Membership(account_id=account.id, role=role.value))
        token, _ = await create_api_token(tenant.scope, account.id, "tests")
        return token

    return {"Authorization": f"Bearer {tenant.run(create)}"}


def test_seeded_spa_offers_slots(client) -> None:
    spa = seed_spa(client)
    response = client.get(
        spa.tenant.api("/availability"),
        params={"service_id": spa.facial_id, "date": spa.day.isoformat()},
    )
    assert response.status_code == 200, response.text
    slots = response.json()["slots"]
    # 09:00 to 16:00 every 15 minutes for a 60-minute service: 29 start times.
    assert len(slots) == 29
    assert slots[0]["local"] == "09:00"
    assert slots[-1]["local"] == "16:00"
