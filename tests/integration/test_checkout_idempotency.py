"""Closing a ticket is idempotent per ``Idempotency-Key``, even under a burst."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.fakes.stripe_api import FakeStripe
from tests.integration.test_checkout_setup import (
    Checkout,
    enable_stripe,
    seed_checkout,
    store_card,
)
from tillbook.kernel.ledger.tables import IdempotencyRecord, JournalEntry, Tender


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


def card_and_cash(checkout: Checkout) -> dict[str, Any]:
    return {
        "tenders": [{"kind": "card", "amount": 4000}, {"kind": "cash", "amount": 2000}],
        "tips": [{"staff_id": checkout.staff_id, "amount": 500}],
    }


def test_same_key_returns_first_result(client, fake_stripe: FakeStripe) -> None:
    checkout = seed_checkout(client)
    enable_stripe(checkout.tenant, fake_stripe)
    store_card(checkout)
    ticket = checkout.open_ticket()
    body = card_and_cash(checkout)

    first = checkout.close(ticket["id"], body, key="till-1-attempt-1")
    second = checkout.close(ticket["id"], body, key="till-1-attempt-1")

    assert first.status_code == 200, first.text
    assert second.status_code == first.status_code
    assert second.json() == first.json()
    assert first.json()["change"] == 100
    assert len(checkout.rows(JournalEntry)) == 1
    assert len(checkout.rows(Tender)) == 2
    assert len(fake_stripe.calls_to("/v1/payment_intents")) == 1


def test_same_key_different_body_is_rejected(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()
    cash = {"tenders": [{"kind": "cash", "amount": 5400}]}
    assert checkout.close(ticket["id"], cash, key="k-1").status_code == 200

    more_cash = {"tenders": [{"kind": "cash", "amount": 6000}]}
    response = checkout.close(ticket["id"], more_cash, key="k-1")

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["errors"]
    assert len(checkout.rows(JournalEntry)) == 1


def test_missing_key_is_rejected(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    response = checkout.tenant.client.post(
        checkout.tenant.api(f"/tickets/{ticket['id']}/close"),
        json={"tenders": [{"kind": "cash", "amount": 5400}]},
        headers=checkout.tenant.headers,
    )

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["errors"]
    assert checkout.rows(JournalEntry) == []


def test_new_key_on_closed_ticket_conflicts(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()
    cash = {"tenders": [{"kind": "cash", "amount": 5400}]}
    assert checkout.close(ticket["id"], cash, key="first").status_code == 200

    response = checkout.close(ticket["id"], cash, key="second")

    assert response.status_code == 409
    assert len(checkout.rows(JournalEntry)) == 1
    assert len(checkout.rows(IdempotencyRecord)) == 1


def test_ten_identical_requests_close_once(client, fake_stripe: FakeStripe) -> None:
    checkout = seed_checkout(client)
    enable_stripe(checkout.tenant, fake_stripe)
    store_card(checkout)
    ticket = checkout.open_ticket()
    body = card_and_cash(checkout)

    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [
            pool.submit(checkout.close, ticket["id"], body, "burst-key")
            for _ in range(10)
        ]
        responses = [future.result() for future in futures]

    assert [r.status_code for r in responses] == [200] * 10, [
        r.text for r in responses if r.status_code != 200
    ]
    bodies = {r.text for r in responses}
    assert len({str(sorted(r.json().items())) for r in responses}) == 1, bodies
    assert len(checkout.rows(JournalEntry)) == 1
    assert len(checkout.rows(Tender)) == 2
    assert len(fake_stripe.calls_to("/v1/payment_intents")) == 1
    assert fake_stripe.refunds == {}
