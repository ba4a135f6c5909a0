"""The demo seed creates a complete spa once, the same way every time."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import pytest

from tillbook.demo import data
from tillbook.demo.seed import DemoSpa, demo_logins, seed_demo
from tillbook.kernel.catalog.tables import (
    PackagePlan,
    Product,
    Service,
    ServiceProduct,
    ServiceProvider,
)
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.tables import Staff, WorkingHours
from tillbook.tenancy.accounts import actor_for, authenticate_password
from tillbook.tenancy.roles import Role
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tables import Membership

# A Thursday afternoon in London (BST): appointments before it are checked out.
NOW = datetime(2025, 6, 12, 14, 10, tzinfo=UTC)


def run(client: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    async def call() -> Any:
        return await fn(*args, **kwargs)

    return client.blocking_portal.call(call)


# The session database outlives each test's app, so one seeded spa serves
# every read-only test here; seeding takes seconds.
_seeded: dict[str, DemoSpa] = {}


@pytest.fixture
def spa(client: Any) -> DemoSpa:
    if "spa" not in _seeded:
        slug = f"demo-{secrets.token_hex(4)}"
        seeded = run(client, seed_demo, slug, now=NOW, with_activity=False)
        assert seeded is not None
        _seeded["spa"] = seeded
    return _seeded["spa"]


def test_seed_tenant_settings(spa: DemoSpa) -> None:
    tenant = spa.scope.tenant

    assert tenant.name == "Juniper & Rye Day Spa"
    assert tenant.time_zone == "Europe/London"
    assert tenant.currency == "GBP"
    assert tenant.prices_include_tax is True
    assert tenant.loyalty_min_visits == 5
    assert tenant.loyalty_percent == 10
    assert tenant.brand_colour == data.BRAND_COLOUR
    assert tenant.logo_url.startswith("data:image/svg+xml;base64,")


def test_seed_counts(client: Any, spa: DemoSpa) -> None:
    scope = spa.scope

    assert run(client, scope.count(Service).run) == 12
    assert run(client, scope.count(Staff).run) == 4
    assert run(client, scope.count(Client).run) == 50
    assert run(client, scope.count(Product).run) == len(data.PRODUCTS)
    assert run(client, scope.count(PackagePlan).run) == 3
    assert run(client, scope.count(Membership).run) == len(data.ACCOUNTS)


def test_seed_service_categories(client: Any, spa: DemoSpa) -> None:
    rows = run(client, spa.scope.select(Service).run)
    categories = {row["category"] for row in rows}

    assert categories == {"Facials", "Massage", "Body", "Nails", "Brows & Lashes"}
    assert all(row["tax_rate"] == "20" for row in rows)


def test_seed_signature_facial(client: Any, spa: DemoSpa) -> None:
    scope = spa.scope
    facial = run(
        client,
        scope.select(Service).where(Service.name == "Signature Facial").first().run,
    )
    links = run(
        client,
        scope.select(ServiceProduct)
        .where(ServiceProduct.service_id == facial["id"])
        .run,
    )
    products = run(client, scope.get_many, Product, [r["product_id"] for r in links])
    named = {(r["link"], products[r["product_id"]]["name"]) for r in links}

    assert facial["duration_minutes"] == 60
    assert facial["price"] == 8500
    assert facial["rebook_interval_days"] == 28
    assert named == {
        ("consumes", "Lavender Cleansing Oil"),
        ("recommends", "Hydrating Rose Serum"),
    }


def test_seed_every_service_has_providers(client: Any, spa: DemoSpa) -> None:
    links = run(client, spa.scope.select(ServiceProvider).run)
    services_with_providers = {row["service_id"] for row in links}

    assert services_with_providers == set(spa.services.values())


def test_seed_hours_with_lunch(client: Any, spa: DemoSpa) -> None:
    maya = spa.staff["Maya Okafor"]
    rows = run(
        client,
        spa.scope.select(WorkingHours).where(WorkingHours.staff_id == maya).run,
    )
    by_day: dict[int, list[tuple[int, int]]] = {}
    for row in rows:
        by_day.setdefault(row["weekday"], []).append(
            (row["start_minute"], row["end_minute"])
        )

    assert sorted(by_day) == [1, 2, 3, 4, 5]
    assert sorted(by_day[1]) == [(9 * 60, 13 * 60), (14 * 60, 18 * 60)]


def test_seed_clients(client: Any, spa: DemoSpa) -> None:
    rows = run(client, spa.scope.select(Client).run)
    emails = [row["email"] for row in rows]

    assert len(set(emails)) == 50
    assert all(email.endswith(("@example.com", "@example.org")) for email in emails)
    assert all(row["phone"].startswith("+44 7700 900") for row in rows)
    assert any(row["preferences"] for row in rows)
    assert any(row["notes"] for row in rows)
    assert any(row["completed_visits"] >= 5 for row in rows)


def test_seed_logins_work(client: Any, spa: DemoSpa) -> None:
    slug = spa.scope.tenant.slug
    roles = {}
    for login in demo_logins(slug):
        account_id = run(client, authenticate_password, login.email, login.password)
        assert account_id is not None, login.email
        actor = run(client, actor_for, spa.scope, account_id)
        assert actor is not None, login.email
        roles[login.email] = actor

    owner = roles[f"owner@{slug}.example"]
    maya = roles[f"maya@{slug}.example"]
    assert owner.role is Role.OWNER
    assert roles[f"desk@{slug}.example"].role is Role.FRONT_DESK
    assert maya.role is Role.PROVIDER
    assert maya.staff_id == spa.staff["Maya Okafor"]


def test_seed_second_run_skips(client: Any, spa: DemoSpa) -> None:
    slug = spa.scope.tenant.slug

    again = run(client, seed_demo, slug, now=NOW)

    assert again is None
    assert run(client, spa.scope.count(Client).run) == 50
    assert run(client, spa.scope.count(Service).run) == 12


def test_seed_is_deterministic(client: Any, spa: DemoSpa) -> None:
    other = run(
        client,
        seed_demo,
        f"demo-{secrets.token_hex(4)}",
        now=NOW,
        with_activity=False,
    )
    assert other is not None

    def people(scope: TenantScope) -> list[tuple[str, str, str, str]]:
        rows = run(client, scope.select(Client).run)
        return sorted(
            (r["first_name"], r["last_name"], r["phone"], r["preferences"])
            for r in rows
        )

    assert people(spa.scope) == people(other.scope)
