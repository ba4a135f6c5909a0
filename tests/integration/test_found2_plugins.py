"""Plugin settings API: rejected bodies name the plugin's own settings."""

from __future__ import annotations

from tests.support import make_tenant


def test_settings_not_object_names_plugin(client) -> None:
    tenant = make_tenant(client)
    response = client.put(
        tenant.api("/plugins/salon"),
        json={"enabled": True, "settings": ["rebook_weeks", 6]},
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.text
    message = response.json()["errors"]["settings"]
    assert "salon" in message, message
    assert "secret_key" not in message, message
    listed = client.get(tenant.api("/plugins"), headers=tenant.headers).json()
    salon = next(item for item in listed if item["name"] == "salon")
    assert salon["enabled"] is False
