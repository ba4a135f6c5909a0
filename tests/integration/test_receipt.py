"""Receipts: rendered with the tenant's branding and emailed once per ticket."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.test_checkout_setup import Checkout, seed_checkout
from tillbook.config import Settings
from tillbook.jobs.broker import join_queues
from tillbook.jobs.receipts import email_receipt
from tillbook.kernel.events.tables import MailMessage, OutboxEvent
from tillbook.kernel.ledger.tables import Ticket
from tillbook.kernel.schedule.tables import Appointment


@pytest.fixture
def app_settings(smtp_settings: Settings) -> Settings:
    return smtp_settings


def close_facial_with_serum(checkout: Checkout) -> dict[str, Any]:
    ticket = checkout.open_ticket()
    checkout.add_product(ticket["id"], checkout.serum_id)
    body = {
        "tenders": [{"kind": "cash", "amount": 10000}],
        "tips": [{"staff_id": checkout.staff_id, "amount": 500}],
    }
    response = checkout.close(ticket["id"], body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def text_of(message: Any) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()  # type: ignore[no-any-return]
    raise AssertionError("message has no text part")


def wait_until_dispatched(checkout: Checkout, name: str, timeout: float = 10) -> None:
    """Wait until the outbox dispatched every ``name`` event and its jobs ran."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = checkout.rows(OutboxEvent, OutboxEvent.name == name)
        if events and all(event["dispatched_at"] for event in events):
            join_queues()
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} was not dispatched within {timeout} s")


def test_receipt_reaches_smtp(client, smtp_server: Any) -> None:
    checkout = seed_checkout(client, business_name="Lavender Rooms")
    result = close_facial_with_serum(checkout)

    [message] = smtp_server.wait_for(1)
    html = smtp_server.html_of(message)

    client_row = checkout.rows(Ticket)[0]
    assert message["To"] == client_row["receipt_email"]
    assert message["To"].startswith("ada-")
    assert message["Subject"] == "Your receipt from Lavender Rooms"
    assert "Lavender Rooms" in html
    assert "Signature Facial" in html
    assert "Loyalty 10%" in html
    assert "Hydrating Serum" in html
    assert "Tip for Amira" in html
    assert result["totals"]["total"] == 8400
    assert "£84.00" in html
    assert "Change" in html
    assert "£16.00" in html
    assert "Night Repair Serum" in html
    start = checkout.row(Appointment, checkout.appointment_id)["start_at"]
    local_day = start.astimezone(checkout.scope.tenant.zone).date()
    suggested = local_day + timedelta(days=42)
    assert suggested.strftime("%A %-d %B %Y") in html
    assert "#5b6b5a" in html  # the brand colour
    text = text_of(message)
    assert "Recommended for you: Night Repair Serum" in text


def test_receipt_is_sent_once(client, smtp_server: Any) -> None:
    checkout = seed_checkout(client)
    result = close_facial_with_serum(checkout)
    smtp_server.wait_for(1)
    wait_until_dispatched(checkout, "ticket.closed")

    again = checkout.tenant.run(
        email_receipt, checkout.scope.tenant_id, uuid.UUID(result["ticket_id"])
    )

    assert again is None
    receipts = checkout.rows(MailMessage, MailMessage.kind == "receipt")
    assert len(receipts) == 1
    assert len(smtp_server.messages) == 1


def test_no_email_no_receipt(client, smtp_server: Any) -> None:
    checkout = seed_checkout(client, email="")
    close_facial_with_serum(checkout)

    wait_until_dispatched(checkout, "ticket.closed")

    assert checkout.rows(MailMessage) == []
    assert checkout.rows(Ticket)[0]["receipt_email"] == ""
    assert smtp_server.messages == []


def test_receipt_page_over_api(client, smtp_server: Any) -> None:
    checkout = seed_checkout(client)
    open_ticket = checkout.open_ticket()
    too_early = checkout.tenant.get(f"/tickets/{open_ticket['id']}/receipt")
    result = close_facial_with_serum(checkout)

    response = checkout.tenant.get(f"/tickets/{result['ticket_id']}/receipt")

    assert too_early.status_code == 409
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "£84.00" in response.text
    assert f"Receipt {result['number']}" in response.text
