"""Test set-up: one database per run, SQLite by default or PostgreSQL and Redis.

``TILLBOOK_TEST_DATABASE=postgres`` runs the suite against the PostgreSQL at
``TILLBOOK_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
and the Redis at ``TILLBOOK_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``).
Each run creates its own database and Redis key prefix and removes them at the
end. Where ``CI=true`` a missing service fails the run; elsewhere the tests
that need it are skipped with a message saying how to enable them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests hash many passwords; the cheapest argon2 parameters keep that fast.
# Production code never sets this variable.
os.environ.setdefault("TILLBOOK_FAST_PASSWORD_HASHES", "1")

from tests.support import SharedClient
from tillbook.config import Settings, set_settings

IN_CI = os.environ.get("CI", "").lower() == "true"
DATABASE = os.environ.get("TILLBOOK_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get(
    "TILLBOOK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TILLBOOK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="also run tests marked slow"
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL: run with TILLBOOK_TEST_DATABASE=postgres"
    )
    for item in items:
        if "slow" in item.keywords and not config.getoption("--run-slow"):
            item.add_marker(skip_slow)
        if "postgres" in item.keywords and DATABASE != "postgres":
            item.add_marker(skip_pg)


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere: a missing service is never silently ignored."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true requires it)", pytrace=False)
    pytest.skip(reason)


async def _admin_execute(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _replace_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings for this run, with a fresh, migrated database."""
    from tillbook.db.migrate import migrate

    run_id = secrets.token_hex(4)
    if DATABASE == "postgres":
        name = f"tillbook_test_{run_id}"
        try:
            asyncio.run(_admin_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
        except OSError as exc:
            unavailable(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
        database_url = _replace_database(POSTGRES_URL, name)
        redis_url: str | None = REDIS_URL
        _check_redis(REDIS_URL)
    else:
        name = ""
        database_url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        redis_url = None
    current = Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"tillbook-test-{run_id}",
        secret_key="test-secret-key-test-secret-key-",
        public_url="http://127.0.0.1:8000",
    )
    set_settings(current)
    asyncio.run(migrate(database_url))
    yield current
    if name:
        asyncio.run(
            _admin_execute(
                POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            )
        )
    if redis_url:
        _clear_redis(redis_url, current.redis_prefix)


def _check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {url} is not reachable: {exc}")


def _clear_redis(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        client.delete(key)


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    """The settings the app under test uses; override this to change one value."""
    return settings


def app_for(settings: Settings) -> object:
    """Return a newly built app for ``settings``, for tests that wrap it."""
    from tillbook.web.app import create_app

    return create_app(settings, inprocess_worker=True)


@pytest.fixture(scope="session", autouse=True)
def _close_shared_client(settings: Settings) -> Iterator[None]:
    # Depends on ``settings`` so that it closes before the database is dropped.
    yield
    SharedClient.close()


@pytest.fixture
def client(app_settings: Settings) -> Iterator[object]:
    """A litestar test client with the app started (lifespan and all)."""
    from tillbook.config import set_settings
    from tillbook.jobs.broker import join_queues

    set_settings(app_settings)
    test_client = SharedClient.open(app_settings)
    test_client.cookies.clear()
    try:
        yield test_client
    finally:
        # Leave no event or job of this test for the next one to deliver;
        # jobs may record events of their own, hence the second round.
        for _ in range(2):
            _dispatch_pending_events(test_client)
            join_queues()


def _dispatch_pending_events(test_client: Any) -> None:
    dispatcher = test_client.app.state.dispatcher
    if dispatcher is None:
        return

    async def dispatch_all() -> None:
        while await dispatcher.dispatch_batch():
            pass

    test_client.blocking_portal.call(dispatch_all)


@pytest.fixture
def smtp_server() -> Iterator[object]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    from tests.fakes.smtp import RecordingSMTPServer

    server = RecordingSMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: object) -> Settings:
    """Settings that send mail to the test SMTP server."""
    return dataclasses.replace(settings, smtp_url=smtp_server.url)  # type: ignore[attr-defined]


ROOT = Path(__file__).resolve().parent.parent
