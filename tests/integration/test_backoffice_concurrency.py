"""PostgreSQL: 100 parallel redemptions never overspend a gift card or package."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.test_backoffice_refunds import sell_serums
from tests.integration.test_checkout_setup import seed_checkout
from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.kernel.catalog import giftcards, packages
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard, GiftCardActivity
from tillbook.kernel.ledger.backoffice_tables import DrawerSession, RefundLine

pytestmark = pytest.mark.postgres

PARALLEL = 100


def test_parallel_gift_card_redemptions(client) -> None:
    checkout = seed_checkout(client)
    card_id = uuid.UUID(checkout.gift_card_id)

    async def redeem_once() -> bool:
        async with write_transaction():
            left = await giftcards.redeem_gift_card(
                checkout.scope, card_id, 70, utcnow()
            )
        return left is not None

    async def redeem_all() -> list[bool]:
        return await asyncio.gather(*(redeem_once() for _ in range(PARALLEL)))

    results = checkout.tenant.run(redeem_all)

    card = checkout.row(GiftCard, card_id)
    assert sum(results) == 3000 // 70
    assert card["balance"] == 3000 - 70 * sum(results)
    assert card["balance"] >= 0
    activity = checkout.rows(GiftCardActivity, GiftCardActivity.kind == "redeem")
    assert len(activity) == sum(results)


def test_parallel_package_redemptions(client) -> None:
    checkout = seed_checkout(client)
    package_id = uuid.UUID(checkout.package_id)

    async def redeem_once() -> bool:
        async with write_transaction():
            left = await packages.redeem_session(
                checkout.scope, package_id, 1, utcnow()
            )
        return left is not None

    async def redeem_all() -> list[bool]:
        return await asyncio.gather(*(redeem_once() for _ in range(PARALLEL)))

    results = checkout.tenant.run(redeem_all)

    assert sum(results) == 3
    assert checkout.row(ClientPackage, package_id)["sessions_left"] == 0


def test_parallel_closes_on_one_card_via_api(client) -> None:
    checkout = seed_checkout(client)
    tickets = []
    for _ in range(20):
        ticket = checkout.tenant.post("/tickets", {}).json()
        checkout.add_product(ticket["id"], checkout.serum_id)
        tickets.append(ticket["id"])

    def close(ticket_id: str) -> int:
        body = {
            "tenders": [
                {"kind": "gift_card", "code": checkout.gift_code, "amount": 2500}
            ]
        }
        response = checkout.close(ticket_id, body, key=secrets.token_hex(8))
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(close, tickets))

    assert statuses.count(200) == 1
    assert all(status in (200, 409, 422) for status in statuses), statuses
    assert checkout.row(GiftCard, checkout.gift_card_id)["balance"] == 500


def test_parallel_drawer_opens_leave_one_session(client) -> None:
    checkout = seed_checkout(client)
    drawer = checkout.tenant.post("/backoffice/cash-drawers", {"name": "Front"}).json()

    def open_drawer(_: int) -> int:
        response = checkout.tenant.post(
            f"/backoffice/cash-drawers/{drawer['id']}/sessions", {"opening_float": 100}
        )
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(open_drawer, range(8)))

    assert statuses.count(201) == 1
    assert set(statuses) <= {201, 409}
    assert len(checkout.rows(DrawerSession)) == 1


def test_parallel_refunds_never_exceed_line(client) -> None:
    checkout = seed_checkout(client)
    ticket = sell_serums(checkout, 3, [{"kind": "cash", "amount": 7500}])
    [line] = ticket["lines"]

    def refund_one(_: int) -> int:
        response = checkout.tenant.post(
            f"/tickets/{ticket['id']}/refunds",
            {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "race"},
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(refund_one, range(8)))

    assert statuses.count(201) == 3
    assert set(statuses) <= {201, 422}
    rows = checkout.rows(RefundLine)
    assert sum(row["quantity"] for row in rows) == 3
    assert sum(row["amount"] for row in rows) == 7500
