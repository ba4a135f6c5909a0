"""Helpers that tests share: tenants with owners and API tokens."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from tillbook.tenancy.accounts import create_api_token
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import SignupRequest, sign_up

OWNER_PASSWORD = "correct horse battery"


@dataclass
class TenantHandle:
    """A tenant made for one test, with its owner's API token."""

    slug: str
    scope: TenantScope
    owner_id: uuid.UUID
    owner_email: str
    token: str
    client: Any = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self, path: str) -> str:
        return f"/t/{self.slug}/api/v1{path}"

    def page(self, path: str) -> str:
        return f"/t/{self.slug}{path}"

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(self.api(path), headers=self.headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.post(self.api(path), json=json, headers=headers, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.patch(
            self.api(path), json=json, headers=self.headers, **kwargs
        )

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(self.api(path), headers=self.headers, **kwargs)

    def run(self, fn: Any, *args: Any) -> Any:
        """Run an async kernel function on the app's event loop."""
        return self.client.blocking_portal.call(fn, *args)


def make_tenant(client: Any, **overrides: Any) -> TenantHandle:
    """Sign a new business up directly through the kernel and return its handle."""
    slug = overrides.pop("slug", f"spa-{secrets.token_hex(4)}")
    email = overrides.pop("email", f"owner-{secrets.token_hex(4)}@example.com")
    request = SignupRequest(
        business_name=overrides.pop("business_name", f"Spa {slug}"),
        slug=slug,
        email=email,
        password=OWNER_PASSWORD,
        owner_name=overrides.pop("owner_name", "Olivia Owner"),
        time_zone=overrides.pop("time_zone", "Europe/London"),
        currency=overrides.pop("currency", "GBP"),
        **overrides,
    )

    async def create() -> tuple[TenantScope, uuid.UUID, str]:
        scope, account_id = await sign_up(request)
        token, _ = await create_api_token(scope, account_id, "tests")
        return scope, account_id, token

    scope, owner_id, token = client.blocking_portal.call(create)
    return TenantHandle(slug, scope, owner_id, email, token, client)


class SharedClient:
    """One started app and test client, kept open while tests use its settings.

    Building the routes and starting the lifespan (database pool, outbox
    dispatcher, job worker, Redis channels) costs about a second, so tests
    with equal settings share one client: each test makes its own tenant, so
    no test sees another's rows. The client's event loop lives as long as the
    client, which litestar's Redis channels backend needs, because it binds
    to the loop of its first start. A test with other settings (its own SMTP
    server, say) closes the shared client and starts one of its own.
    """

    settings: Any = None
    client: Any = None

    @classmethod
    def open(cls, settings: Any) -> Any:
        from litestar.testing import TestClient

        from tillbook.web.app import create_app

        if cls.client is not None and cls.settings == settings:
            return cls.client
        cls.close()
        app = create_app(settings, inprocess_worker=True)
        test_client = TestClient(app, base_url="http://127.0.0.1:8000")  # type: ignore[arg-type]
        test_client.__enter__()
        cls.settings, cls.client = settings, test_client
        return test_client

    @classmethod
    def close(cls) -> None:
        test_client, cls.client, cls.settings = cls.client, None, None
        if test_client is not None:
            test_client.__exit__(None, None, None)
