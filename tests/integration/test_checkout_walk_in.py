"""Walk-in tickets, product lines, cash with change and external card terminals."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.integration.test_checkout_setup import seed_checkout
from tillbook.kernel.catalog.tables import Product
from tillbook.kernel.ledger.tables import JournalEntry, Posting, Tender, Ticket


def test_walk_in_cash_gives_change(client) -> None:
    checkout = seed_checkout(client)
    opened = checkout.tenant.post("/tickets", {})
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert ticket["client"] is None
    assert ticket["appointment"] is None
    assert ticket["tenders_offered"] == ["cash", "gift_card", "external_card"]
    checkout.add_product(ticket["id"], checkout.serum_id, quantity=2)

    response = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": 6000}]}
    )

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["totals"]["total"] == 5000
    assert result["change"] == 1000
    assert result["tenders"] == [
        {
            "kind": "cash",
            "amount": 5000,
            "change_given": 1000,
            "reference": "",
            "detail": "",
            "tip": 0,
        }
    ]
    [entry] = checkout.rows(JournalEntry)
    postings = checkout.rows(Posting, Posting.entry_id == entry["id"])
    assert Counter((p["account"], p["amount"]) for p in postings) == Counter(
        {("cash", 5000): 1, ("retail_revenue", -4167): 1, ("tax_payable", -833): 1}
    )
    assert checkout.row(Product, checkout.serum_id)["stock"] == 8


def test_external_card_records_terminal_slip(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()
    assert "external_card" in ticket["tenders_offered"]

    response = checkout.close(
        ticket["id"],
        {
            "tenders": [
                {"kind": "external_card", "amount": 5400, "reference": "SLIP 0042"}
            ]
        },
    )

    assert response.status_code == 200, response.text
    [tender] = checkout.rows(Tender)
    assert (tender["kind"], tender["amount"], tender["reference"]) == (
        "external_card",
        5400,
        "SLIP 0042",
    )
    accounts = {p["account"]: p["amount"] for p in checkout.rows(Posting)}
    assert accounts["card_clearing:external"] == 5400


def test_walk_in_for_unknown_client_is_rejected(client) -> None:
    checkout = seed_checkout(client)

    bad = checkout.tenant.post("/tickets", {"client_id": "not-a-uuid"})
    unknown = checkout.tenant.post(
        "/tickets", {"client_id": "00000000-0000-4000-8000-000000000000"}
    )

    assert bad.status_code == 422
    assert "client_id" in bad.json()["errors"]
    assert unknown.status_code == 422
    assert checkout.rows(Ticket) == []


def test_product_lines_merge_and_respect_stock(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    checkout.add_product(ticket["id"], checkout.serum_id, quantity=4)
    merged = checkout.add_product(ticket["id"], checkout.serum_id, quantity=3).json()
    too_many = checkout.add_product(ticket["id"], checkout.serum_id, quantity=4)
    zero = checkout.add_product(ticket["id"], checkout.serum_id, quantity=0)

    serum_lines = [line for line in merged["lines"] if line["kind"] == "product"]
    assert [
        (line["quantity"], line["total"], line["stock"]) for line in serum_lines
    ] == [(7, 17500, 10)]
    assert too_many.status_code == 422
    assert "only 10" in too_many.json()["errors"]["quantity"]
    assert zero.status_code == 422
    assert "quantity" in zero.json()["errors"]


def test_remove_line_updates_totals(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()
    with_serum = checkout.add_product(ticket["id"], checkout.serum_id).json()
    serum_line = next(line for line in with_serum["lines"] if line["kind"] == "product")
    assert with_serum["totals"]["total"] == 7900

    response = checkout.tenant.delete(
        f"/tickets/{ticket['id']}/lines/{serum_line['id']}"
    )

    assert response.status_code == 200
    assert response.json()["totals"]["total"] == 5400
    missing = checkout.tenant.delete(
        f"/tickets/{ticket['id']}/lines/{serum_line['id']}"
    )
    assert missing.status_code == 404


def test_unknown_product_is_rejected(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    response = checkout.add_product(
        ticket["id"], "00000000-0000-4000-8000-000000000000"
    )

    assert response.status_code == 422
    assert "product_id" in response.json()["errors"]


def test_empty_ticket_cannot_close(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.tenant.post("/tickets", {}).json()

    response = checkout.close(ticket["id"], {"tenders": []})

    assert response.status_code == 422
    assert "lines" in response.json()["errors"]


def test_ticket_numbers_count_up_under_concurrency(client) -> None:
    checkout = seed_checkout(client)

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(lambda _: checkout.tenant.post("/tickets", {}), range(6))
        )

    assert [r.status_code for r in responses] == [201] * 6
    assert sorted(r.json()["number"] for r in responses) == [1, 2, 3, 4, 5, 6]


def test_concurrent_opens_share_one_ticket(client) -> None:
    checkout = seed_checkout(client)

    with ThreadPoolExecutor(max_workers=5) as pool:
        tickets = list(pool.map(lambda _: checkout.open_ticket(), range(5)))

    assert len({ticket["id"] for ticket in tickets}) == 1
    assert len(checkout.rows(Ticket)) == 1
