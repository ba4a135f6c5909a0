"""Bad input found by hand in the fitness plugin's passes."""

from __future__ import annotations

from tests.plugins.shops import add_client, plugin_tenant
from tillbook_fitness.tables import ClassPass


def test_fitness_pass_huge_price_is_422(client) -> None:
    tenant = plugin_tenant(client, "fitness")
    client_id = add_client(tenant, "Mira", "Stone")
    path = f"/plugins/fitness/clients/{client_id}/passes"
    pack = {"kind": "pack", "name": "10-class pack", "credits": 10, "valid_days": 90}

    responses = {
        price: tenant.post(path, {**pack, "price": price}) for price in (2**31, 10**30)
    }
    largest = tenant.post(path, {**pack, "price": 2**31 - 1})

    for price, response in responses.items():
        assert response.status_code == 422, (price, response.text)
        assert "price" in response.json()["errors"], (price, response.text)
    assert largest.status_code == 201, largest.text
    assert len(tenant.run(lambda: tenant.scope.select(ClassPass))) == 1
