"""Deposits taken at online booking through the tenant's Stripe account.

The Stripe plugin talks to ``tests.fakes.stripe_api.FakeStripe`` on loopback.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.stripe_api import FakeStripe
from tests.integration.test_appointment_changes import rows, set_policy
from tests.integration.test_booking_setup import Spa, seed_spa
from tests.integration.test_checkout_setup import enable_stripe
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.tables import JournalEntry, Posting, TicketLine
from tillbook.kernel.schedule.tables import Appointment, Hold

DEPOSIT = 2000


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


def spa_with_deposit(client: Any, stripe: FakeStripe | None) -> Spa:
    """A seeded spa whose facial needs a deposit, with Stripe if given."""
    spa = seed_spa(client)
    scope = spa.tenant.scope

    async def require_deposit() -> None:
        await scope.update(Service, {Service.deposit: DEPOSIT}).where(
            Service.id == uuid.UUID(spa.facial_id)
        )

    spa.tenant.run(require_deposit)
    if stripe is not None:
        enable_stripe(spa.tenant, stripe)
    return spa


def book_online(spa: Spa, clock: str, **extra: Any) -> Any:
    body = {**spa.booking(clock), **extra}
    return spa.tenant.client.post(spa.tenant.api("/bookings"), json=body)


def test_online_booking_charges_the_deposit(client, fake_stripe) -> None:
    spa = spa_with_deposit(client, fake_stripe)

    response = book_online(spa, "10:00", payment_method="pm_card_visa")

    assert response.status_code == 201, response.text
    appointment_id = uuid.UUID(response.json()["id"])
    [row] = rows(spa, Appointment, Appointment.id == appointment_id)
    assert row["deposit"] == DEPOSIT
    assert row["deposit_ref"].startswith("pi_")
    [intent] = fake_stripe.calls_to("/v1/payment_intents")
    assert intent.params["amount"] == str(DEPOSIT)
    assert intent.idempotency_key == f"deposit-{appointment_id}"
    [entry] = rows(spa, JournalEntry, JournalEntry.kind == "deposit")
    postings = rows(spa, Posting, Posting.entry_id == entry["id"])
    assert {p["account"]: p["amount"] for p in postings} == {
        "card_clearing:stripe": DEPOSIT,
        "client_deposits": -DEPOSIT,
    }
    [client_row] = rows(spa, Client, Client.id == row["client_id"])
    assert client_row["payment_method_label"] == "Visa 4242"


def test_declined_or_missing_card_books_nothing(client, fake_stripe) -> None:
    spa = spa_with_deposit(client, fake_stripe)
    without_provider = spa_with_deposit(client, None)

    declined = book_online(spa, "10:00", payment_method="pm_card_chargeCustomerFail")
    missing = book_online(spa, "10:00")
    malformed = book_online(spa, "10:00", payment_method="card 4242 4242")
    no_provider = book_online(without_provider, "10:00", payment_method="pm_card_visa")

    assert declined.status_code == 402, declined.text
    assert declined.json()["field"] == "payment_method"
    for response in (missing, malformed, no_provider):
        assert response.status_code == 422, response.text
        assert "payment_method" in response.json()["errors"]
    assert rows(spa, Appointment) == []
    assert rows(spa, Hold) == []
    assert rows(spa, JournalEntry) == []
    assert rows(without_provider, Appointment) == []
    # Only the declined card reached Stripe's charge endpoint.
    assert len(fake_stripe.calls_to("/v1/payment_intents")) == 1
    retry = book_online(spa, "10:00", payment_method="pm_card_visa")
    assert retry.status_code == 201, retry.text


def test_cancel_settles_paid_deposit(client, fake_stripe) -> None:
    spa = spa_with_deposit(client, fake_stripe)
    set_policy(spa, free_cancel_hours=72, late_cancel_fee=1500)
    late = book_online(spa, "10:00", payment_method="pm_card_visa").json()
    set_policy(spa, free_cancel_hours=1)
    free = book_online(spa, "14:00", payment_method="pm_card_visa").json()
    set_policy(spa, free_cancel_hours=72)

    charged = spa.tenant.post(f"/appointments/{late['id']}/cancel").json()
    set_policy(spa, free_cancel_hours=1)
    refunded = spa.tenant.post(f"/appointments/{free['id']}/cancel").json()

    # £15.00 fee from a £20.00 deposit: nothing due, £5.00 back to the card.
    assert (charged["fee"]["from_deposit"], charged["fee"]["due"]) == (1500, 0)
    assert charged["fee"]["deposit_refund"] == 500
    assert refunded["fee"]["fee"] == 0
    assert refunded["fee"]["deposit_refund"] == DEPOSIT
    amounts = sorted(
        int(call.params["amount"]) for call in fake_stripe.calls_to("/v1/refunds")
    )
    assert amounts == [500, DEPOSIT]
    assert rows(spa, TicketLine) == []
    balance = sum(
        p["amount"] for p in rows(spa, Posting, Posting.account == "client_deposits")
    )
    assert balance == 0
