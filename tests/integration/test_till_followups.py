"""Close and void follow-ups: packages covering several services, links from
gift card activity and sold packages to their ticket, loyalty points on void.
"""

from __future__ import annotations

import json
from datetime import timedelta

from tests.integration.test_backoffice_refunds import void
from tests.integration.test_checkout_setup import (
    Checkout,
    configure_tenant,
    seed_checkout,
)
from tests.integration.test_till_pricing import (
    add_service,
    line,
    postings_of,
    settings,
    walk_in,
)
from tillbook.db.base import utcnow
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.catalog.tables import (
    ClientPackage,
    ClientPackageService,
    GiftCardActivity,
    PackagePlan,
)
from tillbook.kernel.ledger.backoffice_tables import Commission, DrawerMove
from tillbook.kernel.ledger.tables import (
    JournalEntry,
    LoyaltyAccount,
    Posting,
    Ticket,
)


def add_two_service_package(checkout: Checkout, other_service_id: str) -> str:
    """Give the client a package covering the facial and ``other_service_id``."""

    async def insert() -> str:
        now = utcnow()
        plan = PackagePlan(
            name="Facial and massage",
            service_id=checkout.facial_id,
            sessions=4,
            price=20000,
            valid_days=90,
        )
        await checkout.scope.insert(plan)
        package = ClientPackage(
            client_id=checkout.client_id,
            plan_id=plan.id,
            service_id=checkout.facial_id,
            sessions_total=4,
            sessions_left=4,
            unit_value=5000,
            expires_at=now + timedelta(days=90),
            sold_at=now,
        )
        await checkout.scope.insert(package)
        await checkout.scope.insert(
            ClientPackageService(package_id=package.id, service_id=checkout.facial_id),
            ClientPackageService(package_id=package.id, service_id=other_service_id),
        )
        return str(package.id)

    return checkout.tenant.run(insert)  # type: ignore[no-any-return]


def loyalty_points(checkout: Checkout) -> tuple[int, int]:
    [row] = checkout.rows(LoyaltyAccount)
    return row["points"], row["lifetime_points"]


def test_package_pays_second_covered_service(client) -> None:
    checkout = seed_checkout(client)
    massage_id = add_service(checkout, "Back massage", 4000, "20")
    package_id = add_two_service_package(checkout, massage_id)
    ticket_id = walk_in(checkout, checkout.client_id)
    view = line(checkout, ticket_id, {"kind": "service", "service_id": massage_id})
    [massage] = view["lines"]

    closed = checkout.close(
        ticket_id,
        {"tenders": [{"kind": "package", "client_package_id": package_id}]},
    )

    assert closed.status_code == 200, closed.text
    [tender] = closed.json()["tenders"]
    assert tender["kind"] == "package"
    assert tender["amount"] == massage["total"]
    assert checkout.row(ClientPackage, package_id)["sessions_left"] == 3
    postings = postings_of(checkout, ticket_id)
    assert postings[("package_liability", 5000)] == 1
    voided = void(checkout, ticket_id)
    assert voided.status_code == 200, voided.text
    assert checkout.row(ClientPackage, package_id)["sessions_left"] == 4


def test_package_skips_uncovered_service(client) -> None:
    checkout = seed_checkout(client)
    massage_id = add_service(checkout, "Back massage", 4000, "20")
    other_id = add_service(checkout, "Manicure", 3000, "20")
    package_id = add_two_service_package(checkout, massage_id)
    ticket_id = walk_in(checkout, checkout.client_id)
    line(checkout, ticket_id, {"kind": "service", "service_id": other_id})

    response = checkout.close(
        ticket_id,
        {"tenders": [{"kind": "package", "client_package_id": package_id}]},
    )

    assert response.status_code == 422
    assert "tenders[0].client_package_id" in response.json()["errors"]
    assert checkout.row(ClientPackage, package_id)["sessions_left"] == 4


def test_package_picks_covered_line_among_several(client) -> None:
    checkout = seed_checkout(client)
    massage_id = add_service(checkout, "Back massage", 4000, "20")
    other_id = add_service(checkout, "Manicure", 3000, "20")
    package_id = add_two_service_package(checkout, massage_id)
    ticket_id = walk_in(checkout, checkout.client_id)
    line(checkout, ticket_id, {"kind": "service", "service_id": other_id})
    view = line(checkout, ticket_id, {"kind": "service", "service_id": massage_id})
    manicure, massage = view["lines"]

    closed = checkout.close(
        ticket_id,
        {
            "tenders": [
                {"kind": "package", "client_package_id": package_id},
                {"kind": "cash", "amount": manicure["total"]},
            ]
        },
    )

    assert closed.status_code == 200, closed.text
    package_tender = closed.json()["tenders"][0]
    assert package_tender["amount"] == massage["total"]
    assert package_tender["detail"] == massage["description"]


def test_sold_package_names_ticket_and_line(client) -> None:
    checkout = seed_checkout(client)
    ticket_id = walk_in(checkout, checkout.client_id)
    view = line(checkout, ticket_id, {"kind": "package", "plan_id": checkout.plan_id})
    [package_line] = view["lines"]

    closed = checkout.close(
        ticket_id, {"tenders": [{"kind": "cash", "amount": package_line["total"]}]}
    )

    assert closed.status_code == 200, closed.text
    [sold] = closed.json()["packages"]
    row = checkout.row(ClientPackage, sold["id"])
    assert str(row["ticket_id"]) == ticket_id
    assert str(row["line_id"]) == package_line["id"]


def test_gift_card_activity_names_ticket(client) -> None:
    checkout = seed_checkout(client)
    reload = checkout.tenant.post(
        "/gift-cards", {"amount": 2000, "code": checkout.gift_code}
    )
    assert reload.status_code == 201, reload.text
    reload_ticket = reload.json()["id"]
    assert (
        checkout.close(
            reload_ticket, {"tenders": [{"kind": "cash", "amount": 2000}]}
        ).status_code
        == 200
    )
    ticket_id = walk_in(checkout, checkout.client_id)
    checkout.add_product(ticket_id, checkout.serum_id)

    paid = checkout.close(
        ticket_id,
        {
            "tenders": [
                {"kind": "gift_card", "code": checkout.gift_code, "amount": 2500}
            ]
        },
    )

    assert paid.status_code == 200, paid.text
    activity = {
        row["kind"]: row
        for row in checkout.rows(
            GiftCardActivity, GiftCardActivity.gift_card_id == checkout.gift_card_id
        )
    }
    assert str(activity["reload"]["ticket_id"]) == reload_ticket
    assert str(activity["redeem"]["ticket_id"]) == ticket_id


def test_void_gives_back_points_tender(client) -> None:
    checkout = seed_checkout(client)
    configure_tenant(checkout.tenant, loyalty_percent=0)
    settings(checkout, loyalty_points_per_unit=1, loyalty_point_value=10)
    first = checkout.open_ticket()
    paid = checkout.close(first["id"], {"tenders": [{"kind": "cash", "amount": 6000}]})
    assert paid.status_code == 200, paid.text
    ticket_id = walk_in(checkout, checkout.client_id)
    line(checkout, ticket_id, {"kind": "product", "product_id": checkout.serum_id})
    closed = checkout.close(
        ticket_id,
        {
            "tenders": [
                {"kind": "loyalty", "points": 50},
                {"kind": "cash", "amount": 2000},
            ]
        },
    )
    assert closed.status_code == 200, closed.text
    # 60 earned, 50 spent, then 20 earned on the 20.00 paid in cash.
    assert loyalty_points(checkout) == (30, 80)

    response = void(checkout, ticket_id)

    assert response.status_code == 200, response.text
    assert response.json()["loyalty"] == {
        "given_back": 50,
        "taken_back": 20,
        "unrecovered": 0,
        "points": 60,
    }
    assert loyalty_points(checkout) == (60, 60)
    void_entry = next(
        row
        for row in checkout.rows(JournalEntry, JournalEntry.ticket_id == ticket_id)
        if row["kind"] == "void"
    )
    postings = checkout.rows(Posting, Posting.entry_id == void_entry["id"])
    assert sum(p["amount"] for p in postings) == 0
    assert [p["amount"] for p in postings if p["account"] == "loyalty_redemptions"] == [
        -500
    ]
    [audit] = checkout.rows(AuditEntry, AuditEntry.action == "loyalty.voided")
    before, after = (
        json.loads(value) if isinstance(value, str) else value
        for value in (audit["before"], audit["after"])
    )
    assert before["points"] == 30
    assert after["points"] == 60
    assert after["given_back"] == 50


def test_void_gives_back_points_discount(client) -> None:
    checkout = seed_checkout(client)
    configure_tenant(checkout.tenant, loyalty_percent=0)
    settings(checkout, loyalty_points_per_unit=1, loyalty_point_value=10)
    first = checkout.open_ticket()
    paid = checkout.close(first["id"], {"tenders": [{"kind": "cash", "amount": 6000}]})
    assert paid.status_code == 200, paid.text
    ticket_id = walk_in(checkout, checkout.client_id)
    line(checkout, ticket_id, {"kind": "product", "product_id": checkout.serum_id})
    applied = checkout.tenant.post(f"/tickets/{ticket_id}/points", {"points": 40})
    assert applied.status_code == 200, applied.text
    closed = checkout.close(ticket_id, {"tenders": [{"kind": "cash", "amount": 2100}]})
    assert closed.status_code == 200, closed.text
    assert loyalty_points(checkout) == (41, 81)

    response = void(checkout, ticket_id)

    assert response.status_code == 200, response.text
    assert loyalty_points(checkout) == (60, 60)


def test_void_takes_back_spent_earned_points(client) -> None:
    # The client spends the points the first ticket earned, then that ticket
    # is voided: the balance stops at zero and the shortfall is recorded.
    checkout = seed_checkout(client)
    configure_tenant(checkout.tenant, loyalty_percent=0)
    settings(checkout, loyalty_points_per_unit=1, loyalty_point_value=10)
    first = checkout.open_ticket()
    paid = checkout.close(first["id"], {"tenders": [{"kind": "cash", "amount": 6000}]})
    assert paid.status_code == 200, paid.text
    second = walk_in(checkout, checkout.client_id)
    line(checkout, second, {"kind": "product", "product_id": checkout.serum_id})
    spent = checkout.close(
        second,
        {
            "tenders": [
                {"kind": "loyalty", "points": 50},
                {"kind": "cash", "amount": 2000},
            ]
        },
    )
    assert spent.status_code == 200, spent.text

    response = void(checkout, first["id"])

    assert response.status_code == 200, response.text
    assert response.json()["loyalty"]["taken_back"] == 60
    assert response.json()["loyalty"]["unrecovered"] == 30
    assert loyalty_points(checkout) == (0, 20)


def test_void_without_points_skips_loyalty(client) -> None:
    checkout = seed_checkout(client)
    ticket_id = walk_in(checkout, checkout.client_id)
    checkout.add_product(ticket_id, checkout.serum_id)
    closed = checkout.close(ticket_id, {"tenders": [{"kind": "cash", "amount": 2500}]})
    assert closed.status_code == 200, closed.text

    response = void(checkout, ticket_id)

    assert response.status_code == 200, response.text
    assert response.json()["loyalty"] == {}
    assert checkout.rows(AuditEntry, AuditEntry.action == "loyalty.voided") == []


def test_close_records_drawer_and_commission(client) -> None:
    # The drawer and commission steps take the close plan's rows: a close
    # paid by gift card moves no cash, a cash close moves its cash and
    # change, and each provider line gets a commission row at the close.
    checkout = seed_checkout(client)
    made = checkout.tenant.post("/backoffice/cash-drawers", {"name": "Front"})
    assert made.status_code == 201, made.text
    opened = checkout.tenant.post(
        f"/backoffice/cash-drawers/{made.json()['id']}/sessions",
        {"opening_float": 10000},
    )
    assert opened.status_code == 201, opened.text
    by_card = walk_in(checkout, checkout.client_id)
    checkout.add_product(by_card, checkout.serum_id)
    card_close = checkout.close(
        by_card,
        {
            "tenders": [
                {"kind": "gift_card", "code": checkout.gift_code, "amount": 2500}
            ]
        },
    )
    assert card_close.status_code == 200, card_close.text
    assert checkout.rows(DrawerMove) == []

    ticket = checkout.open_ticket()
    cash_close = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": 7000}]}
    )

    assert cash_close.status_code == 200, cash_close.text
    moves = sorted((m["kind"], m["amount"]) for m in checkout.rows(DrawerMove))
    # The seeded client's 10% loyalty discount makes the 60.00 facial 54.00.
    assert moves == [("change", -1600), ("sale", 7000)]
    [commission] = checkout.rows(Commission, Commission.ticket_id == ticket["id"])
    closed_at = checkout.row(Ticket, ticket["id"])["closed_at"]
    assert commission["at"] == closed_at
    assert str(commission["staff_id"]) == checkout.staff_id
