"""The public booking page, its confirmation page and the cancel link."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from tests.integration.test_booking_setup import Spa, seed_spa
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.tables import MailMessage

HTML = {"Accept": "text/html"}


def _book_page(client: Any, spa: Spa, **params: str) -> Any:
    return client.get(spa.tenant.page("/book"), params=params, headers=HTML)


def _slot_labels(html: str) -> dict[str, str]:
    """Map each offered local time to its radio value (the UTC instant)."""
    pattern = re.compile(
        r'<input type="radio" id="slot-\d+" name="start" '
        r'value="([^"]+)"[^>]*>(\d\d:\d\d)'
    )
    return {label: unescape(value) for value, label in pattern.findall(html)}


def _form(spa: Spa, start: str, **changes: str) -> dict[str, str]:
    form = {
        "service_id": spa.facial_id,
        "staff_id": spa.staff["Ava"],
        "date": spa.day.isoformat(),
        "start": start,
        "first_name": "Maya",
        "last_name": "Lind",
        "email": "maya@example.com",
        "phone": "+44 20 7946 0000",
        "note": "Prefer lavender scent, please.",
    }
    form.update(changes)
    return form


def _mails(spa: Spa) -> list[dict[str, Any]]:
    scope = spa.tenant.scope
    return spa.tenant.run(lambda: scope.select(MailMessage))  # type: ignore[no-any-return]


def test_page_lists_services_and_times(client) -> None:
    spa = seed_spa(client)
    response = _book_page(
        client, spa, service_id=spa.facial_id, date=spa.day.isoformat()
    )
    assert response.status_code == 200
    html = response.text
    assert 'select id="service_id" name="service_id"' in html
    assert 'select id="staff_id" name="staff_id"' in html
    assert '<option value="any" selected>Any available</option>' in html
    assert 'input type="date" id="date" name="date"' in html
    assert spa.tenant.scope.tenant.brand_colour in html
    slots = _slot_labels(html)
    assert "09:00" in slots
    # The facial lasts 60 minutes and the day ends at 17:00.
    assert "16:00" in slots
    assert "16:15" not in slots
    assert slots["09:00"].endswith("+00:00")


def test_page_books_and_confirms(client) -> None:
    spa = seed_spa(client)
    html = _book_page(
        client,
        spa,
        service_id=spa.facial_id,
        staff_id=spa.staff["Ava"],
        date=spa.day.isoformat(),
    ).text
    start = _slot_labels(html)["15:00"]
    response = client.post(
        spa.tenant.page("/book"),
        data=_form(spa, start),
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"/t/{spa.tenant.slug}/book/confirmation/")

    confirmation = client.get(location, headers=HTML)
    assert confirmation.status_code == 200
    text = confirmation.text
    assert "Signature Facial" in text
    assert "Ava" in text
    assert "at 15:00" in text
    assert "maya@example.com" in text
    assert "confirmation email" in text
    assert len(spa.appointments()) == 1
    assert spa.appointments()[0]["note"] == "Prefer lavender scent, please."
    after = _slot_labels(
        _book_page(
            client,
            spa,
            service_id=spa.facial_id,
            staff_id=spa.staff["Ava"],
            date=spa.day.isoformat(),
        ).text
    )
    assert "15:00" not in after


def test_taken_slot_shows_fresh_times(client) -> None:
    spa = seed_spa(client)
    start = spa.at("10:00")
    taken = client.post(spa.tenant.api("/bookings"), json=spa.booking("10:00"))
    assert taken.status_code == 201
    response = client.post(
        spa.tenant.page("/book"), data=_form(spa, start), headers=HTML
    )
    assert response.status_code == 409
    assert "just booked by someone else" in response.text
    slots = _slot_labels(response.text)
    assert "10:00" not in slots
    assert "11:00" in slots
    # What the client typed is kept.
    assert 'value="maya@example.com"' in response.text
    assert len(spa.appointments()) == 1


def test_page_rejects_bad_email(client) -> None:
    spa = seed_spa(client)
    response = client.post(
        spa.tenant.page("/book"),
        data=_form(spa, spa.at("10:00"), email="not-an-email"),
        headers=HTML,
    )
    assert response.status_code == 422
    assert 'id="email-error"' in response.text
    assert spa.appointments() == []
    scope = spa.tenant.scope
    assert spa.tenant.run(lambda: scope.select(Client)) == []


def test_page_rejects_missing_time(client) -> None:
    spa = seed_spa(client)
    response = client.post(spa.tenant.page("/book"), data=_form(spa, ""), headers=HTML)
    assert response.status_code == 422
    assert 'id="start-error"' in response.text
    assert spa.appointments() == []


def test_page_rejects_time_outside_hours(client) -> None:
    spa = seed_spa(client)
    response = client.post(
        spa.tenant.page("/book"), data=_form(spa, spa.at("18:00")), headers=HTML
    )
    assert response.status_code == 422
    assert 'id="start-error"' in response.text
    assert spa.appointments() == []


def test_page_defaults_to_first_service(client) -> None:
    spa = seed_spa(client)
    html = _book_page(client, spa, date=spa.day.isoformat()).text
    # Services are ordered by category, then name: the massage comes first.
    assert f'<option value="{spa.massage_id}" selected>' in html
    assert "16:30" in _slot_labels(html)


def test_bad_date_shows_message(client) -> None:
    spa = seed_spa(client)
    response = _book_page(client, spa, date="31/12/2026")
    assert response.status_code == 200
    assert 'id="date-error"' in response.text


def test_cancel_link_from_mail_frees_slot(client) -> None:
    spa = seed_spa(client)
    client.post(
        spa.tenant.page("/book"), data=_form(spa, spa.at("12:00")), headers=HTML
    )
    mails = _mails(spa)
    assert len(mails) == 1
    # The mail links to the client's manage page; the cancel page of earlier
    # mails still answers for the same token.
    match = re.search(
        r"http://127\.0\.0\.1:8000(/t/\S+/book/manage/([^/\s]+))", mails[0]["text"]
    )
    assert match is not None, mails[0]["text"]
    assert match.group(1) in mails[0]["html"]
    cancel_path = spa.tenant.page(f"/book/cancel/{match.group(2)}")

    page = client.get(cancel_path, headers=HTML)
    assert page.status_code == 200
    assert "Cancel your appointment?" in page.text
    assert "Cancel appointment</button>" in page.text

    done = client.post(cancel_path, headers=HTML)
    assert done.status_code == 200
    assert "Your appointment is cancelled" in done.text
    assert spa.appointments()[0]["status"] == "cancelled"
    kinds = [mail["kind"] for mail in _mails(spa)]
    assert kinds.count("appointment.cancellation") == 1

    slots = _slot_labels(
        _book_page(
            client,
            spa,
            service_id=spa.facial_id,
            staff_id=spa.staff["Ava"],
            date=spa.day.isoformat(),
        ).text
    )
    assert "12:00" in slots
    again = client.get(cancel_path, headers=HTML)
    assert "already cancelled" in again.text
    assert "Cancel appointment</button>" not in again.text


def test_unknown_cancel_link_is_not_found(client) -> None:
    spa = seed_spa(client)
    other = seed_spa(client)
    client.post(
        other.tenant.page("/book"), data=_form(other, other.at("12:00")), headers=HTML
    )
    match = re.search(r"/book/manage/([^/\s]+)", _mails(other)[0]["text"])
    assert match is not None
    token = match.group(1)
    assert client.get(spa.tenant.page(f"/book/cancel/{token}")).status_code == 404
    assert client.post(spa.tenant.page(f"/book/cancel/{token}")).status_code == 404
    assert client.get(spa.tenant.page("/book/cancel/short")).status_code == 404
    assert other.appointments()[0]["status"] == "booked"
