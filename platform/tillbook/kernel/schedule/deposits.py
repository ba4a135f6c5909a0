"""Deposits: money a client pays when booking a service online that requires it.

A deposit is charged to the client's card through the tenant's payment
provider and held as a liability, ``client_deposits``, until one of these
happens:

- checkout uses it as a tender of kind ``deposit`` (the till's code);
- a late cancellation or no-show forfeits it, up to the fee
  (``forfeit_deposit``: debit ``client_deposits``, credit ``fee_revenue``);
- a cancellation returns what is left to the card (``refund_deposit``).

Each move is one balanced journal entry. Provider calls are blocking SDK
calls, so they run in a worker thread.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from tillbook.db.base import utcnow
from tillbook.errors import PaymentDeclined, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.cards import (
    ConfiguredProvider,
    charge_stored_card,
    configured_provider,
    refund_charge,
)
from tillbook.kernel.ledger.journal import PostingDraft, post_entry
from tillbook.kernel.schedule.notices import format_price
from tillbook.kernel.schedule.tables import Appointment
from tillbook.payments import Charge, StoredCard
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

DEPOSIT_ACCOUNT = "client_deposits"
FEE_ACCOUNT = "fee_revenue"
_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_]{3,100}$")


async def deposit_due(
    scope: TenantScope, service_id: uuid.UUID | str, price: int
) -> int:
    """Return the deposit a service needs at online booking, capped at ``price``."""
    row = (
        await scope.select(Service, Service.deposit)
        .where(Service.id == _as_uuid(service_id))
        .first()
    )
    deposit = int(row["deposit"] or 0) if row else 0
    if deposit <= 0:
        return 0
    return min(deposit, price) if price > 0 else deposit


async def take_deposit(
    scope: TenantScope,
    *,
    appointment: dict[str, Any],
    payment_method: str | None,
    hooks: TenantHooks | None,
) -> None:
    """Charge the deposit of a new online booking and hold it for the client.

    Call inside the booking transaction, after the appointment row exists.
    ``appointment`` has at least ``id``, ``client_id``, ``service_id`` and
    ``price``. ``payment_method`` is the token from the provider's card form
    (for Stripe a ``pm_...`` id). The card is attached to the client's
    provider customer, the deposit is charged off-session with the
    idempotency key ``deposit-<appointment id>``, and the appointment's
    ``deposit`` and ``deposit_ref`` are set. A journal entry debits the
    provider's card clearing account and credits ``client_deposits``.

    Does nothing for a service without a deposit. Raises ValidationFailed
    naming ``payment_method`` when it is missing or malformed, or when no
    payment provider is set up. Raises PaymentDeclined (402, with ``field``
    payment_method) when the provider declines. Either way the caller's
    transaction rolls back.
    """
    appointment_id = _as_uuid(appointment["id"])
    amount = await deposit_due(
        scope, appointment["service_id"], int(appointment.get("price") or 0)
    )
    if amount <= 0:
        return
    amount_text = format_price(scope.tenant, amount)
    if not isinstance(payment_method, str) or not payment_method.strip():
        raise invalid(
            "payment_method",
            f"is required: this service needs a deposit of {amount_text}, "
            "paid by card when booking",
        )
    payment_method = payment_method.strip()
    if not _TOKEN_PATTERN.match(payment_method):
        raise invalid(
            "payment_method",
            "must be the token from the payment provider's card form, "
            "such as pm_1Nx...",
        )
    configured = configured_provider(hooks) if hooks is not None else None
    if configured is None:
        raise ValidationFailed(
            {
                "payment_method": f"this service needs a deposit of {amount_text}, "
                "but the business has no card payment set up: "
                "book by phone or ask the business"
            }
        )
    client = await scope.get(Client, appointment["client_id"])
    card = await _store_card(configured, client, payment_method, amount_text)
    charge = await _charge(configured, card, amount, appointment_id, amount_text, scope)
    try:
        await _record_deposit(scope, appointment_id, client, card, charge, configured)
    except BaseException:
        # The booking transaction rolls back, so the money must go back too.
        await _refund_quietly(configured, charge, f"deposit-undo-{appointment_id}")
        raise
    logger.info(
        "took a deposit of %s for appointment %s of tenant %s with %s",
        amount,
        appointment_id,
        scope.tenant_id,
        configured.name,
    )


async def _store_card(
    configured: ConfiguredProvider,
    client: dict[str, Any],
    payment_method: str,
    amount_text: str,
) -> StoredCard:
    import anyio

    def store() -> StoredCard:
        return configured.provider.store_card(
            configured.settings,
            customer_ref=client["payment_customer_ref"],
            email=client["email"],
            name=f"{client['first_name']} {client['last_name']}".strip(),
            payment_method_ref=payment_method,
        )

    try:
        return await anyio.to_thread.run_sync(store)
    except PaymentDeclined as exc:
        raise _declined(exc, amount_text) from None


async def _charge(
    configured: ConfiguredProvider,
    card: StoredCard,
    amount: int,
    appointment_id: uuid.UUID,
    amount_text: str,
    scope: TenantScope,
) -> Charge:
    try:
        return await charge_stored_card(
            configured,
            card=card,
            amount=amount,
            currency=scope.tenant.currency,
            idempotency_key=f"deposit-{appointment_id}",
            description=f"Deposit for appointment at {scope.tenant.name}",
        )
    except PaymentDeclined as exc:
        raise _declined(exc, amount_text) from None


def _declined(exc: PaymentDeclined, amount_text: str) -> PaymentDeclined:
    extra = {key: value for key, value in exc.extra.items() if key != "field"}
    return PaymentDeclined(
        f"payment_method: the card was declined for the deposit of {amount_text} "
        f"({exc.message}): use another card",
        field="payment_method",
        **extra,
    )


async def _record_deposit(
    scope: TenantScope,
    appointment_id: uuid.UUID,
    client: dict[str, Any],
    card: StoredCard,
    charge: Charge,
    configured: ConfiguredProvider,
) -> None:
    now = utcnow()
    await scope.update(
        Appointment,
        {Appointment.deposit: charge.amount, Appointment.deposit_ref: charge.reference},
    ).where(Appointment.id == appointment_id)
    if not client["payment_method_ref"]:
        # Keep the card on file, so a no-show fee can be charged to it later.
        await scope.update(
            Client,
            {
                Client.payment_customer_ref: card.customer_ref,
                Client.payment_method_ref: card.payment_method_ref,
                Client.payment_method_label: card.label,
            },
        ).where(Client.id == client["id"])
    await post_entry(
        scope,
        kind="deposit",
        at=now,
        drafts=[
            PostingDraft(configured.account, charge.amount),
            PostingDraft(DEPOSIT_ACCOUNT, -charge.amount),
        ],
        memo=f"Deposit for appointment {appointment_id}",
    )
    amount_text = format_price(scope.tenant, charge.amount)
    await add_history(
        scope,
        client["id"],
        "appointment.deposit",
        f"Deposit {amount_text} paid by {card.label}",
        appointment_id,
    )
    await record_audit(
        scope,
        actor_id=None,
        action="appointment.deposit_taken",
        subject_type="appointment",
        subject_id=appointment_id,
        after={
            "deposit": charge.amount,
            "deposit_ref": charge.reference,
            "provider": configured.name,
        },
    )


async def forfeit_deposit(
    scope: TenantScope,
    appointment: dict[str, Any],
    amount: int,
    *,
    memo: str,
    actor_id: uuid.UUID | None,
) -> None:
    """Keep ``amount`` of an appointment's deposit as fee revenue.

    Call inside the transaction that charges the fee. The entry debits
    ``client_deposits`` and credits ``fee_revenue``.
    """
    if amount <= 0:
        return
    await post_entry(
        scope,
        kind="deposit_forfeit",
        at=utcnow(),
        drafts=[
            PostingDraft(DEPOSIT_ACCOUNT, amount),
            # NOTE: the forfeited part is booked without tax; fee tickets tax
            # the rest of the fee at the tenant's default rate.
            PostingDraft(FEE_ACCOUNT, -amount),
        ],
        memo=memo,
        actor_id=actor_id,
    )


async def refund_deposit(
    scope: TenantScope,
    appointment: dict[str, Any],
    amount: int,
    *,
    hooks: TenantHooks | None,
    actor_id: uuid.UUID | None,
) -> bool:
    """Return ``amount`` of an appointment's deposit to the client's card.

    Call inside the transaction that cancels the appointment. Returns
    whether the card was refunded. Without a configured provider it returns
    False and the money stays in ``client_deposits``, for the desk to refund
    from the till.
    """
    configured = configured_provider(hooks) if hooks is not None else None
    if amount <= 0 or configured is None or not appointment["deposit_ref"]:
        return False
    charge = Charge(reference=appointment["deposit_ref"], amount=amount)
    # NOTE: the refund goes out before the caller's transaction commits. If
    # that commit fails, the client has the money back while the
    # appointment is still booked with its deposit recorded.
    refund_ref = await refund_charge(
        configured, charge, f"deposit-refund-{appointment['id']}"
    )
    await post_entry(
        scope,
        kind="deposit_refund",
        at=utcnow(),
        drafts=[
            PostingDraft(DEPOSIT_ACCOUNT, amount),
            PostingDraft(configured.account, -amount),
        ],
        memo=f"Deposit refund {refund_ref} for appointment {appointment['id']}",
        actor_id=actor_id,
    )
    return True


async def _refund_quietly(
    configured: ConfiguredProvider, charge: Charge, idempotency_key: str
) -> None:
    try:
        await refund_charge(configured, charge, idempotency_key)
    except Exception:
        logger.exception(
            "refunding deposit charge %s after a failed booking failed; "
            "refund it in the provider's dashboard",
            charge.reference,
        )


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
