"""The arrival-and-checkout story end to end through the JSON API.

Ada's facial ticket opens pre-filled with her loyalty discount. She buys two
products, one of which the facial also consumes. She pays with a package
session, part of a gift card and her stored card through Stripe, and tips
Amira. One balanced journal entry records it all.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.stripe_api import FakeStripe
from tests.integration.test_checkout_setup import (
    Checkout,
    enable_stripe,
    seed_checkout,
    store_card,
)
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard, Product
from tillbook.kernel.clients.tables import Client, ClientHistory
from tillbook.kernel.events.tables import OutboxEvent
from tillbook.kernel.ledger.tables import (
    JournalEntry,
    Posting,
    Tender,
    Ticket,
    TicketLine,
    Tip,
)
from tillbook.kernel.schedule.tables import Appointment


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


def story_body(checkout: Checkout) -> dict[str, Any]:
    return {
        "tenders": [
            {"kind": "package", "client_package_id": checkout.package_id},
            {"kind": "gift_card", "code": "gftc-rd23-45ab-cdef", "amount": 2000},
            {"kind": "card", "amount": 3300},
        ],
        "tips": [{"staff_id": checkout.staff_id, "amount": 1000}],
    }


def open_story_ticket(checkout: Checkout) -> dict[str, Any]:
    ticket = checkout.open_ticket()
    assert checkout.add_product(ticket["id"], checkout.serum_id).status_code == 201
    response = checkout.add_product(ticket["id"], checkout.cleanser_id)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_ticket_opens_prefilled(client, fake_stripe: FakeStripe) -> None:
    checkout = seed_checkout(client)
    enable_stripe(checkout.tenant, fake_stripe)
    assert store_card(checkout).status_code == 201

    ticket = checkout.open_ticket()

    assert ticket["status"] == "open"
    assert ticket["number"] == 1
    [line] = ticket["lines"]
    assert line["kind"] == "service"
    assert line["description"] == "Signature Facial"
    assert line["staff_id"] == checkout.staff_id
    assert line["staff_name"] == "Amira"
    assert line["unit_price"] == 6000
    assert line["discount"] == 600
    assert line["discount_reason"] == "Loyalty 10%"
    assert (line["net"], line["tax"], line["total"]) == (4500, 900, 5400)
    assert ticket["totals"]["total"] == 5400
    assert "Preferences: Lavender scent; sensitive skin" in ticket["prompts"]
    assert "Booking note: Prefer lavender scent, please." in ticket["prompts"]
    assert "Notes: Allergic to nuts" in ticket["prompts"]
    [package] = ticket["packages"]
    assert package["id"] == checkout.package_id
    assert package["sessions_left"] == 3
    assert package["line_ids"] == [line["id"]]
    assert ticket["stored_card"] == {"label": "Visa 4242", "provider": "stripe"}
    assert ticket["tenders_offered"] == ["cash", "gift_card", "package", "card"]
    appointment = checkout.row(Appointment, checkout.appointment_id)
    assert str(appointment["ticket_id"]) == ticket["id"]


def test_opening_twice_returns_same_ticket(client) -> None:
    checkout = seed_checkout(client)
    first = checkout.open_ticket()
    second = checkout.open_ticket()
    assert first["id"] == second["id"]
    assert len(checkout.rows(Ticket)) == 1


def test_story_close_posts_everything(client, fake_stripe: FakeStripe) -> None:
    checkout = seed_checkout(client)
    enable_stripe(checkout.tenant, fake_stripe)
    assert store_card(checkout).status_code == 201
    ticket = open_story_ticket(checkout)
    assert ticket["totals"]["total"] == 9700

    response = checkout.close(ticket["id"], story_body(checkout), key="story-close-1")

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "closed"
    assert result["totals"] == {
        "subtotal": 10300,
        "discount": 600,
        "tax": 1617,
        "lines": 9700,
        "tips": 1000,
        "total": 10700,
    }
    assert [(t["kind"], t["amount"]) for t in result["tenders"]] == [
        ("package", 5400),
        ("gift_card", 2000),
        ("card", 3300),
    ]
    assert result["change"] == 0

    # The journal: one entry, postings by account, summing to zero.
    [entry] = checkout.rows(JournalEntry)
    assert str(entry["ticket_id"]) == ticket["id"]
    postings = checkout.rows(Posting, Posting.entry_id == entry["id"])
    assert sum(p["amount"] for p in postings) == 0
    got = Counter((p["account"], p["amount"], p["item_name"]) for p in postings)
    assert got == Counter(
        {
            ("service_revenue", -5100, "Signature Facial"): 1,
            ("discounts", 600, "Signature Facial"): 1,
            ("tax_payable", -900, "Signature Facial"): 1,
            ("retail_revenue", -2083, "Hydrating Serum"): 1,
            ("tax_payable", -417, "Hydrating Serum"): 1,
            ("retail_revenue", -1500, "Gentle Cleanser"): 1,
            ("tax_payable", -300, "Gentle Cleanser"): 1,
            ("tips_payable", -1000, "tip"): 1,
            ("package_liability", 5000, "package"): 1,
            ("package_variance", 400, "package"): 1,
            ("gift_card_liability", 2000, "gift_card"): 1,
            ("card_clearing:stripe", 3300, "card"): 1,
        }
    )
    by_account = {p["account"]: p for p in postings}
    assert str(by_account["service_revenue"]["staff_id"]) == checkout.staff_id
    assert by_account["service_revenue"]["category"] == "Facials"
    assert str(by_account["tips_payable"]["staff_id"]) == checkout.staff_id
    assert str(by_account["gift_card_liability"]["item_id"]) == checkout.gift_card_id

    # Stock: the serum sold once; the cleanser sold once and consumed once.
    assert checkout.row(Product, checkout.serum_id)["stock"] == 9
    assert checkout.row(Product, checkout.cleanser_id)["stock"] == 3
    assert checkout.row(Product, checkout.night_serum_id)["stock"] == 6
    assert checkout.row(ClientPackage, checkout.package_id)["sessions_left"] == 2
    assert checkout.row(GiftCard, checkout.gift_card_id)["balance"] == 1000

    # Tenders, tip, ticket, appointment and client.
    tenders = checkout.rows(Tender)
    assert sorted((t["kind"], t["amount"]) for t in tenders) == [
        ("card", 3300),
        ("gift_card", 2000),
        ("package", 5400),
    ]
    card_tender = next(t for t in tenders if t["kind"] == "card")
    assert card_tender["reference"].startswith("pi_")
    assert card_tender["detail"] == "Visa 4242"
    [tip] = checkout.rows(Tip)
    assert (str(tip["staff_id"]), tip["amount"]) == (checkout.staff_id, 1000)
    closed = checkout.row(Ticket, ticket["id"])
    assert closed["status"] == "closed"
    assert (closed["total"], closed["tips"], closed["tax"]) == (10700, 1000, 1617)
    assert closed["closed_at"] is not None
    assert str(closed["closed_by"]) == str(checkout.tenant.owner_id)
    assert checkout.row(Appointment, checkout.appointment_id)["status"] == "completed"
    assert checkout.row(Client, checkout.client_id)["completed_visits"] == 6

    # History, audit and events.
    [history] = checkout.rows(ClientHistory, ClientHistory.kind == "ticket.closed")
    assert "Signature Facial" in history["summary"]
    assert str(history["ref_id"]) == ticket["id"]
    [audit] = checkout.rows(AuditEntry, AuditEntry.action == "ticket.closed")
    assert json.loads(audit["before"])["status"] == "open"
    assert json.loads(audit["after"])["total"] == 10700
    events = checkout.rows(OutboxEvent)
    [closed_event] = [e for e in events if e["name"] == "ticket.closed"]
    payload = json.loads(closed_event["payload"])
    assert payload["ticket_id"] == ticket["id"]
    assert payload["appointment_id"] == checkout.appointment_id
    assert payload["client_id"] == checkout.client_id
    assert payload["total"] == 10700
    low = [json.loads(e["payload"]) for e in events if e["name"] == "stock.low"]
    assert [(item["name"], item["stock"]) for item in low] == [("Gentle Cleanser", 3)]

    # Stripe saw one confirmed off-session charge for the card's share.
    [charge] = fake_stripe.calls_to("/v1/payment_intents")
    assert charge.params["amount"] == "3300"
    assert charge.params["currency"] == "gbp"
    assert charge.params["off_session"] == "true"
    assert charge.idempotency_key is not None
    assert ticket["id"] in charge.idempotency_key


def test_closed_ticket_view_shows_payment(client, fake_stripe: FakeStripe) -> None:
    checkout = seed_checkout(client)
    enable_stripe(checkout.tenant, fake_stripe)
    store_card(checkout)
    ticket = open_story_ticket(checkout)
    assert checkout.close(ticket["id"], story_body(checkout)).status_code == 200

    view = checkout.tenant.get(f"/tickets/{ticket['id']}").json()

    assert view["status"] == "closed"
    assert view["totals"]["total"] == 10700
    assert [t["kind"] for t in view["tenders"]] == ["package", "gift_card", "card"]
    assert view["tips"] == [
        {
            "staff_id": checkout.staff_id,
            "staff_name": "Amira",
            "amount": 1000,
            "share": "",
        }
    ]
    assert view["closed"]["local"]


def test_lines_cannot_change_after_close(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()
    body = {"tenders": [{"kind": "cash", "amount": 5400}]}
    assert checkout.close(ticket["id"], body).status_code == 200

    added = checkout.add_product(ticket["id"], checkout.serum_id)
    removed = checkout.tenant.delete(
        f"/tickets/{ticket['id']}/lines/{ticket['lines'][0]['id']}"
    )
    again = checkout.close(ticket["id"], body)

    assert added.status_code == 409
    assert removed.status_code == 409
    assert again.status_code == 409
    assert len(checkout.rows(TicketLine)) == 1
    assert len(checkout.rows(JournalEntry)) == 1
