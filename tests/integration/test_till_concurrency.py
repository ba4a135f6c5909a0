"""Promo codes under parallel closes: a usage limit is never passed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.test_checkout_setup import seed_checkout
from tillbook.kernel.ledger.tables import JournalEntry, PromoCode, Ticket

PARALLEL = 20
LIMIT = 5


@pytest.mark.postgres
def test_promo_limit_holds_under_parallel_closes(client) -> None:
    checkout = seed_checkout(client)
    created = checkout.tenant.post(
        "/promo-codes",
        {"code": "FLASH", "kind": "fixed", "amount": 100, "usage_limit": LIMIT},
    )
    assert created.status_code == 201, created.text
    tickets = []
    for _ in range(PARALLEL):
        ticket_id = checkout.tenant.post("/tickets", {}).json()["id"]
        checkout.add_product(ticket_id, checkout.serum_id)
        applied = checkout.tenant.post(f"/tickets/{ticket_id}/promo", {"code": "FLASH"})
        assert applied.status_code == 200, applied.text
        tickets.append((ticket_id, applied.json()["totals"]["total"]))

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = [
            pool.submit(
                checkout.close,
                ticket_id,
                {"tenders": [{"kind": "cash", "amount": total}]},
            )
            for ticket_id, total in tickets
        ]
        responses = [future.result() for future in futures]

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * LIMIT + [422] * (PARALLEL - LIMIT)
    rejected = [r.json() for r in responses if r.status_code == 422]
    assert all("promo_code" in body["errors"] for body in rejected)
    [promo] = checkout.rows(PromoCode)
    assert promo["used_count"] == LIMIT
    assert len(checkout.rows(JournalEntry)) == LIMIT
    closed = checkout.rows(Ticket, Ticket.status == "closed")
    assert len(closed) == LIMIT
