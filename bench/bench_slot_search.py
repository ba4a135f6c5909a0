"""Benchmark: free-slot search for one service across four providers for one day.

Each measured call is what ``GET /availability`` does in process: load the
service, its providers, their hours and the day's appointments from the
database, then compute the slots. The script seeds a spa with a year of
appointments first, so the queries run against a realistic table.

    .venv/bin/python bench/bench_slot_search.py
    .venv/bin/python bench/bench_slot_search.py --database-url postgresql://postgres@127.0.0.1:5432/bench

With ``--database-url`` the database must exist and be empty; by default a
temporary SQLite file is used and removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tillbook.config import Settings, set_settings
from tillbook.db import start, stop, write_transaction
from tillbook.db.migrate import migrate
from tillbook.kernel.catalog.tables import Service, ServiceProvider
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.availability import WorkingInterval
from tillbook.kernel.schedule.search import (
    STAFF_MIN_NOTICE,
    find_slots,
    load_service_day,
)
from tillbook.kernel.schedule.staff import create_staff, set_weekly_hours
from tillbook.kernel.schedule.tables import Appointment
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import SignupRequest, sign_up

PROVIDERS = ("Ava", "Ben", "Cleo", "Dana")
SERVICES = (("Signature Facial", 60), ("Back Massage", 30), ("Hot Stone", 90))
HISTORY_DAYS = 365
CLIENTS = 2000
TENANTS = 3  # other tenants' rows share the tables, as in production


async def seed_spa(rng: random.Random) -> tuple[TenantScope, uuid.UUID, date]:
    """Create a spa with four providers and a year of bookings; return the
    scope, the facial's id and a busy day to search."""
    scope, _ = await sign_up(
        SignupRequest(
            business_name="Bench Spa",
            slug=f"bench-{secrets.token_hex(4)}",
            email=f"owner-{secrets.token_hex(4)}@example.com",
            password=secrets.token_urlsafe(16),
        )
    )
    staff_ids = []
    for name in PROVIDERS:
        row = await create_staff(scope, {"name": name}, actor_id=None)
        staff_ids.append(uuid.UUID(row["id"]))
        hours = [WorkingInterval(day, 9 * 60, 18 * 60) for day in range(6)]
        await set_weekly_hours(scope, row["id"], hours, actor_id=None)
    services = [
        Service(name=name, duration_minutes=minutes, price=5000)
        for name, minutes in SERVICES
    ]
    await scope.insert(*services)
    await scope.insert(
        *[
            ServiceProvider(service_id=service.id, staff_id=staff_id)
            for service in services
            for staff_id in staff_ids
        ]
    )
    clients = [
        Client(
            first_name=f"Client{index}",
            last_name="Bench",
            email=f"client{index}@example.com",
            created_at=datetime.now(UTC),
        )
        for index in range(CLIENTS)
    ]
    await scope.insert(*clients)

    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=HISTORY_DAYS - 30)
    rows = []
    for offset in range(HISTORY_DAYS):
        day = first_day + timedelta(days=offset)
        if day.weekday() == 6:
            continue
        for staff_id in staff_ids:
            rows.extend(_day_of_bookings(rng, day, staff_id, services, clients, scope))
    async with write_transaction():
        for index in range(0, len(rows), 500):
            await scope.insert(*rows[index : index + 500])
    busy_day = today + timedelta(days=(7 - today.weekday()) % 7 + 1)
    return scope, services[0].id, busy_day


def _day_of_bookings(
    rng: random.Random,
    day: date,
    staff_id: uuid.UUID,
    services: list[Service],
    clients: list[Client],
    scope: TenantScope,
) -> list[Appointment]:
    zone = scope.tenant.zone
    minute = 9 * 60
    rows = []
    while minute < 17 * 60:
        service = rng.choice(services)
        minute += rng.choice((0, 0, 15, 30, 60))
        start = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(
            minutes=minute
        )
        end = start + timedelta(minutes=service.duration_minutes)
        rows.append(
            Appointment(
                client_id=rng.choice(clients).id,
                service_id=service.id,
                staff_id=staff_id,
                start_at=start.astimezone(UTC),
                end_at=end.astimezone(UTC),
                status=rng.choice(("completed", "completed", "booked", "cancelled")),
                price=service.price,
                cancel_token=secrets.token_urlsafe(24),
                created_at=start.astimezone(UTC),
            )
        )
        minute += service.duration_minutes
    return rows


async def measure(runs: int, database_url: str) -> None:
    set_settings(Settings(database_url=database_url))
    await migrate(database_url)
    await start(database_url)
    try:
        rng = random.Random(7)
        for _ in range(TENANTS - 1):
            await seed_spa(rng)
        scope, service_id, day = await seed_spa(rng)
        for _ in range(10):
            await find_slots(
                scope, service_id=service_id, day=day, min_notice=STAFF_MIN_NOTICE
            )
        timings = []
        slots = []
        for _ in range(runs):
            began = time.perf_counter()
            slots = await find_slots(
                scope, service_id=service_id, day=day, min_notice=STAFF_MIN_NOTICE
            )
            timings.append((time.perf_counter() - began) * 1000)
        # The same search without the database: computing and labelling only.
        loaded = await load_service_day(scope, service_id, day)
        compute = []
        for _ in range(runs):
            began = time.perf_counter()
            now = datetime.now(UTC)
            loaded.offer(
                loaded.slots(now=now, min_notice=STAFF_MIN_NOTICE), any_provider=True
            )
            compute.append((time.perf_counter() - began) * 1000)
    finally:
        await stop()
    engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(f"slot search, {len(PROVIDERS)} providers, {day.isoformat()}, {engine}")
    print(f"  {len(slots)} slots offered; {runs} runs; load average {_load()}")
    _report("with database load", timings)
    _report("computation only", compute)


def _report(label: str, timings: list[float]) -> None:
    timings = sorted(timings)
    print(
        f"  {label}: median {statistics.median(timings):.2f} ms, "
        f"p90 {timings[int(len(timings) * 0.9)]:.2f} ms, min {timings[0]:.2f} ms"
    )


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="measured searches")
    parser.add_argument(
        "--database-url",
        help="an empty database to seed (default: a temporary SQLite file)",
    )
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(measure(args.runs, args.database_url))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        asyncio.run(measure(args.runs, f"sqlite:///{path}"))


if __name__ == "__main__":
    main()
