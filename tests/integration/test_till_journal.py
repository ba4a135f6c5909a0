"""Random tickets closed through the kernel leave a balanced, audited journal."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_checkout_setup import seed_checkout
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.ledger.tables import JournalEntry, Posting

sales = st.fixed_dictionaries(
    {
        "serums": st.integers(min_value=0, max_value=3),
        "cleansers": st.integers(min_value=0, max_value=2),
        "fee": st.integers(min_value=0, max_value=2500),
        "percent": st.sampled_from([None, "5", "12.5", "33"]),
        "fixed": st.integers(min_value=0, max_value=900),
        "card_share": st.integers(min_value=0, max_value=100),
        "tip": st.integers(min_value=0, max_value=777),
    }
)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(sales, min_size=1, max_size=2))
def test_random_closes_balance(client, batch) -> None:
    checkout = seed_checkout(client)
    for sale in batch:
        ticket_id = checkout.tenant.post("/tickets", {}).json()["id"]
        if sale["serums"]:
            checkout.add_product(ticket_id, checkout.serum_id, sale["serums"])
        if sale["cleansers"]:
            checkout.add_product(ticket_id, checkout.cleanser_id, sale["cleansers"])
        if sale["fee"] or not (sale["serums"] or sale["cleansers"]):
            checkout.tenant.post(
                f"/tickets/{ticket_id}/lines",
                {"kind": "fee", "description": "Fee", "amount": sale["fee"] or 100},
            )
        if sale["percent"]:
            checkout.tenant.post(
                f"/tickets/{ticket_id}/discounts",
                {"kind": "percent", "percent": sale["percent"]},
            )
        view = checkout.tenant.get(f"/tickets/{ticket_id}").json()
        if sale["fixed"] and sale["fixed"] <= view["totals"]["total"]:
            view = checkout.tenant.post(
                f"/tickets/{ticket_id}/discounts",
                {"kind": "fixed", "amount": sale["fixed"]},
            ).json()
        due = view["totals"]["total"] + sale["tip"]
        card = due * sale["card_share"] // 100
        tenders = [{"kind": "external_card", "amount": card}] if card else []
        if due - card or not tenders:
            tenders.append({"kind": "cash", "amount": due - card})
        body = {
            "tenders": tenders,
            "tips": [{"staff_id": checkout.staff_id, "amount": sale["tip"]}],
        }

        response = checkout.close(ticket_id, body)

        assert response.status_code == 200, response.text
    sums: dict[object, int] = defaultdict(int)
    for posting in checkout.rows(Posting):
        sums[posting["entry_id"]] += posting["amount"]
    entries = checkout.rows(JournalEntry)
    assert len(entries) == len(batch)
    assert all(sums[entry["id"]] == 0 for entry in entries)
    closes = checkout.rows(AuditEntry, AuditEntry.action == "ticket.closed")
    assert len(closes) == len(batch)
    assert all(row["actor_id"] == checkout.tenant.owner_id for row in closes)
