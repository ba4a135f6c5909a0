"""Packages: sold through a ticket into deferred revenue, redeemed per session."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from tests.integration.test_checkout_setup import Checkout, seed_checkout
from tillbook.kernel.catalog.packages import unit_value
from tillbook.kernel.catalog.tables import ClientPackage, PackagePlan
from tillbook.kernel.ledger.tables import JournalEntry, Posting


def add_plan(
    checkout: Checkout, *, price: int, sessions: int, active: bool = True
) -> str:
    async def insert() -> str:
        plan = PackagePlan(
            name="Facial trio",
            service_id=checkout.facial_id,
            sessions=sessions,
            price=price,
            valid_days=90,
            active=active,
        )
        await checkout.scope.insert(plan)
        return str(plan.id)

    return checkout.tenant.run(insert)  # type: ignore[no-any-return]


def test_unit_value_rounds_down() -> None:
    assert unit_value(10000, 3) == 3333
    assert unit_value(25000, 5) == 5000


def test_sale_creates_client_package(client) -> None:
    checkout = seed_checkout(client)
    plan_id = add_plan(checkout, price=10000, sessions=3)
    ticket = checkout.tenant.post("/tickets", {"client_id": checkout.client_id}).json()

    added = checkout.tenant.post(
        f"/tickets/{ticket['id']}/lines", {"kind": "package", "plan_id": plan_id}
    )
    assert added.status_code == 201, added.text
    [line] = added.json()["lines"]
    assert (line["kind"], line["total"], line["tax"]) == ("package", 10000, 0)
    response = checkout.close(
        ticket["id"], {"tenders": [{"kind": "external_card", "amount": 10000}]}
    )

    assert response.status_code == 200, response.text
    [sold] = response.json()["packages"]
    assert sold["sessions_left"] == 3
    assert sold["unit_value"] == 3333
    row = checkout.row(ClientPackage, sold["id"])
    assert str(row["client_id"]) == checkout.client_id
    assert row["sessions_total"] == 3
    assert row["expires_at"] - row["sold_at"] == timedelta(days=90)
    [entry] = checkout.rows(JournalEntry)
    postings = checkout.rows(Posting, Posting.entry_id == entry["id"])
    assert Counter((p["account"], p["amount"]) for p in postings) == Counter(
        {("card_clearing:external", 10000): 1, ("package_liability", -10000): 1}
    )


def test_sale_needs_a_client(client) -> None:
    checkout = seed_checkout(client)
    plan_id = add_plan(checkout, price=10000, sessions=3)
    ticket = checkout.tenant.post("/tickets", {}).json()

    response = checkout.tenant.post(
        f"/tickets/{ticket['id']}/lines", {"kind": "package", "plan_id": plan_id}
    )

    assert response.status_code == 422
    assert "plan_id" in response.json()["errors"]


def test_retired_plan_cannot_be_sold(client) -> None:
    checkout = seed_checkout(client)
    plan_id = add_plan(checkout, price=10000, sessions=3, active=False)
    ticket = checkout.tenant.post("/tickets", {"client_id": checkout.client_id}).json()

    response = checkout.tenant.post(
        f"/tickets/{ticket['id']}/lines", {"kind": "package", "plan_id": plan_id}
    )

    assert response.status_code == 422
    assert "not on sale" in response.json()["errors"]["plan_id"]


def test_redeeming_above_line_total_credits_variance(client) -> None:
    # A session worth 6000 pays a facial line of 5400 after loyalty, so
    # package_variance is credited the 600 difference.
    checkout = seed_checkout(client)

    async def richer() -> None:
        await checkout.scope.update(
            ClientPackage, {ClientPackage.unit_value: 6000}
        ).where(ClientPackage.client_id == checkout.client_id)

    checkout.tenant.run(richer)
    ticket = checkout.open_ticket()

    response = checkout.close(ticket["id"], {"tenders": [{"kind": "package"}]})

    assert response.status_code == 200, response.text
    accounts: Counter[str] = Counter()
    for posting in checkout.rows(Posting):
        accounts[posting["account"]] += posting["amount"]
    assert accounts["package_liability"] == 6000
    assert accounts["package_variance"] == -600
    assert sum(accounts.values()) == 0
    assert checkout.row(ClientPackage, checkout.package_id)["sessions_left"] == 2


def test_package_amount_must_match_line(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    response = checkout.close(
        ticket["id"], {"tenders": [{"kind": "package", "amount": 5000}]}
    )

    assert response.status_code == 422
    assert "tenders[0].amount" in response.json()["errors"]


def test_package_of_other_service_does_not_apply(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.tenant.post("/tickets", {"client_id": checkout.client_id}).json()
    checkout.add_product(ticket["id"], checkout.serum_id)

    view = checkout.tenant.get(f"/tickets/{ticket['id']}").json()
    response = checkout.close(ticket["id"], {"tenders": [{"kind": "package"}]})

    assert view["packages"] == []
    assert "package" not in view["tenders_offered"]
    assert response.status_code == 422
    assert "tenders[0].kind" in response.json()["errors"]
