"""Benchmark: ticket closes per second through HTTP with 8 concurrent clients.

The script seeds a spa in the given PostgreSQL database (the same five-line,
three-tender ticket as ``bench_close_ticket.py``). Each HTTP client serves
its own customer with her own package and gift card, as at a real front
desk, so the clients do not queue on one card's row lock. The tickets are
opened before the clock starts. The script then starts ``tillbook serve``
(one uvicorn process) on 127.0.0.1 and sends ``POST /tickets/{id}/close``
from ``--clients`` concurrent HTTP clients until every ticket is closed.
It prints closes per second and the median and p90 latency of one close.

    .venv/bin/python bench/bench_close_ticket_http.py --database-url postgresql://postgres@127.0.0.1:5432/tb_bench

The database must exist; the script migrates it and adds its own tenant.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from bench_close_ticket import prepare_ticket, seed

from tillbook.config import Settings, set_settings
from tillbook.db import start, stop
from tillbook.db.base import utcnow
from tillbook.db.migrate import migrate
from tillbook.kernel.catalog.giftcards import new_code
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard
from tillbook.kernel.clients.tables import Client
from tillbook.tenancy.accounts import create_api_token
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tables import Membership

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


async def add_customer(
    scope: TenantScope, ids: dict[str, Any], index: int
) -> tuple[dict[str, Any], str]:
    """Add a client with a package and a gift card; return her ids and card code."""
    now = utcnow()
    client = Client(first_name="Guest", last_name=str(index), created_at=now)
    await scope.insert(client)
    await scope.insert(
        ClientPackage(
            client_id=client.id,
            plan_id=uuid.uuid4(),
            service_id=ids["facial"],
            sessions_total=10**6,
            sessions_left=10**6,
            unit_value=5500,
            expires_at=now + timedelta(days=365),
            sold_at=now,
        )
    )
    code = new_code()
    await scope.insert(
        GiftCard(code=code, initial_amount=10**9, balance=10**9, issued_at=now)
    )
    return {**ids, "client": client.id}, code


async def prepare(
    url: str, tickets: int, clients: int
) -> tuple[str, str, list[list[tuple[uuid.UUID, str]]], str]:
    """Seed the spa and open the tickets of each HTTP client.

    Returns the slug, an API token, per client the (ticket id, gift card code)
    pairs, and the provider's id.
    """
    set_settings(Settings(database_url=url))
    await migrate(url)
    await start(url)
    try:
        scope, ids = await seed()
        owner = await scope.select(Membership).first()
        token, _ = await create_api_token(scope, owner["account_id"], "bench")
        queues: list[list[tuple[uuid.UUID, str]]] = []
        for index in range(clients):
            customer, code = await add_customer(scope, ids, index)
            queues.append(
                [
                    (await prepare_ticket(scope, customer), code)
                    for _ in range(tickets // clients)
                ]
            )
        return scope.tenant.slug, token, queues, str(ids["staff"])
    finally:
        await stop()


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    environ = {**os.environ, "TILLBOOK_DATABASE_URL": url}
    environ.pop("TILLBOOK_REDIS_URL", None)
    command = [
        str(Path(sys.executable).with_name("tillbook")),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    return subprocess.Popen(  # noqa: S603 - a fixed command on 127.0.0.1
        command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def wait_until_up(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(f"{base}/signup")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"the server at {base} did not start within 20 seconds")


async def run_clients(
    base: str,
    slug: str,
    token: str,
    queues: list[list[tuple[uuid.UUID, str]]],
    staff: str,
) -> tuple[float, list[float]]:
    """Close every ticket, one worker per queue; return seconds and latencies."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(queue: list[tuple[uuid.UUID, str]]) -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers) as client:
            for ticket_id, code in queue:
                body: dict[str, Any] = {
                    "tenders": [
                        {"kind": "package"},
                        {"kind": "gift_card", "code": code, "amount": 6000},
                        {"kind": "cash", "amount": 5000},
                    ],
                    "tips": [{"staff_id": staff, "amount": 500}],
                }
                started = time.perf_counter()
                response = await client.post(
                    f"/t/{slug}/api/v1/tickets/{ticket_id}/close",
                    json=body,
                    headers={"Idempotency-Key": f"bench-{ticket_id}"},
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"close failed: {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(queue) for queue in queues))
    return time.perf_counter() - started, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL URL")
    parser.add_argument("--tickets", type=int, default=400, help="tickets to close")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    args = parser.parse_args()
    slug, token, queues, staff = asyncio.run(
        prepare(args.database_url, args.tickets, args.clients)
    )
    closes = sum(len(queue) for queue in queues)
    port = free_port()
    server = start_server(args.database_url, port)
    base = f"http://{HOST}:{port}"
    try:
        asyncio.run(wait_until_up(base))
        seconds, latencies = asyncio.run(run_clients(base, slug, token, queues, staff))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    milliseconds = sorted(latency * 1000 for latency in latencies)
    print(
        f"{closes} closes from {args.clients} clients over HTTP in "
        f"{seconds:.2f} s: {closes / seconds:.1f} closes per second"
    )
    print(f"latency median {statistics.median(milliseconds):.2f} ms")
    print(f"latency p90    {milliseconds[int(len(milliseconds) * 0.9)]:.2f} ms")


if __name__ == "__main__":
    main()
