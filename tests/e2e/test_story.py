"""A client books with a note; the front desk checks her in and checks her out.

Played through Debian's Chromium against a real server: the public booking
page, the live staff calendar, check-in, the pre-filled checkout with loyalty
discount, package session, gift card, stored card (through the fake Stripe
API) and tip, and the branded receipt received by a real SMTP server.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.fakes.smtp import RecordingSMTPServer
from tests.fakes.stripe_api import FakeStripe

PASSWORD = "lavender fields 2026"
NOTE = "Prefer lavender scent, please."
ZONE = ZoneInfo("Europe/London")


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    server = FakeStripe()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Api:
    """A small JSON client for seeding a tenant through the public API."""

    def __init__(self, base: str, slug: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{base}/t/{slug}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == expect, (path, response.text)
        return response.json()


def _seed(base: str, stripe: FakeStripe) -> dict[str, Any]:
    slug = f"juniper-{secrets.token_hex(3)}"
    email = f"owner-{slug}@example.com"
    signup = httpx.post(
        f"{base}/api/v1/signup",
        json={
            "business_name": "Juniper Test Spa",
            "slug": slug,
            "email": email,
            "password": PASSWORD,
            "owner_name": "Olive Owner",
            "time_zone": "Europe/London",
            "currency": "GBP",
            "brand_colour": "#6b4f7a",
        },
        timeout=30,
    )
    assert signup.status_code == 201, signup.text
    api = Api(base, slug, signup.json()["token"])

    api.call(
        "PATCH", "/settings", 200, json={"loyalty_min_visits": 0, "loyalty_percent": 10}
    )
    maya = api.call(
        "POST", "/staff", 201, json={"name": "Maya Lind", "title": "Aesthetician"}
    )
    api.call(
        "PUT",
        f"/staff/{maya['id']}/hours",
        200,
        json=[{"weekday": day, "start": "08:00", "end": "20:00"} for day in range(7)],
    )
    oil = api.call(
        "POST",
        "/catalog/products",
        201,
        json={
            "name": "Lavender Cleansing Oil",
            "sku": "LCO",
            "price": 2400,
            "tax_rate": "20",
            "stock": 30,
        },
    )
    serum = api.call(
        "POST",
        "/catalog/products",
        201,
        json={
            "name": "Hydrating Rose Serum",
            "sku": "HRS",
            "price": 3800,
            "tax_rate": "20",
            "stock": 12,
        },
    )
    facial = api.call(
        "POST",
        "/catalog/services",
        201,
        json={
            "name": "Signature Facial",
            "category": "Facials",
            "duration_minutes": 60,
            "price": 8500,
            "tax_rate": "20",
            "rebook_interval_days": 28,
            "provider_ids": [maya["id"]],
            "consumes": [{"product_id": oil["id"], "quantity": 1}],
            "recommends": [serum["id"]],
        },
    )
    api.call(
        "PUT",
        "/plugins/payments_stripe",
        200,
        json={
            "enabled": True,
            "settings": {"secret_key": stripe.secret_key, "api_base": stripe.url},
        },
    )

    client_email = f"ada-{slug}@example.com"
    client = api.call(
        "POST",
        "/clients",
        201,
        json={
            "first_name": "Ada",
            "last_name": "Hart",
            "email": client_email,
            "phone": "+44 20 7946 0000",
            "preferences": "Sensitive skin",
        },
    )
    api.call(
        "POST",
        f"/clients/{client['id']}/cards",
        201,
        json={"payment_method": "pm_card_visa"},
    )

    # A five-session facial package and a gift card, each sold on its own ticket.
    plan = api.call(
        "POST",
        "/catalog/package-plans",
        201,
        json={
            "name": "Facial Five",
            "service_id": facial["id"],
            "sessions": 5,
            "price": 37500,
        },
    )
    sale = api.call("POST", "/tickets", 201, json={"client_id": client["id"]})
    api.call(
        "POST",
        f"/tickets/{sale['id']}/lines",
        201,
        json={"kind": "package", "plan_id": plan["id"]},
    )
    api.call(
        "POST",
        f"/tickets/{sale['id']}/close",
        200,
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={"tenders": [{"kind": "cash", "amount": 37500}], "tips": []},
    )
    gift = api.call(
        "POST", "/gift-cards", 201, json={"amount": 5000, "client_id": client["id"]}
    )
    closed = api.call(
        "POST",
        f"/tickets/{gift['id']}/close",
        200,
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={"tenders": [{"kind": "cash", "amount": 5000}], "tips": []},
    )
    codes = re.findall(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){4}", str(closed))
    assert codes, f"the gift card sale returned no code: {closed}"
    return {
        "slug": slug,
        "owner_email": email,
        "client_email": client_email,
        "gift_code": codes[0],
        "api": api,
    }


def _ticket_of(appointments: Any) -> str:
    rows = (
        appointments["appointments"] if isinstance(appointments, dict) else appointments
    )
    ids = [row.get("ticket_id") for row in rows if row.get("ticket_id")]
    assert len(ids) == 1, rows
    return str(ids[0])


def _booking_day() -> date:
    return datetime.now(ZONE).date() + timedelta(days=1)


def _choose(page: Any, select: str, text: str) -> None:
    """Select the option of ``select`` whose label contains ``text``."""
    option = page.locator(f"{select} option", has_text=text).first
    page.select_option(select, value=option.get_attribute("value"))


def _wait_for_mail(
    server: RecordingSMTPServer, to: str, marker: str, timeout: float = 15.0
) -> str:
    """Return the HTML of the first message to ``to`` containing ``marker``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in list(server.messages):
            if message["To"].endswith(to):
                html = RecordingSMTPServer.html_of(message)
                if marker in html:
                    return html
        time.sleep(0.1)
    subjects = [message["Subject"] for message in server.messages]
    raise AssertionError(f"no mail to {to} containing {marker!r}; got {subjects}")


def _major(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.\-]", "", text))


def test_book_check_in_and_check_out(
    live_server: Any,
    smtp_server: RecordingSMTPServer,
    fake_stripe: FakeStripe,
    desktop: Any,
    phone: Any,
) -> None:
    seeded = _seed(live_server.url, fake_stripe)
    slug = seeded["slug"]
    day = _booking_day()

    # The front desk signs in and opens the calendar for the day.
    desk = desktop.new_page()
    desk.goto(f"{live_server.url}/t/{slug}/staff/login")
    desk.fill("#email", seeded["owner_email"])
    desk.fill("#password", PASSWORD)
    desk.click("button:has-text('Sign in')")
    desk.goto(f"{live_server.url}/t/{slug}/staff/calendar?date={day.isoformat()}")
    desk.wait_for_selector("#calendar")
    assert desk.locator(".appt").count() == 0

    # The client books on her phone, picking Maya and the 15:00 slot.
    client = phone.new_page()
    client.goto(f"{live_server.url}/t/{slug}/book")
    _choose(client, "#service_id", "Signature Facial")
    _choose(client, "#staff_id", "Maya")
    client.fill("#date", day.isoformat())
    client.click("#show-times")
    client.click("label.timeslot:has-text('15:00')")
    client.fill("#first_name", "Ada")
    client.fill("#last_name", "Hart")
    client.fill("#email", seeded["client_email"])
    client.fill("#phone", "+44 20 7946 0000")
    client.fill("#note", NOTE)
    client.click("#book")
    client.wait_for_selector("text=15:00")
    assert "Signature Facial" in client.content()

    # The booking reaches the open calendar without a reload.
    desk.wait_for_selector(".appt:has-text('Ada')", timeout=10_000)
    assert "Signature Facial" in desk.inner_text("#calendar")

    # A confirmation email with a link to manage the booking reaches the SMTP server.
    confirmation = _wait_for_mail(smtp_server, seeded["client_email"], "/book/manage/")
    assert "Signature Facial" in confirmation

    # Check-in from the appointment view, then checkout.
    desk.click(".appt:has-text('Ada')")
    assert NOTE in desk.inner_text("#booking-note")
    desk.click("#check-in")
    desk.wait_for_selector("#checked-in-at")
    desk.click("#checkout")
    desk.wait_for_selector("#close-form")

    page_text = desk.inner_text("body")
    assert "lavender" in desk.inner_text(".notice").lower()
    assert "Signature Facial" in page_text
    assert "Maya" in page_text
    assert "Loyalty" in page_text

    # Two retail products used in the facial.
    _choose(desk, "#product_id", "Lavender Cleansing Oil")
    desk.fill("#quantity", "1")
    desk.click("button:has-text('Add product')")
    desk.wait_for_selector("text=Lavender Cleansing Oil")
    _choose(desk, "#product_id", "Hydrating Rose Serum")
    desk.fill("#quantity", "1")
    desk.click("button:has-text('Add product')")
    desk.wait_for_selector("td:has-text('Hydrating Rose Serum')")

    # Package session for the facial, £20 from the gift card, a £10 tip,
    # and the rest on the stored card.
    desk.check("#use_package")
    desk.fill("#gift_card_code", seeded["gift_code"])
    desk.fill("#gift_card_amount", "20.00")
    desk.fill("#tip", "10.00")
    remaining = _major(desk.inner_text("#remaining"))
    assert remaining > 0
    desk.fill("#card_amount", f"{remaining:.2f}")
    assert _major(desk.inner_text("#remaining")) == 0
    desk.click("button:has-text('Close ticket')")
    desk.wait_for_selector("text=Receipt emailed")

    # The stored card was charged through the provider for exactly the rest.
    charges = [r for r in fake_stripe.requests if r.path == "/v1/payment_intents"]
    assert [c.params["amount"] for c in charges] == [str(int(remaining * 100))]

    # The receipt arrives with the recommendation, a rebooking date and the total.
    appointment = seeded["api"].call(
        "GET", "/appointments", 200, params={"date": day.isoformat()}
    )
    ticket_id = _ticket_of(appointment)
    ticket = seeded["api"].call("GET", f"/tickets/{ticket_id}", 200)
    assert ticket["status"] == "closed"
    html = _wait_for_mail(smtp_server, seeded["client_email"], "Hydrating Rose Serum")
    assert "Recommended" in html or "recommend" in html.lower()
    rebook = day + timedelta(days=28)
    assert rebook.strftime("%B") in html
    assert str(rebook.day) in html
    assert ticket["totals"]["tips"] == 1000
    assert ticket["totals"]["discount"] > 0
    paid = {tender["kind"]: tender["amount"] for tender in ticket["tenders"]}
    assert paid["gift_card"] == 2000
    assert paid["card"] == int(remaining * 100)
    assert paid["package"] > 0
    assert sum(paid.values()) == ticket["totals"]["total"]
    total = Decimal(ticket["totals"]["total"]).scaleb(-2)
    assert f"{total:,.2f}" in html
