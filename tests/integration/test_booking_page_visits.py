"""The public booking page: locations, visits of several services, any
provider and plugin booking fields."""

from __future__ import annotations

import re
import uuid
from html import unescape
from typing import Any

import pytest

from tests.integration.test_booking_setup import Spa, seed_spa
from tillbook.kernel.schedule import booking as booking_kernel
from tillbook.kernel.schedule.tables import Appointment, Location, WorkingHours
from tillbook.web.pages import booking as booking_page

HTML = {"Accept": "text/html"}
START = re.compile(r'name="start" value="([^"]+)"[^>]*>(\d\d:\d\d)')


def _page(spa: Spa, **params: Any) -> Any:
    return spa.tenant.client.get(spa.tenant.page("/book"), params=params, headers=HTML)


def _starts(html: str) -> dict[str, str]:
    return {label: unescape(value) for value, label in START.findall(html)}


def _contact(**changes: str) -> dict[str, str]:
    return {
        "first_name": "Maya",
        "last_name": "Lind",
        "email": "maya@example.com",
        "phone": "",
        "note": "",
        **changes,
    }


def _rows(spa: Spa) -> list[dict[str, Any]]:
    scope = spa.tenant.scope
    return spa.tenant.run(lambda: scope.select(Appointment))  # type: ignore[no-any-return]


def test_any_provider_times_name_provider(client) -> None:
    spa = seed_spa(client)
    response = _page(spa, service_id=spa.facial_id, date=spa.day.isoformat())
    assert response.status_code == 200
    assert "with Ava" in response.text


def test_visit_basket_books_back_to_back(client) -> None:
    spa = seed_spa(client)
    added = _page(
        spa,
        service_id=spa.facial_id,
        staff_id=spa.staff["Ava"],
        date=spa.day.isoformat(),
        add="1",
    )
    assert added.status_code == 200
    assert 'id="visit"' in added.text

    item = f"{spa.facial_id}:{spa.staff['Ava']}"
    shown = _page(
        spa,
        item=item,
        service_id=spa.massage_id,
        staff_id="any",
        date=spa.day.isoformat(),
    )
    starts = _starts(shown.text)
    assert "09:00" in starts

    form = {
        **_contact(),
        "item": item,
        "service_id": spa.massage_id,
        "staff_id": "any",
        "date": spa.day.isoformat(),
        "start": starts["09:00"],
    }
    response = client.post(
        spa.tenant.page("/book"), data=form, headers=HTML, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    rows = sorted(_rows(spa), key=lambda row: row["start_at"])
    assert len(rows) == 2
    assert rows[0]["visit_id"] is not None
    assert rows[0]["visit_id"] == rows[1]["visit_id"]
    assert rows[1]["start_at"] == rows[0]["end_at"]

    removed = _page(spa, item=item, remove="0", date=spa.day.isoformat())
    assert 'id="visit"' not in removed.text


def test_location_choice_changes_providers(client) -> None:
    spa = seed_spa(client)
    main = Location(name="Main Street", position=0)
    annex = Location(name="Harbour Annex", position=1)
    cleo = spa.staff["Cleo"]

    async def setup() -> None:
        await spa.tenant.scope.insert(main, annex)
        await spa.tenant.scope.update(
            WorkingHours, {WorkingHours.location_id: annex.id}
        ).where(WorkingHours.staff_id == uuid.UUID(cleo))

    spa.tenant.run(setup)
    first = _page(spa, service_id=spa.massage_id, date=spa.day.isoformat())
    assert "Harbour Annex" in first.text
    assert "Times are local to Main Street (Europe/London)" in first.text
    assert "with Cleo" not in first.text
    annex_page = _page(
        spa,
        service_id=spa.massage_id,
        date=spa.day.isoformat(),
        location_id=str(annex.id),
    )
    assert "with Cleo" in annex_page.text
    assert "with Ava" not in annex_page.text
    unknown = _page(spa, location_id="elsewhere")
    assert "is not one of our locations" in unknown.text


@pytest.fixture
def weight_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every service ask a required "pets.weight" number."""

    async def fields(scope: Any, service: Any, hooks: Any = None) -> list[Any]:
        return [
            {
                "name": "pets.weight",
                "label": "Pet weight (kg)",
                "type": "number",
                "required": True,
                "choices": [],
                "help": "Weigh your pet at home",
            }
        ]

    monkeypatch.setattr(booking_page, "booking_fields", fields)
    monkeypatch.setattr(booking_kernel, "booking_fields", fields)


def test_plugin_fields_rendered_and_checked(client, weight_field: None) -> None:
    spa = seed_spa(client)
    shown = _page(spa, service_id=spa.facial_id, date=spa.day.isoformat())
    assert "Pet weight (kg)" in shown.text
    assert 'name="field:pets.weight"' in shown.text
    start = _starts(shown.text)["10:00"]
    form = {
        **_contact(),
        "service_id": spa.facial_id,
        "staff_id": "any",
        "date": spa.day.isoformat(),
        "start": start,
    }
    missing = client.post(spa.tenant.page("/book"), data=form, headers=HTML)
    assert missing.status_code == 422
    assert "is required: enter Pet weight (kg)" in missing.text
    assert _rows(spa) == []
    done = client.post(
        spa.tenant.page("/book"),
        data={**form, "field:pets.weight": "12"},
        headers=HTML,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert len(_rows(spa)) == 1
