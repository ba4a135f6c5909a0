"""Benchmark: closing a three-line ticket paid with three tenders, in process.

Each measured call is ``close_ticket`` as ``POST /tickets/{id}/close`` runs
it, without HTTP. It claims the idempotency key and validates the tenders
against the database. Then one write transaction redeems a package session
and part of a gift card, takes cash with change, and decrements stock for two
products, one of which the service also consumes. The same transaction posts
the journal entry and writes tenders, a tip, history, audit and the
``ticket.closed`` event.
Opening each ticket and adding its lines happens before the clock starts.

    .venv/bin/python bench/bench_close_ticket.py
    .venv/bin/python bench/bench_close_ticket.py --database-url postgresql://postgres@127.0.0.1:5432/bench

With ``--database-url`` the database must exist; the script brings its
schema up to date and adds a tenant of its own. By default a temporary
SQLite file is used and removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from tillbook.config import Settings, set_settings
from tillbook.db import start, stop
from tillbook.db.base import utcnow
from tillbook.db.migrate import migrate
from tillbook.kernel.catalog.tables import (
    ClientPackage,
    GiftCard,
    Product,
    Service,
    ServiceProduct,
)
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.checkout import close_ticket
from tillbook.kernel.ledger.tickets import add_line, open_walk_in_ticket
from tillbook.kernel.schedule.tables import Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import SignupRequest, sign_up

GIFT_CODE = "BENCH2345ABCDEFG"


async def seed() -> tuple[TenantScope, dict[str, Any]]:
    """Create a spa with a service, two products, a client, a package and a card."""
    scope, _ = await sign_up(
        SignupRequest(
            business_name="Bench Spa",
            slug=f"bench-{secrets.token_hex(4)}",
            email=f"owner-{secrets.token_hex(4)}@example.com",
            password=secrets.token_urlsafe(16),
        )
    )
    now = utcnow()
    staff = Staff(name="Amira")
    facial = Service(name="Facial", duration_minutes=60, price=6000, tax_rate="20")
    client = Client(first_name="Ada", last_name="Lovelace", created_at=now)
    await scope.insert(staff)
    await scope.insert(facial)
    await scope.insert(client)
    serum = Product(name="Serum", price=2500, tax_rate="20", stock=10**6)
    cleanser = Product(name="Cleanser", price=1800, tax_rate="20", stock=10**6)
    await scope.insert(serum, cleanser)
    await scope.insert(
        ServiceProduct(service_id=facial.id, product_id=cleanser.id, link="consumes")
    )
    await scope.insert(
        ClientPackage(
            client_id=client.id,
            plan_id=uuid.uuid4(),
            service_id=facial.id,
            sessions_total=10**6,
            sessions_left=10**6,
            unit_value=5500,
            expires_at=now + timedelta(days=365),
            sold_at=now,
        )
    )
    await scope.insert(
        GiftCard(code=GIFT_CODE, initial_amount=10**9, balance=10**9, issued_at=now)
    )
    ids = {
        "staff": staff.id,
        "facial": facial.id,
        "client": client.id,
        "serum": serum.id,
        "cleanser": cleanser.id,
    }
    return scope, ids


async def prepare_ticket(scope: TenantScope, ids: dict[str, Any]) -> uuid.UUID:
    """Open a ticket for the client with a facial and two products."""
    ticket_id = await open_walk_in_ticket(scope, client_id=ids["client"], actor_id=None)
    lines: list[dict[str, Any]] = [
        {
            "kind": "service",
            "service_id": str(ids["facial"]),
            "staff_id": str(ids["staff"]),
        },
        {"kind": "product", "product_id": str(ids["serum"]), "quantity": 1},
        {"kind": "product", "product_id": str(ids["cleanser"]), "quantity": 1},
    ]
    for line in lines:
        await add_line(scope, ticket_id, line, None)
    return ticket_id


async def measure(rounds: int, warmup: int) -> list[float]:
    """Close ``warmup + rounds`` tickets; return the last ``rounds`` durations."""
    scope, ids = await seed()
    hooks = TenantHooks(set(), {})
    # With 20% tax added: facial 72.00 (paid by the package), serum 30.00 and
    # cleanser 21.60, plus a 5.00 tip; 30.00 from the gift card leaves 26.60,
    # paid with 30.00 cash and 3.40 change.
    tenders = [
        {"kind": "package"},
        {"kind": "gift_card", "code": GIFT_CODE, "amount": 3000},
        {"kind": "cash", "amount": 3000},
    ]
    tips = [{"staff_id": str(ids["staff"]), "amount": 500}]
    durations = []
    for index in range(warmup + rounds):
        ticket_id = await prepare_ticket(scope, ids)
        started = time.perf_counter()
        await close_ticket(
            scope,
            ticket_id,
            tenders=tenders,
            tips=tips,
            actor_id=None,
            idempotency_key=f"bench-{ticket_id}",
            hooks=hooks,
        )
        elapsed = time.perf_counter() - started
        if index >= warmup:
            durations.append(elapsed)
    return durations


async def run(url: str, rounds: int, warmup: int) -> list[float]:
    set_settings(Settings(database_url=url))
    await migrate(url)
    await start(url)
    try:
        return await measure(rounds, warmup)
    finally:
        await stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="PostgreSQL or SQLite URL; a temporary SQLite file if omitted",
    )
    parser.add_argument("--rounds", type=int, default=200, help="measured closes")
    parser.add_argument(
        "--warmup", type=int, default=20, help="closes before measuring"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        durations = asyncio.run(run(url, args.rounds, args.warmup))
    milliseconds = sorted(duration * 1000 for duration in durations)
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"close_ticket, 3 lines and 3 tenders, {database}, {len(milliseconds)} closes"
    )
    print(f"median {statistics.median(milliseconds):.2f} ms")
    print(f"p90    {milliseconds[int(len(milliseconds) * 0.9)]:.2f} ms")
    print(f"max    {milliseconds[-1]:.2f} ms")


if __name__ == "__main__":
    main()
