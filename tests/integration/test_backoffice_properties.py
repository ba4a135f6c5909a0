"""Property test: random sales, redemptions, refunds and voids keep the books.

Each example starts a fresh seeded spa (see ``test_checkout_setup``) and runs
a random sequence of operations through the API. After the sequence:

- every journal entry sums to zero;
- the gift card liability account equals the sum of gift card balances;
- the package liability account equals the sessions left on active packages
  at their unit value;
- the wallet liability account equals the sum of wallets;
- no line, and no tender, has been refunded more than it took.

The seed puts a £30 card and a package with 3 sessions of £50 in place
without journal entries, so those amounts are the starting point.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_backoffice_refunds import settle_receipts
from tests.integration.test_checkout_setup import Checkout, seed_checkout
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard
from tillbook.kernel.ledger.backoffice_tables import RefundLine, RefundTender
from tillbook.kernel.ledger.tables import (
    JournalEntry,
    Posting,
    Tender,
    TicketLine,
    Wallet,
)

SEEDED_CARD_BALANCE = 3000
SEEDED_PACKAGE_VALUE = 3 * 5000

sale = st.tuples(
    st.just("sale"),
    st.integers(min_value=0, max_value=3),  # serums
    st.booleans(),  # a facial paid by the package
    st.sampled_from([0, 2000, 4500]),  # a gift card sold
    st.booleans(),  # a package sold
    st.integers(min_value=0, max_value=2500),  # taken from the seeded card
)
refund = st.tuples(
    st.just("refund"),
    st.integers(min_value=0, max_value=20),  # which ticket
    st.integers(min_value=0, max_value=5),  # which line
    st.integers(min_value=1, max_value=4),  # quantity
    st.booleans(),  # to wallet
)
void = st.tuples(st.just("void"), st.integers(min_value=0, max_value=20))
operations = st.lists(st.one_of(sale, sale, refund, void), min_size=1, max_size=6)


def run_sale(checkout: Checkout, op: tuple[Any, ...], closed: list[str]) -> None:
    _, serums, facial, card_amount, package, from_card = op
    tenant = checkout.tenant
    ticket = tenant.post("/tickets", {"client_id": checkout.client_id}).json()
    path = f"/tickets/{ticket['id']}/lines"
    if serums:
        tenant.post(
            path,
            {"kind": "product", "product_id": checkout.serum_id, "quantity": serums},
        )
    if facial:
        tenant.post(
            path,
            {
                "kind": "service",
                "service_id": checkout.facial_id,
                "staff_id": checkout.staff_id,
            },
        )
    if card_amount:
        tenant.post(path, {"kind": "gift_card", "amount": card_amount})
    if package:
        tenant.post(path, {"kind": "package", "plan_id": checkout.plan_id})
    view = tenant.get(f"/tickets/{ticket['id']}").json()
    if not view["lines"]:
        return
    tenders: list[dict[str, Any]] = []
    due = view["totals"]["total"]
    service = next((line for line in view["lines"] if line["kind"] == "service"), None)
    if service is not None:
        tenders.append({"kind": "package", "line_id": service["id"]})
        due -= service["total"]
    take = min(from_card, due)
    if take > 0:
        tenders.append(
            {"kind": "gift_card", "code": checkout.gift_code, "amount": take}
        )
        due -= take
    if due > 0:
        tenders.append({"kind": "cash", "amount": due})
    response = checkout.close(ticket["id"], {"tenders": tenders})
    if response.status_code == 200:
        closed.append(ticket["id"])
    else:
        # The card or package may have run out: that is a 4xx, never a 5xx.
        assert 400 <= response.status_code < 500, response.text


def run_refund(checkout: Checkout, op: tuple[Any, ...], closed: list[str]) -> None:
    _, which, line_index, quantity, to_wallet = op
    if not closed:
        return
    ticket_id = closed[which % len(closed)]
    lines = checkout.tenant.get(f"/tickets/{ticket_id}").json()["lines"]
    line = lines[line_index % len(lines)]
    response = checkout.tenant.post(
        f"/tickets/{ticket_id}/refunds",
        {
            "lines": [{"line_id": line["id"], "quantity": quantity}],
            "reason": "property test",
            "restock": True,
            "to_wallet": to_wallet,
        },
        headers={"Idempotency-Key": secrets.token_hex(8)},
    )
    assert response.status_code < 500, response.text


def run_void(checkout: Checkout, op: tuple[Any, ...], closed: list[str]) -> None:
    if not closed:
        return
    ticket_id = closed[op[1] % len(closed)]
    settle_receipts(checkout)
    response = checkout.tenant.post(
        f"/tickets/{ticket_id}/void",
        {"reason": "property test"},
        headers={"Idempotency-Key": secrets.token_hex(8)},
    )
    assert response.status_code < 500, response.text


def account_totals(checkout: Checkout) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for posting in checkout.rows(Posting):
        totals[posting["account"]] += posting["amount"]
    return totals


def check_books(checkout: Checkout) -> None:
    for entry in checkout.rows(JournalEntry):
        postings = checkout.rows(Posting, Posting.entry_id == entry["id"])
        assert sum(p["amount"] for p in postings) == 0, entry["kind"]
    totals = account_totals(checkout)

    balances = sum(card["balance"] for card in checkout.rows(GiftCard))
    assert -totals["gift_card_liability"] == balances - SEEDED_CARD_BALANCE

    owed = sum(
        package["sessions_left"] * package["unit_value"]
        for package in checkout.rows(ClientPackage)
        if package["status"] == "active"
    )
    assert -totals["package_liability"] == owed - SEEDED_PACKAGE_VALUE

    wallets = sum(row["balance"] for row in checkout.rows(Wallet))
    assert -totals["wallet_liability"] == wallets

    lines = {row["id"]: row for row in checkout.rows(TicketLine)}
    refunded_units: dict[Any, int] = defaultdict(int)
    refunded_amount: dict[Any, int] = defaultdict(int)
    for row in checkout.rows(RefundLine):
        refunded_units[row["line_id"]] += row["quantity"]
        refunded_amount[row["line_id"]] += row["amount"]
    for line_id, units in refunded_units.items():
        assert units <= lines[line_id]["quantity"]
        assert refunded_amount[line_id] <= lines[line_id]["total"]
    tenders = {row["id"]: row for row in checkout.rows(Tender)}
    paid_back: dict[Any, int] = defaultdict(int)
    for row in checkout.rows(RefundTender):
        if row["tender_id"] is not None:
            paid_back[row["tender_id"]] += row["amount"]
    for tender_id, amount in paid_back.items():
        assert amount <= tenders[tender_id]["amount"]


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_books_stay_balanced(client, steps: list[tuple[Any, ...]]) -> None:
    checkout = seed_checkout(client)
    closed: list[str] = []
    runners = {"sale": run_sale, "refund": run_refund, "void": run_void}

    for op in steps:
        runners[op[0]](checkout, op, closed)

    check_books(checkout)
