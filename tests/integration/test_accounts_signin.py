"""Staff sign-in and sign-out: the page, the JSON session, ``next`` and limits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import OWNER_PASSWORD, TenantHandle, make_tenant
from tillbook.tenancy.signin import WRONG_CREDENTIALS


def login(
    client: Any, tenant: TenantHandle, password: str = OWNER_PASSWORD, **extra: str
) -> Any:
    fields = {"email": tenant.owner_email, "password": password, **extra}
    return client.post(tenant.page("/staff/login"), data=fields, follow_redirects=False)


def test_login_page_has_form(client) -> None:
    tenant = make_tenant(client)
    response = client.get(tenant.page("/staff/login"))

    assert response.status_code == 200
    assert 'name="email"' in response.text
    assert 'name="password"' in response.text
    assert ">Sign in</button>" in response.text


def test_login_page_of_unknown_tenant_is_404(client) -> None:
    response = client.get("/t/no-such-business-here/staff/login")

    assert response.status_code == 404


def test_login_goes_to_calendar(client) -> None:
    tenant = make_tenant(client)
    response = login(client, tenant)

    assert response.status_code == 303
    assert response.headers["location"] == tenant.page("/staff/calendar")
    session = client.get(tenant.api("/session"))
    assert session.status_code == 200
    assert session.json()["email"] == tenant.owner_email


def test_login_follows_next_inside_tenant(client) -> None:
    tenant = make_tenant(client)
    target = tenant.page("/staff/clients?q=ann")
    response = login(client, tenant, next=target)

    assert response.status_code == 303
    assert response.headers["location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "/t/other-business/staff/clients",
        "javascript:alert(1)",
    ],
)
def test_login_ignores_next_elsewhere(client, target: str) -> None:
    tenant = make_tenant(client)
    response = login(client, tenant, next=target)

    assert response.status_code == 303
    assert response.headers["location"] == tenant.page("/staff/calendar")


def test_login_form_carries_safe_next(client) -> None:
    tenant = make_tenant(client)
    inside = client.get(
        tenant.page("/staff/login"), params={"next": tenant.page("/staff/catalog")}
    )
    outside = client.get(
        tenant.page("/staff/login"), params={"next": "https://evil.example/"}
    )

    assert f'value="{tenant.page("/staff/catalog")}"' in inside.text
    assert "evil.example" not in outside.text


def test_login_failures_look_alike(client) -> None:
    tenant = make_tenant(client)
    wrong_password = login(client, tenant, password="not the password")
    unknown = client.post(
        tenant.page("/staff/login"),
        data={"email": "nobody@example.com", "password": "whatever it is"},
    )

    assert wrong_password.status_code == 401
    assert unknown.status_code == 401
    assert WRONG_CREDENTIALS in wrong_password.text
    assert WRONG_CREDENTIALS in unknown.text
    assert client.get(tenant.api("/session")).status_code == 401


def test_login_rejects_member_of_other_tenant(client) -> None:
    tenant = make_tenant(client)
    other = make_tenant(client)
    response = client.post(
        tenant.page("/staff/login"),
        data={"email": other.owner_email, "password": OWNER_PASSWORD},
    )

    assert response.status_code == 401
    assert WRONG_CREDENTIALS in response.text
    assert client.get(tenant.api("/session")).status_code == 401


def test_logout_ends_session(client) -> None:
    tenant = make_tenant(client)
    login(client, tenant)
    response = client.post(tenant.page("/staff/logout"), follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == tenant.page("/staff/login")
    assert client.get(tenant.api("/session")).status_code == 401
    page = client.get(
        tenant.page("/staff/settings"),
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert page.status_code in (302, 303)
    assert page.headers["location"].startswith(tenant.page("/staff/login?next="))


def test_session_api_signs_in_and_out(client) -> None:
    tenant = make_tenant(client)
    response = client.post(
        tenant.api("/session"),
        json={"email": tenant.owner_email.upper(), "password": OWNER_PASSWORD},
    )

    assert response.status_code == 200
    assert response.json()["role"] == "owner"
    assert client.get(tenant.api("/settings")).status_code == 200
    assert client.delete(tenant.api("/session")).status_code == 204
    assert client.get(tenant.api("/settings")).status_code == 401


def test_session_api_wrong_password(client) -> None:
    tenant = make_tenant(client)
    response = client.post(
        tenant.api("/session"),
        json={"email": tenant.owner_email, "password": "nope nope nope"},
    )

    assert response.status_code == 401
    assert response.json()["message"] == WRONG_CREDENTIALS


def test_session_api_requires_fields(client) -> None:
    tenant = make_tenant(client)
    response = client.post(tenant.api("/session"), json={"email": 5})

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"email", "password"}


def test_repeated_failures_are_limited(client) -> None:
    tenant = make_tenant(client)
    for _ in range(5):
        assert login(client, tenant, password="wrong guess").status_code == 401
    blocked = login(client, tenant)

    assert blocked.status_code == 429
    assert "too many failed sign-ins" in blocked.text
    api = client.post(
        tenant.api("/session"),
        json={"email": tenant.owner_email, "password": OWNER_PASSWORD},
    )
    assert api.status_code == 429
    assert api.json()["code"] == "too_many_attempts"


def test_limit_counts_each_email_apart(client) -> None:
    tenant = make_tenant(client)
    for _ in range(5):
        client.post(
            tenant.page("/staff/login"),
            data={"email": "guesser@example.com", "password": "wrong guess"},
        )

    assert login(client, tenant).status_code == 303


def test_success_clears_failure_count(client) -> None:
    tenant = make_tenant(client)
    for _ in range(4):
        login(client, tenant, password="wrong guess")
    assert login(client, tenant).status_code == 303
    for _ in range(4):
        login(client, tenant, password="wrong guess")

    assert login(client, tenant).status_code == 303
