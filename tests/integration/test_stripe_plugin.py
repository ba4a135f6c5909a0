"""The Stripe plugin against a local Stripe stand-in, through the SDK."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.fakes.stripe_api import FakeStripe
from tests.integration.test_checkout_setup import (
    enable_stripe,
    seed_checkout,
    store_card,
)
from tillbook.errors import PaymentDeclined
from tillbook.kernel.clients.tables import Client, ClientHistory
from tillbook.payments import StoredCard
from tillbook.plugins import get_plugin_manager
from tillbook_payments_stripe.plugin import (
    PROVIDER,
    tillbook_validate_settings,
    validate_settings,
)


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


def visa(fake_stripe: FakeStripe) -> StoredCard:
    return PROVIDER.store_card(
        fake_stripe.settings(),
        customer_ref="",
        email="ada@example.com",
        name="Ada Lovelace",
        payment_method_ref="pm_card_visa",
    )


def test_plugin_is_registered_by_entry_point() -> None:
    manager = get_plugin_manager()
    assert manager.get_plugin("payments_stripe") is not None


def test_store_card_creates_customer_and_attaches(fake_stripe: FakeStripe) -> None:
    card = visa(fake_stripe)

    assert card.label == "Visa 4242"
    assert card.customer_ref.startswith("cus_")
    assert card.payment_method_ref == "pm_card_visa"
    [customer] = fake_stripe.calls_to("/v1/customers")
    assert customer.params == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert customer.authorization == f"Bearer {fake_stripe.secret_key}"
    [attach] = fake_stripe.calls_to("/v1/payment_methods/pm_card_visa/attach")
    assert attach.params == {"customer": card.customer_ref}


def test_charge_replays_idempotency_key(fake_stripe: FakeStripe) -> None:
    card = visa(fake_stripe)
    settings = fake_stripe.settings()

    first = PROVIDER.charge_stored_card(
        settings,
        card=card,
        amount=3300,
        currency="GBP",
        idempotency_key="close-1",
        description="Ticket 1",
    )
    second = PROVIDER.charge_stored_card(
        settings,
        card=card,
        amount=3300,
        currency="GBP",
        idempotency_key="close-1",
        description="Ticket 1",
    )

    assert first == second
    assert first.amount == 3300
    assert len(fake_stripe.intents) == 1
    calls = fake_stripe.calls_to("/v1/payment_intents")
    assert [call.replayed for call in calls] == [False, True]
    assert calls[0].params["confirm"] == "true"
    assert calls[0].params["off_session"] == "true"
    assert calls[0].params["payment_method"] == "pm_card_visa"


def test_declined_charge_raises(fake_stripe: FakeStripe) -> None:
    settings = fake_stripe.settings()
    card = PROVIDER.store_card(
        settings,
        customer_ref="",
        email="",
        name="Ada",
        payment_method_ref="pm_card_chargeCustomerFail",
    )

    with pytest.raises(PaymentDeclined) as caught:
        PROVIDER.charge_stored_card(
            settings,
            card=card,
            amount=100,
            currency="gbp",
            idempotency_key="k",
            description="t",
        )

    assert caught.value.status_code == 402
    assert caught.value.extra["decline_code"] == "generic_decline"


def test_declined_card_cannot_be_stored(fake_stripe: FakeStripe) -> None:
    with pytest.raises(PaymentDeclined):
        PROVIDER.store_card(
            fake_stripe.settings(),
            customer_ref="",
            email="",
            name="Ada",
            payment_method_ref="pm_card_chargeDeclined",
        )


def test_refund_returns_reference(fake_stripe: FakeStripe) -> None:
    settings = fake_stripe.settings()
    card = visa(fake_stripe)
    charge = PROVIDER.charge_stored_card(
        settings,
        card=card,
        amount=2000,
        currency="GBP",
        idempotency_key="c",
        description="t",
    )

    refund = PROVIDER.refund(
        settings, reference=charge.reference, amount=2000, idempotency_key="c-refund"
    )

    assert refund.startswith("re_")
    assert fake_stripe.intents[charge.reference]["refunded"] == 2000


def test_wrong_key_is_reported_without_leaking(
    fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    settings = {**fake_stripe.settings(), "secret_key": "sk_test_not_the_right_one"}
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PaymentDeclined) as caught:
        PROVIDER.store_card(
            settings,
            customer_ref="",
            email="",
            name="Ada",
            payment_method_ref="pm_card_visa",
        )

    assert "secret_key" in caught.value.message
    assert "sk_test_not_the_right_one" not in caught.value.message
    assert "sk_test_not_the_right_one" not in caplog.text
    assert fake_stripe.secret_key not in caplog.text


def test_settings_validation_names_secret_key() -> None:
    errors = tillbook_validate_settings("payments_stripe", {"secret_key": "pk_live_x"})
    assert "secret_key" in errors
    assert tillbook_validate_settings("payments_square", {"secret_key": "x"}) == {}
    assert validate_settings({"secret_key": "sk_live_abc"}) == {}
    assert validate_settings({"secret_key": "sk_test_abc"}) == {}
    assert not PROVIDER.is_configured({"secret_key": "rk_test_abc"})


def test_api_base_must_be_loopback() -> None:
    good = {"secret_key": "sk_test_a", "api_base": "http://127.0.0.1:12111"}
    remote = {"secret_key": "sk_test_a", "api_base": "https://example.com"}
    assert validate_settings(good) == {}
    assert "api_base" in validate_settings(remote)
    assert "max_network_retries" in validate_settings(
        {"secret_key": "sk_test_a", "max_network_retries": 9}
    )


def test_store_card_through_api(client, fake_stripe: FakeStripe) -> None:
    checkout = seed_checkout(client)
    enable_stripe(checkout.tenant, fake_stripe)

    response = store_card(checkout)

    assert response.status_code == 201, response.text
    assert response.json() == {
        "client_id": checkout.client_id,
        "provider": "stripe",
        "label": "Visa 4242",
    }
    row = checkout.row(Client, checkout.client_id)
    assert row["payment_customer_ref"].startswith("cus_")
    assert row["payment_method_ref"] == "pm_card_visa"
    assert row["payment_method_label"] == "Visa 4242"
    [history] = checkout.rows(ClientHistory, ClientHistory.kind == "card.stored")
    assert history["summary"] == "Card on file: Visa 4242"

    # A second card reuses the customer.
    again = store_card(checkout, "pm_card_mastercard")
    assert again.json()["label"] == "Mastercard 4444"
    assert len(fake_stripe.calls_to("/v1/customers")) == 1


def test_store_card_api_rejects(client, fake_stripe: FakeStripe) -> None:
    checkout = seed_checkout(client)

    without_provider = store_card(checkout)
    enable_stripe(checkout.tenant, fake_stripe)
    malformed = store_card(checkout, "4242 4242 4242 4242")
    declined = store_card(checkout, "pm_card_chargeDeclined")

    assert without_provider.status_code == 422
    assert "payment_method" in without_provider.json()["errors"]
    assert malformed.status_code == 422
    assert "payment_method" in malformed.json()["errors"]
    assert declined.status_code == 402
    assert checkout.row(Client, checkout.client_id)["payment_method_ref"] == ""
