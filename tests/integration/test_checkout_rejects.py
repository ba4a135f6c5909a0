"""Bad close requests and declined cards: a 4xx naming the field, nothing moved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.stripe_api import FakeStripe
from tests.integration.test_checkout_setup import (
    Checkout,
    enable_stripe,
    seed_checkout,
    store_card,
)
from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard, Product
from tillbook.kernel.clients.tables import ClientHistory
from tillbook.kernel.events.tables import OutboxEvent
from tillbook.kernel.ledger import closing
from tillbook.kernel.ledger.checkout import close_ticket
from tillbook.kernel.ledger.journal import UnbalancedEntry
from tillbook.kernel.ledger.tables import (
    IdempotencyRecord,
    JournalEntry,
    Posting,
    Tender,
    Ticket,
    Tip,
)
from tillbook.tenancy.plugin_settings import load_tenant_hooks


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


def snapshot(checkout: Checkout, ticket_id: str) -> dict[str, Any]:
    """Return everything a close may change, to compare before and after."""
    return {
        "ticket": checkout.row(Ticket, ticket_id)["status"],
        "entries": len(checkout.rows(JournalEntry)),
        "postings": len(checkout.rows(Posting)),
        "tenders": len(checkout.rows(Tender)),
        "tips": len(checkout.rows(Tip)),
        "keys": len(checkout.rows(IdempotencyRecord)),
        "gift": checkout.row(GiftCard, checkout.gift_card_id)["balance"],
        "sessions": checkout.row(ClientPackage, checkout.package_id)["sessions_left"],
        "stock": sorted(p["stock"] for p in checkout.rows(Product)),
        "history": len(checkout.rows(ClientHistory)),
        "closed_events": len(
            checkout.rows(OutboxEvent, OutboxEvent.name == "ticket.closed")
        ),
    }


def open_with_serum(checkout: Checkout) -> dict[str, Any]:
    ticket = checkout.open_ticket()
    response = checkout.add_product(ticket["id"], checkout.serum_id)
    assert response.status_code == 201
    return response.json()  # type: ignore[no-any-return]


CASES = [
    pytest.param(
        {"tenders": [{"kind": "cash", "amount": 5000}]},
        "tenders",
        "short",
        id="cash-short",
    ),
    pytest.param(
        {"tenders": [{"kind": "external_card", "amount": 7000}]},
        "tenders",
        "but",
        id="card-total-mismatch",
    ),
    pytest.param(
        {
            "tenders": [
                {"kind": "gift_card", "code": "GFTCRD2345ABCDEF", "amount": 3100}
            ]
        },
        "tenders[0].amount",
        "GFTC-RD23-45AB-CDEF",
        id="gift-card-too-little",
    ),
    pytest.param(
        {"tenders": [{"kind": "cash", "amount": -100}]},
        "tenders[0].amount",
        "negative",
        id="negative-amount",
    ),
    pytest.param(
        {"tenders": [{"kind": "cheque", "amount": 7900}]},
        "tenders[0].kind",
        "not a tender kind",
        id="unknown-tender",
    ),
    pytest.param(
        {
            "tenders": [{"kind": "cash", "amount": 7900}],
            "tips": [{"staff_id": "STAFF", "amount": -50}],
        },
        "tips[0].amount",
        "negative",
        id="negative-tip",
    ),
    pytest.param(
        {"tenders": [{"kind": "cash", "amount": 79.0}]},
        "tenders[0].amount",
        "not an integer",
        id="float-amount",
    ),
    pytest.param(
        {"tenders": [{"kind": "gift_card", "code": "NOPE", "amount": 100}]},
        "tenders[0].code",
        "not a gift card code",
        id="malformed-code",
    ),
    pytest.param(
        {"tenders": [{"kind": "card", "amount": 7900}]},
        "tenders[0].kind",
        "no card payment provider",
        id="card-without-provider",
    ),
    pytest.param(
        {
            "tenders": [
                {"kind": "external_card", "amount": 10000},
                {"kind": "cash", "amount": 100},
            ]
        },
        "tenders",
        "more than",
        id="non-cash-above-due",
    ),
    pytest.param({"tenders": "cash"}, "tenders", "list", id="tenders-not-list"),
]


@pytest.mark.parametrize(("body", "field", "fragment"), CASES)
def test_bad_close_names_field_and_changes_nothing(
    client, body: dict[str, Any], field: str, fragment: str
) -> None:
    checkout = seed_checkout(client)
    ticket = open_with_serum(checkout)  # 5400 + 2500 = 7900 due
    for tip in body.get("tips", []):
        tip["staff_id"] = checkout.staff_id
    before = snapshot(checkout, ticket["id"])

    response = checkout.close(ticket["id"], body)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert field in errors, errors
    assert fragment in errors[field]
    assert snapshot(checkout, ticket["id"]) == before


def test_mismatch_reports_both_amounts(client) -> None:
    checkout = seed_checkout(client)
    ticket = open_with_serum(checkout)

    response = checkout.close(
        ticket["id"], {"tenders": [{"kind": "external_card", "amount": 7000}]}
    )

    body = response.json()
    assert response.status_code == 422
    assert body["due"] == 7900
    assert body["tendered"] == 7000
    assert "GBP 79.00" in body["errors"]["tenders"]


def test_expired_gift_card_is_rejected(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    async def expire() -> None:
        await checkout.scope.update(
            GiftCard, {GiftCard.expires_at: utcnow() - timedelta(days=1)}
        ).where(GiftCard.code == checkout.gift_code)

    checkout.tenant.run(expire)
    before = snapshot(checkout, ticket["id"])

    response = checkout.close(
        ticket["id"],
        {
            "tenders": [
                {"kind": "gift_card", "code": checkout.gift_code, "amount": 1000},
                {"kind": "cash", "amount": 4400},
            ]
        },
    )

    assert response.status_code == 422
    assert "expired" in response.json()["errors"]["tenders[0].code"]
    assert snapshot(checkout, ticket["id"]) == before


def test_expired_package_is_rejected(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    async def expire() -> None:
        await checkout.scope.update(
            ClientPackage, {ClientPackage.expires_at: utcnow() - timedelta(days=1)}
        ).where(ClientPackage.client_id == checkout.client_id)

    checkout.tenant.run(expire)
    before = snapshot(checkout, ticket["id"])

    response = checkout.close(
        ticket["id"],
        {"tenders": [{"kind": "package", "client_package_id": checkout.package_id}]},
    )

    assert response.status_code == 422
    assert "expired" in response.json()["errors"]["tenders[0].client_package_id"]
    assert snapshot(checkout, ticket["id"]) == before


def test_empty_package_is_rejected(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    async def use_up() -> None:
        await checkout.scope.update(
            ClientPackage, {ClientPackage.sessions_left: 0}
        ).where(ClientPackage.client_id == checkout.client_id)

    checkout.tenant.run(use_up)

    response = checkout.close(
        ticket["id"],
        {"tenders": [{"kind": "package", "client_package_id": checkout.package_id}]},
    )

    assert response.status_code == 422
    assert "sessions" in response.json()["errors"]["tenders[0].client_package_id"]


def test_declined_card_posts_nothing(client, fake_stripe: FakeStripe) -> None:
    checkout = seed_checkout(client)
    enable_stripe(checkout.tenant, fake_stripe)
    assert store_card(checkout, "pm_card_chargeCustomerFail").status_code == 201
    ticket = open_with_serum(checkout)
    before = snapshot(checkout, ticket["id"])
    body = {
        "tenders": [
            {"kind": "gift_card", "code": checkout.gift_code, "amount": 1000},
            {"kind": "card", "amount": 6900},
        ]
    }

    response = checkout.close(ticket["id"], body, key="declined-1")

    assert response.status_code == 402, response.text
    assert response.json()["code"] == "payment_declined"
    assert response.json()["decline_code"] == "generic_decline"
    assert snapshot(checkout, ticket["id"]) == before
    assert len(fake_stripe.calls_to("/v1/payment_intents")) == 1
    assert fake_stripe.refunds == {}

    # The failed attempt released its key: a retry with cash goes through.
    cash = {
        "tenders": [
            {"kind": "gift_card", "code": checkout.gift_code, "amount": 1000},
            {"kind": "cash", "amount": 6900},
        ]
    }
    retry = checkout.close(ticket["id"], cash, key="declined-1")
    assert retry.status_code == 200, retry.text
    assert checkout.row(Ticket, ticket["id"])["status"] == "closed"


def test_failed_transaction_refunds_card(
    client, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = seed_checkout(client)
    enable_stripe(checkout.tenant, fake_stripe)
    store_card(checkout)
    ticket = checkout.open_ticket()
    before = snapshot(checkout, ticket["id"])

    async def unbalanced(*args: Any, **kwargs: Any) -> None:
        raise UnbalancedEntry("postings sum to 1, not 0")

    monkeypatch.setattr(closing, "post_entry", unbalanced)

    async def close() -> None:
        hooks = await load_tenant_hooks(checkout.scope)
        await close_ticket(
            checkout.scope,
            ticket["id"],
            tenders=[{"kind": "card", "amount": 5400}],
            tips=[],
            actor_id=None,
            idempotency_key="will-fail",
            hooks=hooks,
        )

    with pytest.raises(UnbalancedEntry):
        checkout.tenant.run(close)

    [charge] = fake_stripe.calls_to("/v1/payment_intents")
    assert charge.status == 200
    [refund] = fake_stripe.refunds.values()
    assert refund["amount"] == 5400
    assert snapshot(checkout, ticket["id"]) == before


def test_other_tenant_ticket_is_not_found(client) -> None:
    checkout = seed_checkout(client)
    other = seed_checkout(client)
    ticket = checkout.open_ticket()

    seen = other.tenant.get(f"/tickets/{ticket['id']}")
    closed = other.close(ticket["id"], {"tenders": [{"kind": "cash", "amount": 5400}]})

    assert seen.status_code == 404
    assert closed.status_code == 404
    assert checkout.row(Ticket, ticket["id"])["status"] == "open"
