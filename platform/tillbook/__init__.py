"""Tillbook: booking and point of sale for service businesses.

The names exported here are the public API for plugins.
"""

from tillbook.payments import Charge, PaymentProvider, StoredCard
from tillbook.plugins import hookimpl

__all__ = ["Charge", "PaymentProvider", "StoredCard", "hookimpl"]
