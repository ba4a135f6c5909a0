"""Recurring class series: rules that must be rejected before anything is stored."""

from __future__ import annotations

from typing import Any

from tests.integration.class_studio import Studio, seed_studio
from tillbook.kernel.schedule.tables import ClassSession, Series


def _class_series(studio: Studio, **overrides: Any) -> Any:
    body: dict[str, Any] = {
        "kind": "class",
        "rule": "FREQ=WEEKLY;COUNT=3",
        "start_local": "2027-05-11T18:00",
        "service_id": studio.service_id,
        "staff_id": studio.staff_id,
    }
    body.update(overrides)
    return studio.tenant.post("/classes/series", body)


def test_series_interval_zero_rejected(client) -> None:
    studio = seed_studio(client)
    for interval in ("0", "-1", "x"):
        response = _class_series(
            studio, rule=f"FREQ=WEEKLY;INTERVAL={interval};COUNT=2"
        )
        assert response.status_code == 422, (interval, response.text)
        assert "rule" in response.json()["errors"], (interval, response.text)
    assert studio.rows(Series) == []
    assert studio.rows(ClassSession) == []


def test_series_past_last_year_rejected(client) -> None:
    studio = seed_studio(client)
    response = _class_series(
        studio, rule="FREQ=DAILY;COUNT=5", start_local="2199-12-29T18:00"
    )
    assert response.status_code == 422, response.text
    assert "rule" in response.json()["errors"], response.text
    assert studio.rows(Series) == []
    assert studio.rows(ClassSession) == []


def test_series_unknown_field_lists_fields(client) -> None:
    studio = seed_studio(client)
    response = _class_series(studio, kind="appointment", capacity=3)
    assert response.status_code == 422, response.text
    message = response.json()["errors"]["capacity"]
    assert "a appointment" not in message, message
    assert "client_id" in message, message
    assert studio.rows(Series) == []


def test_series_edit_interval_zero_rejected(client) -> None:
    studio = seed_studio(client)
    created = _class_series(studio)
    assert created.status_code == 201, created.text
    series_id = created.json()["series"]["id"]
    response = studio.tenant.post(
        f"/classes/series/{series_id}/edit",
        {"scope": "all", "changes": {"rule": "FREQ=WEEKLY;INTERVAL=0;COUNT=3"}},
    )
    assert response.status_code == 422, response.text
    assert "rule" in response.json()["errors"], response.text
    rules = [row["rule"] for row in studio.rows(Series)]
    assert rules == ["FREQ=WEEKLY;COUNT=3"]
