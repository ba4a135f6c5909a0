"""HTML pages (filled in by the module's owner)."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
