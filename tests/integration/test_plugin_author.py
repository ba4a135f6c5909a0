"""The plugin guide's example plugin, and a plugin that raises.

The first tests build the ``patchtest`` package from the code blocks of
``docs/plugins.md`` in a temporary folder and make it importable the way an
installed distribution is: the package and a ``.dist-info`` folder with its
entry point, on ``sys.path``. Installing with pip would change the shared
virtualenv for every other test run.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugin_support import module_client
from tests.support import OWNER_PASSWORD, TenantHandle, make_tenant
from tillbook import hookimpl, invalid
from tillbook.demo.kit import add_client
from tillbook.errors import ValidationFailed
from tillbook.plugins import (
    PluginFailed,
    discover_plugins,
    get_plugin_manager,
    plugin_names,
)
from tillbook.tenancy.plugin_migrations import applied_migrations
from tillbook.tenancy.plugin_settings import configure_plugin, load_tenant_hooks
from tillbook.web.templating import client_panels

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", re.DOTALL)


def guide_files() -> dict[str, str]:
    """Return the files the guide shows, by path inside the plugin folder."""
    return dict(FILE_BLOCK.findall(GUIDE.read_text(encoding="utf-8")))


def write_installed_package(root: Path) -> None:
    """Write the guide's package and the dist-info metadata pip would write."""
    files = guide_files()
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    project = tomllib.loads(files["pyproject.toml"])["project"]
    name, version = project["name"], project["version"]
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        f"Summary: {project['description']}\n",
        encoding="utf-8",
    )
    entry_points = project["entry-points"]["tillbook"]
    lines = [f"{key} = {value}" for key, value in entry_points.items()]
    (info / "entry_points.txt").write_text(
        "[tillbook]\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )


@pytest.fixture(scope="module")
def patchtest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Install the guide's plugin for this module, then remove every trace of it."""
    tmp_path = tmp_path_factory.mktemp("patchtest")
    write_installed_package(tmp_path)
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        assert discover_plugins() == ["patchtest"]
        yield "patchtest"
    finally:
        manager = get_plugin_manager()
        if manager.get_plugin("patchtest") is not None:
            manager.unregister(name="patchtest")
        sys.path.remove(str(tmp_path))
        for module in [
            name for name in sys.modules if name.startswith("tillbook_patchtest")
        ]:
            del sys.modules[module]
        importlib.invalidate_caches()


@pytest.fixture(scope="module")
def client(settings: Any, patchtest: str) -> Iterator[Any]:
    """One app for this module, built after the guide's plugin was installed.

    Routes are mounted when the app is built, so the plugin's routes exist
    only in an app built afterwards (see ``tests.plugin_support``).
    """
    yield from module_client(settings)


def sign_in(client: Any, tenant: TenantHandle) -> None:
    response = client.post(
        tenant.page("/staff/login"),
        data={"email": tenant.owner_email, "password": OWNER_PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303)


def hooks_of(tenant: TenantHandle) -> Any:
    return tenant.run(load_tenant_hooks, tenant.scope)


def prompts_for(tenant: TenantHandle, client: dict[str, Any]) -> list[list[str]]:
    hooks = hooks_of(tenant)
    call = hooks.tillbook_checkout_prompts(
        scope=tenant.scope, client=client, appointment=None, ticket=None
    )
    return tenant.run(call.run)  # type: ignore[no-any-return]


# The guide's plugin.


def test_guide_plugin_listed(client) -> None:
    tenant = make_tenant(client)
    plugins = {plugin["name"]: plugin for plugin in tenant.get("/plugins").json()}

    assert "patchtest" in plugin_names()
    listed = plugins["patchtest"]
    assert listed["enabled"] is False
    assert listed["description"].startswith("Patch tests")
    assert {field["name"] for field in listed["fields"]} == {"valid_days", "reminder"}


def test_guide_plugin_runs_only_where_enabled(client) -> None:
    salon = make_tenant(client)
    other = make_tenant(client)
    rejected = client.put(
        salon.api("/plugins/patchtest"),
        json={"enabled": True, "settings": {"valid_days": 0}},
        headers=salon.headers,
    )
    assert rejected.status_code == 422
    assert "valid_days" in rejected.json()["errors"]
    enabled = client.put(
        salon.api("/plugins/patchtest"),
        json={"enabled": True, "settings": {"valid_days": 90}},
        headers=salon.headers,
    )
    assert enabled.status_code == 200, enabled.text
    assert "0001_results" in salon.run(applied_migrations, "patchtest")
    maya_id = salon.run(add_client, salon.scope, "Maya", "Lindqvist")
    maya = {"id": maya_id, "first_name": "Maya"}
    other_client = other.run(add_client, other.scope, "Olu", "Bakare")

    due_before = prompts_for(salon, maya)
    added = salon.post(
        f"/plugins/patchtest/clients/{maya_id}/tests",
        json={"tested_on": "2026-11-30", "result": "clear"},
    )
    bad = salon.post(
        f"/plugins/patchtest/clients/{maya_id}/tests",
        json={"tested_on": "2026-11-30", "result": "fine"},
    )

    assert due_before == [
        ["Maya: Book a patch test at least 48 hours before the next colour."]
    ]
    assert added.status_code == 201, added.text
    assert bad.status_code == 422
    assert "result" in bad.json()["errors"]
    listed = salon.get(f"/plugins/patchtest/clients/{maya_id}/tests").json()
    assert [test["result"] for test in listed] == ["clear"]
    # The other tenant has no route, no prompt and no panel from the plugin.
    assert (
        other.get(f"/plugins/patchtest/clients/{other_client}/tests").status_code == 404
    )
    assert prompts_for(other, {"id": other_client, "first_name": "Olu"}) == []
    other_panels = other.run(
        client_panels, hooks_of(other), other.scope, {"id": other_client}
    )
    assert other_panels == []
    sign_in(client, salon)
    page = client.get(salon.page(f"/staff/clients/{maya_id}"))
    assert page.status_code == 200
    assert 'id="patchtest-panel"' in page.text
    assert "Last patch test 2026-11-30: clear." in page.text


def test_guide_plugin_migrates_once_when_raced(client) -> None:
    first = make_tenant(client)
    second = make_tenant(client)

    async def enable_both() -> None:
        await asyncio.gather(
            configure_plugin(first.scope, "patchtest", enabled=True),
            configure_plugin(second.scope, "patchtest", enabled=True),
        )

    first.run(enable_both)

    assert first.run(applied_migrations, "patchtest") == {"0001_results"}
    assert hooks_of(first).is_enabled("patchtest")
    assert hooks_of(second).is_enabled("patchtest")


# A plugin that raises.


class RaisingPlugin:
    """Raises in a display hook, a required hook and its settings check."""

    @hookimpl
    def tillbook_client_panels(self, client: dict[str, Any]) -> list[str]:
        raise RuntimeError("panel exploded")

    @hookimpl
    async def tillbook_checkout_prompts(self, client: dict[str, Any]) -> list[str]:
        raise RuntimeError("prompt exploded")

    @hookimpl
    def tillbook_validate_booking(self, booking: dict[str, Any]) -> dict[str, str]:
        raise RuntimeError("validation exploded")

    @hookimpl
    def tillbook_booking_made(self, booking: dict[str, Any]) -> None:
        raise invalid("boom.pet", "has no vaccination record")

    @hookimpl
    def tillbook_validate_settings(
        self, plugin: str, settings: dict[str, Any]
    ) -> dict[str, str]:
        if plugin == "boom":
            raise RuntimeError("settings check exploded")
        return {}


@pytest.fixture
def boom() -> Iterator[str]:
    manager = get_plugin_manager()
    plugin = RaisingPlugin()
    manager.register(plugin, name="boom")
    try:
        yield "boom"
    finally:
        manager.unregister(plugin)


def test_raising_display_hook_skipped(client, boom: str, caplog) -> None:
    tenant = make_tenant(client)
    bystander = make_tenant(client)
    for name in ("boom", "salon"):
        response = client.put(
            tenant.api(f"/plugins/{name}"),
            json={"enabled": True},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
    client_id = tenant.run(add_client, tenant.scope, "Maya", "Lindqvist")
    caplog.set_level(logging.ERROR, logger="tillbook.plugins")

    panels = tenant.run(
        client_panels, hooks_of(tenant), tenant.scope, {"id": client_id}
    )
    prompts = prompts_for(tenant, {"id": client_id, "first_name": "Maya"})
    sign_in(client, tenant)
    page = client.get(tenant.page(f"/staff/clients/{client_id}"))

    assert len(panels) == 1
    assert 'id="salon-formulas"' in panels[0]
    assert [prompt for result in prompts for prompt in result] == []
    assert page.status_code == 200
    assert 'id="salon-formulas"' in page.text
    messages = [record.getMessage() for record in caplog.records]
    assert (
        "plugin boom failed in tillbook_client_panels; its result is skipped"
        in messages
    )
    assert (
        "plugin boom failed in tillbook_checkout_prompts; its result is skipped"
        in messages
    )
    caplog.clear()
    bystander_id = bystander.run(add_client, bystander.scope, "Olu", "Bakare")
    bystander.run(
        client_panels, hooks_of(bystander), bystander.scope, {"id": bystander_id}
    )
    assert not [record for record in caplog.records if "boom" in record.getMessage()]


def test_raising_required_hook_fails_request(client, boom: str, caplog) -> None:
    tenant = make_tenant(client)
    client.put(
        tenant.api("/plugins/boom"), json={"enabled": True}, headers=tenant.headers
    )
    caplog.set_level(logging.ERROR, logger="tillbook.plugins")

    response = client.put(
        tenant.api("/plugins/boom"),
        json={"settings": {"level": "high"}},
        headers=tenant.headers,
    )
    hooks = hooks_of(tenant)
    with pytest.raises(PluginFailed) as failed:
        tenant.run(hooks.tillbook_validate_booking(scope=tenant.scope, booking={}).run)
    with pytest.raises(ValidationFailed) as rejected:
        tenant.run(hooks.tillbook_booking_made(scope=tenant.scope, booking={}).run)

    assert response.status_code == 500
    assert response.json()["code"] == "plugin_failed"
    assert (
        response.json()["message"] == "plugin boom failed in tillbook_validate_settings"
    )
    assert str(failed.value) == "plugin boom failed in tillbook_validate_booking"
    assert rejected.value.errors == {"boom.pet": "has no vaccination record"}
    messages = [record.getMessage() for record in caplog.records]
    assert "plugin boom failed in tillbook_validate_settings" in messages
    assert "plugin boom failed in tillbook_validate_booking" in messages
