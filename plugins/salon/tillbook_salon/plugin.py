"""Hook implementations of the salon plugin."""

from __future__ import annotations
