"""Tenants resolve from their own host names as well as the path prefix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support import SharedClient, make_tenant
from tillbook.config import Settings
from tillbook.tenancy.tables import Tenant
from tillbook.web.app import HostTenantRewrite, create_app


@pytest.fixture
def host_client(settings: Settings) -> Iterator[Any]:
    # Only one started app at a time: the in-process job worker is global.
    SharedClient.close()
    app = create_app(settings, inprocess_worker=True)
    wrapped = HostTenantRewrite(app, "tillbook.test")
    with TestClient(wrapped, base_url="http://127.0.0.1:8000") as client:  # type: ignore[arg-type]
        yield client


def test_subdomain_serves_tenant_api(host_client: Any) -> None:
    tenant = make_tenant(host_client)
    response = host_client.get(
        "/api/v1/services", headers={"Host": f"{tenant.slug}.tillbook.test"}
    )
    assert response.status_code == 200


def test_custom_host_serves_tenant_api(host_client: Any) -> None:
    tenant = make_tenant(host_client)
    custom = f"book.{tenant.slug}.example"

    async def set_host() -> None:
        await Tenant.update({Tenant.host: custom}).where(
            Tenant.id == tenant.scope.tenant_id
        )

    tenant.run(set_host)
    response = host_client.get("/api/v1/services", headers={"Host": custom})
    assert response.status_code == 200


def test_unknown_subdomain_is_not_found(host_client: Any) -> None:
    response = host_client.get(
        "/api/v1/services", headers={"Host": "no-such-tenant.tillbook.test"}
    )
    assert response.status_code == 404


def test_unknown_custom_host_is_not_rewritten(host_client: Any) -> None:
    response = host_client.get(
        "/api/v1/services", headers={"Host": "elsewhere.example"}
    )
    assert response.status_code == 404


def test_path_prefix_still_works_on_tenant_host(host_client: Any) -> None:
    tenant = make_tenant(host_client)
    response = host_client.get(
        f"/t/{tenant.slug}/api/v1/services",
        headers={"Host": f"{tenant.slug}.tillbook.test"},
    )
    assert response.status_code == 200
