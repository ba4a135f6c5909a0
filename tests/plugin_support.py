"""A test client shared by every test of a module, for the plugin tests.

Building the app and starting its lifespan takes a second or more on
PostgreSQL with Redis, where ``tests.conftest.client`` builds a fresh app
for each test. The plugin test modules make many small tenants, so each
module starts one app and one event loop instead, and every test in it uses
its own tenants.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.support import SharedClient
from tillbook.config import Settings


def module_client(settings: Settings) -> Iterator[Any]:
    """Yield a started litestar test client; stop it and drain the job queues after."""
    from litestar.testing import TestClient

    from tillbook.config import set_settings
    from tillbook.jobs.broker import join_queues
    from tillbook.web.app import create_app

    # Only one started app at a time: the in-process job worker is global.
    SharedClient.close()
    set_settings(settings)
    app = create_app(settings, inprocess_worker=True)
    with TestClient(app, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client
        join_queues()
