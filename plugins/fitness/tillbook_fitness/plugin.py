"""Hook implementations of the fitness plugin."""

from __future__ import annotations
