"""Fee tickets opened by the scheduling code for late cancellations and no-shows."""

from __future__ import annotations

from tests.integration.test_checkout_setup import seed_checkout
from tillbook.errors import ValidationFailed
from tillbook.kernel.ledger.tables import TaxRate, Ticket, TicketLine
from tillbook.kernel.ledger.tickets import open_fee_ticket


def test_fee_ticket_untaxed_without_default(client) -> None:
    checkout = seed_checkout(client)

    async def open_fee() -> dict:
        return await open_fee_ticket(
            checkout.scope,
            client_id=checkout.client_id,
            description="Late cancellation fee",
            amount=1500,
            appointment_id=checkout.appointment_id,
            actor=None,
        )

    ticket = checkout.tenant.run(open_fee)

    assert ticket["status"] == "open"
    assert ticket["total"] == 1500
    [line] = checkout.rows(TicketLine, TicketLine.ticket_id == ticket["id"])
    assert line["kind"] == "fee"
    assert line["tax"] == 0
    assert str(line["appointment_id"]) == checkout.appointment_id
    assert str(line["staff_id"]) == checkout.staff_id


def test_fee_ticket_uses_default_rate(client) -> None:
    checkout = seed_checkout(client)

    async def open_fee() -> dict:
        await checkout.scope.insert(TaxRate(name="VAT", rate="20", is_default=True))
        return await open_fee_ticket(
            checkout.scope,
            client_id=checkout.client_id,
            description="No-show fee",
            amount=1200,
            appointment_id=None,
            actor=None,
        )

    ticket = checkout.tenant.run(open_fee)

    [line] = checkout.rows(TicketLine, TicketLine.ticket_id == ticket["id"])
    # Prices include tax in the seeded spa, so 1200 contains 200 of VAT.
    assert (line["total"], line["tax"], line["tax_name"]) == (1200, 200, "VAT")


def test_fee_ticket_rejects_bad_amount(client) -> None:
    checkout = seed_checkout(client)

    async def open_fee() -> None:
        await open_fee_ticket(
            checkout.scope,
            client_id=checkout.client_id,
            description="Fee",
            amount=-5,
            appointment_id=None,
            actor=None,
        )

    try:
        checkout.tenant.run(open_fee)
    except ValidationFailed as exc:
        assert "amount" in exc.errors
    else:
        raise AssertionError("a negative fee was accepted")
    assert checkout.rows(Ticket) == []


def test_fee_line_through_api(client) -> None:
    checkout = seed_checkout(client)
    ticket = checkout.tenant.post("/tickets", {}).json()

    added = checkout.tenant.post(
        f"/tickets/{ticket['id']}/lines",
        {"kind": "fee", "description": "Card surcharge", "amount": 300},
    )

    assert added.status_code in (200, 201), added.text
    [line] = checkout.rows(TicketLine, TicketLine.ticket_id == ticket["id"])
    assert (line["kind"], line["total"]) == ("fee", 300)
