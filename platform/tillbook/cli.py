"""The ``tillbook`` command: migrate, serve, worker and demo.

Settings come from ``TILLBOOK_*`` environment variables (see ``config.py``). A
missing or malformed setting ends the command with exit status 2 and a message
that names the variable and the fix.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from tillbook.config import ConfigurationError, Settings, set_settings

logger = logging.getLogger("tillbook.cli")

EXIT_CONFIGURATION = 2
EXIT_FAILURE = 1
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEMO_DATABASE = "demo.sqlite3"
DEMO_SESSION_KEY_FILE = "session_key"


def port_number(text: str) -> int:
    """Parse a TCP port for argparse; reject anything outside 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is outside 1 to 65535")
    return value


def positive_int(text: str) -> int:
    """Parse a count of at least 1 for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``tillbook`` command."""
    parser = argparse.ArgumentParser(
        prog="tillbook",
        description="Booking and point of sale for service businesses.",
        epilog="Settings are read from TILLBOOK_* environment variables; "
        "see README.md.",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much to log (default: info)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "migrate",
        help="bring the database schema up to date",
        description="Apply pending migrations to TILLBOOK_DATABASE_URL.",
    )

    serve = commands.add_parser(
        "serve",
        help="run the web server",
        description="Serve the web app and API, and dispatch outbox events. "
        "Without TILLBOOK_REDIS_URL the server also runs the background jobs.",
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default: {DEFAULT_HOST})",
    )
    serve.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"TCP port to bind (default: {DEFAULT_PORT})",
    )
    serve.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="number of server processes (default: 1); more than one needs "
        "TILLBOOK_SECRET_KEY",
    )

    worker = commands.add_parser(
        "worker",
        help="run background jobs from Redis",
        description="Run dramatiq job threads against the Redis broker at "
        "TILLBOOK_REDIS_URL until SIGINT or SIGTERM.",
    )
    worker.add_argument(
        "--threads",
        type=positive_int,
        default=4,
        help="number of job threads (default: 4)",
    )

    demo = commands.add_parser(
        "demo",
        help="run a seeded demo spa on SQLite",
        description="Create a SQLite database in the data directory, seed the "
        "demo day spa once, print its URLs and logins, and serve it. Redis and "
        "SMTP are not used: emails stay in the staff outbox page.",
    )
    demo.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default: {DEFAULT_HOST})",
    )
    demo.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"TCP port to bind (default: {DEFAULT_PORT})",
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=Path("tillbook-demo"),
        help="folder for the demo database and session key (default: ./tillbook-demo)",
    )
    demo.add_argument(
        "--reset",
        action="store_true",
        help="delete the demo database first and seed it again",
    )
    demo.add_argument(
        "--no-serve",
        action="store_true",
        help="seed and print the logins, then exit without serving",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tillbook`` command; return its exit status."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    handlers = {
        "migrate": command_migrate,
        "serve": command_serve,
        "worker": command_worker,
        "demo": command_demo,
    }
    try:
        return handlers[args.command](args)
    except ConfigurationError as exc:
        print(f"tillbook: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIGURATION


def configure_logging(level: str) -> None:
    """Log to standard error with one line per record."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and install the process settings.

    Raises ConfigurationError naming the first invalid variable.
    """
    settings = Settings.from_env(environ)
    set_settings(settings)
    return settings


def describe_database(url: str) -> str:
    """Return the database URL without user name or password, for logs."""
    if url.startswith("sqlite:///"):
        return url
    return _without_credentials(url)


def describe_redis(url: str | None) -> str:
    """Return the Redis URL without credentials, or ``in-process`` when unset."""
    if not url:
        return "in-process"
    return _without_credentials(url)


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def command_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations."""
    from tillbook.db.migrate import migrate

    settings = load_settings()
    logger.info("migrating %s", describe_database(settings.database_url))
    asyncio.run(migrate(settings.database_url))
    return 0


def check_serve_settings(
    settings: Settings, workers: int, environ: dict[str, str] | None = None
) -> None:
    """Raise ConfigurationError when settings cannot serve ``workers`` processes.

    Session cookies are signed with TILLBOOK_SECRET_KEY. Without it each
    process picks a random key, so a cookie from one process is rejected by the
    next, and sign-ins end at every restart.
    """
    env = os.environ if environ is None else environ
    key = env.get("TILLBOOK_SECRET_KEY", "")
    if key and len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"TILLBOOK_SECRET_KEY has {len(key)} characters: use at least "
            f"{MIN_SECRET_KEY_LENGTH}, for example the output of "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    if not key and workers > 1:
        raise ConfigurationError(
            f"TILLBOOK_SECRET_KEY is not set, and --workers {workers} needs one "
            "key shared by every process: set it to at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters"
        )
    if not key:
        logger.warning(
            "TILLBOOK_SECRET_KEY is not set: using a random key, so staff "
            "sign-ins end when the server restarts"
        )
    if settings.is_postgres and not settings.redis_url and workers > 1:
        raise ConfigurationError(
            f"TILLBOOK_REDIS_URL is not set, and --workers {workers} needs it: "
            "live updates and jobs must be shared between server processes; "
            "set it to redis://host:6379/0"
        )


def command_serve(args: argparse.Namespace) -> int:
    """Run uvicorn with the app factory; one line is logged with the address."""
    import uvicorn

    settings = load_settings()
    check_serve_settings(settings, args.workers)
    logger.info(
        "serving Tillbook on http://%s:%d with %d worker process(es), "
        "database %s, jobs %s",
        args.host,
        args.port,
        args.workers,
        describe_database(settings.database_url),
        describe_redis(settings.redis_url),
    )
    uvicorn.run(
        "tillbook.web.app:create_asgi",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0


def command_worker(args: argparse.Namespace) -> int:
    """Run dramatiq job threads until SIGINT or SIGTERM."""
    settings = load_settings()
    if not settings.redis_url:
        raise ConfigurationError(
            "TILLBOOK_REDIS_URL is not set: `tillbook worker` takes jobs from "
            "Redis; set it to redis://host:6379/0 (without Redis, `tillbook "
            "serve` runs the jobs itself)"
        )
    if not _redis_reachable(settings.redis_url):
        return EXIT_FAILURE
    run_worker(settings, args.threads)
    return 0


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        logger.error(
            "Redis at %s is unreachable: %s; start it or fix TILLBOOK_REDIS_URL",
            describe_redis(url),
            exc,
        )
        return False
    return True


def run_worker(
    settings: Settings, threads: int, stop: threading.Event | None = None
) -> None:
    """Process jobs with ``threads`` threads until ``stop`` is set or a signal arrives.

    The database is started on the jobs event loop (``jobs.runtime``), on which
    every actor runs its coroutines. Outbox events are not dispatched here: the
    ``serve`` processes do that.
    """
    import dramatiq

    from tillbook import db
    from tillbook.jobs import runtime
    from tillbook.jobs.broker import setup_broker

    stop = stop or threading.Event()
    broker = setup_broker(settings)
    runtime.run(db.start(settings.database_url))
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    previous = _install_stop_handlers(stop)
    logger.info(
        "job worker started with %d threads on %s, database %s, queues %s",
        threads,
        describe_redis(settings.redis_url),
        describe_database(settings.database_url),
        ", ".join(sorted(broker.get_declared_queues())),
    )
    try:
        stop.wait()
    finally:
        logger.info("job worker stopping")
        worker.stop()
        broker.close()
        runtime.run(db.stop())
        _restore_handlers(previous)
        logger.info("job worker stopped")


def _install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    return {
        signum: signal.signal(signum, handle)
        for signum in (signal.SIGINT, signal.SIGTERM)
    }


def _restore_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def demo_settings(
    data_dir: Path, host: str, port: int, environ: dict[str, str] | None = None
) -> Settings:
    """Return settings for the demo: SQLite in ``data_dir``, no Redis.

    The secret key is kept in ``data_dir`` so that sign-ins survive restarts.
    SMTP and the sender address still come from the environment.
    """
    base = Settings.from_env(environ)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = os.environ if environ is None else environ
    secret_key = env.get("TILLBOOK_SECRET_KEY", "") or _demo_session_key(data_dir)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    return dataclasses.replace(
        base,
        database_url=f"sqlite:///{(data_dir / DEMO_DATABASE).resolve()}",
        redis_url=None,
        secret_key=secret_key,
        base_domain=None,
        public_url=f"http://{shown_host}:{port}",
    )


def _demo_session_key(data_dir: Path) -> str:
    path = data_dir / DEMO_SESSION_KEY_FILE
    if not path.exists():
        # Created readable by the owner only, before the key is written.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as key_file:
            key_file.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def remove_demo_database(data_dir: Path) -> None:
    """Delete the demo database and its SQLite side files, if present."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = data_dir / f"{DEMO_DATABASE}{suffix}"
        if path.exists():
            path.unlink()


def command_demo(args: argparse.Namespace) -> int:
    """Seed the demo spa once, print how to use it, then serve it."""
    from tillbook.demo.seed import prepare_demo

    data_dir: Path = args.data_dir.resolve()
    settings = demo_settings(data_dir, args.host, args.port)
    set_settings(settings)
    if args.reset:
        remove_demo_database(data_dir)
        logger.info("removed the demo database in %s", data_dir)
    try:
        with _quiet_kernel_logs(args.log_level):
            seeded = asyncio.run(prepare_demo(settings.database_url))
    except Exception:
        # A half-seeded spa is skipped by the next run, so point at --reset.
        logger.exception(
            "seeding the demo in %s failed; run `tillbook demo --reset` to start again",
            data_dir,
        )
        return EXIT_FAILURE
    print(demo_banner(settings.public_url, data_dir, seeded), flush=True)
    if args.no_serve:
        return 0
    return _serve_demo(settings, args.host, args.port, args.log_level)


@contextmanager
def _quiet_kernel_logs(level: str) -> Iterator[None]:
    """Hide the per-ticket info lines of seeding unless debug logging is on."""
    kernel = logging.getLogger("tillbook.kernel")
    previous = kernel.level
    if level != "debug":
        kernel.setLevel(logging.WARNING)
    try:
        yield
    finally:
        kernel.setLevel(previous)


def _serve_demo(settings: Settings, host: str, port: int, log_level: str) -> int:
    import uvicorn

    from tillbook.web.app import create_asgi

    logger.info(
        "serving the demo on http://%s:%d, database %s",
        host,
        port,
        describe_database(settings.database_url),
    )
    uvicorn.run(create_asgi(settings), host=host, port=port, log_level=log_level)
    return 0


def demo_banner(public_url: str, data_dir: Path, seeded: bool) -> str:
    """Return the text the demo prints: its URLs and its staff logins."""
    from tillbook.demo.seed import DEMO_SLUG, demo_logins
    from tillbook.demo.verticals import vertical_demos

    base = public_url.rstrip("/")
    tenant = f"{base}/t/{DEMO_SLUG}"
    state = "seeded a new" if seeded else "reusing the"
    lines = [
        f"Tillbook demo: {state} database in {data_dir}",
        "",
        f"  Public booking page  {tenant}/book",
        f"  Staff sign-in        {tenant}/staff/login",
        f"  Today's calendar     {tenant}/staff/calendar",
        f"  Daily sales report   {tenant}/staff/reports/daily",
        f"  Mail outbox          {tenant}/staff/outbox",
        f"  Sign up a business   {base}/signup",
        "",
        "  Staff logins (email / password / role):",
    ]
    logins = demo_logins()
    email_width = max(len(login.email) for login in logins)
    password_width = max(len(login.password) for login in logins)
    for login in logins:
        email = login.email.ljust(email_width)
        password = login.password.ljust(password_width)
        lines.append(f"    {email}  {password}  {login.role.value}")
    verticals = vertical_demos()
    if verticals:
        lines += ["", "  One business per vertical plugin (owner email / password):"]
        for demo in verticals:
            lines.append(f"    {demo.name}: {base}/t/{demo.slug}/staff/login")
            lines.append(f"      {demo.owner_email}  {demo.owner_password}")
    lines += ["", "  Start again from scratch with --reset. Press Ctrl+C to stop."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
