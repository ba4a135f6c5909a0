"""Bad input found by hand in refunds, commission rules and the cash drawer."""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from tests.integration.test_backoffice_refunds import refund, sell_serums
from tests.integration.test_checkout_setup import seed_checkout
from tests.support import make_tenant
from tillbook.kernel.catalog.tables import ClientMembership
from tillbook.kernel.ledger.backoffice_tables import (
    CommissionRule,
    CommissionTier,
    DrawerMove,
    DrawerSession,
    Refund,
)
from tillbook.kernel.ledger.tables import JournalEntry
from tillbook.kernel.schedule.tables import Staff


def test_refund_line_unknown_key_is_422(client) -> None:
    checkout = seed_checkout(client)
    ticket = sell_serums(checkout, 2, [{"kind": "cash", "amount": 5000}])
    [line] = ticket["lines"]

    response = refund(
        checkout,
        ticket["id"],
        {"lines": [{"line_id": line["id"], "amount": 100}], "reason": "scratched"},
    )

    assert response.status_code == 422, response.text
    assert "lines[0].amount" in response.json()["errors"], response.text
    assert checkout.rows(Refund) == []


def test_commission_rule_foreign_ids_are_422(client) -> None:
    checkout = seed_checkout(client)
    other = make_tenant(client)
    foreign_staff = Staff(name="Elsewhere", title="Stylist")
    other.run(other.scope.insert, foreign_staff)
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("staff_id", {"staff_id": str(foreign_staff.id)}),
        ("staff_id", {"staff_id": str(uuid.uuid4())}),
        ("item_id", {"kind": "service", "item_id": str(uuid.uuid4())}),
        ("item_id", {"kind": "product", "item_id": checkout.facial_id}),
    ]

    for field, extra in bodies:
        body = {"name": "Bad", "percent": "10", **extra}
        response = checkout.tenant.post("/backoffice/commission-rules", body)
        assert response.status_code == 422, (extra, response.text)
        assert field in response.json()["errors"], (extra, response.text)
    assert checkout.rows(CommissionRule) == []

    good = checkout.tenant.post(
        "/backoffice/commission-rules",
        {"name": "Facials", "percent": "10", "item_id": checkout.facial_id},
    )
    assert good.status_code == 201, good.text
    changed = checkout.tenant.patch(
        f"/backoffice/commission-rules/{good.json()['id']}",
        {"staff_id": str(foreign_staff.id)},
    )
    assert changed.status_code == 422, changed.text
    [rule] = checkout.rows(CommissionRule)
    assert rule["staff_id"] is None


def test_drawer_cash_out_beyond_expected_is_422(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    drawer = tenant.post("/backoffice/cash-drawers", {"name": "Front desk"})
    assert drawer.status_code == 201, drawer.text
    session = tenant.post(
        f"/backoffice/cash-drawers/{drawer.json()['id']}/sessions",
        {"opening_float": 10000},
    )
    assert session.status_code == 201, session.text
    path = f"/backoffice/drawer-sessions/{session.json()['id']}/moves"

    def move(amount: int) -> Any:
        return tenant.post(
            path,
            {"kind": "cash_out", "amount": amount, "reason": "bank run"},
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )

    too_much = move(10001)
    all_of_it = move(10000)

    assert too_much.status_code == 422, too_much.text
    assert "amount" in too_much.json()["errors"], too_much.text
    assert all_of_it.status_code == 201, all_of_it.text
    [row] = checkout.rows(DrawerMove)
    assert row["amount"] == -10000


def test_drawer_close_during_moves_counts_them(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    drawer = tenant.post("/backoffice/cash-drawers", {"name": "Front desk"}).json()
    opened = tenant.post(
        f"/backoffice/cash-drawers/{drawer['id']}/sessions", {"opening_float": 10000}
    )
    assert opened.status_code == 201, opened.text
    session_id = opened.json()["id"]
    base = f"/backoffice/drawer-sessions/{session_id}"

    def act(index: int) -> Any:
        if index == 3:
            return tenant.post(f"{base}/close", {"counted": 10000})
        return tenant.post(
            f"{base}/moves",
            {"kind": "cash_in", "amount": 100, "reason": "coins"},
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(act, range(8)))

    assert responses[3].status_code == 200, responses[3].text
    for response in responses[:3] + responses[4:]:
        assert response.status_code in (201, 409), response.text
    [session] = checkout.rows(DrawerSession)
    moves = checkout.rows(DrawerMove)
    assert session["status"] == "closed"
    assert session["expected"] == 10000 + sum(move["amount"] for move in moves)


def test_membership_payments_at_once_each_pay_a_period(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    plan = tenant.post(
        "/backoffice/membership-plans",
        {
            "name": "Gold",
            "price": 5000,
            "interval": "month",
            "interval_count": 1,
            "benefit": "sessions",
            "sessions_per_period": 4,
            "service_ids": [checkout.facial_id],
        },
    )
    assert plan.status_code == 201, plan.text
    enrolled = tenant.post(
        "/backoffice/client-memberships",
        {"client_id": checkout.client_id, "plan_id": plan.json()["id"]},
    )
    assert enrolled.status_code == 201, enrolled.text
    start = enrolled.json()["period_start"]

    def pay(_: int) -> Any:
        return tenant.post(
            f"/backoffice/client-memberships/{enrolled.json()['id']}/paid",
            {"amount": 5000, "account": "cash"},
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(pay, range(4)))

    assert [response.status_code for response in responses] == [200] * 4
    # Four payments: the first period and the three after it.
    [row] = checkout.rows(ClientMembership)
    first = datetime.fromisoformat(start).astimezone(checkout.scope.tenant.zone)
    last = row["period_start"].astimezone(checkout.scope.tenant.zone)
    assert (last.year * 12 + last.month) - (first.year * 12 + first.month) == 3
    entries = checkout.rows(JournalEntry, JournalEntry.kind == "membership")
    assert len(entries) == 4


def test_commission_tiers_changed_at_once_keep_one(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    rule = tenant.post("/backoffice/commission-rules", {"name": "All", "percent": "10"})
    assert rule.status_code == 201, rule.text
    path = f"/backoffice/commission-rules/{rule.json()['id']}"

    def change(_: int) -> Any:
        return tenant.patch(path, {"tiers": [{"threshold": 1000, "percent": "12"}]})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(change, range(16)))

    assert [response.status_code for response in responses] == [200] * 16
    [tier] = checkout.rows(CommissionTier)
    assert tier["threshold"] == 1000
