"""The ``tillbook`` command run as a process: migrate, serve, demo and worker."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DATABASE

# Deadlines for a child process to start or stop on a loaded machine. They
# bound the waiting and are not performance checks.
START_SECONDS = 90
STOP_SECONDS = 30


def command_env(**overrides: str) -> dict[str, str]:
    """Return this environment without TILLBOOK_* variables, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILLBOOK_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def tillbook(*args: str, env: dict[str, str], timeout: float = 300) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "tillbook.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A migrated SQLite database and a ``tillbook serve`` process on it."""
    env = command_env(
        TILLBOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        TILLBOOK_SECRET_KEY="s" * 40,
    )
    migrated = tillbook("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tillbook.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield {"process": process, "port": port, "log": log_path}
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(STOP_SECONDS)


def wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "tillbook serve exited early"
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/static/app.css", timeout=2)
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"tillbook serve did not answer on port {port}")


def test_serve_answers_and_stops(server: dict[str, Any]) -> None:
    process = server["process"]
    port = server["port"]
    wait_until_serving(port, process)

    missing = httpx.get(f"http://127.0.0.1:{port}/t/no-such-spa/book", timeout=10)
    process.send_signal(signal.SIGTERM)
    status = process.wait(STOP_SECONDS)
    log = server["log"].read_text()

    assert missing.status_code == 404
    # uvicorn shuts down gracefully, then re-raises SIGTERM to end the process.
    assert status in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in log
    assert f"serving Tillbook on http://127.0.0.1:{port}" in log
    assert "s" * 40 not in log


def test_migrate_twice_is_harmless(tmp_path: Path) -> None:
    env = command_env(TILLBOOK_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    first = tillbook("migrate", env=env)
    second = tillbook("migrate", env=env)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    tables = sqlite3.connect(tmp_path / "db.sqlite3").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    assert {"tenant", "posting", "mail_message"} <= {row[0] for row in tables}


def test_bad_database_url_exits_2() -> None:
    result = tillbook("migrate", env=command_env(TILLBOOK_DATABASE_URL="mysql://x/y"))

    assert result.returncode == 2
    assert "TILLBOOK_DATABASE_URL" in result.stderr


def test_worker_without_redis_exits_2() -> None:
    result = tillbook("worker", env=command_env())

    assert result.returncode == 2
    assert "TILLBOOK_REDIS_URL is not set" in result.stderr


def _count(database: Path, table: str, slug: str = "juniper") -> int:
    connection = sqlite3.connect(database)
    try:
        (tenant_id,) = connection.execute(
            "SELECT id FROM tenant WHERE slug = ?", (slug,)
        ).fetchone()
        (count,) = connection.execute(
            f"SELECT count(*) FROM {table} WHERE tenant_id = ?",  # noqa: S608
            (tenant_id,),
        ).fetchone()
    finally:
        connection.close()
    return int(count)


@pytest.mark.skipif(
    DATABASE == "postgres",
    reason="the demo always uses its own SQLite file; the SQLite run covers it",
)
def test_demo_seeds_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    env = command_env()

    first = tillbook("demo", "--no-serve", "--data-dir", str(data_dir), env=env)
    second = tillbook("demo", "--no-serve", "--data-dir", str(data_dir), env=env)

    assert first.returncode == 0, first.stderr
    assert "seeded a new database" in first.stdout
    assert "http://127.0.0.1:8000/t/juniper/book" in first.stdout
    assert "http://127.0.0.1:8000/t/juniper/staff/login" in first.stdout
    assert "http://127.0.0.1:8000/signup" in first.stdout
    assert "owner@juniper.example" in first.stdout
    assert "juniper-owner" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "reusing the database" in second.stdout
    database = data_dir / "demo.sqlite3"
    assert _count(database, "service") == 12
    assert _count(database, "staff") == 4
    assert _count(database, "client") == 50
    assert _count(database, "appointment") > 40
    assert (data_dir / "session_key").exists()


@pytest.mark.postgres
def test_worker_delivers_mail(client: Any, settings: Any, tmp_path: Path) -> None:
    """A ``tillbook worker`` process takes a job from Redis and runs it."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    from tests.support import make_tenant
    from tillbook.db.base import utcnow
    from tillbook.kernel.events.tables import MailMessage

    tenant = make_tenant(client)
    mail = MailMessage(
        to_address="client@example.com",
        subject="Worker test",
        html="<p>Hi</p>",
        text="Hi",
        kind="test",
        created_at=utcnow(),
    )
    tenant.run(tenant.scope.insert, mail)
    # A prefix of its own keeps the in-process test worker off this queue.
    prefix = f"{settings.redis_prefix}-worker-{uuid.uuid4().hex[:6]}"
    env = command_env(
        TILLBOOK_DATABASE_URL=settings.database_url,
        TILLBOOK_REDIS_URL=settings.redis_url,
        TILLBOOK_REDIS_PREFIX=prefix,
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tillbook.cli", "worker", "--threads", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            broker = RedisBroker(url=settings.redis_url, namespace=f"{prefix}:dramatiq")
            broker.enqueue(
                dramatiq.Message(
                    queue_name="default",
                    actor_name="deliver_mail",
                    args=(str(tenant.scope.tenant_id), str(mail.id)),
                    kwargs={},
                    options={},
                )
            )
            delivery = _wait_for_delivery(tenant, mail.id, process)
            process.send_signal(signal.SIGTERM)
            status = process.wait(STOP_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(STOP_SECONDS)
            broker.close()
    log_text = log_path.read_text()

    assert delivery == "outbox", log_text
    assert status == 0, log_text
    assert "job worker started with 1 threads" in log_text
    assert "job worker stopped" in log_text


def _wait_for_delivery(tenant: Any, mail_id: Any, process: Any) -> str:
    from tillbook.kernel.events.tables import MailMessage

    deadline = time.monotonic() + START_SECONDS
    delivery = "pending"
    while time.monotonic() < deadline and process.poll() is None:
        row = tenant.run(tenant.scope.get, MailMessage, mail_id)
        delivery = row["delivery"]
        if delivery != "pending":
            break
        time.sleep(0.2)
    return str(delivery)
