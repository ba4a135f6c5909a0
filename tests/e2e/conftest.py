"""Browser tests: a real uvicorn server on 127.0.0.1 and Debian's Chromium."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import unavailable
from tillbook.config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass
class LiveServer:
    """A running server: its base URL and the settings it was started with."""

    url: str
    settings: Settings
    app: Any


@pytest.fixture
def live_server(settings: Settings, smtp_server: Any) -> Iterator[LiveServer]:
    """Serve the app with uvicorn in a thread, sending mail to the test SMTP server."""
    import uvicorn

    from tillbook.web.app import create_app

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server_settings = dataclasses.replace(
        settings, smtp_url=smtp_server.url, public_url=url
    )
    app = create_app(server_settings, inprocess_worker=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="e2e-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start within 20 s")
        time.sleep(0.05)
    try:
        yield LiveServer(url, server_settings, app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; skipped (failed in CI) if absent."""
    if not shutil.which(CHROMIUM):
        unavailable(
            f"Chromium is not installed at {CHROMIUM}: "
            "install it with `apt-get install -y chromium` to run browser tests"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    """A fresh desktop-sized browser context."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context (375 x 740, touch)."""
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, has_touch=True, is_mobile=True
    )
    yield context
    context.close()
