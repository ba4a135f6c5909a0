"""Benchmark: slot search for one service over 1, 7 and 14 days, for 1, 5, 20
and 50 providers, with 5,000 existing bookings.

Seeds one spa in an empty database: 50 providers working 09:00-18:00 Monday
to Saturday with a 30-minute lunch break, four 60-minute services performed
by the first 1, 5, 20 and 50 of them, and 5,000 booked appointments (with
their holds) spread over 60 days around the searched fortnight. Then it
measures, per provider count and number of days:

- in process: ``search_slots`` as ``GET /availability`` calls it (load
  everything from the database, compute, label, pick "any provider");
- computation only: the "any provider" search on data loaded once, with
  labelling, and the pure search of every provider's slots;
- a naive scan of the same loaded data that tests every minute of every
  candidate slot against sets of busy and working minutes;
- through HTTP: ``GET /availability`` with ``last_date`` on a ``tillbook
  serve`` process on 127.0.0.1, 14 days only.

    createdb -h 127.0.0.1 -U postgres tb_slots
    .venv/bin/python bench/bench_slot_search.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/tb_slots

Without ``--database-url`` a temporary SQLite file is used and the HTTP
part is skipped. The database must be empty (or hold only earlier runs'
tenants: each run adds its own).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tillbook.config import Settings, set_settings
from tillbook.db import start as start_database
from tillbook.db import stop, write_transaction
from tillbook.db.migrate import migrate
from tillbook.kernel.catalog.tables import Service, ServiceProvider
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.availability import (
    Slot,
    WorkingInterval,
    wall_instants,
    wall_to_instant,
)
from tillbook.kernel.schedule.search import ServiceSearch, load_search, search_slots
from tillbook.kernel.schedule.staff import create_staff, set_weekly_hours
from tillbook.kernel.schedule.tables import Appointment, Hold, StaffBreak
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import SignupRequest, sign_up

PROVIDER_COUNTS = (1, 5, 20, 50)
DAY_COUNTS = (1, 7, 14)
BOOKINGS = 5000
BOOKED_DAYS = 60
CLIENTS = 1000
DURATION = 60
ROOT = Path(__file__).resolve().parent.parent


async def seed(rng: random.Random) -> tuple[TenantScope, dict[int, uuid.UUID], date]:
    """Create the spa; return its scope, the service per provider count and
    the first searched date (a Monday at least two days ahead)."""
    scope, _ = await sign_up(
        SignupRequest(
            business_name="Bench Slots",
            slug=f"slots-{secrets.token_hex(4)}",
            email=f"owner-{secrets.token_hex(4)}@example.com",
            password=secrets.token_urlsafe(16),
        )
    )
    hours = [WorkingInterval(day, 9 * 60, 18 * 60) for day in range(6)]
    staff_ids = []
    for index in range(max(PROVIDER_COUNTS)):
        row = await create_staff(
            scope, {"name": f"Provider {index:02d}"}, actor_id=None
        )
        staff_ids.append(uuid.UUID(row["id"]))
        await set_weekly_hours(scope, row["id"], hours, actor_id=None)
    await scope.insert(
        *[
            StaffBreak(staff_id=staff_id, weekday=day, start_minute=780, end_minute=810)
            for staff_id in staff_ids
            for day in range(6)
        ]
    )
    services = {
        count: Service(name=f"Facial ({count})", duration_minutes=DURATION, price=5000)
        for count in PROVIDER_COUNTS
    }
    await scope.insert(*services.values())
    await scope.insert(
        *[
            ServiceProvider(service_id=service.id, staff_id=staff_id)
            for count, service in services.items()
            for staff_id in staff_ids[:count]
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
    today = datetime.now(UTC).astimezone(scope.tenant.zone).date()
    first = today + timedelta(days=2)
    first += timedelta(days=(7 - first.weekday()) % 7)
    await _book(scope, rng, staff_ids, services[1].id, clients, first)
    return scope, {count: service.id for count, service in services.items()}, first


async def _book(
    scope: TenantScope,
    rng: random.Random,
    staff_ids: list[uuid.UUID],
    service_id: uuid.UUID,
    clients: list[Client],
    first: date,
) -> None:
    zone = scope.tenant.zone
    taken: set[tuple[uuid.UUID, date, int]] = set()
    appointments: list[Appointment] = []
    holds: list[Hold] = []
    while len(appointments) < BOOKINGS:
        staff_id = rng.choice(staff_ids)
        day = first + timedelta(days=rng.randrange(-BOOKED_DAYS // 2, BOOKED_DAYS // 2))
        if day.weekday() == 6:
            continue
        hour = rng.choice([9, 10, 11, 12, 14, 15, 16, 17])
        if (staff_id, day, hour) in taken:
            continue
        taken.add((staff_id, day, hour))
        start = wall_to_instant(day, hour * 60, zone)
        end = start + timedelta(minutes=DURATION)
        appointment = Appointment(
            client_id=rng.choice(clients).id,
            service_id=service_id,
            staff_id=staff_id,
            start_at=start,
            end_at=end,
            status="booked",
            price=5000,
            cancel_token=secrets.token_urlsafe(24),
            created_at=start,
        )
        appointments.append(appointment)
        holds.append(
            Hold(
                appointment_id=appointment.id,
                staff_id=staff_id,
                start_at=start,
                end_at=end,
            )
        )
    async with write_transaction():
        for index in range(0, BOOKINGS, 500):
            await scope.insert(*appointments[index : index + 500])
            await scope.insert(*holds[index : index + 500])


def naive_slots(search: ServiceSearch, now: datetime) -> list[Slot]:
    """Find free slots by testing every minute of every candidate slot.

    It applies the search's rules for this benchmark's data: working hours,
    breaks, time off, holds and notice, but no buffers, gaps or resources.
    Busy and working time are sets of whole minutes, not sorted intervals.
    """
    rules = search.rules("online")
    earliest = now + rules.min_notice
    zone = search.zone
    days = [
        search.first_day + timedelta(days=offset)
        for offset in range((search.last_day - search.first_day).days + 1)
    ]
    around = [days[0] - timedelta(days=1), *days, days[-1] + timedelta(days=1)]
    slots = []
    for person in search.providers:
        calendar = search.calendars[person["id"]]
        length = search.timing(person["id"]).duration_minutes
        working = _minutes(_wall_spans(calendar.weekly, around, zone))
        busy = _minutes(
            [
                *_wall_spans(calendar.breaks, around, zone),
                *calendar.holds,
                *calendar.time_off,
            ]
        )
        for day in days:
            for minute in range(0, 24 * 60, rules.granularity_minutes):
                for start in wall_instants(day, minute, zone):
                    if start < earliest:
                        continue
                    first = int(start.timestamp()) // 60
                    span = range(first, first + length)
                    if all(m in working and m not in busy for m in span):
                        slots.append(
                            Slot(start, start + timedelta(minutes=length), person["id"])
                        )
                        break
    return slots


def _wall_spans(
    intervals: Any, days: list[date], zone: Any
) -> list[tuple[datetime, datetime]]:
    spans = []
    for day in days:
        for item in intervals:
            if item.weekday == day.weekday():
                spans.append(
                    (
                        wall_to_instant(day, item.start_minute, zone),
                        wall_to_instant(day, item.end_minute, zone),
                    )
                )
    return spans


def _minutes(spans: list[tuple[datetime, datetime]]) -> set[int]:
    result: set[int] = set()
    for start, end in spans:
        result.update(range(int(start.timestamp()) // 60, int(end.timestamp()) // 60))
    return result


async def _median(runs: int, call: Callable[[], Awaitable[Any]]) -> float:
    for _ in range(3):
        await call()
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def _sync_median(runs: int, call: Callable[[], Any]) -> float:
    for _ in range(3):
        call()
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


async def measure(runs: int, database_url: str) -> None:
    set_settings(Settings(database_url=database_url))
    await migrate(database_url)
    await start_database(database_url)
    print(f"load average before: {_load()}")
    try:
        scope, services, first = await seed(random.Random(7))
        rows = []
        for count in PROVIDER_COUNTS:
            for days in DAY_COUNTS:
                last = first + timedelta(days=days - 1)
                service_id = services[count]

                async def full(
                    service_id: uuid.UUID = service_id, last: date = last
                ) -> Any:
                    return await search_slots(
                        scope, service_id=service_id, first_day=first, last_day=last
                    )

                in_process = await _median(runs, full)
                loaded = await load_search(scope, service_id, first, last)
                now = datetime.now(UTC)

                async def compute(
                    loaded: ServiceSearch = loaded, now: datetime = now
                ) -> Any:
                    slots = loaded.any_provider_slots(now=now)
                    return loaded.label(slots, any_provider=True)

                computed = await _median(runs, compute)

                def every_provider(
                    loaded: ServiceSearch = loaded, now: datetime = now
                ) -> list[Slot]:
                    return loaded.slots(now=now)

                def naive_scan(
                    loaded: ServiceSearch = loaded, now: datetime = now
                ) -> list[Slot]:
                    return naive_slots(loaded, now)

                pure = _sync_median(runs, every_provider)
                naive = _sync_median(max(3, runs // 10), naive_scan)
                fast = every_provider()
                slow = naive_scan()
                assert {(s.start, s.staff_id) for s in fast} == {
                    (s.start, s.staff_id) for s in slow
                }, "the naive scan and the search disagree"
                rows.append((count, days, len(fast), in_process, computed, pure, naive))
                print(
                    f"{count:>2} providers x {days:>2} days: {len(fast):>5} slots, "
                    f"in process {in_process:7.2f} ms, "
                    f"any provider {computed:7.2f} ms, "
                    f"every provider {pure:7.2f} ms, naive {naive:8.2f} ms",
                    flush=True,
                )
        slug = scope.tenant.slug
    finally:
        await stop()
    http = {}
    if database_url.startswith("postgres"):
        http = _measure_http(runs, database_url, slug, services, first)
    print(f"load average after: {_load()}")
    _table(rows, http)


def _measure_http(
    runs: int,
    database_url: str,
    slug: str,
    services: dict[int, uuid.UUID],
    first: date,
) -> dict[int, float]:
    """Start ``tillbook serve`` on a free local port and time GET /availability."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "TILLBOOK_DATABASE_URL": database_url,
        "TILLBOOK_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    # The command is this interpreter and fixed arguments, not outside input.
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "tillbook.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = {}
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as http:
            _wait_until_up(http)
            last = first + timedelta(days=13)
            for count in PROVIDER_COUNTS:
                params = {
                    "service_id": str(services[count]),
                    "date": first.isoformat(),
                    "last_date": last.isoformat(),
                }
                path = f"/t/{slug}/api/v1/availability"

                def call(params: dict[str, str] = params, path: str = path) -> None:
                    response = http.get(path, params=params)
                    response.raise_for_status()

                results[count] = _sync_median(runs, call)
                print(
                    f"HTTP {count:>2} providers x 14 days: {results[count]:.2f} ms",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def _wait_until_up(http: httpx.Client) -> None:
    for _ in range(600):
        try:
            http.get("/")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("tillbook serve did not start within 60 seconds")


def _table(
    rows: list[tuple[int, int, int, float, float, float, float]],
    http: dict[int, float],
) -> None:
    print()
    print(
        "| providers | days | slots | in process | any provider, compute only "
        "| every provider, compute only | naive scan | naive / every provider "
        "| HTTP |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for count, days, slots, in_process, computed, pure, naive in rows:
        over_http = f"{http[count]:.2f} ms" if days == 14 and count in http else "—"
        print(
            f"| {count} | {days} | {slots} | {in_process:.2f} ms | {computed:.2f} ms "
            f"| {pure:.2f} ms | {naive:.2f} ms | {naive / pure:.0f}x | {over_http} |"
        )


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=50, help="measured searches per case"
    )
    parser.add_argument(
        "--database-url",
        help="a database to seed (default: a temporary SQLite file, no HTTP part)",
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
