"""Signing a business up through the JSON API and the /signup page."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support import OWNER_PASSWORD, make_tenant
from tillbook.tenancy.tables import Account, Tenant

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def new_slug() -> str:
    return f"biz-{secrets.token_hex(4)}"


def signup_body(**overrides: Any) -> dict[str, Any]:
    slug = overrides.pop("slug", new_slug())
    body = {
        "business_name": "Lotus Spa",
        "slug": slug,
        "email": f"{slug}@example.com",
        "password": "a long password",
        "owner_name": "Olivia Owner",
        "time_zone": "Europe/Paris",
        "currency": "EUR",
        "brand_colour": "#336699",
        "logo_url": "https://example.com/logo.png",
    }
    body.update(overrides)
    return body


def tenant_exists(client: Any, slug: str) -> bool:
    async def lookup() -> bool:
        return bool(await Tenant.exists().where(Tenant.slug == slug))

    return bool(client.blocking_portal.call(lookup))


def account_exists(client: Any, email: str) -> bool:
    async def lookup() -> bool:
        return bool(await Account.exists().where(Account.email == email))

    return bool(client.blocking_portal.call(lookup))


# The JSON API.


def test_api_signup_returns_owner_token(client) -> None:
    body = signup_body()
    response = client.post("/api/v1/signup", json=body)

    assert response.status_code == 201
    result = response.json()
    assert result["tenant"]["slug"] == body["slug"]
    assert result["tenant"]["currency"] == "EUR"
    assert result["tenant"]["time_zone"] == "Europe/Paris"
    assert result["tenant"]["brand_colour"] == "#336699"
    assert result["tenant"]["logo_url"] == "https://example.com/logo.png"
    assert result["owner"]["email"] == body["email"]
    assert result["owner"]["role"] == "owner"
    assert result["token"].startswith("tb_")

    headers = {"Authorization": f"Bearer {result['token']}"}
    settings = client.get(f"/t/{body['slug']}/api/v1/settings", headers=headers)
    assert settings.status_code == 200
    assert settings.json()["name"] == "Lotus Spa"


def test_api_signup_needs_only_four_fields(client) -> None:
    slug = new_slug()
    body = {
        "business_name": "Corner Barber",
        "slug": slug,
        "email": f"{slug}@example.com",
        "password": "a long password",
    }
    response = client.post("/api/v1/signup", json=body)

    assert response.status_code == 201
    tenant = response.json()["tenant"]
    assert tenant["time_zone"] == "Europe/London"
    assert tenant["currency"] == "GBP"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("business_name", ""),
        ("slug", "no spaces"),
        ("slug", "www"),
        ("email", "not-an-email"),
        ("password", "short"),
        ("owner_name", "x" * 201),
        ("time_zone", "Nowhere/City"),
        ("currency", "ZZZ"),
        ("brand_colour", "blue"),
        ("logo_url", "ftp://example.com/logo.png"),
        ("business_name", 12),
        ("password", None),
        ("unexpected", "value"),
    ],
)
def test_api_signup_bad_field_creates_nothing(client, field: str, value: Any) -> None:
    body = signup_body()
    if value is None:
        del body[field]
    else:
        body[field] = value
    response = client.post("/api/v1/signup", json=body)

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert not tenant_exists(client, body["slug"])
    assert not account_exists(client, body["email"])


def test_api_signup_reports_every_bad_field(client) -> None:
    body = signup_body(slug="A B", email="x", password="1", currency="Q")
    response = client.post("/api/v1/signup", json=body)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"slug", "email", "password", "currency"}


def test_api_signup_duplicate_slug(client) -> None:
    first = signup_body()
    assert client.post("/api/v1/signup", json=first).status_code == 201
    second = signup_body(slug=first["slug"], email="someone-else@example.com")
    response = client.post("/api/v1/signup", json=second)

    assert response.status_code == 422
    assert "taken" in response.json()["errors"]["slug"]
    assert not account_exists(client, "someone-else@example.com")


def test_api_signup_existing_email_wrong_password(client) -> None:
    existing = make_tenant(client)
    body = signup_body(email=existing.owner_email, password="not the password")
    response = client.post("/api/v1/signup", json=body)

    assert response.status_code == 422
    assert "password" in response.json()["errors"]["email"]
    assert not tenant_exists(client, body["slug"])


def test_api_signup_existing_email_right_password(client) -> None:
    existing = make_tenant(client)
    body = signup_body(email=existing.owner_email, password=OWNER_PASSWORD)
    response = client.post("/api/v1/signup", json=body)

    assert response.status_code == 201
    assert response.json()["owner"]["id"] == str(existing.owner_id)


def test_api_signup_wrong_passwords_are_limited(client) -> None:
    existing = make_tenant(client)
    for _ in range(5):
        body = signup_body(email=existing.owner_email, password="guess guess guess")
        assert client.post("/api/v1/signup", json=body).status_code == 422
    body = signup_body(email=existing.owner_email, password=OWNER_PASSWORD)
    response = client.post("/api/v1/signup", json=body)

    assert response.status_code == 429
    assert "too many" in response.json()["message"]
    assert not tenant_exists(client, body["slug"])


# The page.


def form_fields(**overrides: str) -> dict[str, str]:
    fields = signup_body(**{"logo_url": "", **overrides})
    return {name: str(value) for name, value in fields.items()}


def test_landing_page_links_signup_and_signin(client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert 'href="/signup"' in response.text
    assert "/staff/login" in response.text
    redirect = client.get("/?business=lotus-spa", follow_redirects=False)
    assert redirect.status_code in (302, 303)
    assert redirect.headers["location"] == "/t/lotus-spa/staff/login"


def test_signup_page_has_every_field(client) -> None:
    response = client.get("/signup")

    assert response.status_code == 200
    for name in (
        "business_name",
        "slug",
        "email",
        "password",
        "owner_name",
        "time_zone",
        "currency",
        "brand_colour",
        "logo",
        "logo_url",
    ):
        assert f'name="{name}"' in response.text
    assert '<option value="Europe/London" selected>' in response.text
    assert '<option value="KWD"' in response.text
    assert 'type="color"' in response.text


def test_signup_page_signs_owner_in(client) -> None:
    fields = form_fields()
    response = client.post(
        "/signup",
        data=fields,
        files={"logo": ("logo.png", PNG, "image/png")},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{fields['slug']}/staff/settings"
    settings = client.get(f"/t/{fields['slug']}/api/v1/settings")
    assert settings.status_code == 200
    assert settings.json()["logo_url"].startswith("data:image/png;base64,")
    page = client.get(f"/t/{fields['slug']}/staff/settings")
    assert page.status_code == 200
    assert "Lotus Spa" in page.text


def test_signup_page_logo_url(client) -> None:
    fields = form_fields(logo_url="https://example.com/brand.svg")
    response = client.post("/signup", data=fields, follow_redirects=False)

    assert response.status_code == 303
    settings = client.get(f"/t/{fields['slug']}/api/v1/settings")
    assert settings.json()["logo_url"] == "https://example.com/brand.svg"


def test_signup_page_errors_keep_values(client) -> None:
    fields = form_fields(email="nobody", password="short")
    response = client.post("/signup", data=fields)

    assert response.status_code == 422
    assert 'id="error-email"' in response.text
    assert 'id="error-password"' in response.text
    assert 'value="Lotus Spa"' in response.text
    assert f'value="{fields["slug"]}"' in response.text
    assert "short" not in response.text
    assert not tenant_exists(client, fields["slug"])


@pytest.mark.parametrize(
    ("filename", "content", "media_type"),
    [
        ("logo.gif", b"GIF89a" + b"\x00" * 10, "image/gif"),
        ("logo.png", b"not really a png", "image/png"),
        ("logo.png", PNG + b"\x00" * 300_000, "image/png"),
    ],
)
def test_signup_page_rejects_bad_logo(
    client, filename: str, content: bytes, media_type: str
) -> None:
    fields = form_fields()
    response = client.post(
        "/signup", data=fields, files={"logo": (filename, content, media_type)}
    )

    assert response.status_code == 422
    assert 'id="error-logo"' in response.text
    assert not tenant_exists(client, fields["slug"])


def test_signup_page_duplicate_slug(client) -> None:
    existing = make_tenant(client)
    fields = form_fields(slug=existing.slug)
    response = client.post("/signup", data=fields)

    assert response.status_code == 422
    assert 'id="error-slug"' in response.text
    assert "is taken" in response.text
