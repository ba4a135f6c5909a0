"""Gift cards, memberships, packages, commissions, drawers and payroll via the API."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from tests.integration.test_checkout_setup import Checkout, seed_checkout
from tillbook.db.base import utcnow
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.catalog import giftcards
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard, Service
from tillbook.kernel.events.tables import MailMessage
from tillbook.kernel.ledger.backoffice_tables import DrawerMove
from tillbook.kernel.ledger.tables import JournalEntry, Posting


def sell_card(checkout: Checkout, amount: int) -> dict[str, Any]:
    """Sell a new gift card for cash on a walk-in ticket; return the card JSON."""
    ticket = checkout.tenant.post("/tickets", {}).json()
    line = checkout.tenant.post(
        f"/tickets/{ticket['id']}/lines", {"kind": "gift_card", "amount": amount}
    )
    assert line.status_code in (200, 201), line.text
    closed = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": amount}]}
    )
    assert closed.status_code == 200, closed.text
    [card] = closed.json()["gift_cards"]
    return card  # type: ignore[no-any-return]


def test_sold_card_follows_policy_and_is_emailed(client) -> None:
    checkout = seed_checkout(client)
    policy = checkout.tenant.client.put(
        checkout.tenant.api("/backoffice/gift-card-policy"),
        json={"valid_days": 30},
        headers=checkout.tenant.headers,
    )
    assert policy.status_code == 200, policy.text

    card = sell_card(checkout, 5000)

    assert len(card["code"]) == 24  # five groups of four with dashes
    assert card["expires_at"] is not None
    detail = checkout.tenant.get(f"/backoffice/gift-cards/{card['id']}").json()
    assert [item["kind"] for item in detail["activity"]] == ["issue"]
    sent = checkout.tenant.post(
        f"/backoffice/gift-cards/{card['id']}/send",
        {"recipient_email": "bo@example.com", "recipient_name": "Bo"},
    )
    assert sent.status_code == 200, sent.text
    [mail] = checkout.rows(MailMessage, MailMessage.kind == "gift_card")
    assert mail["to_address"] == "bo@example.com"
    assert card["code"] in mail["text"]
    bad = checkout.tenant.post(
        f"/backoffice/gift-cards/{card['id']}/send", {"recipient_email": "nobody"}
    )
    assert bad.status_code == 422
    assert "recipient_email" in bad.json()["errors"]


def test_expired_card_is_rejected_and_broken(client) -> None:
    checkout = seed_checkout(client)

    async def expire() -> None:
        await checkout.scope.update(
            GiftCard, {GiftCard.expires_at: utcnow() - timedelta(days=1)}
        ).where(GiftCard.id == checkout.gift_card_id)

    checkout.tenant.run(expire)
    ticket = checkout.tenant.post("/tickets", {}).json()
    checkout.add_product(ticket["id"], checkout.serum_id)
    closed = checkout.close(
        ticket["id"],
        {
            "tenders": [
                {"kind": "gift_card", "code": checkout.gift_code, "amount": 2500}
            ]
        },
    )
    assert closed.status_code == 422
    assert "tenders[0].code" in closed.json()["errors"]
    assert checkout.row(GiftCard, checkout.gift_card_id)["balance"] == 3000

    broken = checkout.tenant.post("/backoffice/gift-cards/breakage")

    assert broken.status_code == 200, broken.text
    assert broken.json()["amount"] == 3000
    card = checkout.row(GiftCard, checkout.gift_card_id)
    assert (card["balance"], card["status"]) == (0, "expired")
    [entry] = checkout.rows(JournalEntry, JournalEntry.kind == "gift_card_breakage")
    postings = checkout.rows(Posting, Posting.entry_id == entry["id"])
    assert {p["account"]: p["amount"] for p in postings} == {
        "gift_card_liability": 3000,
        "gift_card_breakage": -3000,
    }
    assert checkout.tenant.post("/backoffice/gift-cards/breakage").json()["cards"] == 0


def test_public_balance_is_rate_limited(client) -> None:
    checkout = seed_checkout(client)
    giftcards.BALANCE_LIMITER._seen.clear()
    url = checkout.tenant.api("/public/gift-card-balance")

    shown = client.post(url, json={"code": checkout.gift_code.lower()})
    unknown = client.post(url, json={"code": "ABCD-EFGH-JKMN-PQRS-TUVW"})
    malformed = client.post(url, json={"code": "1234"})

    assert shown.status_code == 200, shown.text
    assert shown.json()["balance"] == 3000
    assert "client_id" not in shown.json()
    assert unknown.status_code == 404
    assert malformed.status_code == 422
    statuses = [client.post(url, json={"code": "x"}).status_code for _ in range(10)]
    assert 429 in statuses
    giftcards.BALANCE_LIMITER._seen.clear()


def test_membership_sessions_run_out_per_period(client) -> None:
    checkout = seed_checkout(client)
    plan = checkout.tenant.post(
        "/backoffice/membership-plans",
        {
            "name": "Facial club",
            "price": 4000,
            "benefit": "sessions",
            "sessions_per_period": 1,
            "service_ids": [checkout.facial_id],
        },
    )
    assert plan.status_code == 201, plan.text
    no_services = checkout.tenant.post(
        "/backoffice/membership-plans",
        {"name": "Bad", "price": 1, "benefit": "unlimited"},
    )
    assert no_services.status_code == 422
    assert "service_ids" in no_services.json()["errors"]
    started = checkout.tenant.post(
        "/backoffice/client-memberships",
        {"client_id": checkout.client_id, "plan_id": plan.json()["id"]},
    )
    assert started.status_code == 201, started.text
    membership = started.json()
    assert membership["period_paid"] is False
    due = checkout.tenant.get("/backoffice/memberships-due").json()["memberships"]
    assert [item["id"] for item in due] == [membership["id"]]

    paid = checkout.tenant.post(
        f"/backoffice/client-memberships/{membership['id']}/paid",
        {"amount": 4000, "account": "card_clearing:external", "reference": "T1"},
        headers={"Idempotency-Key": "paid-1"},
    )
    replay = checkout.tenant.post(
        f"/backoffice/client-memberships/{membership['id']}/paid",
        {"amount": 4000, "account": "card_clearing:external", "reference": "T1"},
        headers={"Idempotency-Key": "paid-1"},
    )

    assert paid.status_code == 200, paid.text
    assert paid.json()["period_paid"] is True
    assert replay.json() == paid.json()
    assert len(checkout.rows(JournalEntry, JournalEntry.kind == "membership")) == 1

    from tillbook.kernel.catalog import memberships

    async def use_twice() -> tuple[Any, Any]:
        import uuid

        benefit = await memberships.membership_benefit(
            checkout.scope,
            client_id=uuid.UUID(checkout.client_id),
            service_id=uuid.UUID(checkout.facial_id),
            at=utcnow(),
        )
        await memberships.use_membership_session(
            checkout.scope,
            membership_id=uuid.UUID(membership["id"]),
            ticket_id=None,
            at=utcnow(),
        )
        try:
            await memberships.use_membership_session(
                checkout.scope,
                membership_id=uuid.UUID(membership["id"]),
                ticket_id=None,
                at=utcnow(),
            )
        except Exception as exc:
            return benefit, exc
        return benefit, None

    benefit, error = checkout.tenant.run(use_twice)
    assert benefit["kind"] == "sessions"
    assert benefit["sessions_left"] == 1
    assert getattr(error, "status_code", None) == 409


def test_package_plan_covers_two_services(client) -> None:
    checkout = seed_checkout(client)

    async def add_service() -> str:
        massage = Service(name="Massage", duration_minutes=60, price=7000)
        await checkout.scope.insert(massage)
        return str(massage.id)

    massage_id = checkout.tenant.run(add_service)
    created = checkout.tenant.post(
        "/catalog/package-plans",
        {
            "name": "Spa five",
            "service_ids": [checkout.facial_id, massage_id],
            "sessions": 5,
            "price": 30000,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["service_ids"] == [checkout.facial_id, massage_id]
    listed = checkout.tenant.get(f"/backoffice/clients/{checkout.client_id}/packages")
    assert listed.status_code == 200
    assert listed.json()["packages"][0]["sessions_left"] == 3


def test_commission_precedence_and_tiers(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    general = tenant.post(
        "/backoffice/commission-rules",
        {"name": "Services", "kind": "service", "percent": "10"},
    )
    specific = tenant.post(
        "/backoffice/commission-rules",
        {
            "name": "Amira facials",
            "staff_id": checkout.staff_id,
            "item_id": checkout.facial_id,
            "percent": "20",
            "tiers": [{"threshold": 1, "percent": "30", "fixed": 0}],
        },
    )
    bad = tenant.post(
        "/backoffice/commission-rules",
        {"percent": "120", "kind": "hats", "tiers": [{"threshold": -1}]},
    )
    assert general.status_code == 201, general.text
    assert specific.status_code == 201, specific.text
    assert bad.status_code == 422
    assert {"percent", "kind", "tiers[0].threshold"} <= set(bad.json()["errors"])

    ticket = checkout.open_ticket()
    closed = checkout.close(
        ticket["id"],
        {"tenders": [{"kind": "cash", "amount": ticket["totals"]["total"]}]},
    )
    assert closed.status_code == 200, closed.text
    report = tenant.get("/reports/payroll").json()
    [amira] = report["providers"]
    net = amira["service_revenue"]
    # The first sale of the month has no period revenue yet: tier not reached.
    assert amira["commission"] == round(net * 0.2)
    csv_text = tenant.get("/reports/payroll.csv").text
    assert (
        csv_text.splitlines()[0]
        == "provider,service_revenue,product_revenue,commission,tips,pay"
    )
    assert "Amira" in csv_text
    bad_period = tenant.get("/reports/payroll", params={"from": "2026-13-01"})
    assert bad_period.status_code == 422
    assert "from" in bad_period.json()["errors"]


def test_drawer_session_counts_cash(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    made = tenant.post("/backoffice/cash-drawers", {"name": "Front"})
    assert made.status_code == 201, made.text
    drawer_id = made.json()["id"]
    opened = tenant.post(
        f"/backoffice/cash-drawers/{drawer_id}/sessions", {"opening_float": 10000}
    )
    assert opened.status_code == 201, opened.text
    session_id = opened.json()["id"]
    twice = tenant.post(
        f"/backoffice/cash-drawers/{drawer_id}/sessions", {"opening_float": 0}
    )
    assert twice.status_code == 409
    negative = tenant.post(
        f"/backoffice/drawer-sessions/{session_id}/moves",
        {"kind": "cash_out", "amount": -5, "reason": "milk"},
    )
    assert negative.status_code == 422
    assert "amount" in negative.json()["errors"]
    for _ in range(2):
        moved = tenant.post(
            f"/backoffice/drawer-sessions/{session_id}/moves",
            {"kind": "cash_out", "amount": 500, "reason": "milk"},
            headers={"Idempotency-Key": "milk-run-1"},
        )
        assert moved.status_code == 201, moved.text

    ticket = tenant.post("/tickets", {}).json()
    checkout.add_product(ticket["id"], checkout.serum_id)
    closed = checkout.close(
        ticket["id"], {"tenders": [{"kind": "cash", "amount": 3000}]}
    )
    assert closed.status_code == 200, closed.text
    kinds = sorted((m["kind"], m["amount"]) for m in checkout.rows(DrawerMove))
    assert kinds == [("cash_out", -500), ("change", -500), ("sale", 3000)]

    counted = tenant.post(
        f"/backoffice/drawer-sessions/{session_id}/close", {"counted": 11900}
    )

    assert counted.status_code == 200, counted.text
    report = counted.json()
    assert report["expected"] == 12000
    assert report["over_short"] == -100
    assert report["totals"]["sale"] == 3000
    [entry] = checkout.rows(JournalEntry, JournalEntry.kind == "drawer_over_short")
    postings = checkout.rows(Posting, Posting.entry_id == entry["id"])
    assert {p["account"]: p["amount"] for p in postings} == {
        "cash": -100,
        "cash_over_short": 100,
    }
    closed_again = tenant.post(
        f"/backoffice/drawer-sessions/{session_id}/close", {"counted": 1}
    )
    assert closed_again.status_code == 409
    audit = checkout.rows(AuditEntry, AuditEntry.action == "drawer.closed")
    assert len(audit) == 1


def test_backoffice_roles(client) -> None:
    checkout = seed_checkout(client)
    email = f"desk-{secrets.token_hex(3)}@example.com"
    made = checkout.tenant.post(
        "/accounts",
        {
            "email": email,
            "name": "Dee",
            "role": "provider",
            "password": "provider pass 1",
        },
    )
    assert made.status_code == 201, made.text

    async def token() -> str:
        import uuid

        from tillbook.tenancy.accounts import create_api_token

        value, _ = await create_api_token(
            checkout.scope, uuid.UUID(made.json()["id"]), "provider"
        )
        return value

    headers = {"Authorization": f"Bearer {checkout.tenant.run(token)}"}
    for path in ("/backoffice/cash-drawers", "/reports/payroll", "/backoffice/refunds"):
        response = client.get(checkout.tenant.api(path), headers=headers)
        assert response.status_code == 403, path


class OverridingHooks:
    """Stands in for TenantHooks: a plugin that pays 999 on every line."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def tillbook_commission(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)

        async def result() -> int:
            return 999

        return result()


def test_commission_hook_overrides_kernel_amount(client) -> None:
    checkout = seed_checkout(client)
    checkout.tenant.post(
        "/backoffice/commission-rules", {"name": "All", "percent": "10"}
    )
    ticket = checkout.open_ticket()
    closed = checkout.close(
        ticket["id"],
        {"tenders": [{"kind": "cash", "amount": ticket["totals"]["total"]}]},
    )
    assert closed.status_code == 200, closed.text
    hooks = OverridingHooks()

    async def record_again() -> list[dict[str, Any]]:
        import uuid

        from tillbook.kernel.ledger.commissions import record_commissions

        return await record_commissions(
            checkout.scope,
            ticket_id=uuid.UUID(ticket["id"]),
            hooks=hooks,  # type: ignore[arg-type]
        )

    [row] = checkout.tenant.run(record_again)

    assert row["amount"] == 999
    assert row["source"] == "plugin"
    [call] = hooks.calls
    assert call["staff_id"] == checkout.staff_id
    assert call["amount"] == round(call["line"]["amount"] * 0.1)
    assert set(call["line"]) >= {"id", "ticket_id", "kind", "quantity", "amount"}


def test_expired_package_is_rejected(client) -> None:
    checkout = seed_checkout(client)

    async def expire() -> None:
        await checkout.scope.update(
            ClientPackage, {ClientPackage.expires_at: utcnow() - timedelta(days=1)}
        ).where(ClientPackage.id == checkout.package_id)

    checkout.tenant.run(expire)
    ticket = checkout.open_ticket()
    service = next(line for line in ticket["lines"] if line["kind"] == "service")

    closed = checkout.close(
        ticket["id"], {"tenders": [{"kind": "package", "line_id": service["id"]}]}
    )

    assert closed.status_code == 422
    errors = closed.json()["errors"]
    assert "expired" in errors["tenders[0].client_package_id"]
    assert checkout.row(ClientPackage, checkout.package_id)["sessions_left"] == 3
    assert checkout.rows(JournalEntry) == []
