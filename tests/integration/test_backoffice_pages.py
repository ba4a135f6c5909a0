"""The back-office staff pages render, and their forms change the records they show."""

from __future__ import annotations

from tests.integration.test_backoffice_refunds import sell_serums
from tests.integration.test_checkout_setup import seed_checkout
from tillbook.kernel.catalog import giftcards
from tillbook.kernel.ledger.backoffice_tables import DrawerSession, Refund


def test_pages_render_for_owner(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    paths = [
        "/staff/backoffice",
        "/staff/gift-cards",
        f"/staff/gift-cards/{checkout.gift_card_id}",
        "/staff/refunds",
        "/staff/drawers",
        "/staff/commissions",
        "/staff/reports/payroll",
        "/staff/memberships",
        "/gift-card-balance",
    ]
    for path in paths:
        response = client.get(tenant.page(path), headers=tenant.headers)
        assert response.status_code == 200, (path, response.text[:300])
    card_page = client.get(
        tenant.page(f"/staff/gift-cards/{checkout.gift_card_id}"),
        headers=tenant.headers,
    )
    assert "GFTC-RD23-45AB-CDEF" in card_page.text


def test_refund_form_refunds_once(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    ticket = sell_serums(checkout, 2, [{"kind": "cash", "amount": 5000}])
    [line] = ticket["lines"]
    url = tenant.page(f"/staff/tickets/{ticket['id']}/refund")
    shown = client.get(url, headers=tenant.headers)
    assert shown.status_code == 200
    assert f"qty_{line['id']}" in shown.text
    form = {f"qty_{line['id']}": "1", "reason": "scratched", "key": "form-key-1"}

    first = client.post(url, data=form, headers=tenant.headers, follow_redirects=False)
    second = client.post(url, data=form, headers=tenant.headers, follow_redirects=False)
    too_many = client.post(
        url,
        data={f"qty_{line['id']}": "5", "reason": "x", "key": "form-key-2"},
        headers=tenant.headers,
    )

    assert first.status_code == 303, first.text[:300]
    assert second.status_code == 303
    assert len(checkout.rows(Refund)) == 1
    assert too_many.status_code == 422
    assert "lines[0].quantity" in too_many.text


def test_drawer_forms_and_public_balance(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    client.post(
        tenant.page("/staff/drawers"), data={"name": "Front"}, headers=tenant.headers
    )
    drawers = tenant.get("/backoffice/cash-drawers").json()["drawers"]
    opened = client.post(
        tenant.page(f"/staff/drawers/{drawers[0]['id']}/open"),
        data={"opening_float": "12.x"},
        headers=tenant.headers,
    )
    assert opened.status_code == 422
    assert checkout.rows(DrawerSession) == []
    opened = client.post(
        tenant.page(f"/staff/drawers/{drawers[0]['id']}/open"),
        data={"opening_float": "100.00"},
        headers=tenant.headers,
        follow_redirects=False,
    )
    assert opened.status_code == 303
    [session] = checkout.rows(DrawerSession)
    assert session["opening_float"] == 10000

    giftcards.BALANCE_LIMITER._seen.clear()
    balance = client.post(
        tenant.page("/gift-card-balance"), data={"code": checkout.gift_code}
    )
    missing = client.post(
        tenant.page("/gift-card-balance"), data={"code": "ABCD-EFGH-JKMN-PQRS-TUVW"}
    )
    assert balance.status_code == 200
    assert "£30.00" in balance.text
    assert missing.status_code == 404
    giftcards.BALANCE_LIMITER._seen.clear()
