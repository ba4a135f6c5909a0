"""Stored cards and card charges through the tenant's payment provider.

The kernel knows providers only through ``tillbook.payments.PaymentProvider``,
returned by the ``tillbook_payment_provider`` hook of enabled plugins. A
provider's settings are the ones stored for its plugin; the plugin name is the
provider's ``plugin`` attribute when it has one, else ``payments_<name>``
(``payments_stripe`` for the provider named ``stripe``). Provider calls are
blocking SDK calls, so they run in a worker thread.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio

from tillbook.db import write_transaction
from tillbook.errors import ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.clients.tables import Client
from tillbook.payments import Charge, PaymentProvider, StoredCard
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_]{3,100}$")


@dataclass(frozen=True)
class ConfiguredProvider:
    """A payment provider together with the tenant's settings for its plugin."""

    provider: PaymentProvider
    settings: dict[str, Any]

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def account(self) -> str:
        """The ledger account its charges are debited to."""
        return f"card_clearing:{self.provider.name}"


def plugin_name_of(provider: PaymentProvider) -> str:
    """Return the name of the plugin whose settings configure ``provider``."""
    return str(getattr(provider, "plugin", "") or f"payments_{provider.name}")


def configured_provider(hooks: TenantHooks) -> ConfiguredProvider | None:
    """Return the first enabled provider whose settings let it charge cards."""
    for provider in hooks.tillbook_payment_provider():
        if provider is None:
            continue
        settings = hooks.plugin_settings(plugin_name_of(provider))
        if provider.is_configured(settings):
            return ConfiguredProvider(provider, settings)
    return None


def stored_card_of(client: dict[str, Any] | None) -> StoredCard | None:
    """Return the card a client has on file with the provider, if any."""
    if not client or not client["payment_method_ref"]:
        return None
    return StoredCard(
        customer_ref=client["payment_customer_ref"],
        payment_method_ref=client["payment_method_ref"],
        label=client["payment_method_label"],
    )


async def charge_stored_card(
    configured: ConfiguredProvider,
    *,
    card: StoredCard,
    amount: int,
    currency: str,
    idempotency_key: str,
    description: str,
) -> Charge:
    """Charge a stored card off-session; raise PaymentDeclined on a decline."""
    call = partial(
        configured.provider.charge_stored_card,
        configured.settings,
        card=card,
        amount=amount,
        currency=currency,
        idempotency_key=idempotency_key,
        description=description,
    )
    return await anyio.to_thread.run_sync(call)


async def charge_card_present(
    configured: ConfiguredProvider,
    *,
    reader: str,
    amount: int,
    currency: str,
    idempotency_key: str,
    description: str,
) -> Charge:
    """Charge a card at a reader through a provider with ``charge_card_present``.

    That method is optional in ``PaymentProvider``, so callers check for it.
    Raises PaymentDeclined on a decline.
    """
    # TODO: no bundled provider defines charge_card_present yet (the Stripe
    # plugin would need Stripe Terminal), so this path has no test.
    call = partial(
        configured.provider.charge_card_present,  # type: ignore[attr-defined]
        configured.settings,
        reader=reader,
        amount=amount,
        currency=currency,
        idempotency_key=idempotency_key,
        description=description,
    )
    return await anyio.to_thread.run_sync(call)


async def refund_charge(
    configured: ConfiguredProvider, charge: Charge, idempotency_key: str
) -> str:
    """Refund the whole of ``charge``; return the provider's refund reference."""
    call = partial(
        configured.provider.refund,
        configured.settings,
        reference=charge.reference,
        amount=charge.amount,
        idempotency_key=idempotency_key,
    )
    return await anyio.to_thread.run_sync(call)


async def store_client_card(
    scope: TenantScope,
    client_id: uuid.UUID | str,
    payment_method: object,
    hooks: TenantHooks,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Keep a client's card with the provider and remember its references.

    ``payment_method`` is the token the provider's browser SDK returned (for
    Stripe a ``pm_...`` id); the card number never reaches Tillbook. Creates
    the provider customer on first use. Returns ``{"client_id", "provider",
    "label"}``. Raises NotFound for an unknown client, ValidationFailed when
    the token is malformed or no provider is configured, and PaymentDeclined
    when the provider rejects the card.
    """
    # The id is checked first, so another tenant's client is a 404 whatever
    # the body holds.
    client = await scope.get(Client, client_id)
    if not isinstance(payment_method, str) or not _TOKEN_PATTERN.match(payment_method):
        raise invalid(
            "payment_method",
            "must be the token from the payment provider's card form, "
            "such as pm_1Nx...",
        )
    configured = configured_provider(hooks)
    if configured is None:
        raise ValidationFailed(
            {
                "payment_method": "no card payment provider is set up: "
                "enable and configure one in the plugin settings first"
            }
        )
    call = partial(
        configured.provider.store_card,
        configured.settings,
        customer_ref=client["payment_customer_ref"],
        email=client["email"],
        name=f"{client['first_name']} {client['last_name']}".strip(),
        payment_method_ref=payment_method,
    )
    card: StoredCard = await anyio.to_thread.run_sync(call)
    before = {
        "customer_ref": client["payment_customer_ref"],
        "label": client["payment_method_label"],
    }
    async with write_transaction():
        await scope.update(
            Client,
            {
                Client.payment_customer_ref: card.customer_ref,
                Client.payment_method_ref: card.payment_method_ref,
                Client.payment_method_label: card.label,
            },
        ).where(Client.id == client["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="client.card_stored",
            subject_type="client",
            subject_id=client["id"],
            before=before,
            after={"customer_ref": card.customer_ref, "label": card.label},
        )
        await add_history(
            scope,
            client["id"],
            "card.stored",
            f"Card on file: {card.label}",
        )
    logger.info(
        "stored a card for client %s of tenant %s with %s",
        client["id"],
        scope.tenant_id,
        configured.name,
    )
    return {
        "client_id": str(client["id"]),
        "provider": configured.name,
        "label": card.label,
    }
