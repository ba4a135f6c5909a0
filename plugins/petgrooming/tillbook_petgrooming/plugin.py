"""Hook implementations of the petgrooming plugin."""

from __future__ import annotations
