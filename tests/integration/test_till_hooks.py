"""Checkout hooks (prompts, upsell, receipt sections) and class-booking tickets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from markupsafe import escape

from tests.integration.test_checkout_setup import seed_checkout
from tests.integration.test_plugin_host import enable, registered
from tillbook import hookimpl
from tillbook.db.base import utcnow
from tillbook.kernel.catalog import memberships
from tillbook.kernel.schedule.tables import ClassBooking, ClassSession


class TillPlugin:
    """A plugin that returns a prompt, a suggestion and a receipt section."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    @hookimpl
    def tillbook_checkout_prompts(self, scope, client, appointment, ticket):
        self.calls.append({"client": client, "ticket": ticket})
        return [f"{len(ticket['lines'])} lines <checked>"]

    @hookimpl
    def tillbook_upsell_suggestions(self, scope, ticket):
        return [
            {"kind": "product", "item_id": self.product_id, "reason": "Pairs well"},
            {"kind": "product", "item_id": "not-an-id", "reason": "ignored"},
        ]

    @hookimpl
    def tillbook_receipt_sections(self, scope, ticket):
        return [f"<p>Thanks for ticket {escape(str(ticket['number']))}</p>"]


@pytest.fixture
def till_plugin() -> Iterator[TillPlugin]:
    plugin = TillPlugin()
    for _ in registered(plugin, "till_test"):
        yield plugin


def test_hooks_reach_checkout_and_receipt(client, till_plugin: TillPlugin) -> None:
    checkout = seed_checkout(client)
    till_plugin.product_id = checkout.night_serum_id
    enable(client, checkout.tenant, "till_test")

    ticket = checkout.open_ticket()

    assert "1 lines <checked>" in ticket["prompts"]
    [call] = till_plugin.calls
    assert call["client"]["id"] == checkout.client_id
    assert call["ticket"]["lines"][0]["kind"] == "service"
    [suggestion] = ticket["suggestions"]
    assert (suggestion["item_id"], suggestion["reason"]) == (
        checkout.night_serum_id,
        "Pairs well",
    )
    total = ticket["totals"]["total"]
    closed = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": total}]}
    )
    assert closed.status_code == 200, closed.text
    receipt = checkout.tenant.get(f"/tickets/{ticket['id']}/receipt")
    assert f"Thanks for ticket {ticket['number']}" in receipt.text
    assert "Tax summary" in receipt.text


def test_class_booking_ticket(client) -> None:
    checkout = seed_checkout(client)

    async def book() -> str:
        now = utcnow()
        session = ClassSession(
            service_id=checkout.facial_id,
            staff_id=checkout.staff_id,
            start_at=now,
            end_at=now + timedelta(hours=1),
            capacity=8,
            created_at=now,
        )
        await checkout.scope.insert(session)
        booking = ClassBooking(
            session_id=session.id,
            client_id=checkout.client_id,
            status="attended",
            created_at=now,
        )
        await checkout.scope.insert(booking)
        return str(booking.id)

    booking_id = checkout.tenant.run(book)

    first = checkout.tenant.post(f"/class-bookings/{booking_id}/ticket")
    again = checkout.tenant.post(f"/class-bookings/{booking_id}/ticket")

    assert first.status_code == 200, first.text
    assert again.json()["id"] == first.json()["id"]
    [line] = first.json()["lines"]
    assert (line["kind"], line["staff_id"]) == ("service", checkout.staff_id)
    assert (
        str(checkout.row(ClassBooking, booking_id)["ticket_id"]) == first.json()["id"]
    )


def test_membership_sale_then_session(client) -> None:
    checkout = seed_checkout(client)

    async def plan() -> str:
        created = await memberships.create_membership_plan(
            checkout.scope,
            {
                "name": "Glow club",
                "price": 4000,
                "benefit": "sessions",
                "sessions_per_period": 1,
                "service_ids": [checkout.facial_id],
            },
            actor_id=None,
        )
        return str(created["id"])

    plan_id = checkout.tenant.run(plan)
    sale = checkout.tenant.post("/tickets", {"client_id": checkout.client_id}).json()
    added = checkout.tenant.post(
        f"/tickets/{sale['id']}/lines", {"kind": "membership", "plan_id": plan_id}
    )
    assert added.status_code == 201, added.text
    sold = checkout.close(sale["id"], {"tenders": [{"kind": "cash", "amount": 4000}]})
    assert sold.status_code == 200, sold.text

    ticket = checkout.open_ticket()
    assert "membership" in ticket["tenders_offered"]
    paid = checkout.close(ticket["id"], {"tenders": [{"kind": "membership"}]})
    again = checkout.tenant.post("/tickets", {"client_id": checkout.client_id}).json()
    checkout.tenant.post(
        f"/tickets/{again['id']}/lines",
        {"kind": "service", "service_id": checkout.facial_id},
    )
    used_up = checkout.close(again["id"], {"tenders": [{"kind": "membership"}]})

    assert paid.status_code == 200, paid.text
    assert paid.json()["tenders"][0]["kind"] == "membership"
    assert used_up.status_code == 422
    assert "tenders[0].kind" in used_up.json()["errors"]
