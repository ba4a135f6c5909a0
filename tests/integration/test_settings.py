"""Business settings and plugin settings, through the API and the settings page."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import TenantHandle, make_tenant
from tillbook import hookimpl
from tillbook.db.base import utcnow
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.ledger.tables import Ticket
from tillbook.plugins import get_plugin_manager
from tillbook.tenancy.plugin_settings import load_tenant_hooks

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def audit_entries(tenant: TenantHandle, action: str) -> list[dict[str, Any]]:
    async def rows() -> list[dict[str, Any]]:
        return await tenant.scope.select(AuditEntry).where(AuditEntry.action == action)

    entries = []
    for row in tenant.run(rows):
        for key in ("before", "after"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
        entries.append(row)
    return entries


def close_a_ticket(tenant: TenantHandle) -> None:
    async def insert() -> None:
        now = utcnow()
        await tenant.scope.insert(
            Ticket(number=1, status="closed", opened_at=now, closed_at=now)
        )

    tenant.run(insert)


# Business settings.


def test_settings_show_current_values(client) -> None:
    tenant = make_tenant(client, currency="JPY", time_zone="Asia/Tokyo")
    settings = tenant.get("/settings").json()

    assert settings["currency"] == "JPY"
    assert settings["time_zone"] == "Asia/Tokyo"
    assert settings["host"] == ""
    assert settings["loyalty_percent"] == 0
    assert settings["slug"] == tenant.slug


def test_settings_patch_changes_and_audits(client) -> None:
    tenant = make_tenant(client)
    changes = {
        "name": "Lotus Day Spa",
        "brand_colour": "#AA3366",
        "host": f"book-{secrets.token_hex(3)}.example.com",
        "prices_include_tax": True,
        "loyalty_min_visits": 5,
        "loyalty_percent": 10,
        "time_zone": "America/New_York",
        "currency": "USD",
        "logo_url": "https://example.com/lotus.png",
    }
    response = tenant.patch("/settings", changes)

    assert response.status_code == 200
    saved = response.json()
    for key, value in changes.items():
        expected = value.lower() if key == "brand_colour" else value
        assert saved[key] == expected, key
    entries = audit_entries(tenant, "tenant.settings_changed")
    assert len(entries) == 1
    assert entries[0]["before"]["currency"] == "GBP"
    assert entries[0]["after"]["currency"] == "USD"
    assert entries[0]["before"]["loyalty_percent"] == 0
    assert entries[0]["after"]["loyalty_percent"] == 10


def test_settings_patch_without_change_is_not_audited(client) -> None:
    tenant = make_tenant(client)
    current = tenant.get("/settings").json()
    response = tenant.patch("/settings", {"currency": current["currency"]})

    assert response.status_code == 200
    assert audit_entries(tenant, "tenant.settings_changed") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", 5),
        ("brand_colour", "purple"),
        ("logo_url", "javascript:alert(1)"),
        ("host", "not a host"),
        ("host", "localhost"),
        ("prices_include_tax", "yes"),
        ("loyalty_min_visits", -1),
        ("loyalty_min_visits", 1.5),
        ("loyalty_percent", 101),
        ("loyalty_percent", True),
        ("time_zone", "Europe/Atlantis"),
        ("currency", "DOLLARS"),
        ("slug", "new-slug"),
    ],
)
def test_settings_bad_field_changes_nothing(client, field: str, value: Any) -> None:
    tenant = make_tenant(client)
    before = tenant.get("/settings").json()
    response = tenant.patch("/settings", {"loyalty_percent": 50, field: value})

    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert tenant.get("/settings").json() == before


def test_host_used_by_another_tenant(client) -> None:
    first = make_tenant(client)
    second = make_tenant(client)
    host = f"book-{secrets.token_hex(3)}.example.com"
    assert first.patch("/settings", {"host": host}).status_code == 200

    response = second.patch("/settings", {"host": host.upper()})
    assert response.status_code == 422
    assert "host" in response.json()["errors"]
    cleared = first.patch("/settings", {"host": ""})
    assert cleared.json()["host"] == ""
    assert second.patch("/settings", {"host": host}).status_code == 200


def test_currency_fixed_after_closed_ticket(client) -> None:
    tenant = make_tenant(client)
    close_a_ticket(tenant)

    currency = tenant.patch("/settings", {"currency": "EUR"})
    zone = tenant.patch("/settings", {"time_zone": "Europe/Berlin"})

    assert currency.status_code == 422
    assert "currency" in currency.json()["errors"]
    assert zone.status_code == 200
    assert zone.json()["time_zone"] == "Europe/Berlin"
    assert zone.json()["currency"] == "GBP"


def test_new_time_zone_applies_to_next_request(client) -> None:
    tenant = make_tenant(client)
    tenant.patch("/settings", {"time_zone": "Australia/Sydney"})
    client_row = tenant.post("/clients", {"first_name": "Zoe"}).json()

    profile = tenant.get(f"/clients/{client_row['id']}").json()
    entry = profile["history"][0]["at"]
    assert entry["utc"].endswith("+00:00")
    assert entry["local"] != ""


# Plugins.


class CheckedPlugin:
    """A plugin whose only setting, ``level``, must be "low" or "high"."""

    @hookimpl
    def tillbook_validate_settings(
        self, plugin: str, settings: dict[str, Any]
    ) -> dict[str, str]:
        if plugin != "checked_plugin":
            return {}
        errors = {}
        for key, value in settings.items():
            if key != "level":
                errors[key] = "is not a setting of checked_plugin"
            elif value not in ("low", "high"):
                errors[key] = "must be low or high"
        return errors


@pytest.fixture
def checked_plugin() -> Iterator[str]:
    manager = get_plugin_manager()
    plugin = CheckedPlugin()
    manager.register(plugin, name="checked_plugin")
    try:
        yield "checked_plugin"
    finally:
        manager.unregister(plugin)


def test_plugins_list_installed(client) -> None:
    tenant = make_tenant(client)
    plugins = {plugin["name"]: plugin for plugin in tenant.get("/plugins").json()}

    assert "payments_stripe" in plugins
    stripe = plugins["payments_stripe"]
    assert stripe["enabled"] is False
    assert "secret_key" in {field["name"] for field in stripe["fields"]}


def test_plugin_enable_and_mask_secret(client) -> None:
    tenant = make_tenant(client)
    key = "sk_test_" + secrets.token_hex(8)
    response = client.put(
        tenant.api("/plugins/payments_stripe"),
        json={"enabled": True, "settings": {"secret_key": key}},
        headers=tenant.headers,
    )

    assert response.status_code == 200
    assert response.json()["enabled"] is True
    shown = response.json()["settings"]["secret_key"]
    assert shown.endswith(key[-4:])
    assert key not in json.dumps(tenant.get("/plugins").json())
    hooks = tenant.run(load_tenant_hooks, tenant.scope)
    assert "payments_stripe" in hooks.enabled
    assert hooks.plugin_settings("payments_stripe")["secret_key"] == key

    resent = client.put(
        tenant.api("/plugins/payments_stripe"),
        json={"settings": {"secret_key": shown}},
        headers=tenant.headers,
    )
    assert resent.status_code == 200
    hooks = tenant.run(load_tenant_hooks, tenant.scope)
    assert hooks.plugin_settings("payments_stripe")["secret_key"] == key
    entries = audit_entries(tenant, "plugin.configured")
    assert len(entries) == 2
    assert key not in json.dumps([entry["after"] for entry in entries])


def test_plugin_rejects_unknown_setting(client) -> None:
    tenant = make_tenant(client)
    response = client.put(
        tenant.api("/plugins/payments_stripe"),
        json={"enabled": True, "settings": {"secret_key": "sk_test_x", "colour": 1}},
        headers=tenant.headers,
    )

    assert response.status_code == 422
    assert "colour" in response.json()["errors"]
    hooks = tenant.run(load_tenant_hooks, tenant.scope)
    assert "payments_stripe" not in hooks.enabled


def test_plugin_validation_runs_plugin_hook(client) -> None:
    tenant = make_tenant(client)
    response = client.put(
        tenant.api("/plugins/payments_stripe"),
        json={"enabled": True, "settings": {"secret_key": "pk_live_wrong_kind"}},
        headers=tenant.headers,
    )

    assert response.status_code == 422
    assert "secret_key" in response.json()["errors"]


def test_undeclared_plugin_uses_its_hook(client, checked_plugin: str) -> None:
    tenant = make_tenant(client)
    path = tenant.api(f"/plugins/{checked_plugin}")

    bad = client.put(path, json={"settings": {"level": "max"}}, headers=tenant.headers)
    unknown = client.put(path, json={"settings": {"pace": 1}}, headers=tenant.headers)
    good = client.put(
        path,
        json={"enabled": True, "settings": {"level": "high"}},
        headers=tenant.headers,
    )

    assert bad.status_code == 422
    assert "level" in bad.json()["errors"]
    assert unknown.status_code == 422
    assert "pace" in unknown.json()["errors"]
    assert good.status_code == 200
    assert good.json()["settings"] == {"level": "high"}


@pytest.mark.parametrize(
    "body",
    [
        {"enabled": "yes"},
        {"settings": ["secret_key"]},
        {"settings": {"secret_key": {"nested": True}}},
        {"enable": True},
    ],
)
def test_plugin_bad_body(client, body: dict[str, Any]) -> None:
    tenant = make_tenant(client)
    response = client.put(
        tenant.api("/plugins/payments_stripe"), json=body, headers=tenant.headers
    )

    assert response.status_code == 422


def test_unknown_plugin_is_404(client) -> None:
    tenant = make_tenant(client)
    response = client.put(
        tenant.api("/plugins/not_installed"),
        json={"enabled": True},
        headers=tenant.headers,
    )

    assert response.status_code == 404


def test_plugin_disable_keeps_settings(client) -> None:
    tenant = make_tenant(client)
    path = tenant.api("/plugins/payments_stripe")
    client.put(
        path,
        json={"enabled": True, "settings": {"secret_key": "sk_test_keepme"}},
        headers=tenant.headers,
    )
    response = client.put(path, json={"enabled": False}, headers=tenant.headers)

    assert response.status_code == 200
    hooks = tenant.run(load_tenant_hooks, tenant.scope)
    assert "payments_stripe" not in hooks.enabled
    assert hooks.plugin_settings("payments_stripe")["secret_key"] == "sk_test_keepme"


# The settings page.


def page_post(tenant: TenantHandle, path: str, **kwargs: Any) -> Any:
    return tenant.client.post(
        tenant.page(path), headers=tenant.headers, follow_redirects=False, **kwargs
    )


def test_settings_page_has_every_section(client) -> None:
    tenant = make_tenant(client)
    response = client.get(tenant.page("/staff/settings"), headers=tenant.headers)

    assert response.status_code == 200
    for section in ("business", "loyalty", "accounts", "tokens", "plugins"):
        assert f'id="{section}"' in response.text
    assert 'id="plugin-payments_stripe"' in response.text
    assert 'name="secret_key"' in response.text


def test_settings_page_saves_business(client) -> None:
    tenant = make_tenant(client)
    response = page_post(
        tenant,
        "/staff/settings/business",
        data={
            "name": "Lotus Renamed",
            "brand_colour": "#123456",
            "host": "",
            "time_zone": "Europe/Dublin",
            "currency": "EUR",
            "prices_include_tax": "on",
        },
        files={"logo": ("logo.png", PNG, "image/png")},
    )

    assert response.status_code == 303
    assert "saved=business" in response.headers["location"]
    settings = tenant.get("/settings").json()
    assert settings["name"] == "Lotus Renamed"
    assert settings["prices_include_tax"] is True
    assert settings["currency"] == "EUR"
    assert settings["logo_url"].startswith("data:image/png;base64,")
    page = client.get(
        tenant.page("/staff/settings?saved=business"), headers=tenant.headers
    )
    assert "Business settings saved." in page.text


def test_settings_page_business_errors(client) -> None:
    tenant = make_tenant(client)
    response = page_post(
        tenant,
        "/staff/settings/business",
        data={
            "name": "",
            "brand_colour": "#123456",
            "time_zone": "Europe/Dublin",
            "currency": "EUR",
        },
    )

    assert response.status_code == 422
    assert 'id="error-name"' in response.text
    assert tenant.get("/settings").json()["currency"] == "GBP"


def test_settings_page_loyalty(client) -> None:
    tenant = make_tenant(client)
    saved = page_post(
        tenant,
        "/staff/settings/loyalty",
        data={"loyalty_min_visits": "3", "loyalty_percent": "15"},
    )
    rejected = page_post(
        tenant,
        "/staff/settings/loyalty",
        data={"loyalty_min_visits": "three", "loyalty_percent": "150"},
    )

    assert saved.status_code == 303
    assert rejected.status_code == 422
    assert 'id="error-loyalty_min_visits"' in rejected.text
    assert 'id="error-loyalty_percent"' in rejected.text
    settings = tenant.get("/settings").json()
    assert settings["loyalty_min_visits"] == 3
    assert settings["loyalty_percent"] == 15


def test_settings_page_plugin_form(client) -> None:
    tenant = make_tenant(client)
    saved = page_post(
        tenant,
        "/staff/settings/plugins/payments_stripe",
        data={"enabled": "on", "secret_key": "sk_test_fromform", "api_base": ""},
    )
    kept = page_post(
        tenant,
        "/staff/settings/plugins/payments_stripe",
        data={"enabled": "on", "secret_key": "", "max_network_retries": "3"},
    )
    rejected = page_post(
        tenant,
        "/staff/settings/plugins/payments_stripe",
        data={"enabled": "on", "secret_key": "wrong"},
    )

    assert saved.status_code == 303
    assert kept.status_code == 303
    assert rejected.status_code == 422
    assert 'id="error-secret_key"' in rejected.text
    hooks = tenant.run(load_tenant_hooks, tenant.scope)
    settings = hooks.plugin_settings("payments_stripe")
    assert settings["secret_key"] == "sk_test_fromform"
    assert settings["max_network_retries"] == 3
