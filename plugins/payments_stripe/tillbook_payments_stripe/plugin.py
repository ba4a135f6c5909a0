"""Stripe as a Tillbook payment provider, through the official ``stripe`` SDK.

Per-tenant settings (stored for the plugin ``payments_stripe``):

- ``secret_key``: the tenant's own Stripe secret key, ``sk_test_...`` or
  ``sk_live_...``;
- ``api_base`` (optional): another API address, for a local test server only.
  Without it the address is ``TILLBOOK_STRIPE_API_BASE`` when that is set,
  else the SDK's default (Stripe's public API);
- ``max_network_retries`` (optional): SDK retries on network errors, 0 to 5,
  default 2. Every write carries an idempotency key, so retries never
  double-charge.

Card numbers never reach Tillbook: the browser turns the card into a
PaymentMethod with Stripe.js, and the plugin stores only the customer and
PaymentMethod ids and a label such as "Visa 4242". Neither keys nor card
details are logged.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import stripe

from tillbook import Charge, StoredCard, hookimpl
from tillbook.config import get_settings
from tillbook.errors import PaymentDeclined

logger = logging.getLogger(__name__)

PLUGIN = "payments_stripe"
KEY_PREFIXES = ("sk_test_", "sk_live_")
DEFAULT_RETRIES = 2
MAX_RETRIES = 5
BAD_KEY_MESSAGE = (
    "must be a Stripe secret key starting with sk_test_ or sk_live_, "
    "from the Developers > API keys page of the Stripe dashboard"
)


class StripeProvider:
    """Customers, stored cards, off-session charges and refunds on Stripe."""

    name = "stripe"
    label = "Stripe"
    plugin = PLUGIN

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, int], stripe.StripeClient] = {}
        self._lock = threading.Lock()

    def is_configured(self, settings: dict[str, Any]) -> bool:
        """Tell whether ``settings`` hold a well-formed secret key."""
        return not validate_settings(settings) and bool(settings.get("secret_key"))

    def _client(self, settings: dict[str, Any]) -> stripe.StripeClient:
        key = str(settings.get("secret_key", ""))
        api_base = _api_base(settings)
        retries = int(settings.get("max_network_retries", DEFAULT_RETRIES))
        cache_key = (key, api_base, retries)
        with self._lock:
            client = self._clients.get(cache_key)
            if client is None:
                client = stripe.StripeClient(
                    key,
                    base_addresses={"api": api_base},
                    max_network_retries=retries,
                )
                self._clients[cache_key] = client
        return client

    def store_card(
        self,
        settings: dict[str, Any],
        *,
        customer_ref: str,
        email: str,
        name: str,
        payment_method_ref: str,
    ) -> StoredCard:
        """Attach a PaymentMethod to the client's Stripe customer.

        Creates the customer first when ``customer_ref`` is empty. Raises
        PaymentDeclined when Stripe rejects the card or the request.
        """
        client = self._client(settings)
        try:
            if not customer_ref:
                params: dict[str, Any] = {"name": name}
                if email:
                    params["email"] = email
                customer = client.v1.customers.create(params)  # type: ignore[arg-type]
                customer_ref = customer.id
                logger.info("created Stripe customer %s", customer_ref)
            method = client.v1.payment_methods.attach(
                payment_method_ref, {"customer": customer_ref}
            )
        except stripe.StripeError as exc:
            raise _declined("storing the card", exc) from None
        card = getattr(method, "card", None)
        brand = str(getattr(card, "brand", "") or "card").title()
        last4 = str(getattr(card, "last4", "") or "")
        label = f"{brand} {last4}".strip()
        return StoredCard(
            customer_ref=customer_ref, payment_method_ref=method.id, label=label
        )

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
        """Charge a stored card off-session with a confirmed PaymentIntent.

        Raises PaymentDeclined when the card is declined, needs the client's
        authentication (which an off-session charge cannot ask for), or
        Stripe fails the request.
        """
        client = self._client(settings)
        try:
            intent = client.v1.payment_intents.create(
                {
                    "amount": amount,
                    "currency": currency.lower(),
                    "customer": card.customer_ref,
                    "payment_method": card.payment_method_ref,
                    "confirm": True,
                    "off_session": True,
                    "description": description,
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _declined("charging the card", exc) from None
        if intent.status != "succeeded":
            raise PaymentDeclined(
                f"the card payment is {intent.status}: take another tender",
                provider="stripe",
                reference=intent.id,
            )
        logger.info("Stripe PaymentIntent %s succeeded for %s", intent.id, amount)
        return Charge(reference=intent.id, amount=intent.amount)

    def refund(
        self,
        settings: dict[str, Any],
        *,
        reference: str,
        amount: int,
        idempotency_key: str,
    ) -> str:
        """Refund ``amount`` of the PaymentIntent ``reference``; return the refund id.

        Raises PaymentDeclined when Stripe refuses the refund.
        """
        client = self._client(settings)
        try:
            refund = client.v1.refunds.create(
                {"payment_intent": reference, "amount": amount},
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _declined("refunding the charge", exc) from None
        logger.info("Stripe refund %s of %s on %s", refund.id, amount, reference)
        return str(refund.id)


def _declined(action: str, exc: stripe.StripeError) -> PaymentDeclined:
    """Turn an SDK error into PaymentDeclined, keeping Stripe's codes."""
    if isinstance(exc, stripe.CardError):
        error = getattr(exc, "error", None)
        decline_code = getattr(error, "decline_code", None) or exc.code or ""
        logger.info("Stripe declined %s: %s", action, decline_code)
        return PaymentDeclined(
            f"the card was declined ({decline_code or 'no reason given'}): "
            "ask for another card or tender",
            provider="stripe",
            decline_code=decline_code,
        )
    if isinstance(exc, stripe.AuthenticationError):
        message = "Stripe rejected the secret key: check secret_key in the settings"
    elif isinstance(exc, stripe.APIConnectionError):
        message = "Stripe could not be reached: try again, or take another tender"
    else:
        message = f"Stripe failed {action}: {exc.user_message or exc.code or 'error'}"
    logger.warning(
        "Stripe error while %s: %s (HTTP %s)",
        action,
        type(exc).__name__,
        exc.http_status,
    )
    return PaymentDeclined(message, provider="stripe", stripe_error=type(exc).__name__)


def _api_base(settings: dict[str, Any]) -> str:
    return str(
        settings.get("api_base")
        or get_settings().stripe_api_base
        or stripe.DEFAULT_API_BASE
    ).rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_settings(settings: dict[str, Any]) -> dict[str, str]:
    """Return errors by setting name for the plugin's settings; empty when valid."""
    errors: dict[str, str] = {}
    key = settings.get("secret_key", "")
    if not isinstance(key, str) or not key.startswith(KEY_PREFIXES):
        errors["secret_key"] = BAD_KEY_MESSAGE
    api_base = settings.get("api_base")
    if api_base:
        parts = urlsplit(str(api_base))
        if parts.scheme not in ("http", "https") or not _is_loopback(
            parts.hostname or ""
        ):
            errors["api_base"] = (
                "is only for a local test server, such as http://127.0.0.1:12111: "
                "leave it empty to use Stripe"
            )
    retries = settings.get("max_network_retries", DEFAULT_RETRIES)
    if (
        isinstance(retries, bool)
        or not isinstance(retries, int)
        or not 0 <= retries <= MAX_RETRIES
    ):
        errors["max_network_retries"] = (
            f"must be a whole number from 0 to {MAX_RETRIES}"
        )
    return errors


PROVIDER = StripeProvider()


@hookimpl
def tillbook_payment_provider() -> StripeProvider:
    """Offer Stripe to tenants that enabled the plugin."""
    return PROVIDER


@hookimpl
def tillbook_validate_settings(plugin: str, settings: dict[str, Any]) -> dict[str, str]:
    """Check the Stripe settings; other plugins' settings are not ours to judge."""
    if plugin != PLUGIN:
        return {}
    return validate_settings(settings)
