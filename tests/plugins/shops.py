"""Tenants for the vertical plugin tests: a plugin enabled, staff, services, clients.

Rows are inserted through the tenant's scope, as the kernel's own test set-ups
do, so these tests depend on the plugin's routes and hooks and not on other
kernel forms.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, time, timedelta
from typing import Any

from tests.support import TenantHandle, make_tenant
from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import Service, ServiceProvider
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.tables import Appointment, Staff, WorkingHours
from tillbook.plugins import TenantHooks
from tillbook.tenancy.plugin_settings import configure_plugin, load_tenant_hooks


def enable(tenant: TenantHandle, plugin: str) -> None:
    """Enable ``plugin`` for the tenant, running its migrations."""
    tenant.run(lambda: configure_plugin(tenant.scope, plugin, enabled=True))


def configure(tenant: TenantHandle, plugin: str, settings: dict[str, Any]) -> Any:
    """Change the plugin's settings through the settings API; return the response."""
    return tenant.client.put(
        tenant.api(f"/plugins/{plugin}"),
        json={"settings": settings},
        headers=tenant.headers,
    )


def plugin_tenant(client: Any, plugin: str | None, **overrides: Any) -> TenantHandle:
    """Make a tenant, enabling ``plugin`` unless it is None."""
    tenant = make_tenant(client, **overrides)
    if plugin is not None:
        enable(tenant, plugin)
    return tenant


def hooks_of(tenant: TenantHandle) -> TenantHooks:
    """Return the hook callers the tenant's requests get."""
    return tenant.run(load_tenant_hooks, tenant.scope)  # type: ignore[no-any-return]


def add_staff(tenant: TenantHandle, name: str, title: str = "Groomer") -> str:
    """Add a staff member who works 08:00 to 20:00 every day."""
    row = Staff(name=name, title=title)
    hours = [
        WorkingHours(staff_id=row.id, weekday=day, start_minute=480, end_minute=1200)
        for day in range(7)
    ]

    async def insert() -> None:
        await tenant.scope.insert(row)
        await tenant.scope.insert(*hours)

    tenant.run(insert)
    return str(row.id)


def add_service(
    tenant: TenantHandle,
    name: str,
    minutes: int,
    price: int,
    staff_ids: list[str],
    kind: str = "appointment",
) -> str:
    service = Service(
        name=name, duration_minutes=minutes, price=price, kind=kind, capacity=1
    )

    async def insert() -> None:
        await tenant.scope.insert(service)
        await tenant.scope.insert(
            *(
                ServiceProvider(service_id=service.id, staff_id=uuid.UUID(staff_id))
                for staff_id in staff_ids
            )
        )

    tenant.run(insert)
    return str(service.id)


def add_client(tenant: TenantHandle, first: str, last: str) -> str:
    row = Client(
        first_name=first,
        last_name=last,
        email=f"{first.lower()}-{secrets.token_hex(3)}@example.com",
        created_at=utcnow(),
    )
    tenant.run(tenant.scope.insert, row)
    return str(row.id)


def local_instant(tenant: TenantHandle, days: int, clock: str) -> datetime:
    """Return local ``HH:MM`` ``days`` from today in the tenant's zone, as UTC."""
    zone = tenant.scope.tenant.zone
    hour, minute = (int(part) for part in clock.split(":"))
    day = utcnow().astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def add_appointment(
    tenant: TenantHandle,
    client_id: str,
    service_id: str,
    staff_id: str,
    start: datetime,
    minutes: int,
    price: int,
) -> str:
    row = Appointment(
        client_id=uuid.UUID(client_id),
        service_id=uuid.UUID(service_id),
        staff_id=uuid.UUID(staff_id),
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        price=price,
        cancel_token=secrets.token_urlsafe(16),
        created_at=utcnow(),
    )
    tenant.run(tenant.scope.insert, row)
    return str(row.id)


def call_hook(tenant: TenantHandle, name: str, **kwargs: Any) -> Any:
    """Call one hook as the tenant's requests do and return the combined result."""
    hooks = hooks_of(tenant)

    async def call() -> Any:
        return await getattr(hooks, name)(scope=tenant.scope, **kwargs)

    return tenant.run(call)
