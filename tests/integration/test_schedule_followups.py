"""Moving over an appointment's own time, the full appointment JSON, plugin
fields on the staff booking form, the confirmation email's manage link and
atomic edits of appointment series."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.test_booking_setup import Spa, seed_spa
from tillbook import hookimpl
from tillbook.db.base import utcnow
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.events.tables import MailMessage
from tillbook.kernel.schedule import series_edits
from tillbook.kernel.schedule.search import search_slots
from tillbook.kernel.schedule.tables import Appointment, Hold, Series
from tillbook.plugins import get_plugin_manager

HTML = {"Accept": "text/html"}
PLUGIN = "followup_fields"
SIZE_FIELD = "followup_fields.size"


def _book(client: Any, spa: Spa, clock: str, **changes: Any) -> dict[str, Any]:
    response = client.post(
        spa.tenant.api("/bookings"), json=spa.booking(clock, **changes)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _page(client: Any, spa: Spa, path: str, **kwargs: Any) -> Any:
    headers = {**HTML, **spa.tenant.headers}
    return client.get(spa.tenant.page(path), headers=headers, **kwargs)


def _post_form(client: Any, spa: Spa, path: str, data: dict[str, str]) -> Any:
    return client.post(
        spa.tenant.page(path),
        headers={**HTML, **spa.tenant.headers},
        data=data,
        follow_redirects=False,
    )


def _mails(spa: Spa) -> list[dict[str, Any]]:
    scope = spa.tenant.scope
    return spa.tenant.run(lambda: scope.select(MailMessage))  # type: ignore[no-any-return]


# -- moving an appointment over its own time -----------------------------------


def test_search_ignores_moved_appointment(client) -> None:
    spa = seed_spa(client)
    booked = _book(client, spa, "10:00")

    async def starts(ignore: uuid.UUID | None) -> set[str]:
        result = await search_slots(
            spa.tenant.scope,
            service_id=spa.facial_id,
            first_day=spa.day,
            staff_id=spa.staff["Ava"],
            source="staff",
            ignore_appointment_id=ignore,
        )
        return {slot.start.isoformat() for slot in result.slots}

    plain = spa.tenant.run(starts, None)
    ignoring = spa.tenant.run(starts, uuid.UUID(booked["id"]))
    assert spa.at("10:15") not in plain
    assert spa.at("10:15") in ignoring
    assert spa.at("09:15") in ignoring


def test_move_page_moves_fifteen_minutes(client) -> None:
    spa = seed_spa(client)
    booked = _book(client, spa, "10:00")
    _book(client, spa, "11:30", first_name="Noor")
    path = f"/staff/appointments/{booked['id']}/move"

    page = _page(client, spa, path)
    assert page.status_code == 200, page.text
    html = page.text.replace("&#43;", "+")
    assert spa.at("10:15") in html
    # Noor's 11:30 still blocks every start that would overlap it.
    assert spa.at("10:45") not in html

    moved = _post_form(
        client,
        spa,
        path,
        {
            "start": spa.at("10:15"),
            "staff_id": spa.staff["Ava"],
            "date": spa.day.isoformat(),
        },
    )
    assert moved.status_code == 303, moved.text
    row = next(item for item in spa.appointments() if str(item["id"]) == booked["id"])
    assert row["start_at"].isoformat() == spa.at("10:15")
    assert row["end_at"].isoformat() == spa.at("11:15")

    scope = spa.tenant.scope

    async def live_holds() -> list[Any]:
        query = scope.select(Hold).where(Hold.appointment_id == row["id"])
        return [hold for hold in await query if hold["live"]]

    holds = spa.tenant.run(live_holds)
    assert [hold["start_at"].isoformat() for hold in holds] == [spa.at("10:15")]

    clash = _post_form(
        client,
        spa,
        path,
        {"start": spa.at("10:45"), "staff_id": spa.staff["Ava"]},
    )
    assert clash.status_code == 409, clash.text


# -- appointment JSON ----------------------------------------------------------


NEW_KEYS = (
    "location_id",
    "visit_id",
    "any_provider",
    "series_id",
    "deposit",
    "cancelled_at",
    "no_show_at",
    "fee_ticket_id",
)


def test_appointment_json_has_new_keys(client) -> None:
    spa = seed_spa(client)
    booked = _book(client, spa, "10:00", staff_id="any")
    detail = spa.tenant.get(f"/appointments/{booked['id']}")
    assert detail.status_code == 200, detail.text
    listed = spa.tenant.get("/appointments", params={"date": spa.day.isoformat()})
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["appointments"]
    for shape in (booked, detail.json(), item):
        missing = [key for key in NEW_KEYS if key not in shape]
        assert missing == []
    assert item["any_provider"] is True
    assert item["visit_id"] is None
    assert item["series_id"] is None
    assert item["deposit"] == 0
    assert item["cancelled_at"] is None

    cancelled = spa.tenant.post(f"/appointments/{booked['id']}/cancel", {})
    assert cancelled.status_code == 200, cancelled.text
    after = spa.tenant.get(f"/appointments/{booked['id']}").json()
    assert after["status"] == "cancelled"
    assert after["cancelled_at"] is not None


# -- plugin fields on the staff booking form and the confirmation email ---------


class FieldsPlugin:
    """Asks for a size on every booking and rewrites the confirmation subject."""

    def __init__(self) -> None:
        self.made: list[dict[str, Any]] = []

    @hookimpl
    def tillbook_booking_fields(
        self, scope: Any, service: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return [
            {
                "name": SIZE_FIELD,
                "label": "Size",
                "type": "select",
                "required": True,
                "choices": [
                    {"value": "small", "label": "Small"},
                    {"value": "large", "label": "Large"},
                ],
                "help": "Pick the size of the pet.",
            }
        ]

    @hookimpl
    def tillbook_booking_made(self, scope: Any, booking: dict[str, Any]) -> None:
        self.made.append(booking)

    @hookimpl
    def tillbook_notification_template(
        self, name: str, context: dict[str, Any]
    ) -> dict[str, str] | None:
        if name != "appointment.confirmation":
            return None
        first_name = context["appointment"]["client_first_name"]
        return {"subject": f"See you soon, {first_name}"}


@pytest.fixture
def fields_plugin() -> Iterator[FieldsPlugin]:
    plugin = FieldsPlugin()
    manager = get_plugin_manager()
    manager.register(plugin, name=PLUGIN)
    try:
        yield plugin
    finally:
        manager.unregister(plugin)


def _enable(client: Any, spa: Spa) -> None:
    response = client.put(
        spa.tenant.api(f"/plugins/{PLUGIN}"),
        json={"enabled": True},
        headers=spa.tenant.headers,
    )
    assert response.status_code == 200, response.text


def test_staff_form_shows_plugin_fields(client, fields_plugin: FieldsPlugin) -> None:
    spa = seed_spa(client)
    _enable(client, spa)
    query = {"date": spa.day.isoformat(), "service_id": spa.facial_id}
    page = _page(client, spa, "/staff/calendar", params=query)
    assert page.status_code == 200, page.text
    assert f'name="field:{SIZE_FIELD}"' in page.text
    assert "Pick the size of the pet." in page.text

    form = {
        "date": spa.day.isoformat(),
        "service_id": spa.facial_id,
        "staff_id": spa.staff["Ava"],
        "start": spa.at("10:00"),
        "first_name": "Rex",
        "last_name": "Owner",
        "email": "rex@example.com",
    }
    missing = _post_form(client, spa, "/staff/calendar/book", form)
    assert missing.status_code == 422, missing.text
    assert "is required: enter Size" in missing.text
    assert spa.appointments() == []

    wrong = _post_form(
        client, spa, "/staff/calendar/book", {**form, f"field:{SIZE_FIELD}": "huge"}
    )
    assert wrong.status_code == 422, wrong.text
    assert "is not one of the choices" in wrong.text

    booked = _post_form(
        client, spa, "/staff/calendar/book", {**form, f"field:{SIZE_FIELD}": "large"}
    )
    assert booked.status_code == 303, booked.text
    assert len(spa.appointments()) == 1
    [made] = fields_plugin.made
    assert made["fields"] == {SIZE_FIELD: "large"}


def test_staff_form_without_plugin_unchanged(client) -> None:
    spa = seed_spa(client)
    query = {"date": spa.day.isoformat(), "service_id": spa.facial_id}
    page = _page(client, spa, "/staff/calendar", params=query)
    assert page.status_code == 200, page.text
    assert 'name="field:' not in page.text


def test_confirmation_links_manage_page(client) -> None:
    spa = seed_spa(client)
    booked = _book(client, spa, "10:00")
    [mail] = [
        item for item in _mails(spa) if item["kind"] == "appointment.confirmation"
    ]
    assert "/book/cancel/" not in mail["text"]
    manage = re.search(
        r"http://127\.0\.0\.1:8000(/t/\S+/book/manage/[\w-]+)", mail["text"]
    )
    assert manage is not None, mail["text"]
    assert booked["cancel_url"].endswith(manage.group(1))
    assert manage.group(1) in mail["html"]
    assert client.get(manage.group(1)).status_code == 200


def test_plugin_replaces_confirmation(client, fields_plugin: FieldsPlugin) -> None:
    spa = seed_spa(client)
    _enable(client, spa)
    _book(client, spa, "10:00", fields={SIZE_FIELD: "small"})
    [mail] = [
        item for item in _mails(spa) if item["kind"] == "appointment.confirmation"
    ]
    assert mail["subject"] == "See you soon, Maya"
    assert "/book/manage/" in mail["text"]


# -- editing an appointment series in one transaction --------------------------


def _rita(spa: Spa) -> str:
    row = Client(
        first_name="Rita",
        last_name="Regular",
        email="rita@example.com",
        created_at=utcnow(),
    )
    spa.tenant.run(spa.tenant.scope.insert, row)
    return str(row.id)


def _weekly_series(spa: Spa, client_id: str) -> dict[str, Any]:
    first = spa.day + timedelta(days=1)
    response = spa.tenant.post(
        "/classes/series",
        {
            "kind": "appointment",
            "rule": "FREQ=WEEKLY;COUNT=4",
            "start_local": f"{first.isoformat()}T10:00",
            "service_id": spa.facial_id,
            "staff_id": spa.staff["Ava"],
            "client_id": client_id,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _state(spa: Spa, client_id: str) -> tuple[list[Any], list[Any]]:
    """Return the tenant's series rows and the client's appointments."""
    scope = spa.tenant.scope
    series = spa.tenant.run(lambda: scope.select(Series).order_by(Series.created_at))
    rows = spa.tenant.run(
        lambda: (
            scope.select(Appointment)
            .where(Appointment.client_id == uuid.UUID(client_id))
            .order_by(Appointment.start_at)
        )
    )
    return (
        [(row["id"], row["rule"], row["start_local"]) for row in series],
        [(row["id"], row["status"], row["start_at"]) for row in rows],
    )


def _take_third_week(client: Any, spa: Spa, clock: str) -> None:
    third = spa.day + timedelta(days=15)
    _book(client, spa, clock, start=spa.at(clock, third), first_name="Noor")


@pytest.mark.parametrize("change_scope", ["all", "following"])
def test_series_edit_conflict_changes_nothing(client, change_scope: str) -> None:
    spa = seed_spa(client)
    rita = _rita(spa)
    created = _weekly_series(spa, rita)
    series_id = created["series"]["id"]
    _take_third_week(client, spa, "14:00")
    before = _state(spa, rita)

    # Both edits move the series to 14:00, which the third week has taken.
    body: dict[str, Any] = {"scope": change_scope, "changes": {}}
    if change_scope == "following":
        body["occurrence_start"] = created["created"][1]["start"]
        first_moved = spa.day + timedelta(days=8)
    else:
        first_moved = spa.day + timedelta(days=1)
    body["changes"]["start_local"] = f"{first_moved.isoformat()}T14:00"
    body["changes"]["all_or_nothing"] = True
    response = spa.tenant.post(f"/classes/series/{series_id}/edit", body)
    assert response.status_code == 409, response.text
    assert _state(spa, rita) == before

    del body["changes"]["all_or_nothing"]
    response = spa.tenant.post(f"/classes/series/{series_id}/edit", body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert len(result["skipped"]) == 1
    assert result["skipped"][0]["local"].startswith(
        (spa.day + timedelta(days=15)).isoformat()
    )
    _series, rows = _state(spa, rita)
    booked = [row for row in rows if row[1] == "booked"]
    # "all": weeks 1, 2 and 4 at 14:00. "following": week 1 still at 10:00,
    # weeks 2 and 4 at 14:00.
    assert len(booked) == 3


def test_series_edit_failure_rolls_back(client, monkeypatch) -> None:
    spa = seed_spa(client)
    rita = _rita(spa)
    created = _weekly_series(spa, rita)
    before = _state(spa, rita)
    calls = 0

    async def fail_after_cancelling(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        raise RuntimeError("simulated crash after the cancellations")

    monkeypatch.setattr(series_edits, "place_occurrences", fail_after_cancelling)
    new_start = (spa.day + timedelta(days=1)).isoformat() + "T14:00"

    async def edit() -> Any:
        return await series_edits.edit_series(
            spa.tenant.scope,
            created["series"]["id"],
            {"start_local": new_start},
            change_scope="all",
        )

    with pytest.raises(RuntimeError):
        spa.tenant.run(edit)
    assert calls == 1
    assert _state(spa, rita) == before
