"""Sign-up field rules, logo handling and the sign-in redirect rule."""

from __future__ import annotations

import base64
import dataclasses
from zoneinfo import available_timezones

import pytest
from babel.numbers import get_currency_name

from tillbook.errors import ValidationFailed
from tillbook.tenancy.signin import safe_next
from tillbook.tenancy.signup import (
    COMMON_CURRENCIES,
    COMMON_TIME_ZONES,
    MAX_LOGO_BYTES,
    SignupRequest,
    logo_data_url,
    logo_url_error,
    validate_signup,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'

VALID = SignupRequest(
    business_name="Lotus Spa",
    slug="lotus-spa",
    email="owner@example.com",
    password="long enough password",
    owner_name="Olivia",
)

BAD_FIELDS = [
    ("business_name", ""),
    ("business_name", "   "),
    ("business_name", "x" * 201),
    ("slug", "ab"),
    ("slug", "-lotus"),
    ("slug", "lotus-"),
    ("slug", "lotus spa"),
    ("slug", "lotus_spa"),
    ("slug", "x" * 64),
    ("slug", "signup"),
    ("slug", "api"),
    ("email", "owner"),
    ("email", "owner@example"),
    ("email", "two words@example.com"),
    ("password", "short"),
    ("password", "x" * 1001),
    ("owner_name", "x" * 201),
    ("time_zone", "Mars/Olympus"),
    ("time_zone", ""),
    ("currency", "XXY"),
    ("currency", "pounds"),
    ("brand_colour", "red"),
    ("brand_colour", "#12345"),
    ("logo_url", "ftp://example.com/logo.png"),
    ("logo_url", "javascript:alert(1)"),
    ("logo_url", "https://example.com/a b.png"),
    ("logo_url", "data:text/html;base64,PGgxPg=="),
]


def test_valid_request_has_no_errors() -> None:
    assert validate_signup(VALID) == {}


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_bad_field_is_named(field: str, value: str) -> None:
    errors = validate_signup(dataclasses.replace(VALID, **{field: value}))
    assert list(errors) == [field]


def test_slug_is_checked_in_lower_case() -> None:
    assert validate_signup(dataclasses.replace(VALID, slug="Lotus-Spa")) == {}


def test_form_choices_are_valid() -> None:
    zones = available_timezones()
    for zone in COMMON_TIME_ZONES:
        assert zone in zones
    for code in COMMON_CURRENCIES:
        assert get_currency_name(code, locale="en") != code


@pytest.mark.parametrize(
    ("media_type", "content"),
    [
        ("image/png", PNG),
        ("image/jpeg", JPEG),
        ("image/jpg", JPEG),
        ("image/webp", WEBP),
        ("image/svg+xml", SVG),
    ],
)
def test_logo_upload_becomes_data_url(media_type: str, content: bytes) -> None:
    url = logo_data_url(media_type, content)
    header, encoded = url.split(",", 1)
    assert header.startswith("data:image/")
    assert header.endswith(";base64")
    assert base64.b64decode(encoded) == content
    assert logo_url_error(url) is None


@pytest.mark.parametrize(
    ("media_type", "content"),
    [
        ("image/png", JPEG),
        ("image/jpeg", PNG),
        ("image/webp", b"RIFF\x10\x00\x00\x00WAVEfmt "),
        ("image/svg+xml", b"<html><script>alert(1)</script></html>"),
        ("image/gif", b"GIF89a"),
        ("text/html", b"<svg></svg>"),
    ],
)
def test_logo_upload_rejects_wrong_content(media_type: str, content: bytes) -> None:
    with pytest.raises(ValidationFailed) as raised:
        logo_data_url(media_type, content)
    assert list(raised.value.errors) == ["logo"]


def test_logo_upload_rejects_large_file() -> None:
    with pytest.raises(ValidationFailed) as raised:
        logo_data_url("image/png", PNG + b"\x00" * MAX_LOGO_BYTES)
    assert "300 kB" in raised.value.errors["logo"]


def test_logo_upload_at_limit_is_accepted() -> None:
    content = PNG + b"\x00" * (MAX_LOGO_BYTES - len(PNG))
    assert logo_url_error(logo_data_url("image/png", content)) is None


@pytest.mark.parametrize(
    "target",
    [
        "/t/lotus/staff/clients",
        "/t/lotus/staff/clients/8d2e88a8-1dd7-459e-aa6f-f6fe906a8de9",
        "/t/lotus/staff/calendar?date=2026-12-04",
    ],
)
def test_next_inside_tenant_is_followed(target: str) -> None:
    assert safe_next("lotus", target) == target


@pytest.mark.parametrize(
    "target",
    [
        "",
        None,
        "https://evil.example/t/lotus/",
        "//evil.example/t/lotus/",
        "/\\evil.example",
        "/t/lotus//evil.example",
        "/t/other/staff/clients",
        "/t/lotusx/staff/clients",
        "/t/lotus",
        "/t/lotus/../other/staff",
        "/t/lotus/staff/\nclients",
        "javascript:alert(1)",
        "/signup",
    ],
)
def test_next_elsewhere_goes_to_calendar(target: str | None) -> None:
    assert safe_next("lotus", target) == "/t/lotus/staff/calendar"


@pytest.mark.parametrize("code", ["XXX", "XTS", "XAU", "XDR"])
def test_signup_rejects_non_currency_codes(code: str) -> None:
    request = SignupRequest(
        business_name="Spa",
        slug="spa-codes",
        email="owner@example.com",
        password="x" * 12,
        currency=code,
    )
    assert "currency" in validate_signup(request)


@pytest.mark.parametrize("code", ["XAF", "XOF", "XPF", "XCD"])
def test_signup_accepts_x_currencies(code: str) -> None:
    request = SignupRequest(
        business_name="Spa",
        slug="spa-codes",
        email="owner@example.com",
        password="x" * 12,
        currency=code,
    )
    assert "currency" not in validate_signup(request)
