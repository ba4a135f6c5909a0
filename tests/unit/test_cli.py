"""The ``tillbook`` command's arguments, configuration errors and log lines."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tillbook import cli, config

TILLBOOK_VARIABLES = (
    "TILLBOOK_DATABASE_URL",
    "TILLBOOK_REDIS_URL",
    "TILLBOOK_REDIS_PREFIX",
    "TILLBOOK_SMTP_URL",
    "TILLBOOK_MAIL_FROM",
    "TILLBOOK_SECRET_KEY",
    "TILLBOOK_BASE_DOMAIN",
    "TILLBOOK_PUBLIC_URL",
    "TILLBOOK_STRIPE_API_BASE",
)
GOOD_KEY = "k" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start each test without TILLBOOK_* variables; restore process settings."""
    for name in TILLBOOK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    saved = config._current
    yield
    config.set_settings(saved)  # type: ignore[arg-type]


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record uvicorn.run calls instead of starting a server."""
    import uvicorn

    calls: list[dict[str, Any]] = []

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serve_defaults_to_loopback() -> None:
    args = cli.build_parser().parse_args(["serve"])

    assert args.host == "127.0.0.1"
    assert args.port == 8000
    assert args.workers == 1


def test_demo_defaults() -> None:
    args = cli.build_parser().parse_args(["demo"])

    assert args.host == "127.0.0.1"
    assert args.port == 8000
    assert args.data_dir == Path("tillbook-demo")
    assert args.reset is False
    assert args.no_serve is False


def test_worker_threads_option() -> None:
    args = cli.build_parser().parse_args(["worker", "--threads", "8"])

    assert args.threads == 8


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["launch"],
        ["serve", "--port", "70000"],
        ["serve", "--port", "http"],
        ["serve", "--workers", "0"],
        ["worker", "--threads", "-1"],
        ["demo", "--port", "0"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)

    assert exit_info.value.code == 2
    assert "usage: tillbook" in capsys.readouterr().err


def test_bad_database_url_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("TILLBOOK_DATABASE_URL", "mysql://db/tillbook")

    status = cli.main(["migrate"])

    assert status == 2
    error = capsys.readouterr().err
    assert "TILLBOOK_DATABASE_URL" in error
    assert "postgresql://" in error


def test_bad_smtp_url_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("TILLBOOK_SMTP_URL", "mail.example.com")

    status = cli.main(["serve"])

    assert status == 2
    assert "TILLBOOK_SMTP_URL" in capsys.readouterr().err


def test_worker_needs_redis_url(capsys: Any) -> None:
    status = cli.main(["worker"])

    assert status == 2
    error = capsys.readouterr().err
    assert "TILLBOOK_REDIS_URL is not set" in error
    assert "redis://" in error


def test_serve_workers_need_secret_key(
    uvicorn_calls: list[dict[str, Any]], capsys: Any
) -> None:
    status = cli.main(["serve", "--workers", "2"])

    assert status == 2
    assert "TILLBOOK_SECRET_KEY is not set" in capsys.readouterr().err
    assert uvicorn_calls == []


def test_serve_rejects_short_secret_key(
    monkeypatch: pytest.MonkeyPatch, uvicorn_calls: list[dict[str, Any]], capsys: Any
) -> None:
    monkeypatch.setenv("TILLBOOK_SECRET_KEY", "short")

    status = cli.main(["serve"])

    assert status == 2
    assert "TILLBOOK_SECRET_KEY has 5 characters" in capsys.readouterr().err
    assert uvicorn_calls == []


def test_serve_postgres_workers_need_redis(
    monkeypatch: pytest.MonkeyPatch, uvicorn_calls: list[dict[str, Any]], capsys: Any
) -> None:
    monkeypatch.setenv("TILLBOOK_DATABASE_URL", "postgresql://app@127.0.0.1/tillbook")
    monkeypatch.setenv("TILLBOOK_SECRET_KEY", GOOD_KEY)

    status = cli.main(["serve", "--workers", "3"])

    assert status == 2
    assert "TILLBOOK_REDIS_URL is not set" in capsys.readouterr().err


def test_serve_runs_uvicorn_factory(
    monkeypatch: pytest.MonkeyPatch, uvicorn_calls: list[dict[str, Any]]
) -> None:
    monkeypatch.setenv("TILLBOOK_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("TILLBOOK_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("TILLBOOK_DATABASE_URL", "postgresql://app@127.0.0.1/tillbook")

    status = cli.main(["serve", "--port", "8123", "--workers", "2"])

    assert status == 0
    assert len(uvicorn_calls) == 1
    call = uvicorn_calls[0]
    assert call["app"] == "tillbook.web.app:create_asgi"
    assert call["factory"] is True
    assert call["host"] == "127.0.0.1"
    assert call["port"] == 8123
    assert call["workers"] == 2


def test_serve_logs_address_without_secrets(
    monkeypatch: pytest.MonkeyPatch,
    uvicorn_calls: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TILLBOOK_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv(
        "TILLBOOK_DATABASE_URL", "postgresql://app:db-password@127.0.0.1:5432/tillbook"
    )
    monkeypatch.setenv("TILLBOOK_REDIS_URL", "redis://:redis-password@127.0.0.1:6379/0")

    with caplog.at_level(logging.INFO, logger="tillbook.cli"):
        assert cli.main(["serve", "--port", "8124"]) == 0

    starts = [r.getMessage() for r in caplog.records if "serving" in r.getMessage()]
    assert len(starts) == 1
    assert "http://127.0.0.1:8124" in starts[0]
    assert "postgresql://127.0.0.1:5432/tillbook" in starts[0]
    assert "redis://127.0.0.1:6379/0" in starts[0]
    logged = caplog.text
    assert "db-password" not in logged
    assert "redis-password" not in logged
    assert GOOD_KEY not in logged


def test_describe_database_hides_credentials() -> None:
    url = "postgresql://user:pw@db.internal:5433/shop"

    assert cli.describe_database(url) == "postgresql://db.internal:5433/shop"
    assert cli.describe_database("sqlite:///tmp/x.sqlite3") == "sqlite:///tmp/x.sqlite3"
    assert cli.describe_redis(None) == "in-process"


def test_demo_settings_use_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILLBOOK_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("TILLBOOK_DATABASE_URL", "postgresql://app@127.0.0.1/tillbook")

    settings = cli.demo_settings(tmp_path / "demo", "127.0.0.1", 8001)

    expected = f"sqlite:///{(tmp_path / 'demo' / 'demo.sqlite3').resolve()}"
    assert settings.database_url == expected
    assert settings.redis_url is None
    assert settings.public_url == "http://127.0.0.1:8001"


def test_demo_session_key_kept(tmp_path: Path) -> None:
    first = cli.demo_settings(tmp_path, "127.0.0.1", 8000)
    second = cli.demo_settings(tmp_path, "127.0.0.1", 8000)

    key_file = tmp_path / cli.DEMO_SESSION_KEY_FILE
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= cli.MIN_SECRET_KEY_LENGTH
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_demo_session_key_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILLBOOK_SECRET_KEY", GOOD_KEY)

    settings = cli.demo_settings(tmp_path, "127.0.0.1", 8000)

    assert settings.secret_key == GOOD_KEY
    assert not (tmp_path / cli.DEMO_SESSION_KEY_FILE).exists()


def test_demo_banner_lists_urls_and_logins(tmp_path: Path) -> None:
    banner = cli.demo_banner("http://127.0.0.1:8000", tmp_path, seeded=True)

    assert "http://127.0.0.1:8000/t/juniper/book" in banner
    assert "http://127.0.0.1:8000/t/juniper/staff/login" in banner
    assert "http://127.0.0.1:8000/signup" in banner
    assert "owner@juniper.example" in banner
    assert "juniper-owner" in banner
    assert "desk@juniper.example" in banner


def test_remove_demo_database(tmp_path: Path) -> None:
    for name in ("demo.sqlite3", "demo.sqlite3-wal", "demo.sqlite3-shm", "keep.txt"):
        (tmp_path / name).write_text("x")

    cli.remove_demo_database(tmp_path)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["keep.txt"]
