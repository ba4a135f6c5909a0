"""The staff checkout pages: open from the appointment, add, pay, see it closed."""

from __future__ import annotations

import re
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
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard
from tillbook.kernel.ledger.tables import JournalEntry, Ticket, Tip

HTML = {"Accept": "text/html"}


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


def browse(checkout: Checkout, method: str, path: str, **kwargs: Any) -> Any:
    headers = {**checkout.tenant.headers, **HTML}
    return checkout.tenant.client.request(
        method,
        f"/t/{checkout.tenant.slug}/staff{path}",
        headers=headers,
        follow_redirects=False,
        **kwargs,
    )


def open_page(checkout: Checkout) -> tuple[str, str]:
    """Follow the appointment's checkout link; return the ticket id and page."""
    response = browse(
        checkout, "GET", f"/appointments/{checkout.appointment_id}/checkout"
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    match = re.fullmatch(
        rf"/t/{checkout.tenant.slug}/staff/tickets/([0-9a-f-]+)", location
    )
    assert match, location
    page = browse(checkout, "GET", f"/tickets/{match.group(1)}")
    assert page.status_code == 200
    return match.group(1), page.text


def hidden_key(page: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_ticket_page_shows_prompts_and_form(client) -> None:
    checkout = seed_checkout(client)

    _, page = open_page(checkout)

    notice = re.search(r'<div class="notice prompts">(.*?)</div>', page, re.S)
    assert notice is not None
    assert "Lavender scent; sensitive skin" in notice.group(1)
    assert "Prefer lavender scent, please." in notice.group(1)
    assert "Signature Facial" in page
    assert "with Amira" in page
    assert "Loyalty 10%" in page
    assert "3</strong> of 5 sessions left" in page
    for name in (
        "product_id",
        "quantity",
        "tip",
        "use_package",
        "gift_card_code",
        "gift_card_amount",
        "external_card_amount",
        "cash_amount",
        "idempotency_key",
    ):
        assert f'name="{name}"' in page, name
    assert 'name="card_amount"' not in page
    assert ">Add product</button>" in page
    assert ">Close ticket</button>" in page
    assert 'name="viewport"' in page


def test_stored_card_input_needs_provider_and_card(
    client, fake_stripe: FakeStripe
) -> None:
    checkout = seed_checkout(client)
    enable_stripe(checkout.tenant, fake_stripe)
    store_card(checkout)

    _, page = open_page(checkout)

    assert 'name="card_amount"' in page
    assert "Stored card Visa 4242" in page
    assert 'name="external_card_amount"' not in page


def test_pay_through_form(client) -> None:
    checkout = seed_checkout(client)
    ticket_id, page = open_page(checkout)

    added = browse(
        checkout,
        "POST",
        f"/tickets/{ticket_id}/lines",
        data={"product_id": checkout.serum_id, "quantity": "1"},
    )
    assert added.status_code == 303
    page = browse(checkout, "GET", f"/tickets/{ticket_id}").text
    assert "Hydrating Serum" in page
    # Due: facial 54.00 + serum 25.00 + tip 5.00 = 84.00.
    closed = browse(
        checkout,
        "POST",
        f"/tickets/{ticket_id}/close",
        data={
            "idempotency_key": hidden_key(page),
            "tip": "5.00",
            "use_package": "on",
            "gift_card_code": "gftc rd23 45ab cdef",
            "gift_card_amount": "10",
            "cash_amount": "20.00",
        },
    )

    assert closed.status_code == 303, closed.text
    done = browse(checkout, "GET", f"/tickets/{ticket_id}")
    assert done.status_code == 200
    assert "is paid" in done.text
    assert "Receipt emailed to ada-" in done.text
    assert f"/t/{checkout.tenant.slug}/staff/tickets/{ticket_id}/receipt" in done.text
    assert checkout.row(Ticket, ticket_id)["total"] == 8400
    [tip] = checkout.rows(Tip)
    assert tip["amount"] == 500
    assert checkout.row(GiftCard, checkout.gift_card_id)["balance"] == 2000
    assert checkout.row(ClientPackage, checkout.package_id)["sessions_left"] == 2
    receipt = browse(checkout, "GET", f"/tickets/{ticket_id}/receipt")
    assert receipt.status_code == 200
    assert "£84.00" in receipt.text


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("cash_amount", "12.505", "more than 2 decimal places"),
        ("cash_amount", "-3", "negative"),
        ("tip", "five", "not an amount"),
        ("gift_card_amount", "10.00", "gift card&#39;s code"),
    ],
)
def test_bad_form_amount_names_field(
    client, field: str, value: str, fragment: str
) -> None:
    checkout = seed_checkout(client)
    ticket_id, page = open_page(checkout)

    response = browse(
        checkout,
        "POST",
        f"/tickets/{ticket_id}/close",
        data={"idempotency_key": hidden_key(page), field: value},
    )

    assert response.status_code == 422
    field_name = "gift_card_code" if field == "gift_card_amount" else field
    assert f"<strong>{field_name}</strong>" in response.text
    assert fragment in response.text
    assert checkout.row(Ticket, ticket_id)["status"] == "open"
    assert checkout.rows(JournalEntry) == []


def test_short_payment_rerenders_with_amounts(client) -> None:
    checkout = seed_checkout(client)
    ticket_id, page = open_page(checkout)

    response = browse(
        checkout,
        "POST",
        f"/tickets/{ticket_id}/close",
        data={"idempotency_key": hidden_key(page), "external_card_amount": "50.00"},
    )

    assert response.status_code == 422
    assert "GBP 50.00 but GBP 54.00 is due" in response.text
    assert 'value="50.00"' in response.text
    assert checkout.rows(JournalEntry) == []


def test_add_too_many_products_rerenders(client) -> None:
    checkout = seed_checkout(client)
    ticket_id, _ = open_page(checkout)

    response = browse(
        checkout,
        "POST",
        f"/tickets/{ticket_id}/lines",
        data={"product_id": checkout.serum_id, "quantity": "11"},
    )

    assert response.status_code == 422
    assert "only 10" in response.text
