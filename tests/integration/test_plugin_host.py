"""The plugin host: branding, report sections and the plugin settings form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.plugin_support import module_client
from tests.support import OWNER_PASSWORD, TenantHandle, make_tenant
from tillbook import PluginMigration, hookimpl
from tillbook.plugins import PluginFailed, get_plugin_manager
from tillbook.tenancy.plugin_migrations import plugin_migrations


@pytest.fixture(scope="module")
def client(settings: Any) -> Iterator[Any]:
    """One started app for this module's tests (see ``tests.plugin_support``)."""
    yield from module_client(settings)


class ShowcasePlugin:
    """Brands pages and adds a daily report section (one well formed, one not)."""

    @hookimpl
    def tillbook_branding(self, tenant: dict[str, Any]) -> dict[str, str]:
        return {"accent_colour": "#aa3366", "tagline": f"{tenant['name']} <since 1999>"}

    @hookimpl
    def tillbook_report_sections(
        self, report: str, first_day: date, last_day: date
    ) -> list[dict[str, Any]]:
        return [
            {
                "title": f"Showcase {report} {first_day.isoformat()}",
                "columns": ["Stylist", "Clients"],
                "rows": [["Priya <b>", "4"]],
            },
            {"title": "Broken", "columns": ["One"], "rows": [["a", "b"]]},
        ]


class RepeatedStepPlugin:
    """Declares two migration steps with the same id."""

    @hookimpl
    def tillbook_migrations(self) -> list[Any]:
        return [PluginMigration(id="0001"), PluginMigration(id="0001")]


def registered(plugin: object, name: str) -> Iterator[str]:
    manager = get_plugin_manager()
    manager.register(plugin, name=name)
    try:
        yield name
    finally:
        manager.unregister(plugin)


@pytest.fixture
def showcase() -> Iterator[str]:
    yield from registered(ShowcasePlugin(), "showcase")


@pytest.fixture
def repeated_step() -> Iterator[str]:
    yield from registered(RepeatedStepPlugin(), "repeated_step")


def sign_in(client: Any, tenant: TenantHandle) -> None:
    client.post(
        tenant.page("/staff/login"),
        data={"email": tenant.owner_email, "password": OWNER_PASSWORD},
    )


def enable(client: Any, tenant: TenantHandle, plugin: str) -> None:
    response = client.put(
        tenant.api(f"/plugins/{plugin}"), json={"enabled": True}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text


def test_branding_applies_where_enabled(client, showcase: str) -> None:
    branded = make_tenant(client, business_name="Marlowe")
    plain = make_tenant(client)
    enable(client, branded, showcase)
    sign_in(client, branded)
    page = client.get(branded.page("/staff/reports/daily"))
    sign_in(client, plain)
    other = client.get(plain.page("/staff/reports/daily"))

    assert page.status_code == 200
    assert "--brand: #aa3366" in page.text
    assert "Marlowe &lt;since 1999&gt;" in page.text
    assert "Showcase daily" in page.text
    assert "Priya &lt;b&gt;" in page.text
    assert "Broken" not in page.text
    assert other.status_code == 200
    assert "#aa3366" not in other.text
    assert "Showcase" not in other.text


def test_bad_migration_list_fails_enable(client, repeated_step: str) -> None:
    tenant = make_tenant(client)

    response = client.put(
        tenant.api(f"/plugins/{repeated_step}"),
        json={"enabled": True},
        headers=tenant.headers,
    )

    assert response.status_code == 500
    assert response.json()["message"] == (
        "plugin repeated_step failed in tillbook_migrations"
    )
    with pytest.raises(PluginFailed):
        plugin_migrations(repeated_step)
    listed = {plugin["name"]: plugin for plugin in tenant.get("/plugins").json()}
    assert listed[repeated_step]["enabled"] is False


def test_staff_links_only_where_enabled(client) -> None:
    salon = make_tenant(client)
    plain = make_tenant(client)
    enable(client, salon, "salon")

    sign_in(client, salon)
    salon_page = client.get(salon.page("/staff/clients"))
    sign_in(client, plain)
    plain_page = client.get(plain.page("/staff/clients"))

    link = f'href="/t/{salon.slug}/staff/plugins/salon/services"'
    assert salon_page.status_code == 200
    assert link in salon_page.text
    assert "Salon services" not in plain_page.text


def test_settings_page_shows_plugin_schema(client) -> None:
    tenant = make_tenant(client)
    sign_in(client, tenant)

    page = client.get(tenant.page("/staff/settings"))

    assert page.status_code == 200
    assert 'id="plugin-salon-service_tiers"' in page.text
    assert "0 300000 35" in page.text
    assert 'id="plugin-salon-hair_length_required"' in page.text
