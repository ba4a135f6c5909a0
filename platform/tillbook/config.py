"""Runtime settings read from ``TILLBOOK_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed; the message names it and the fix."""


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'tillbook.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    """Process-wide settings. Every field maps to one environment variable."""

    database_url: str = field(default_factory=_default_database_url)
    redis_url: str | None = None
    redis_prefix: str = "tillbook"
    smtp_url: str | None = None
    mail_from: str = "Tillbook <no-reply@localhost>"
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    base_domain: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    stripe_api_base: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from the environment.

        Raises ConfigurationError naming the variable and the fix.
        """
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name in (
            "database_url",
            "redis_url",
            "redis_prefix",
            "smtp_url",
            "mail_from",
            "secret_key",
            "base_domain",
            "public_url",
            "stripe_api_base",
        ):
            raw = env.get(f"TILLBOOK_{name.upper()}")
            if raw:
                values[name] = raw
        settings = cls(**values)  # type: ignore[arg-type]
        if not settings.database_url.startswith(
            ("sqlite:///", "postgres://", "postgresql://")
        ):
            raise ConfigurationError(
                f"TILLBOOK_DATABASE_URL={settings.database_url!r} is not supported: "
                "use sqlite:///path/to/file.sqlite3 or postgresql://user@host/db"
            )
        if settings.smtp_url and not settings.smtp_url.startswith(("smtp://",)):
            raise ConfigurationError(
                f"TILLBOOK_SMTP_URL={settings.smtp_url!r} is not supported: "
                "use smtp://host:port"
            )
        return settings


_current: Settings | None = None


def get_settings() -> Settings:
    """Return the process settings, reading the environment on first use."""
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current


def set_settings(settings: Settings) -> None:
    """Replace the process settings (the CLI and the tests call this)."""
    global _current
    _current = settings
