"""Refunds and voids through the API: where the money goes, and bad input."""

from __future__ import annotations

import secrets
from collections import Counter
from typing import Any

from tests.fakes.stripe_api import FakeStripe
from tests.integration.test_checkout_setup import (
    Checkout,
    enable_stripe,
    seed_checkout,
    store_card,
)
from tests.integration.test_receipt import wait_until_dispatched
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard, Product
from tillbook.kernel.events.tables import OutboxEvent
from tillbook.kernel.ledger.backoffice_tables import (
    Commission,
    Refund,
    RefundLine,
    RefundTender,
)
from tillbook.kernel.ledger.tables import JournalEntry, Posting, Ticket, Wallet


def refund(
    checkout: Checkout, ticket_id: str, body: Any, key: str | None = None
) -> Any:
    headers = {"Idempotency-Key": key or secrets.token_hex(8)}
    return checkout.tenant.post(f"/tickets/{ticket_id}/refunds", body, headers=headers)


def void(checkout: Checkout, ticket_id: str, reason: str = "rung up twice") -> Any:
    settle_receipts(checkout)
    headers = {"Idempotency-Key": secrets.token_hex(8)}
    return checkout.tenant.post(
        f"/tickets/{ticket_id}/void", {"reason": reason}, headers=headers
    )


def sell_serums(
    checkout: Checkout,
    quantity: int,
    tenders: list[dict[str, Any]],
    client_id: str | None = None,
) -> dict:
    """Close a walk-in ticket of ``quantity`` serums; return the ticket view."""
    ticket = checkout.tenant.post("/tickets", {"client_id": client_id}).json()
    added = checkout.add_product(ticket["id"], checkout.serum_id, quantity=quantity)
    assert added.status_code in (200, 201), added.text
    closed = checkout.close(ticket["id"], {"tenders": tenders})
    assert closed.status_code == 200, closed.text
    return checkout.tenant.get(f"/tickets/{ticket['id']}").json()  # type: ignore[no-any-return]


def settle_receipts(checkout: Checkout) -> None:
    """Let the receipt jobs of earlier closes run before a void.

    The receipt job fails on a ticket that is already void, and its retries
    outlast the test.
    """
    if checkout.rows(OutboxEvent, OutboxEvent.name == "ticket.closed"):
        wait_until_dispatched(checkout, "ticket.closed")


def entries_balance(checkout: Checkout) -> None:
    for entry in checkout.rows(JournalEntry):
        postings = checkout.rows(Posting, Posting.entry_id == entry["id"])
        assert sum(p["amount"] for p in postings) == 0, entry["kind"]


def test_partial_refund_goes_to_card_then_cash(client) -> None:
    checkout = seed_checkout(client)
    ticket = sell_serums(
        checkout,
        3,
        [
            {"kind": "external_card", "amount": 3000, "reference": "SLIP 1"},
            {"kind": "cash", "amount": 4500},
        ],
    )
    [line] = ticket["lines"]

    first = refund(
        checkout,
        ticket["id"],
        {
            "lines": [{"line_id": line["id"], "quantity": 2}],
            "reason": "wrong shade",
            "restock": True,
        },
    )

    assert first.status_code == 201, first.text
    body = first.json()
    assert body["amount"] == 5000
    assert [(t["kind"], t["amount"]) for t in body["tenders"]] == [
        ("external_card", 3000),
        ("cash", 2000),
    ]
    assert checkout.row(Product, checkout.serum_id)["stock"] == 9
    entries_balance(checkout)

    rest = refund(
        checkout, ticket["id"], {"lines": [{"line_id": line["id"]}], "reason": "all"}
    )
    assert rest.status_code == 201, rest.text
    assert rest.json()["amount"] == 2500
    assert [(t["kind"], t["amount"]) for t in rest.json()["tenders"]] == [
        ("cash", 2500)
    ]
    lines = checkout.rows(RefundLine)
    assert sum(row["amount"] for row in lines) == 7500
    assert sum(row["quantity"] for row in lines) == 3
    tender_rows = checkout.rows(RefundTender)
    assert sum(row["amount"] for row in tender_rows) == 7500
    assert checkout.row(Product, checkout.serum_id)["stock"] == 9
    entries_balance(checkout)
    audit = checkout.rows(AuditEntry, AuditEntry.action == "ticket.refunded")
    assert len(audit) == 2


def test_refund_reverses_sale_accounts(client) -> None:
    checkout = seed_checkout(client)
    ticket = sell_serums(checkout, 2, [{"kind": "cash", "amount": 5000}])
    [line] = ticket["lines"]

    response = refund(
        checkout, ticket["id"], {"lines": [{"line_id": line["id"]}], "reason": "x"}
    )

    assert response.status_code == 201, response.text
    [entry] = checkout.rows(JournalEntry, JournalEntry.kind == "refund")
    postings = checkout.rows(Posting, Posting.entry_id == entry["id"])
    assert Counter((p["account"], p["amount"]) for p in postings) == Counter(
        {("cash", -5000): 1, ("retail_revenue", 4167): 1, ("tax_payable", 833): 1}
    )
    assert entry["actor_id"] == checkout.tenant.owner_id
    assert "x" in entry["memo"]


def test_refund_bad_input_changes_nothing(client) -> None:
    checkout = seed_checkout(client)
    ticket = sell_serums(checkout, 2, [{"kind": "cash", "amount": 5000}])
    [line] = ticket["lines"]
    cases = [
        (
            {"lines": [{"line_id": line["id"], "quantity": 3}], "reason": "r"},
            "lines[0].quantity",
        ),
        (
            {"lines": [{"line_id": line["id"], "quantity": -1}], "reason": "r"},
            "lines[0].quantity",
        ),
        (
            {"lines": [{"line_id": line["id"], "quantity": 0}], "reason": "r"},
            "lines[0].quantity",
        ),
        (
            {
                "lines": [{"line_id": "6f1c5a8e-0000-4000-8000-000000000000"}],
                "reason": "r",
            },
            "lines[0].line_id",
        ),
        ({"lines": [{"line_id": "nope"}], "reason": "r"}, "lines[0].line_id"),
        ({"lines": [{"line_id": line["id"]}], "reason": ""}, "reason"),
        ({"lines": [], "reason": "r"}, "lines"),
        (
            {"lines": [{"line_id": line["id"]}], "reason": "r", "to_wallet": "yes"},
            "to_wallet",
        ),
        ({"lines": [{"line_id": line["id"]}], "reason": "r", "amount": 5}, "amount"),
    ]
    entries_before = len(checkout.rows(JournalEntry))

    for body, field in cases:
        response = refund(checkout, ticket["id"], body)
        assert response.status_code == 422, (field, response.text)
        assert field in response.json()["errors"], (field, response.json())

    assert checkout.rows(Refund) == []
    assert len(checkout.rows(JournalEntry)) == entries_before
    assert checkout.row(Product, checkout.serum_id)["stock"] == 8


def test_refund_replays_its_idempotency_key(client) -> None:
    checkout = seed_checkout(client)
    ticket = sell_serums(checkout, 2, [{"kind": "cash", "amount": 5000}])
    [line] = ticket["lines"]
    body = {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "once"}

    first = refund(checkout, ticket["id"], body, key="refund-key-1")
    second = refund(checkout, ticket["id"], body, key="refund-key-1")
    changed = refund(
        checkout, ticket["id"], {**body, "reason": "twice"}, key="refund-key-1"
    )

    assert first.status_code == 201, first.text
    assert second.json() == first.json()
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json()["errors"]
    assert len(checkout.rows(Refund)) == 1


def test_refund_of_open_ticket_is_conflict(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    response = refund(
        checkout,
        ticket["id"],
        {"lines": [{"line_id": ticket["lines"][0]["id"]}], "reason": "r"},
    )

    assert response.status_code == 409
    assert checkout.rows(Refund) == []


def test_void_restores_gift_card_package_and_stock(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()
    checkout.add_product(ticket["id"], checkout.serum_id, quantity=1)
    view = checkout.tenant.get(f"/tickets/{ticket['id']}").json()
    service_line = next(line for line in view["lines"] if line["kind"] == "service")
    product_line = next(line for line in view["lines"] if line["kind"] == "product")
    closed = checkout.close(
        ticket["id"],
        {
            "tenders": [
                {"kind": "package", "line_id": service_line["id"]},
                {
                    "kind": "gift_card",
                    "code": checkout.gift_code,
                    "amount": product_line["total"],
                },
            ]
        },
    )
    assert closed.status_code == 200, closed.text
    assert checkout.row(GiftCard, checkout.gift_card_id)["balance"] == 500
    assert checkout.row(ClientPackage, checkout.package_id)["sessions_left"] == 2

    response = void(checkout, ticket["id"])

    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "void"
    assert checkout.row(Ticket, ticket["id"])["status"] == "void"
    assert checkout.row(GiftCard, checkout.gift_card_id)["balance"] == 3000
    assert checkout.row(ClientPackage, checkout.package_id)["sessions_left"] == 3
    assert checkout.row(Product, checkout.serum_id)["stock"] == 10
    totals: Counter[str] = Counter()
    for posting in checkout.rows(Posting):
        totals[posting["account"]] += posting["amount"]
    assert {account: amount for account, amount in totals.items() if amount} == {}
    again = void(checkout, ticket["id"])
    assert again.status_code == 409


def test_void_open_ticket_posts_nothing(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    response = void(checkout, ticket["id"], "client left")

    assert response.status_code == 200, response.text
    assert checkout.row(Ticket, ticket["id"])["status"] == "void"
    assert checkout.rows(JournalEntry) == []
    missing_reason = checkout.tenant.post(
        f"/tickets/{ticket['id']}/void", {}, headers={"Idempotency-Key": "k-void-2"}
    )
    assert missing_reason.status_code == 422
    assert "reason" in missing_reason.json()["errors"]


def test_void_after_refund_is_conflict(client) -> None:
    checkout = seed_checkout(client)
    ticket = sell_serums(checkout, 2, [{"kind": "cash", "amount": 5000}])
    [line] = ticket["lines"]
    refund(
        checkout,
        ticket["id"],
        {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "r"},
    )

    response = void(checkout, ticket["id"])

    assert response.status_code == 409
    assert "refund" in response.json()["message"]


def test_refund_reverses_commission(client) -> None:
    checkout = seed_checkout(client)
    rule = checkout.tenant.post(
        "/backoffice/commission-rules",
        {"name": "Products", "kind": "product", "percent": "10"},
    )
    assert rule.status_code == 201, rule.text
    ticket = checkout.tenant.post("/tickets", {}).json()
    added = checkout.tenant.post(
        f"/tickets/{ticket['id']}/lines",
        {
            "kind": "product",
            "product_id": checkout.serum_id,
            "quantity": 2,
            "staff_id": checkout.staff_id,
        },
    )
    assert added.status_code in (200, 201), added.text
    closed = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": 5000}]}
    )
    assert closed.status_code == 200, closed.text
    [earned] = checkout.rows(Commission)
    assert earned["revenue"] == 4167
    assert earned["amount"] == 417

    line_id = added.json()["lines"][0]["id"] if "lines" in added.json() else None
    line_id = (
        line_id
        or checkout.tenant.get(f"/tickets/{ticket['id']}").json()["lines"][0]["id"]
    )
    refund(
        checkout,
        ticket["id"],
        {"lines": [{"line_id": line_id, "quantity": 1}], "reason": "r"},
    )

    rows = checkout.rows(Commission)
    assert len(rows) == 2
    # One unit refunds 2500 with 417 tax, so 2083 net; 417 * 2083 / 4167
    # rounds to 208 of commission.
    assert sum(row["revenue"] for row in rows) == 4167 - 2083
    assert sum(row["amount"] for row in rows) == 417 - 208


def test_card_refund_goes_through_provider(client) -> None:
    with FakeStripe() as stripe:
        checkout = seed_checkout(client)
        enable_stripe(checkout.tenant, stripe)
        stored = store_card(checkout)
        assert stored.status_code in (200, 201), stored.text
        ticket = sell_serums(
            checkout, 2, [{"kind": "card", "amount": 5000}], checkout.client_id
        )
        [line] = ticket["lines"]

        response = refund(
            checkout,
            ticket["id"],
            {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "broken"},
        )

        assert response.status_code == 201, response.text
        [part] = response.json()["tenders"]
        assert part["kind"] == "card"
        assert part["amount"] == 2500
        assert part["reference"].startswith("re_")
        [intent] = stripe.intents.values()
        assert intent["refunded"] == 2500
        entries_balance(checkout)


def test_refund_to_wallet_credits_client(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.tenant.post("/tickets", {"client_id": checkout.client_id}).json()
    checkout.add_product(ticket["id"], checkout.serum_id, quantity=2)
    view = checkout.tenant.get(f"/tickets/{ticket['id']}").json()
    total = view["totals"]["total"]
    closed = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": total}]}
    )
    assert closed.status_code == 200, closed.text
    [line] = view["lines"]

    response = refund(
        checkout,
        ticket["id"],
        {"lines": [{"line_id": line["id"]}], "reason": "credit", "to_wallet": True},
    )

    assert response.status_code == 201, response.text
    assert [(t["kind"], t["amount"]) for t in response.json()["tenders"]] == [
        ("wallet", total)
    ]
    [wallet_row] = checkout.rows(Wallet)
    assert wallet_row["balance"] == total
    liability = sum(
        p["amount"]
        for p in checkout.rows(Posting)
        if p["account"] == "wallet_liability"
    )
    assert liability == -total
