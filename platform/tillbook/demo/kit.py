"""Building blocks for a plugin's ``tillbook_seed_demo``: team, menu, clients.

Each function inserts rows through the tenant scope and returns the new
row's id as a string. They run inside the write transaction the demo opens
around the hook, and they do not validate their input the way the API does:
they are for fixed demo data only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import Product, Service, ServiceProvider
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.tables import Staff, WorkingHours
from tillbook.tenancy.scope import TenantScope

# Monday to Saturday, 09:00 to 17:30 with a lunch break from 13:00 to 13:30,
# in minutes after local midnight (weekday 0 is Monday).
WEEKDAY_HOURS: dict[int, list[tuple[int, int]]] = {
    weekday: [(9 * 60, 13 * 60), (13 * 60 + 30, 17 * 60 + 30)] for weekday in range(6)
}


async def add_staff(
    scope: TenantScope,
    name: str,
    *,
    title: str = "",
    colour: str = "#7a8b99",
    email: str = "",
    hours: Mapping[int, Sequence[tuple[int, int]]] | None = None,
) -> str:
    """Insert a bookable staff member with weekly hours (default ``WEEKDAY_HOURS``)."""
    staff = Staff(name=name, title=title, colour=colour, email=email)
    await scope.insert(staff)
    intervals = [
        WorkingHours(
            staff_id=staff.id, weekday=weekday, start_minute=start, end_minute=end
        )
        for weekday, spans in sorted((hours or WEEKDAY_HOURS).items())
        for start, end in spans
    ]
    await scope.insert(*intervals)
    return str(staff.id)


async def add_service(
    scope: TenantScope,
    name: str,
    *,
    duration_minutes: int,
    price: int,
    providers: Iterable[str] = (),
    category: str = "",
    description: str = "",
    tax_rate: str = "0",
    rebook_interval_days: int | None = None,
    processing_after_minutes: int | None = None,
    processing_minutes: int = 0,
    kind: str = "appointment",
    capacity: int = 1,
) -> str:
    """Insert a service (``price`` in minor units) and the staff who provide it."""
    service = Service(
        name=name,
        category=category,
        description=description,
        duration_minutes=duration_minutes,
        price=price,
        tax_rate=tax_rate,
        rebook_interval_days=rebook_interval_days,
        processing_after_minutes=processing_after_minutes,
        processing_minutes=processing_minutes,
        kind=kind,
        capacity=capacity,
    )
    await scope.insert(service)
    links = [
        ServiceProvider(service_id=service.id, staff_id=uuid.UUID(staff_id))
        for staff_id in providers
    ]
    await scope.insert(*links)
    return str(service.id)


async def add_product(
    scope: TenantScope,
    name: str,
    *,
    price: int,
    sku: str = "",
    stock: int = 20,
    tax_rate: str = "0",
) -> str:
    """Insert a retail product (``price`` in minor units)."""
    product = Product(name=name, sku=sku, price=price, stock=stock, tax_rate=tax_rate)
    await scope.insert(product)
    return str(product.id)


async def add_client(
    scope: TenantScope,
    first_name: str,
    last_name: str,
    *,
    email: str = "",
    phone: str = "",
    preferences: str = "",
    notes: str = "",
    completed_visits: int = 0,
    client_for_days: int = 200,
) -> str:
    """Insert a client who first came ``client_for_days`` days ago."""
    client = Client(
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        preferences=preferences,
        notes=notes,
        completed_visits=completed_visits,
        created_at=utcnow() - timedelta(days=client_for_days),
    )
    await scope.insert(client)
    return str(client.id)
