"""The interface through which the kernel charges and refunds cards.

Payment plugins return an object satisfying ``PaymentProvider`` from the
``tillbook_payment_provider`` hook. Card data never reaches Tillbook: the
provider stores cards and hands back opaque references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class StoredCard:
    """A card kept by the provider: references and a label such as "Visa 4242"."""

    customer_ref: str
    payment_method_ref: str
    label: str


@dataclass(frozen=True)
class Charge:
    """A successful charge; ``reference`` identifies it for refunds."""

    reference: str
    amount: int


class PaymentProvider(Protocol):
    """A card processor, configured per tenant by the plugin's settings.

    A provider that also takes card-present payments at its own readers
    defines ``charge_card_present(settings, *, reader, amount, currency,
    idempotency_key, description) -> Charge``, where ``reader`` is the
    reader's id as the provider names it. The method is optional: the till
    offers the ``card_present`` tender only when the provider has it.
    """

    name: str
    label: str

    def is_configured(self, settings: dict[str, Any]) -> bool:
        """Tell whether ``settings`` are enough to charge cards."""
        ...

    def store_card(
        self,
        settings: dict[str, Any],
        *,
        customer_ref: str,
        email: str,
        name: str,
        payment_method_ref: str,
    ) -> StoredCard:
        """Attach a tokenised card to the client's provider customer.

        Creates the customer first when ``customer_ref`` is empty. Raises
        ``PaymentDeclined`` when the provider rejects the card.
        """
        ...

    def charge_stored_card(
        self,
        settings: dict[str, Any],
        *,
        card: StoredCard,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
    ) -> Charge:
        """Charge ``amount`` minor units off-session; raise ``PaymentDeclined``."""
        ...

    def refund(
        self,
        settings: dict[str, Any],
        *,
        reference: str,
        amount: int,
        idempotency_key: str,
    ) -> str:
        """Refund part or all of a charge; return the refund's reference."""
        ...
