"""Checkout screen discounts, promo codes, holds and tip split; the pricing page."""

from __future__ import annotations

from tests.integration.test_checkout_pages import browse, hidden_key, open_page
from tests.integration.test_checkout_setup import seed_checkout
from tests.integration.test_till_pricing import add_staff
from tillbook.kernel.ledger.tables import PromoCode, TaxRate, Ticket, Tip


def test_page_discount_and_hold(client) -> None:
    checkout = seed_checkout(client)
    ticket_id, page = open_page(checkout)
    assert "Discount or promo code" in page

    added = browse(
        checkout,
        "POST",
        f"/tickets/{ticket_id}/discounts",
        data={"kind": "fixed", "value": "4.00", "reason": "Late start"},
    )
    held = browse(
        checkout, "POST", f"/tickets/{ticket_id}/hold", data={"note": "Colour"}
    )
    held_page = browse(checkout, "GET", f"/tickets/{ticket_id}")
    listing = browse(checkout, "GET", "/tickets")
    resumed = browse(checkout, "POST", f"/tickets/{ticket_id}/resume")

    assert added.status_code == 303, added.text
    assert held.status_code == 303, held.text
    assert "On hold" in held_page.text
    assert 'id="close-form"' not in held_page.text
    assert "Colour" in listing.text
    assert resumed.status_code == 303
    ticket = checkout.row(Ticket, ticket_id)
    # 60.00 less 10% loyalty is 54.00; 4.00 off the ticket leaves 50.00.
    assert (ticket["status"], ticket["total"]) == ("open", 5000)


def test_page_bad_discount_names_field(client) -> None:
    checkout = seed_checkout(client)
    ticket_id, _ = open_page(checkout)

    response = browse(
        checkout,
        "POST",
        f"/tickets/{ticket_id}/discounts",
        data={"kind": "percent", "value": "150"},
    )

    assert response.status_code == 422
    assert "<strong>percent</strong>" in response.text


def test_page_tip_split_by_percent(client) -> None:
    checkout = seed_checkout(client)
    bea = add_staff(checkout, "Bea")
    ticket_id, _ = open_page(checkout)
    browse(
        checkout,
        "POST",
        f"/tickets/{ticket_id}/lines",
        data={"kind": "service", "service_id": checkout.facial_id},
    )
    # Put Bea on the second facial through the API, then pay from the page.
    view = checkout.tenant.get(f"/tickets/{ticket_id}").json()
    second = view["lines"][1]["id"]
    checkout.tenant.patch(f"/tickets/{ticket_id}/lines/{second}", {"staff_id": bea})
    page = browse(checkout, "GET", f"/tickets/{ticket_id}").text
    total = checkout.row(Ticket, ticket_id)["total"]

    response = browse(
        checkout,
        "POST",
        f"/tickets/{ticket_id}/close",
        data={
            "idempotency_key": hidden_key(page),
            "tip_total": "10.01",
            f"pct_{checkout.staff_id}": "60",
            f"pct_{bea}": "40",
            "external_card_amount": f"{(total + 1001) / 100:.2f}",
        },
    )

    assert response.status_code == 303, response.text
    tips = {str(row["staff_id"]): row["amount"] for row in checkout.rows(Tip)}
    assert tips == {checkout.staff_id: 601, bea: 400}


def test_pricing_page_adds_rate_and_code(client) -> None:
    checkout = seed_checkout(client)

    shown = browse(checkout, "GET", "/pricing")
    rate = browse(
        checkout, "POST", "/pricing/tax-rates", data={"name": "VAT", "rate": "20"}
    )
    promo = browse(
        checkout,
        "POST",
        "/pricing/promo-codes",
        data={"code": "SPRING", "kind": "fixed", "value": "5.00", "usage_limit": "3"},
    )
    bad = browse(
        checkout,
        "POST",
        "/pricing/promo-codes",
        data={"code": "x", "kind": "percent", "value": "10"},
    )
    saved = browse(
        checkout,
        "POST",
        "/pricing/settings",
        data={"rounding_mode": "half_even", "cash_increment": "5"},
    )

    assert shown.status_code == 200
    assert "Tax rates" in shown.text
    assert rate.status_code == 303, rate.text
    assert promo.status_code == 303, promo.text
    assert bad.status_code == 422
    assert saved.status_code == 303, saved.text
    [row] = checkout.rows(TaxRate)
    assert (row["name"], row["rate"]) == ("VAT", "20")
    [code] = checkout.rows(PromoCode)
    assert (code["code"], code["amount"], code["usage_limit"]) == ("SPRING", 500, 3)
    settings = checkout.tenant.get("/ledger-settings").json()
    assert (settings["rounding_mode"], settings["cash_increment"]) == ("half_even", 5)
