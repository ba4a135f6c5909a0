"""The staff calendar, its live stream, staff booking and the appointment view."""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from typing import Any

import httpx
import uvicorn

from tests.integration.test_booking_setup import (
    Spa,
    add_member,
    give_package,
    seed_spa,
)
from tillbook.kernel.clients.tables import Client
from tillbook.tenancy.roles import Role
from tillbook.web.pages import calendar

HTML = {"Accept": "text/html"}


def _get(client: Any, spa: Spa, path: str, **kwargs: Any) -> Any:
    headers = {**HTML, **spa.tenant.headers, **kwargs.pop("headers", {})}
    return client.get(spa.tenant.page(path), headers=headers, **kwargs)


def _post(client: Any, spa: Spa, path: str, **kwargs: Any) -> Any:
    headers = {**HTML, **spa.tenant.headers, **kwargs.pop("headers", {})}
    return client.post(
        spa.tenant.page(path), headers=headers, follow_redirects=False, **kwargs
    )


def _book(client: Any, spa: Spa, clock: str, **changes: Any) -> dict[str, Any]:
    response = client.post(
        spa.tenant.api("/bookings"), json=spa.booking(clock, **changes)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_day_view_has_column_per_provider(client) -> None:
    spa = seed_spa(client)
    first = _book(client, spa, "10:00")
    _book(client, spa, "11:00", staff_id=spa.staff["Ben"], first_name="Noor")
    response = _get(
        client, spa, "/staff/calendar", params={"date": spa.day.isoformat()}
    )
    assert response.status_code == 200, response.text
    html = response.text
    assert 'class="calendar"' in html
    assert html.count('<section class="column"') == 3
    link = f'href="/t/{spa.tenant.slug}/staff/appointments/{first["id"]}"'
    assert re.search(r'<a class="appt booked" ' + re.escape(link), html)
    assert "10:00\u201311:00" in html
    assert "Maya Lind" in html
    assert "Noor Lind" in html
    assert "Signature Facial" in html
    previous_day = (spa.day - timedelta(days=1)).isoformat()
    next_day = (spa.day + timedelta(days=1)).isoformat()
    assert f"calendar?date={previous_day}" in html
    assert f"calendar?date={next_day}" in html
    assert "/staff/calendar/stream" in html
    other_day = _get(client, spa, "/staff/calendar", params={"date": next_day})
    assert "Maya Lind" not in other_day.text


def test_fragment_is_columns_only(client) -> None:
    spa = seed_spa(client)
    _book(client, spa, "10:00")
    response = _get(
        client, spa, "/staff/calendar/fragment", params={"date": spa.day.isoformat()}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div class="calendar" id="calendar"')
    assert "<html" not in response.text
    assert "Maya Lind" in response.text


def test_calendar_needs_sign_in(client) -> None:
    spa = seed_spa(client)
    page = client.get(
        spa.tenant.page("/staff/calendar"), headers=HTML, follow_redirects=False
    )
    assert page.status_code in (302, 303)
    assert "/staff/login" in page.headers["location"]
    stream = client.get(spa.tenant.page("/staff/calendar/stream"))
    assert stream.status_code == 401
    provider = add_member(client, spa.tenant, Role.PROVIDER)
    allowed = _get(client, spa, "/staff/calendar", headers=provider)
    assert allowed.status_code == 200


def test_bad_date_falls_back_to_today(client) -> None:
    spa = seed_spa(client)
    response = _get(client, spa, "/staff/calendar", params={"date": "tomorrow"})
    assert response.status_code == 200
    assert 'id="date-error"' in response.text


def _radio_values(html: str, name: str) -> dict[str, str]:
    pattern = re.compile(
        r'<input type="radio" id="[^"]*" name="'
        + name
        + r'" value="([^"]+)"[^>]*>([^<]+)'
    )
    return {label.strip(): unescape(value) for value, label in pattern.findall(html)}


def test_staff_books_found_client(client) -> None:
    spa = seed_spa(client)
    first = _book(client, spa, "10:00")
    page = _get(
        client,
        spa,
        "/staff/calendar",
        params={
            "date": spa.day.isoformat(),
            "service_id": spa.massage_id,
            "staff_id": spa.staff["Cleo"],
            "q": "maya",
        },
    )
    assert page.status_code == 200
    slots = _radio_values(page.text, "start")
    assert "09:00" in slots
    assert f'name="client_id" value="{first["client_id"]}"' in page.text

    response = _post(
        client,
        spa,
        "/staff/calendar/book",
        data={
            "date": spa.day.isoformat(),
            "service_id": spa.massage_id,
            "staff_id": spa.staff["Cleo"],
            "start": slots["09:00"],
            "client_id": first["client_id"],
            "note": "Booked at the desk",
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith(f"calendar?date={spa.day.isoformat()}")
    rows = sorted(spa.appointments(), key=lambda row: row["start_at"])
    assert rows[0]["source"] == "staff"
    assert str(rows[0]["client_id"]) == first["client_id"]
    assert rows[0]["note"] == "Booked at the desk"


def test_staff_books_new_client(client) -> None:
    spa = seed_spa(client)
    response = _post(
        client,
        spa,
        "/staff/calendar/book",
        data={
            "date": spa.day.isoformat(),
            "service_id": spa.facial_id,
            "staff_id": "any",
            "start": spa.at("13:00"),
            "client_id": "",
            "first_name": "Walk",
            "last_name": "In",
            "phone": "+44 20 7946 0001",
        },
    )
    assert response.status_code == 303, response.text
    scope = spa.tenant.scope
    clients = spa.tenant.run(lambda: scope.select(Client))
    assert [(row["first_name"], row["email"]) for row in clients] == [("Walk", "")]
    assert spa.appointments()[0]["source"] == "staff"


def test_staff_booking_errors_keep_form(client) -> None:
    spa = seed_spa(client)
    response = _post(
        client,
        spa,
        "/staff/calendar/book",
        data={
            "date": spa.day.isoformat(),
            "service_id": spa.facial_id,
            "staff_id": spa.staff["Ava"],
            "first_name": "",
            "email": "nope",
        },
    )
    assert response.status_code == 422
    assert 'id="book-start-error"' in response.text
    assert 'id="book-first_name-error"' in response.text
    assert 'id="book-email-error"' in response.text
    assert (
        '<details class="card new-appointment" id="new-appointment" open>'
        in response.text
    )
    assert spa.appointments() == []

    _book(client, spa, "10:00")
    taken = _post(
        client,
        spa,
        "/staff/calendar/book",
        data={
            "date": spa.day.isoformat(),
            "service_id": spa.facial_id,
            "staff_id": spa.staff["Ava"],
            "start": spa.at("10:00"),
            "first_name": "Late",
        },
    )
    assert taken.status_code == 409
    assert "just booked" in taken.text
    assert "10:00" not in _radio_values(taken.text, "start")


def _add_package(spa: Spa, client_id: str) -> None:
    scope = spa.tenant.scope
    owner = uuid.UUID(client_id)

    async def add() -> None:
        await scope.update(Client, {Client.preferences: "Lavender oil only"}).where(
            Client.id == owner
        )
        await give_package(spa, owner, name="Glow Five", sessions_left=2, days=30)

    spa.tenant.run(add)


def test_appointment_view_and_check_in(client) -> None:
    spa = seed_spa(client)
    appointment = _book(client, spa, "10:00")
    _add_package(spa, appointment["client_id"])
    path = f"/staff/appointments/{appointment['id']}"
    page = _get(client, spa, path)
    assert page.status_code == 200, page.text
    html = page.text
    assert "Lavender oil only" in html
    assert "Prefer lavender scent, please." in html
    assert "Glow Five" in html
    assert "2 of 5" in html
    assert "+44 20 7946 0000" in html
    assert "Booked Signature Facial with Ava" in html
    assert 'id="check-in">Check in</button>' in html
    assert (
        f'href="/t/{spa.tenant.slug}/staff/appointments/{appointment["id"]}/checkout"'
        in html
    )

    response = _post(client, spa, f"{path}/check-in")
    assert response.status_code == 303
    assert response.headers["location"].endswith(path)
    after = _get(client, spa, path).text
    assert 'id="appointment-status">Checked in<' in after
    assert 'id="check-in"' not in after
    assert 'id="checked-in-at"' in after
    assert spa.appointments()[0]["status"] == "checked_in"


def test_cancel_from_appointment_view(client) -> None:
    spa = seed_spa(client)
    appointment = _book(client, spa, "10:00")
    path = f"/staff/appointments/{appointment['id']}"
    assert 'href="/t/' in _get(client, spa, path).text
    response = _post(client, spa, f"{path}/changes/cancel")
    assert response.status_code == 303
    assert spa.appointments()[0]["status"] == "cancelled"
    page = _get(client, spa, path).text
    assert 'id="appointment-status">Cancelled<' in page
    assert 'id="checkout"' not in page
    again = _post(client, spa, f"{path}/check-in")
    assert again.status_code == 409


def test_other_tenant_appointment_pages_not_found(client) -> None:
    spa = seed_spa(client)
    other = seed_spa(client)
    theirs = _book(client, other, "10:00")
    path = f"/staff/appointments/{theirs['id']}"
    assert _get(client, spa, path).status_code == 404
    assert _post(client, spa, f"{path}/check-in").status_code == 404
    assert _post(client, spa, f"{path}/changes/cancel").status_code == 404
    assert other.appointments()[0]["status"] == "booked"
    calendar_page = _get(
        client, spa, "/staff/calendar", params={"date": spa.day.isoformat()}
    )
    assert "Maya Lind" not in calendar_page.text


# -- live stream ---------------------------------------------------------------


class LiveServer:
    """The test app served by uvicorn on 127.0.0.1, on the test client's loop."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            client.app, lifespan="off", log_level="warning", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)

    def __enter__(self) -> LiveServer:
        self.future = self.client.blocking_portal.start_task_soon(
            self.server.serve, [self.socket]
        )
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.future.result(timeout=10)
        self.socket.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def test_stream_delivers_booking_event(client, monkeypatch) -> None:
    monkeypatch.setattr(calendar, "HEARTBEAT_SECONDS", 0.3)
    spa = seed_spa(client)
    path = spa.tenant.page("/staff/calendar/stream")
    with (
        LiveServer(client) as live,
        httpx.Client(timeout=10) as http,
        http.stream("GET", live.url(path), headers=spa.tenant.headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert ": connected" in _until(lines, ": connected")
        assert ": heartbeat" in _until(lines, ": heartbeat")

        booked = _book(client, spa, "10:00")
        event = next(
            item for item in _events(lines) if item["event"] == "appointment.booked"
        )
    assert event["appointment_id"] == booked["id"]
    assert event["date"] == spa.day.isoformat()
    assert event["client_name"] == "Maya Lind"
    assert event["staff_id"] == spa.staff["Ava"]


def test_stream_skips_other_tenants(client) -> None:
    spa = seed_spa(client)
    other = seed_spa(client)
    path = spa.tenant.page("/staff/calendar/stream")
    with (
        LiveServer(client) as live,
        httpx.Client(timeout=10) as http,
        http.stream("GET", live.url(path), headers=spa.tenant.headers) as response,
    ):
        lines = response.iter_lines()
        _until(lines, ": connected")
        _book(client, other, "10:00")
        mine = _book(client, spa, "11:00")
        event = next(
            item for item in _events(lines) if item["event"] == "appointment.booked"
        )
    # The other tenant's booking came first but never reached this stream.
    assert event["appointment_id"] == mine["id"]


def _until(lines: Iterator[str], expected: str) -> list[str]:
    seen = []
    for line in lines:
        seen.append(line)
        if line == expected:
            return seen
    raise AssertionError(f"stream ended before {expected!r}: {seen}")
