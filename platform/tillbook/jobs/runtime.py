"""The event loop on which job actors run their coroutines."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def use_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Run job coroutines on ``loop`` (the web server's), or on a private one."""
    global _loop
    _loop = loop


def _private_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="tillbook-jobs-loop", daemon=True
            ).start()
            _loop = loop
        return _loop


def run(coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """Run ``coro`` on the jobs loop from a worker thread and return its result."""
    loop = _loop if _loop is not None and not _loop.is_closed() else _private_loop()
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)
