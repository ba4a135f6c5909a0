"""The vertical demo tenants, side by side in one process and one database.

One tenant per vertical plugin (salon, fitness, pet grooming) is seeded the
way ``tb demo`` seeds it. Each must see its own plugin's fields, pages,
prompts and rules, and none of the others'.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.plugin_support import module_client
from tests.support import TenantHandle
from tillbook import hookspecs
from tillbook.demo.kit import add_client, add_service, add_staff
from tillbook.demo.verticals import KNOWN_VERTICALS, seed_vertical_demo
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.plugins import plugin_names
from tillbook.tenancy.accounts import create_api_token
from tillbook.tenancy.plugin_settings import load_tenant_hooks
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tables import Account
from tillbook_salon.tables import SalonFormula, SalonVariant

VERTICALS = [
    name for name in ("salon", "fitness", "petgrooming") if name in plugin_names()
]
PAGES = {
    "salon": "/staff/plugins/salon/clients/{client}/formulas",
    "fitness": "/staff/plugins/fitness/today",
    "petgrooming": "/staff/plugins/petgrooming/today",
}
HOOKS = sorted(
    name
    for name in dir(hookspecs)
    if name.startswith("tillbook_")
    and name not in ("tillbook_tables", "tillbook_routes", "tillbook_migrations")
    and name not in ("tillbook_settings_schema", "tillbook_validate_settings")
)


@pytest.fixture(scope="module")
def client(settings: Any) -> Iterator[Any]:
    """One started app for this module's tests (see ``tests.plugin_support``)."""
    yield from module_client(settings)


# The session database outlives each test's app, so the demo tenants are
# seeded once for this module: (slug, scope, owner id, owner email, token).
_seeded: dict[str, tuple[str, TenantScope, uuid.UUID, str, str]] = {}


def seed(client: Any, plugin: str) -> tuple[str, TenantScope, uuid.UUID, str, str]:
    demo = dataclasses.replace(
        KNOWN_VERTICALS[plugin],
        slug=f"{KNOWN_VERTICALS[plugin].slug}-{secrets.token_hex(3)}",
    )

    async def create() -> tuple[str, TenantScope, uuid.UUID, str, str]:
        scope = await seed_vertical_demo(demo)
        assert scope is not None
        # The checks below need one client and one service in every tenant,
        # whether or not the plugin's demo data adds them.
        if not await scope.count(Client):
            await add_client(scope, "Sam", "Nakamura")
        if not await scope.count(Service):
            stylist = await add_staff(scope, "Alex Moreno")
            await add_service(
                scope, "Consultation", duration_minutes=30, price=0, providers=[stylist]
            )
        owner = (
            await Account.select(Account.id)
            .where(Account.email == demo.owner_email)
            .first()
        )
        token, _ = await create_api_token(scope, owner["id"], "tests")
        return demo.slug, scope, owner["id"], demo.owner_email, token

    return client.blocking_portal.call(create)  # type: ignore[no-any-return]


@pytest.fixture
def tenants(client: Any) -> dict[str, TenantHandle]:
    handles = {}
    for plugin in VERTICALS:
        if plugin not in _seeded:
            _seeded[plugin] = seed(client, plugin)
        slug, scope, owner_id, email, token = _seeded[plugin]
        handles[plugin] = TenantHandle(slug, scope, owner_id, email, token, client)
    return handles


def first_client(tenant: TenantHandle) -> str:
    async def read() -> str:
        row = await tenant.scope.select(Client, Client.id).first()
        return str(row["id"])

    return tenant.run(read)  # type: ignore[no-any-return]


def services(tenant: TenantHandle) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        rows = await tenant.scope.select(Service)
        return [
            {
                key: str(value) if isinstance(value, uuid.UUID) else value
                for key, value in row.items()
            }
            for row in rows
        ]

    return tenant.run(read)  # type: ignore[no-any-return]


def test_demo_salon_has_its_data(tenants) -> None:
    salon = tenants["salon"]

    async def counts() -> tuple[int, int, int]:
        return (
            await salon.scope.count(Service),
            await salon.scope.count(SalonVariant),
            await salon.scope.count(SalonFormula),
        )

    service_count, variant_count, formula_count = salon.run(counts)
    assert service_count == 6
    assert variant_count == 15
    assert formula_count == 5
    assert salon.get("/plugins/salon/services").status_code == 200


def test_hooks_reach_only_own_plugin(tenants) -> None:
    for plugin, tenant in tenants.items():
        hooks = tenant.run(load_tenant_hooks, tenant.scope)
        assert hooks.enabled == {plugin}, plugin
        for hook in HOOKS:
            owners = {impl.plugin_name for impl in getattr(hooks, hook).get_hookimpls()}
            assert owners <= {plugin}, f"{hook} of {plugin}'s tenant reaches {owners}"


def test_booking_fields_only_own(tenants) -> None:
    for plugin, tenant in tenants.items():
        hooks = tenant.run(load_tenant_hooks, tenant.scope)
        names = set()
        for service in services(tenant):
            call = hooks.tillbook_booking_fields(scope=tenant.scope, service=service)
            for fields in tenant.run(call.run):
                names.update(field["name"] for field in fields)
        foreign = {name for name in names if not name.startswith(f"{plugin}.")}
        assert foreign == set(), plugin
        if plugin == "salon":
            assert "salon.hair_length" in names


def test_pages_and_api_only_own(tenants) -> None:
    for plugin, tenant in tenants.items():
        client_id = first_client(tenant)
        for other in VERTICALS:
            page = PAGES[other].format(client=client_id)
            response = tenant.client.get(tenant.page(page), headers=tenant.headers)
            if other == plugin:
                assert response.status_code == 200, (plugin, page, response.text[:200])
            else:
                assert response.status_code == 404, (plugin, page)
        salon_api = tenant.get("/plugins/salon/services")
        assert salon_api.status_code == (200 if plugin == "salon" else 404)


def test_prompts_and_rules_only_own(tenants) -> None:
    line = {
        "id": str(uuid.uuid4()),
        "ticket_id": str(uuid.uuid4()),
        "kind": "service",
        "item_id": None,
        "description": "Service",
        "category": "",
        "quantity": 1,
        "unit_price": 5000,
        "amount": 5000,
    }
    for plugin, tenant in tenants.items():
        service = services(tenant)[0]
        client = {"id": first_client(tenant), "first_name": "Sam"}
        ticket = {
            "lines": [
                {**line, "item_id": service["id"], "description": service["name"]}
            ]
        }
        hooks = tenant.run(load_tenant_hooks, tenant.scope)
        prompts = tenant.run(
            hooks.tillbook_checkout_prompts(
                scope=tenant.scope, client=client, appointment=None, ticket=ticket
            ).run
        )
        flat = [prompt for result in prompts for prompt in result]
        rebooking = [prompt for prompt in flat if prompt.startswith("Rebook Sam for")]
        assert bool(rebooking) == (plugin == "salon"), (plugin, flat)
        timing = tenant.run(
            hooks.tillbook_service_timing(
                scope=tenant.scope,
                service=service,
                staff_id=None,
                fields={"salon.hair_length": "long"},
            ).run
        )
        if plugin != "salon":
            assert timing is None or "salon.hair_length" not in str(timing)
        panels = tenant.run(
            hooks.tillbook_client_panels(scope=tenant.scope, client=client).run
        )
        html = "".join(panel for result in panels for panel in result)
        assert ('id="salon-formulas"' in html) == (plugin == "salon"), plugin
