"""Settings read from TILLBOOK_* variables, and the errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from tillbook.config import ConfigurationError, Settings


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})

    expected = f"sqlite:///{Path.cwd() / 'tillbook.sqlite3'}"
    assert settings.database_url == expected
    assert settings.redis_url is None
    assert settings.smtp_url is None
    assert settings.base_domain is None
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.is_postgres is False
    assert len(settings.secret_key) >= 32


def test_random_secret_key_per_process() -> None:
    assert Settings.from_env({}).secret_key != Settings.from_env({}).secret_key


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "TILLBOOK_DATABASE_URL": "postgresql://app@127.0.0.1:5432/tillbook",
            "TILLBOOK_REDIS_URL": "redis://127.0.0.1:6379/1",
            "TILLBOOK_REDIS_PREFIX": "tb",
            "TILLBOOK_SMTP_URL": "smtp://127.0.0.1:2525",
            "TILLBOOK_MAIL_FROM": "Spa <hello@example.com>",
            "TILLBOOK_SECRET_KEY": "s" * 40,
            "TILLBOOK_BASE_DOMAIN": "tillbook.example",
            "TILLBOOK_PUBLIC_URL": "https://tillbook.example",
            "TILLBOOK_STRIPE_API_BASE": "http://127.0.0.1:12111",
        }
    )

    assert settings.is_postgres is True
    assert settings.redis_url == "redis://127.0.0.1:6379/1"
    assert settings.redis_prefix == "tb"
    assert settings.smtp_url == "smtp://127.0.0.1:2525"
    assert settings.mail_from == "Spa <hello@example.com>"
    assert settings.secret_key == "s" * 40
    assert settings.base_domain == "tillbook.example"
    assert settings.public_url == "https://tillbook.example"
    assert settings.stripe_api_base == "http://127.0.0.1:12111"


def test_empty_variable_means_default() -> None:
    settings = Settings.from_env({"TILLBOOK_REDIS_URL": ""})

    assert settings.redis_url is None


@pytest.mark.parametrize(
    "url", ["mysql://db/tillbook", "sqlite://relative.db", "tillbook.sqlite3"]
)
def test_unsupported_database_url(url: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_env({"TILLBOOK_DATABASE_URL": url})

    assert "TILLBOOK_DATABASE_URL" in str(error.value)
    assert "sqlite:///" in str(error.value)


def test_unsupported_smtp_url() -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_env({"TILLBOOK_SMTP_URL": "mail.example.com:25"})

    assert "TILLBOOK_SMTP_URL" in str(error.value)
    assert "smtp://host:port" in str(error.value)
