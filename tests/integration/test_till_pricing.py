"""Worked pricing examples with exact minor units, through the API.

Each example states its arithmetic, so a failure shows which step moved.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from tests.integration.test_checkout_setup import (
    Checkout,
    configure_tenant,
    seed_checkout,
)
from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import Product, Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.tables import (
    JournalEntry,
    LedgerSettings,
    Posting,
    Ticket,
    TicketLine,
)
from tillbook.kernel.schedule.tables import Appointment, Staff


def add_product(
    checkout: Checkout, name: str, price: int, tax_rate: str, stock: int = 100
) -> str:
    async def insert() -> str:
        product = Product(name=name, price=price, tax_rate=tax_rate, stock=stock)
        await checkout.scope.insert(product)
        return str(product.id)

    return checkout.tenant.run(insert)  # type: ignore[no-any-return]


def add_service(checkout: Checkout, name: str, price: int, tax_rate: str) -> str:
    async def insert() -> str:
        service = Service(
            name=name,
            category="Hair",
            duration_minutes=30,
            price=price,
            tax_rate=tax_rate,
        )
        await checkout.scope.insert(service)
        return str(service.id)

    return checkout.tenant.run(insert)  # type: ignore[no-any-return]


def settings(checkout: Checkout, **values: Any) -> None:
    response = checkout.tenant.client.put(
        checkout.tenant.api("/ledger-settings"),
        json=values,
        headers=checkout.tenant.headers,
    )
    assert response.status_code == 200, response.text


def walk_in(checkout: Checkout, client_id: str | None = None) -> str:
    body = {"client_id": client_id} if client_id else {}
    response = checkout.tenant.post("/tickets", body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def line(checkout: Checkout, ticket_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = checkout.tenant.post(f"/tickets/{ticket_id}/lines", body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def postings_of(checkout: Checkout, ticket_id: str) -> Counter[tuple[str, int]]:
    [entry] = checkout.rows(JournalEntry, JournalEntry.ticket_id == ticket_id)
    rows = checkout.rows(Posting, Posting.entry_id == entry["id"])
    assert sum(row["amount"] for row in rows) == 0
    return Counter((row["account"], row["amount"]) for row in rows)


def test_inclusive_line_three_units(client) -> None:
    # 3 x 9.99 at 20% included: 29.97 contains 29.97 * 20/120 = 4.995 of tax,
    # which rounds half up to 5.00; net 24.97.
    checkout = seed_checkout(client)
    product = add_product(checkout, "Shampoo", 999, "20")
    ticket_id = walk_in(checkout)

    view = line(
        checkout, ticket_id, {"kind": "product", "product_id": product, "quantity": 3}
    )

    [row] = view["lines"]
    assert (row["total"], row["tax"], row["net"]) == (2997, 500, 2497)
    assert view["tax_summary"] == [
        {"name": "Tax 20%", "rate": "20", "included": True, "net": 2497, "tax": 500}
    ]


def test_rounding_mode_down(client) -> None:
    # The same 4.995 of tax rounds down to 4.99 when the tenant rounds down.
    checkout = seed_checkout(client)
    settings(checkout, rounding_mode="down")
    product = add_product(checkout, "Shampoo", 999, "20")
    ticket_id = walk_in(checkout)

    view = line(
        checkout, ticket_id, {"kind": "product", "product_id": product, "quantity": 3}
    )

    [row] = view["lines"]
    assert (row["total"], row["tax"], row["net"]) == (2997, 499, 2498)


def test_exclusive_ticket_with_percent_discount(client) -> None:
    # Prices exclude 8.875% tax. Lines 2 x 19.99 = 39.98 and 45.00; 15% off
    # the ticket is 15% of 84.98 = 12.747, rounded to 12.75. Spread by
    # largest remainder: 12.75 * 3998/8498 = 5.998 and 12.75 * 4500/8498 =
    # 6.751, so 6.00 and 6.75. Nets 33.98 and 38.25; tax 3.015725 -> 3.02
    # and 3.3946875 -> 3.39; totals 37.00 and 41.64, ticket 78.64.
    checkout = seed_checkout(client)
    configure_tenant(checkout.tenant, prices_include_tax=False)
    conditioner = add_product(checkout, "Conditioner", 1999, "8.875")
    cut = add_service(checkout, "Cut", 4500, "8.875")
    ticket_id = walk_in(checkout)
    line(
        checkout,
        ticket_id,
        {"kind": "product", "product_id": conditioner, "quantity": 2},
    )
    line(checkout, ticket_id, {"kind": "service", "service_id": cut})

    response = checkout.tenant.post(
        f"/tickets/{ticket_id}/discounts", {"kind": "percent", "percent": "15"}
    )

    assert response.status_code == 201, response.text
    view = response.json()
    amounts = [(r["discount"], r["net"], r["tax"], r["total"]) for r in view["lines"]]
    assert amounts == [(600, 3398, 302, 3700), (675, 3825, 339, 4164)]
    assert view["totals"] == {
        "subtotal": 8498,
        "discount": 1275,
        "tax": 641,
        "lines": 7864,
        "tips": 0,
        "total": 7864,
    }
    close = checkout.close(
        ticket_id, {"tenders": [{"kind": "external_card", "amount": 7864}]}
    )
    assert close.status_code == 200, close.text
    assert postings_of(checkout, ticket_id) == Counter(
        {
            ("card_clearing:external", 7864): 1,
            ("retail_revenue", -3998): 1,
            ("service_revenue", -4500): 1,
            ("discounts", 600): 1,
            ("discounts", 675): 1,
            ("tax_payable", -302): 1,
            ("tax_payable", -339): 1,
        }
    )


def test_yen_ticket_has_no_minor_unit(client) -> None:
    # JPY has no minor unit. 1,980 yen plus 3 x 550 yen at 10% excluded:
    # tax 198 and 165, total 3,993 yen; 5,000 in cash gives 1,007 change.
    checkout = seed_checkout(client, currency="JPY")
    configure_tenant(checkout.tenant, prices_include_tax=False)
    treatment = add_service(checkout, "Head spa", 1980, "10")
    tonic = add_product(checkout, "Tonic", 550, "10")
    ticket_id = walk_in(checkout)
    line(checkout, ticket_id, {"kind": "service", "service_id": treatment})
    view = line(
        checkout, ticket_id, {"kind": "product", "product_id": tonic, "quantity": 3}
    )
    assert [r["tax"] for r in view["lines"]] == [198, 165]
    assert view["minor_digits"] == 0

    response = checkout.close(
        ticket_id, {"tenders": [{"kind": "cash", "amount": 5000}]}
    )

    assert response.status_code == 200, response.text
    assert response.json()["totals"]["total"] == 3993
    assert response.json()["change"] == 1007


def test_dinar_ticket_three_digits(client) -> None:
    # KWD has three minor digits. 12.345 KWD at 5% excluded with 10% off:
    # 1.2345 off rounds half up to 1.235 (half even would give 1.234); net
    # 11.110, tax 0.5555 -> 0.556, total 11.666 KWD.
    checkout = seed_checkout(client, currency="KWD")
    configure_tenant(checkout.tenant, prices_include_tax=False)
    massage = add_service(checkout, "Massage", 12345, "5")
    ticket_id = walk_in(checkout)
    view = line(checkout, ticket_id, {"kind": "service", "service_id": massage})
    line_id = view["lines"][0]["id"]

    response = checkout.tenant.post(
        f"/tickets/{ticket_id}/discounts",
        {"line_id": line_id, "kind": "percent", "percent": "10", "reason": "Regular"},
    )

    assert response.status_code == 201, response.text
    [row] = response.json()["lines"]
    assert (row["discount"], row["net"], row["tax"], row["total"]) == (
        1235,
        11110,
        556,
        11666,
    )
    settings(checkout, rounding_mode="half_even")
    changed = checkout.tenant.patch(
        f"/tickets/{ticket_id}/lines/{line_id}", {"note": "Oil"}
    )
    assert changed.status_code == 200, changed.text
    [row] = changed.json()["lines"]
    assert (row["discount"], row["note"]) == (1234, "Oil")


def test_tip_split_sixty_forty_odd(client) -> None:
    # A 10.01 tip split 60/40: 6.006 and 4.004 round down to 6.00 and 4.00,
    # and the one penny left goes to the larger remainder, the 60% share.
    checkout = seed_checkout(client)
    second = add_staff(checkout, "Bea")
    ticket = checkout.open_ticket()
    total = ticket["totals"]["total"]

    response = checkout.close(
        ticket["id"],
        {
            "tenders": [{"kind": "external_card", "amount": total + 1001}],
            "tips": {
                "amount": 1001,
                "split": [
                    {"staff_id": checkout.staff_id, "percent": "60"},
                    {"staff_id": second, "percent": "40"},
                ],
            },
        },
    )

    assert response.status_code == 200, response.text
    tips = {t["staff_id"]: (t["amount"], t["share"]) for t in response.json()["tips"]}
    assert tips == {checkout.staff_id: (601, "60%"), second: (400, "40%")}
    assert response.json()["tenders"][0]["tip"] == 1001
    payable = Counter(
        row["amount"]
        for row in checkout.rows(Posting, Posting.account == "tips_payable")
    )
    assert payable == Counter({-601: 1, -400: 1})


def add_staff(checkout: Checkout, name: str) -> str:
    async def insert() -> str:
        staff = Staff(name=name, title="Stylist")
        await checkout.scope.insert(staff)
        return str(staff.id)

    return checkout.tenant.run(insert)  # type: ignore[no-any-return]


def test_cash_rounds_to_increment(client) -> None:
    # With cash rounded to 0.05, 10.03 due is paid as 10.05 in cash; the
    # 0.02 goes to the cash_rounding account.
    checkout = seed_checkout(client)
    settings(checkout, cash_increment=5)
    product = add_product(checkout, "Comb", 1003, "0")
    ticket_id = walk_in(checkout)
    line(checkout, ticket_id, {"kind": "product", "product_id": product})

    short = checkout.close(ticket_id, {"tenders": [{"kind": "cash", "amount": 1003}]})
    paid = checkout.close(ticket_id, {"tenders": [{"kind": "cash", "amount": 2000}]})

    assert short.status_code == 422, short.text
    assert paid.status_code == 200, paid.text
    assert paid.json()["change"] == 995
    assert paid.json()["cash_rounding"] == 2
    assert postings_of(checkout, ticket_id) == Counter(
        {("cash", 1005): 1, ("retail_revenue", -1003): 1, ("cash_rounding", -2): 1}
    )


def test_fixed_line_discount_above_line(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()
    line_id = ticket["lines"][0]["id"]
    before = ticket["totals"]

    response = checkout.tenant.post(
        f"/tickets/{ticket['id']}/discounts",
        {"line_id": line_id, "kind": "fixed", "amount": 999999},
    )

    assert response.status_code == 422
    assert "amount" in response.json()["errors"]
    assert checkout.tenant.get(f"/tickets/{ticket['id']}").json()["totals"] == before


def test_bad_input_changes_nothing(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()
    before = ticket["totals"]

    negative = checkout.add_product(ticket["id"], checkout.serum_id, quantity=-1)
    unknown = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cheque", "amount": before["total"]}]}
    )
    bad_split = checkout.close(
        ticket["id"],
        {
            "tenders": [{"kind": "cash", "amount": 99999}],
            "tips": {
                "amount": 100,
                "split": [{"staff_id": checkout.staff_id, "percent": "90"}],
            },
        },
    )

    assert negative.status_code == 422
    assert "quantity" in negative.json()["errors"]
    assert unknown.status_code == 422
    assert "tenders[0].kind" in unknown.json()["errors"]
    assert bad_split.status_code == 422
    assert "tips.split" in bad_split.json()["errors"]
    assert checkout.tenant.get(f"/tickets/{ticket['id']}").json()["totals"] == before
    assert checkout.rows(JournalEntry) == []


def test_expired_promo_rejected(client) -> None:
    checkout = seed_checkout(client)
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    created = checkout.tenant.post(
        "/promo-codes",
        {
            "code": "SUMMER",
            "kind": "percent",
            "percent": "10",
            "valid_until": yesterday,
        },
    )
    assert created.status_code == 201, created.text
    ticket = checkout.open_ticket()

    response = checkout.tenant.post(
        f"/tickets/{ticket['id']}/promo", {"code": "summer"}
    )

    assert response.status_code == 422
    assert "expired" in response.json()["errors"]["code"]
    assert checkout.tenant.get(f"/tickets/{ticket['id']}").json()["discounts"] == []


def test_promo_counts_use_on_close(client) -> None:
    # The seeded client gets 10% loyalty on the 60.00 facial (54.00); the
    # 5.00 promo then comes off the rest, leaving 49.00.
    checkout = seed_checkout(client)
    created = checkout.tenant.post(
        "/promo-codes",
        {"code": "WELCOME5", "kind": "fixed", "amount": 500, "usage_limit": 1},
    )
    assert created.status_code == 201, created.text
    ticket = checkout.open_ticket()

    applied = checkout.tenant.post(
        f"/tickets/{ticket['id']}/promo", {"code": "WELCOME5"}
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["totals"]["total"] == 4900
    closed = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": 4900}]}
    )

    assert closed.status_code == 200, closed.text
    [promo] = checkout.tenant.get("/promo-codes").json()
    assert promo["used_count"] == 1


def test_hold_blocks_changes(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()

    held = checkout.tenant.post(f"/tickets/{ticket['id']}/hold", {"note": "Back at 3"})
    blocked = checkout.add_product(ticket["id"], checkout.serum_id)
    rejected = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": 9999}]}
    )
    listed = checkout.tenant.get("/tickets?status=held").json()
    resumed = checkout.tenant.post(f"/tickets/{ticket['id']}/resume")

    assert held.status_code == 200, held.text
    assert held.json()["status"] == "held"
    assert blocked.status_code == 409
    assert rejected.status_code == 409
    assert [t["id"] for t in listed] == [ticket["id"]]
    assert resumed.json()["status"] == "open"
    assert checkout.add_product(ticket["id"], checkout.serum_id).status_code == 201


def test_automatic_rules_best_applies(client) -> None:
    # A birthday-month 15% and a first-visit 20% both apply to a new client:
    # only the larger one applies unless rules stack.
    checkout = seed_checkout(client)
    configure_tenant(checkout.tenant, loyalty_percent=0)
    for body in (
        {"name": "Birthday", "trigger": "birthday_month", "percent": "15"},
        {"name": "Welcome", "trigger": "first_visit", "percent": "20"},
    ):
        assert checkout.tenant.post("/discount-rules", body).status_code == 201

    async def new_client() -> str:
        row = Client(
            first_name="Nia",
            last_name="New",
            birthday=date.today().replace(year=1990, day=1),
            created_at=utcnow(),
        )
        await checkout.scope.insert(row)
        return str(row.id)

    client_id = checkout.tenant.run(new_client)
    ticket_id = walk_in(checkout, client_id)

    view = line(
        checkout, ticket_id, {"kind": "service", "service_id": checkout.facial_id}
    )

    [row] = view["lines"]
    assert (row["discount"], row["discount_reason"]) == (1200, "Welcome 20%")
    settings(checkout, stack_automatic=True)
    stacked = checkout.tenant.patch(
        f"/tickets/{ticket_id}/lines/{row['id']}", {"note": ""}
    ).json()
    # 20% of 60.00 is 12.00, then 15% of the 48.00 left is 7.20.
    assert stacked["lines"][0]["discount"] == 1920


def test_wallet_and_points(client) -> None:
    checkout = seed_checkout(client)
    configure_tenant(checkout.tenant, loyalty_percent=0)
    settings(checkout, loyalty_points_per_unit=1, loyalty_point_value=10)
    credit = checkout.tenant.post(
        f"/clients/{checkout.client_id}/wallet/credit",
        {"amount": 2000, "reason": "Sorry"},
    )
    assert credit.status_code == 201, credit.text
    ticket = checkout.open_ticket()
    assert "wallet" in ticket["tenders_offered"]

    closed = checkout.close(
        ticket["id"],
        {
            "tenders": [
                {"kind": "wallet", "amount": 2000},
                {"kind": "cash", "amount": 4000},
            ]
        },
    )

    assert closed.status_code == 200, closed.text
    # 60.00 paid earns 60 points at one point per pound.
    assert closed.json()["points_earned"] == 60
    wallet = checkout.tenant.get(f"/clients/{checkout.client_id}/wallet").json()
    assert wallet["balance"] == 0
    assert wallet["loyalty"]["points"] == 60
    assert postings_of(checkout, ticket["id"])[("wallet_liability", 2000)] == 1


def test_points_tender_spends_points(client) -> None:
    checkout = seed_checkout(client)
    configure_tenant(checkout.tenant, loyalty_percent=0)
    settings(checkout, loyalty_points_per_unit=1, loyalty_point_value=10)
    first = checkout.open_ticket()
    assert (
        checkout.close(
            first["id"], {"tenders": [{"kind": "cash", "amount": 6000}]}
        ).status_code
        == 200
    )
    ticket_id = walk_in(checkout, checkout.client_id)
    line(checkout, ticket_id, {"kind": "product", "product_id": checkout.serum_id})

    too_many = checkout.close(
        ticket_id, {"tenders": [{"kind": "loyalty", "points": 61}]}
    )
    paid = checkout.close(
        ticket_id,
        {
            "tenders": [
                {"kind": "loyalty", "points": 50},
                {"kind": "cash", "amount": 2000},
            ]
        },
    )

    assert too_many.status_code == 422
    assert "tenders[0].points" in too_many.json()["errors"]
    assert paid.status_code == 200, paid.text
    wallet = checkout.tenant.get(f"/clients/{checkout.client_id}/wallet").json()
    # 60 earned, 50 spent, then 20 earned on the 20.00 paid in cash.
    assert wallet["loyalty"]["points"] == 30
    assert postings_of(checkout, ticket_id)[("loyalty_redemptions", 500)] == 1


def test_deposit_tender_uses_deposit(client) -> None:
    checkout = seed_checkout(client)

    async def set_deposit() -> None:
        await checkout.scope.update(Appointment, {Appointment.deposit: 1500}).where(
            Appointment.id == checkout.appointment_id
        )

    checkout.tenant.run(set_deposit)
    ticket = checkout.open_ticket()
    total = ticket["totals"]["total"]

    closed = checkout.close(
        ticket["id"],
        {"tenders": [{"kind": "deposit"}, {"kind": "cash", "amount": total - 1500}]},
    )

    assert closed.status_code == 200, closed.text
    assert postings_of(checkout, ticket["id"])[("client_deposits", 1500)] == 1


def test_visit_ticket_has_every_service(client) -> None:
    checkout = seed_checkout(client)
    bea = add_staff(checkout, "Bea")

    async def second_appointment() -> None:
        visit = uuid.uuid4()
        first = await checkout.scope.get(Appointment, checkout.appointment_id)
        await checkout.scope.update(Appointment, {Appointment.visit_id: visit}).where(
            Appointment.id == first["id"]
        )
        await checkout.scope.insert(
            Appointment(
                client_id=first["client_id"],
                service_id=first["service_id"],
                staff_id=uuid.UUID(bea),
                start_at=first["end_at"],
                end_at=first["end_at"] + timedelta(minutes=60),
                status="booked",
                price=5000,
                cancel_token="second-" + bea[:8],
                created_at=first["created_at"],
                visit_id=visit,
            )
        )

    checkout.tenant.run(second_appointment)

    ticket = checkout.open_ticket()

    staff = [row["staff_id"] for row in ticket["lines"]]
    assert staff == [checkout.staff_id, bea]
    assert [row["unit_price"] for row in ticket["lines"]] == [6000, 5000]


@pytest.mark.parametrize("kind", ["percent", "fixed"])
def test_ticket_discount_never_below_zero(client, kind: str) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.open_ticket()
    body = (
        {"kind": kind, "percent": "100"}
        if kind == "percent"
        else {
            "kind": kind,
            "amount": ticket["totals"]["total"],
        }
    )

    first = checkout.tenant.post(f"/tickets/{ticket['id']}/discounts", body)
    second = checkout.tenant.post(
        f"/tickets/{ticket['id']}/discounts", {"kind": "percent", "percent": "50"}
    )

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json()["totals"]["total"] == 0
    assert all(row["total"] >= 0 for row in second.json()["lines"])


def test_fee_ticket_settings_row_is_single(client) -> None:
    checkout = seed_checkout(client)
    settings(checkout, cash_increment=5)
    settings(checkout, cash_increment=10)
    assert len(checkout.rows(LedgerSettings)) == 1
    assert checkout.tenant.get("/ledger-settings").json()["cash_increment"] == 10


def test_tax_rates_and_exempt_line(client) -> None:
    checkout = seed_checkout(client)
    standard = checkout.tenant.post(
        "/tax-rates", {"name": "VAT standard", "rate": "20", "is_default": True}
    )
    exempt = checkout.tenant.post("/tax-rates", {"name": "Exempt", "exempt": True})
    duplicate = checkout.tenant.post("/tax-rates", {"name": "Exempt"})
    assert standard.status_code == 201, standard.text
    assert exempt.status_code == 201, exempt.text
    assert duplicate.status_code == 422
    ticket_id = walk_in(checkout)
    line(checkout, ticket_id, {"kind": "product", "product_id": checkout.serum_id})

    view = line(
        checkout,
        ticket_id,
        {
            "kind": "product",
            "product_id": checkout.night_serum_id,
            "tax_rate_id": exempt.json()["id"],
        },
    )

    assert [(r["tax_name"], r["tax"]) for r in view["lines"]] == [
        ("VAT standard", 417),
        ("Exempt", 0),
    ]
    names = [row["name"] for row in view["tax_summary"]]
    assert names == ["Exempt", "VAT standard"]
    rows = checkout.rows(TicketLine, TicketLine.ticket_id == ticket_id)
    assert {row["tax_rate"] for row in rows} == {"20", "0"}
    assert checkout.row(Ticket, ticket_id)["tax"] == 417


def test_points_as_discount(client) -> None:
    checkout = seed_checkout(client)
    configure_tenant(checkout.tenant, loyalty_percent=0)
    settings(checkout, loyalty_points_per_unit=1, loyalty_point_value=10)
    first = checkout.open_ticket()
    paid = checkout.close(first["id"], {"tenders": [{"kind": "cash", "amount": 6000}]})
    assert paid.status_code == 200, paid.text
    ticket_id = walk_in(checkout, checkout.client_id)
    line(checkout, ticket_id, {"kind": "product", "product_id": checkout.serum_id})

    too_many = checkout.tenant.post(f"/tickets/{ticket_id}/points", {"points": 61})
    applied = checkout.tenant.post(f"/tickets/{ticket_id}/points", {"points": 40})

    assert too_many.status_code == 422
    assert "points" in too_many.json()["errors"]
    assert applied.status_code == 200, applied.text
    # 40 points at 0.10 each take 4.00 off the 25.00 serum.
    assert applied.json()["totals"]["total"] == 2100
    closed = checkout.close(ticket_id, {"tenders": [{"kind": "cash", "amount": 2100}]})
    assert closed.status_code == 200, closed.text
    wallet = checkout.tenant.get(f"/clients/{checkout.client_id}/wallet").json()
    # 60 earned, 40 spent, then 21 earned on the 21.00 paid.
    assert wallet["loyalty"]["points"] == 41
