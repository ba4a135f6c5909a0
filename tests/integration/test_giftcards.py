"""Gift cards: sold and reloaded through tickets, looked up, redeemed safely."""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.integration.test_checkout_setup import Checkout, seed_checkout
from tillbook.kernel.catalog.tables import GiftCard
from tillbook.kernel.ledger.tables import JournalEntry, Posting, Ticket

CODE_PATTERN = re.compile(r"^[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){4}$")


def sell(checkout: Checkout, amount: int, **extra: object) -> dict:
    response = checkout.tenant.post("/gift-cards", {"amount": amount, **extra})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_sale_issues_card_on_close(client) -> None:
    checkout = seed_checkout(client)
    ticket = sell(checkout, 5000, client_id=checkout.client_id)
    [line] = ticket["lines"]
    assert (line["kind"], line["total"], line["tax"]) == ("gift_card", 5000, 0)

    response = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": 5000}]}
    )

    assert response.status_code == 200, response.text
    [card] = response.json()["gift_cards"]
    assert CODE_PATTERN.match(card["code"]), card["code"]
    assert card["balance"] == 5000
    assert card["client_id"] == checkout.client_id
    [entry] = checkout.rows(JournalEntry)
    postings = checkout.rows(Posting, Posting.entry_id == entry["id"])
    assert Counter((p["account"], p["amount"]) for p in postings) == Counter(
        {("cash", 5000): 1, ("gift_card_liability", -5000): 1}
    )
    liability = next(p for p in postings if p["account"] == "gift_card_liability")
    assert str(liability["item_id"]) == card["id"]
    view = checkout.tenant.get(f"/tickets/{ticket['id']}").json()
    assert view["gift_cards"][0]["code"] == card["code"]


def test_balance_lookup_normalises_code(client) -> None:
    checkout = seed_checkout(client)

    dashed = checkout.tenant.get("/gift-cards/gftc-rd23-45ab-cdef")
    plain = checkout.tenant.get("/gift-cards/GFTCRD2345ABCDEF")

    assert dashed.status_code == 200
    assert dashed.json() == plain.json()
    body = dashed.json()
    assert body["code"] == "GFTC-RD23-45AB-CDEF"
    assert (body["balance"], body["currency"], body["expired"]) == (3000, "GBP", False)


def test_unknown_and_malformed_codes(client) -> None:
    checkout = seed_checkout(client)

    unknown = checkout.tenant.get("/gift-cards/AAAA-BBBB-CCCC-DDDD")
    malformed = checkout.tenant.get("/gift-cards/0000-1111")

    assert unknown.status_code == 404
    assert malformed.status_code == 422
    assert "code" in malformed.json()["errors"]


def test_reload_adds_to_balance(client) -> None:
    checkout = seed_checkout(client)
    ticket = sell(checkout, 2000, code=checkout.gift_code)
    assert ticket["lines"][0]["description"] == "Gift card reload GFTC-RD23-45AB-CDEF"

    response = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": 2000}]}
    )

    assert response.status_code == 200, response.text
    assert checkout.row(GiftCard, checkout.gift_card_id)["balance"] == 5000
    assert len(checkout.rows(GiftCard)) == 1


def test_sale_onto_existing_ticket(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    updated = sell(checkout, 2500, ticket_id=ticket["id"])

    assert updated["id"] == ticket["id"]
    assert updated["totals"]["total"] == 5400 + 2500


def test_bad_amounts_are_rejected(client) -> None:
    checkout = seed_checkout(client)

    for amount in (0, -500, "50", 12.5):
        response = checkout.tenant.post("/gift-cards", {"amount": amount})
        assert response.status_code == 422, amount
        assert "amount" in response.json()["errors"]
    assert checkout.rows(Ticket) == []


def test_concurrent_redemptions_never_overspend(client) -> None:
    checkout = seed_checkout(client)
    tickets = [checkout.tenant.post("/tickets", {}).json() for _ in range(4)]
    for ticket in tickets:
        checkout.add_product(ticket["id"], checkout.serum_id)  # 2500 each

    def redeem(ticket_id: str) -> int:
        body = {
            "tenders": [
                {"kind": "gift_card", "code": checkout.gift_code, "amount": 2500}
            ]
        }
        return checkout.close(ticket_id, body).status_code  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(redeem, [ticket["id"] for ticket in tickets]))

    assert sorted(statuses) == [200, 422, 422, 422]
    assert checkout.row(GiftCard, checkout.gift_card_id)["balance"] == 500
    liability = [
        p for p in checkout.rows(Posting) if p["account"] == "gift_card_liability"
    ]
    assert [p["amount"] for p in liability] == [2500]
