"""Recurring series: local times across daylight saving, edits and cancels."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.integration.class_studio import Studio, seed_studio
from tests.integration.test_booking_setup import seed_spa
from tillbook.db.base import utcnow
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.tables import ClassSession, Series

# Every Tuesday of 2027 at 18:00: each zone below changes its clocks twice.
WEEKLY_2027 = "FREQ=WEEKLY;BYDAY=TU;UNTIL=20271231T235959"
FIRST_TUESDAY = "2027-01-05T18:00"


def _class_series(studio: Studio, **overrides: Any) -> Any:
    body: dict[str, Any] = {
        "kind": "class",
        "rule": "FREQ=WEEKLY;BYDAY=TU;COUNT=6",
        "start_local": FIRST_TUESDAY,
        "service_id": studio.service_id,
        "staff_id": studio.staff_id,
        "capacity": 2,
    }
    body.update(overrides)
    return studio.tenant.post("/classes/series", body)


def _sessions(studio: Studio, series_id: str) -> list[dict[str, Any]]:
    response = studio.tenant.get(f"/classes/series/{series_id}")
    assert response.status_code == 200, response.text
    return response.json()["sessions"]  # type: ignore[no-any-return]


ZONES = [
    ("America/New_York", "23:00", "22:00"),
    ("Europe/London", "18:00", "17:00"),
    ("Australia/Sydney", "08:00", "07:00"),
]


def _weekly_class_keeps_local_start(
    client, zone: str, winter_utc: str, summer_utc: str
) -> None:
    studio = seed_studio(client, time_zone=zone)
    response = _class_series(studio, rule=WEEKLY_2027)
    assert response.status_code == 201, response.text
    assert response.json()["skipped"] == []
    assert response.json()["adjusted"] == []
    sessions = _sessions(studio, response.json()["series"]["id"])
    assert len(sessions) == 52
    assert {item["local"] for item in sessions} == {"18:00"}
    assert {item["time_zone"] for item in sessions} == {zone}
    assert all(datetime.fromisoformat(item["date"]).weekday() == 1 for item in sessions)
    utc_clock = [
        datetime.fromisoformat(item["start"])
        .astimezone(ZoneInfo("UTC"))
        .strftime("%H:%M")
        for item in sessions
    ]
    # January is winter in the north and summer in Sydney, July the opposite.
    january, july = utc_clock[0], utc_clock[27]
    if zone == "Australia/Sydney":
        assert (january, july) == (summer_utc, winter_utc)
    else:
        assert (january, july) == (winter_utc, summer_utc)
    # Both changes happen: the UTC start switches exactly twice in the year.
    switches = sum(1 for a, b in itertools.pairwise(utc_clock) if a != b)
    assert switches == 2


def _kolkata_half_hour_offset(client) -> None:
    studio = seed_studio(client, time_zone="Asia/Kolkata")
    response = _class_series(studio, rule="FREQ=WEEKLY;BYDAY=TU;COUNT=10")
    assert response.status_code == 201, response.text
    sessions = _sessions(studio, response.json()["series"]["id"])
    assert {item["local"] for item in sessions} == {"18:00"}
    starts = {
        datetime.fromisoformat(item["start"]).strftime("%H:%M") for item in sessions
    }
    assert starts == {"12:30"}


def _series_zone_overrides_tenant(client) -> None:
    studio = seed_studio(client, time_zone="Europe/London")
    response = _class_series(studio, time_zone="America/New_York")
    assert response.status_code == 201, response.text
    assert response.json()["series"]["time_zone"] == "America/New_York"
    first = datetime.fromisoformat(
        _sessions(studio, response.json()["series"]["id"])[0]["start"]
    )
    assert first.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == "18:00"


def _missing_local_time_moves_forward(client) -> None:
    studio = seed_studio(client, time_zone="America/New_York")
    response = _class_series(
        studio,
        rule="FREQ=DAILY;COUNT=3",
        start_local="2027-03-13T02:30",
        duration_minutes=30,
    )
    assert response.status_code == 201, response.text
    adjusted = response.json()["adjusted"]
    assert len(adjusted) == 1
    assert adjusted[0]["occurrence_local"] == "2027-03-14T02:30"
    assert adjusted[0]["local"] == "2027-03-14T03:00"
    assert "clocks go forward" in adjusted[0]["note"]
    sessions = _sessions(studio, response.json()["series"]["id"])
    assert [item["local"] for item in sessions] == ["02:30", "03:00", "02:30"]
    assert sessions[1]["start"] == "2027-03-14T07:00:00+00:00"


def _repeated_local_time_takes_first(client) -> None:
    studio = seed_studio(client, time_zone="America/New_York")
    response = _class_series(
        studio,
        rule="FREQ=DAILY;COUNT=2",
        start_local="2027-11-06T01:30",
        duration_minutes=30,
    )
    assert response.status_code == 201, response.text
    sessions = _sessions(studio, response.json()["series"]["id"])
    # 01:30 on 7 November happens twice; the first is still EDT (UTC-4).
    assert sessions[1]["start"] == "2027-11-07T05:30:00+00:00"
    assert sessions[1]["local"] == "01:30"


BAD_SERIES = [
    ({"rule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31;COUNT=3"}, "rule"),
    ({"rule": "FREQ=WEEKLY;UNTIL=20261201T000000Z"}, "rule"),
    ({"rule": "FREQ=SOMETIMES"}, "rule"),
    ({"rule": "not a rule"}, "rule"),
    ({"rule": "DTSTART:20270105T180000\nRRULE:FREQ=DAILY"}, "rule"),
    ({"rule": "FREQ=DAILY;COUNT=501"}, "rule"),
    ({"rule": "FREQ=MONTHLY;COUNT=30"}, "rule"),
    ({"rule": ""}, "rule"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"start_local": "2027-01-05 6pm"}, "start_local"),
    ({"start_local": "2020-01-07T18:00"}, "start_local"),
    ({"exdates": ["next tuesday"]}, "exdates"),
    ({"kind": "party"}, "kind"),
    ({"capacity": -1}, "capacity"),
    ({"duration_minutes": 0}, "duration_minutes"),
    ({"client_id": str(uuid.uuid4())}, "client_id"),
]


def test_bad_series_names_field(client) -> None:
    studio = seed_studio(client)
    for override, field in BAD_SERIES:
        response = _class_series(studio, **override)
        assert response.status_code == 422, (override, response.text)
        assert field in response.json()["errors"], (override, response.text)
    assert studio.rows(Series) == []
    assert studio.rows(ClassSession) == []


def _exdates_leave_out_occurrences(client) -> None:
    studio = seed_studio(client)
    response = _class_series(studio, exdates=["2027-01-12T18:00", "2027-01-26T18:00"])
    assert response.status_code == 201, response.text
    dates = [
        item["date"] for item in _sessions(studio, response.json()["series"]["id"])
    ]
    assert dates == ["2027-01-05", "2027-01-19", "2027-02-02", "2027-02-09"]


def _busy_instructor_occurrence_skipped(client) -> None:
    studio = seed_studio(client)
    busy = studio.tenant.post(
        "/classes/sessions",
        {
            "service_id": studio.service_id,
            "staff_id": studio.staff_id,
            "start": "2027-01-19T18:30:00+00:00",
        },
    )
    assert busy.status_code == 201, busy.text
    response = _class_series(studio)
    assert response.status_code == 201, response.text
    skipped = response.json()["skipped"]
    assert [item["occurrence_local"] for item in skipped] == ["2027-01-19T18:00"]
    assert "no longer available" in skipped[0]["reason"]
    assert len(response.json()["created"]) == 5

    strict = _class_series(studio, staff_id=studio.staff_id, all_or_nothing=True)
    assert strict.status_code == 409
    assert len(studio.rows(Series)) == 1
    # Every occurrence clashes with the first series: nothing is stored.
    clash = _class_series(studio, staff_id=studio.staff_id)
    assert clash.status_code == 409
    assert len(clash.json()["skipped"]) == 6
    assert len(studio.rows(Series)) == 1


def _series_with_roster(studio: Studio) -> tuple[str, list[dict[str, Any]], str]:
    response = _class_series(studio)
    assert response.status_code == 201, response.text
    series_id = response.json()["series"]["id"]
    sessions = _sessions(studio, series_id)
    ann = studio.new_client("Ann")
    assert studio.book(sessions[3]["id"], ann).status_code == 201
    return series_id, sessions, ann


def test_edit_one_occurrence(client) -> None:
    studio = seed_studio(client)
    series_id, sessions, _ann = _series_with_roster(studio)
    target = sessions[2]
    response = studio.tenant.post(
        f"/classes/series/{series_id}/edit",
        {
            "scope": "one",
            "occurrence_start": target["occurrence_start"],
            "changes": {"capacity": 8, "start": "2027-01-19T19:00:00+00:00"},
        },
    )
    assert response.status_code == 200, response.text
    edited = response.json()["session"]
    assert edited["id"] == target["id"]
    assert edited["capacity"] == 8
    assert edited["local"] == "19:00"
    assert edited["series_id"] == series_id
    assert edited["occurrence_start"] == target["occurrence_start"]
    others = [
        item for item in _sessions(studio, series_id) if item["id"] != target["id"]
    ]
    assert {item["capacity"] for item in others} == {2}
    assert {item["local"] for item in others} == {"18:00"}


def test_edit_this_and_following(client) -> None:
    studio = seed_studio(client)
    series_id, sessions, ann = _series_with_roster(studio)
    split_at = sessions[2]
    response = studio.tenant.post(
        f"/classes/series/{series_id}/edit",
        {
            "scope": "following",
            "occurrence_start": split_at["occurrence_start"],
            "changes": {"start_local": "2027-01-19T19:30", "capacity": 4},
        },
    )
    assert response.status_code == 200, response.text
    result = response.json()
    new_series = result["series"]
    assert new_series["id"] != series_id
    assert new_series["parent_id"] == series_id
    assert new_series["start_local"] == "2027-01-19T19:30"
    assert new_series["rule"].endswith("COUNT=4")
    assert len(result["moved"]) == 4
    assert result["created"] == []
    assert result["cancelled"] == []

    old = studio.tenant.get(f"/classes/series/{series_id}").json()
    assert "UNTIL=20270119T175959" in old["rule"]
    assert [item["id"] for item in old["sessions"]] == [s["id"] for s in sessions[:2]]
    assert {item["local"] for item in old["sessions"]} == {"18:00"}
    moved = _sessions(studio, new_series["id"])
    assert [item["id"] for item in moved] == [s["id"] for s in sessions[2:]]
    assert {item["local"] for item in moved} == {"19:30"}
    assert {item["capacity"] for item in moved} == {4}
    # Ann's place on the fourth Tuesday moved with its session.
    assert moved[1]["booked"] == 1
    assert any(
        row["subject"].startswith("Class changed") for row in studio.mails_to(ann)
    )


def test_edit_all_changes_rule(client) -> None:
    studio = seed_studio(client)
    series_id, _sessions_before, _ann = _series_with_roster(studio)
    response = studio.tenant.post(
        f"/classes/series/{series_id}/edit",
        {"scope": "all", "changes": {"rule": "FREQ=WEEKLY;BYDAY=TU;COUNT=3"}},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["moved"]) == 3
    assert len(response.json()["cancelled"]) == 3
    live = [
        item for item in _sessions(studio, series_id) if item["status"] == "scheduled"
    ]
    assert [item["date"] for item in live] == ["2027-01-05", "2027-01-12", "2027-01-19"]

    bad = studio.tenant.post(
        f"/classes/series/{series_id}/edit",
        {"scope": "sometimes", "changes": {}},
    )
    assert bad.status_code == 422
    assert "scope" in bad.json()["errors"]
    bad = studio.tenant.post(
        f"/classes/series/{series_id}/edit",
        {"scope": "all", "changes": {"rule": "FREQ=WEEKLY;BYDAY=TU;COUNT=0"}},
    )
    assert bad.status_code == 422
    assert "rule" in bad.json()["errors"]


def _cancel_one_adds_exception(client) -> None:
    studio = seed_studio(client)
    series_id, sessions, ann = _series_with_roster(studio)
    response = studio.tenant.post(
        f"/classes/series/{series_id}/cancel",
        {"scope": "one", "occurrence_start": sessions[3]["occurrence_start"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["series"]["exdates"] == ["2027-01-26T18:00"]
    statuses = [item["status"] for item in _sessions(studio, series_id)]
    assert statuses == ["scheduled"] * 3 + ["cancelled"] + ["scheduled"] * 2
    assert any(
        row["subject"].startswith("Class cancelled") for row in studio.mails_to(ann)
    )


def _cancel_following_and_all(client) -> None:
    studio = seed_studio(client)
    series_id, sessions, _ann = _series_with_roster(studio)
    response = studio.tenant.post(
        f"/classes/series/{series_id}/cancel",
        {"scope": "following", "occurrence_start": sessions[4]["occurrence_start"]},
    )
    assert response.status_code == 200, response.text
    statuses = [item["status"] for item in _sessions(studio, series_id)]
    assert statuses == ["scheduled"] * 4 + ["cancelled"] * 2
    assert "UNTIL=20270202T175959" in response.json()["series"]["rule"]

    response = studio.tenant.post(
        f"/classes/series/{series_id}/cancel", {"scope": "all"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["series"]["active"] is False
    assert {item["status"] for item in _sessions(studio, series_id)} == {"cancelled"}

    response = studio.tenant.post(
        f"/classes/series/{series_id}/cancel",
        {"scope": "one", "occurrence_start": "2027-01-06T18:00:00+00:00"},
    )
    assert response.status_code == 422
    assert "occurrence_start" in response.json()["errors"]


# Recurring appointments for one client.


def _spa_client(spa: Any) -> str:
    row = Client(
        first_name="Rita",
        last_name="Regular",
        email="rita@example.com",
        created_at=utcnow(),
    )
    spa.tenant.run(spa.tenant.scope.insert, row)
    return str(row.id)


def _appointment_series(spa: Any, client_id: str, **overrides: Any) -> Any:
    first = spa.day + timedelta(days=1)
    body = {
        "kind": "appointment",
        "rule": "FREQ=WEEKLY;COUNT=4",
        "start_local": f"{first.isoformat()}T10:00",
        "service_id": spa.facial_id,
        "staff_id": spa.staff["Ava"],
        "client_id": client_id,
        **overrides,
    }
    return spa.tenant.post("/classes/series", body)


def _appointment_series_skips_conflict(client) -> None:
    spa = seed_spa(client)
    rita = _spa_client(spa)
    taken_day = spa.day + timedelta(days=8)
    response = client.post(
        spa.tenant.api("/bookings"),
        json=spa.booking("10:00", start=spa.at("10:00", taken_day)),
    )
    assert response.status_code == 201, response.text

    response = _appointment_series(spa, rita, all_or_nothing=True)
    assert response.status_code == 409
    assert spa.tenant.run(lambda: spa.tenant.scope.select(Series)) == []

    response = _appointment_series(spa, rita)
    assert response.status_code == 201, response.text
    result = response.json()
    assert len(result["created"]) == 3
    assert [item["local"][:10] for item in result["skipped"]] == [taken_day.isoformat()]
    mine = [row for row in spa.appointments() if str(row["client_id"]) == rita]
    assert len(mine) == 3
    assert {str(row["series_id"]) for row in mine} == {result["series"]["id"]}
    assert all(row["occurrence_start"] == row["start_at"] for row in mine)


def _appointment_series_move_one(client) -> None:
    spa = seed_spa(client)
    rita = _spa_client(spa)
    response = _appointment_series(spa, rita)
    assert response.status_code == 201, response.text
    series_id = response.json()["series"]["id"]
    second = response.json()["created"][1]
    new_start = datetime.fromisoformat(second["start"]) + timedelta(hours=3)
    response = spa.tenant.post(
        f"/classes/series/{series_id}/edit",
        {
            "scope": "one",
            "occurrence_start": second["start"],
            "changes": {"start": new_start.isoformat()},
        },
    )
    assert response.status_code == 200, response.text
    moved = response.json()["appointment"]
    assert datetime.fromisoformat(moved["start"]) == new_start
    assert moved["series_id"] == series_id
    assert datetime.fromisoformat(moved["occurrence_start"]) == datetime.fromisoformat(
        second["start"]
    )
    rows = [row for row in spa.appointments() if str(row["client_id"]) == rita]
    assert [row["status"] for row in rows] == ["booked"] * 4
    assert all(str(row["series_id"]) == series_id for row in rows)
    moved_row = next(row for row in rows if str(row["id"]) == moved["id"])
    assert moved_row["start_at"] == new_start


def test_weekly_class_keeps_local_start(client) -> None:
    for zone, winter_utc, summer_utc in ZONES:
        _weekly_class_keeps_local_start(client, zone, winter_utc, summer_utc)


def test_kolkata_and_zone_override(client) -> None:
    _kolkata_half_hour_offset(client)
    _series_zone_overrides_tenant(client)


def test_clock_change_occurrences(client) -> None:
    _missing_local_time_moves_forward(client)
    _repeated_local_time_takes_first(client)


def test_exceptions_and_conflicts(client) -> None:
    _exdates_leave_out_occurrences(client)
    _busy_instructor_occurrence_skipped(client)


def test_cancel_scopes(client) -> None:
    _cancel_one_adds_exception(client)
    _cancel_following_and_all(client)


def test_appointment_series(client) -> None:
    _appointment_series_skips_conflict(client)
    _appointment_series_move_one(client)
