"""Form fields typed with digits that ``str.isdigit`` accepts but ``int`` does not.

"²" (superscript two) is such a digit: every form below returned 500 for it.
"""

from __future__ import annotations

from tests.integration.test_appointment_changes import book, token_of
from tests.integration.test_backoffice_refunds import sell_serums
from tests.integration.test_booking_setup import seed_spa
from tests.integration.test_checkout_setup import seed_checkout
from tillbook.kernel.catalog.tables import GiftCardPolicy
from tillbook.kernel.ledger.backoffice_tables import Refund
from tillbook.kernel.schedule.tables import Location, Resource

ODD_DIGIT = "\u00b2"


def test_staff_forms_reject_odd_digits(client) -> None:
    checkout = seed_checkout(client)
    tenant = checkout.tenant
    ticket = sell_serums(checkout, 2, [{"kind": "cash", "amount": 5000}])
    [line] = ticket["lines"]
    forms = {
        "/staff/gift-card-policy": {"valid_days": ODD_DIGIT},
        "/staff/locations": {"name": "Annexe", "position": ODD_DIGIT},
        "/staff/resources": {"name": "Room", "kind": "room", "quantity": ODD_DIGIT},
        f"/staff/tickets/{ticket['id']}/refund": {
            f"qty_{line['id']}": ODD_DIGIT,
            "reason": "scratched",
            "key": "odd-digit",
        },
    }

    for path, form in forms.items():
        response = client.post(
            tenant.page(path),
            data=form,
            headers=tenant.headers,
            follow_redirects=False,
        )
        assert response.status_code in (303, 422), (path, response.text[:300])
    assert checkout.rows(GiftCardPolicy) == []
    assert checkout.rows(Location) == []
    assert checkout.rows(Resource) == []
    assert checkout.rows(Refund) == []


def test_client_cancel_ignores_odd_digit_fee(client) -> None:
    spa = seed_spa(client)
    appointment = book(spa, "10:00")
    path = spa.tenant.page(f"/book/manage/{token_of(appointment)}/cancel")

    response = client.post(path, data={"expected_fee": ODD_DIGIT})

    # Without a readable expected fee the guard is skipped, as when it is
    # left out, and the free cancellation goes ahead.
    assert response.status_code == 200, response.text[:300]
    [row] = spa.appointments()
    assert row["status"] == "cancelled"
