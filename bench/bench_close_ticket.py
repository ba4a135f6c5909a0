"""Benchmark: closing a five-line ticket paid with three tenders, in process.

Each measured call is ``close_ticket`` as ``POST /tickets/{id}/close`` runs
it, without HTTP. It claims the idempotency key and validates the tenders
against the database. Then one write transaction redeems a package session
and part of a gift card, takes cash with change, and decrements stock for
three products, one of which the first service also consumes. The same
transaction posts the journal entry and writes tenders, a tip, history,
audit and the ``ticket.closed`` event. The five lines are two services and
three products.
Opening each ticket and adding its lines happens before the clock starts.

    .venv/bin/python bench/bench_close_ticket.py
    .venv/bin/python bench/bench_close_ticket.py --database-url postgresql://postgres@127.0.0.1:5432/bench

With ``--database-url`` the database must exist; the script brings its
schema up to date and adds a tenant of its own. By default a temporary
SQLite file is used and removed afterwards.

``--count-statements`` (PostgreSQL only) also counts the round trips of
each measured close by wrapping asyncpg's ``Connection`` methods, and
prints the statements of the last close.
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


class StatementCounter:
    """Records each asyncpg round trip while ``active`` is true.

    ``Connection.reset`` (run when a pooled connection goes back to the pool)
    counts as one round trip, and the statement it sends is not counted
    again.
    """

    def __init__(self) -> None:
        self.active = False
        self.statements: list[str] = []
        self._inside_reset = False

    def install(self) -> None:
        import asyncpg

        connection = asyncpg.connection.Connection
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            setattr(connection, name, self._wrap(getattr(connection, name)))
        original_reset = connection.reset
        counter = self

        async def reset(self: Any, *args: Any, **kwargs: Any) -> Any:
            counter._record("(pool reset)")
            counter._inside_reset = True
            try:
                return await original_reset(self, *args, **kwargs)
            finally:
                counter._inside_reset = False

        connection.reset = reset

    def _record(self, query: str) -> None:
        if self.active and not self._inside_reset:
            self.statements.append(" ".join(query.split())[:100])

    def _wrap(self, method: Any) -> Any:
        counter = self

        async def wrapped(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            counter._record(str(query))
            return await method(self, query, *args, **kwargs)

        return wrapped


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
    brows = Service(name="Brow tidy", duration_minutes=15, price=1500, tax_rate="20")
    await scope.insert(brows)
    serum = Product(name="Serum", price=2500, tax_rate="20", stock=10**6)
    cleanser = Product(name="Cleanser", price=1800, tax_rate="20", stock=10**6)
    mask = Product(name="Mask", price=1200, tax_rate="20", stock=10**6)
    await scope.insert(serum, cleanser, mask)
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
        "brows": brows.id,
        "mask": mask.id,
    }
    return scope, ids


async def prepare_ticket(scope: TenantScope, ids: dict[str, Any]) -> uuid.UUID:
    """Open a ticket for the client with two services and three products."""
    ticket_id = await open_walk_in_ticket(scope, client_id=ids["client"], actor_id=None)
    lines: list[dict[str, Any]] = [
        {
            "kind": "service",
            "service_id": str(ids["facial"]),
            "staff_id": str(ids["staff"]),
        },
        {
            "kind": "service",
            "service_id": str(ids["brows"]),
            "staff_id": str(ids["staff"]),
        },
        {"kind": "product", "product_id": str(ids["serum"]), "quantity": 1},
        {"kind": "product", "product_id": str(ids["cleanser"]), "quantity": 1},
        {"kind": "product", "product_id": str(ids["mask"]), "quantity": 2},
    ]
    for line in lines:
        await add_line(scope, ticket_id, line, None)
    return ticket_id


async def measure(
    rounds: int, warmup: int, counter: StatementCounter | None = None
) -> list[float]:
    """Close ``warmup + rounds`` tickets; return the last ``rounds`` durations.

    With a ``counter``, the counter then contains the statements of the last close.
    """
    scope, ids = await seed()
    hooks = TenantHooks(set(), {})
    # With 20% tax added: facial 72.00 (paid by the package), brows 18.00,
    # serum 30.00, cleanser 21.60 and two masks 28.80, plus a 5.00 tip:
    # 103.40 after the package. 60.00 from the gift card leaves 43.40, paid
    # with 50.00 cash and 6.60 change.
    tenders = [
        {"kind": "package"},
        {"kind": "gift_card", "code": GIFT_CODE, "amount": 6000},
        {"kind": "cash", "amount": 5000},
    ]
    tips = [{"staff_id": str(ids["staff"]), "amount": 500}]
    durations = []
    for index in range(warmup + rounds):
        ticket_id = await prepare_ticket(scope, ids)
        if counter is not None:
            counter.statements.clear()
            counter.active = True
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
        if counter is not None:
            # The pool resets the idempotency claim's connection in the
            # background; let that finish so it is counted with this close.
            await asyncio.sleep(0.01)
            counter.active = False
        if index >= warmup:
            durations.append(elapsed)
    return durations


async def run(
    url: str, rounds: int, warmup: int, counter: StatementCounter | None = None
) -> list[float]:
    set_settings(Settings(database_url=url))
    await migrate(url)
    await start(url)
    try:
        return await measure(rounds, warmup, counter)
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
    parser.add_argument(
        "--count-statements",
        action="store_true",
        help="count the PostgreSQL round trips of each close and list the last",
    )
    args = parser.parse_args()
    counter = None
    if args.count_statements:
        if not (args.database_url or "").startswith("postgres"):
            parser.error("--count-statements needs a PostgreSQL --database-url")
        counter = StatementCounter()
        counter.install()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        durations = asyncio.run(run(url, args.rounds, args.warmup, counter))
    milliseconds = sorted(duration * 1000 for duration in durations)
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"close_ticket, 5 lines and 3 tenders, {database}, {len(milliseconds)} closes"
    )
    print(f"median {statistics.median(milliseconds):.2f} ms")
    print(f"p90    {milliseconds[int(len(milliseconds) * 0.9)]:.2f} ms")
    print(f"max    {milliseconds[-1]:.2f} ms")
    if counter is not None:
        print(f"round trips of the last close: {len(counter.statements)}")
        for statement in counter.statements:
            print(f"  {statement}")


if __name__ == "__main__":
    main()
