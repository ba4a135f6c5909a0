"""Provider time: overnight hours, breaks, schedule changes, time off,
closures, the team pages for them, role checks and the iCalendar feed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar

from tests.integration.test_booking_setup import add_member, seed_spa
from tests.support import SharedClient, make_tenant
from tillbook.db.base import utcnow
from tillbook.kernel.schedule.tables import (
    Appointment,
    Closure,
    ScheduleOverride,
    StaffBreak,
    TimeOff,
)
from tillbook.tenancy.roles import Role

HTML = {"Accept": "text/html"}


def _put(client: Any, tenant: Any, path: str, body: Any, **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", tenant.headers)
    return client.put(tenant.api(path), headers=headers, json=body)


def _rows(tenant: Any, table: Any) -> list[dict[str, Any]]:
    return tenant.run(lambda: tenant.scope.select(table))  # type: ignore[no-any-return]


def _check_overnight_hours_and_overlap(client: Any) -> None:
    tenant = make_tenant(client)
    staff = tenant.post("/staff", {"name": "Nia"}).json()
    ok = _put(
        client,
        tenant,
        f"/staff/{staff['id']}/hours",
        [
            {"weekday": 4, "start": "20:00", "end": "04:00+1"},
            {"weekday": 5, "start": "10:00", "end": "14:00"},
        ],
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["hours"][0]["end"] == "04:00+1"
    assert ok.json()["hours"][0]["end_minute"] == 28 * 60

    clash = _put(
        client,
        tenant,
        f"/staff/{staff['id']}/hours",
        [
            {"weekday": 4, "start": "20:00", "end": "04:00+1"},
            {"weekday": 5, "start": "03:00", "end": "09:00"},
        ],
    )
    assert clash.status_code == 422
    assert "hours[1]" in clash.json()["errors"]


BAD_HOURS = [
    (
        "negative minutes",
        {"start_minute": -10, "end": "17:00"},
        "hours[0].start_minute",
    ),
    ("absurd minutes", {"start": "09:00", "end_minute": 5000}, "hours[0].end_minute"),
    ("longer than a day", {"start": "09:00", "end": "10:00+1"}, "hours[0].end"),
    (
        "unknown location",
        {"start": "09:00", "end": "17:00", "location_id": str(uuid.uuid4())},
        "hours[0].location_id",
    ),
]


def _check_bad_hours_named(client: Any) -> None:
    tenant = make_tenant(client)
    staff = tenant.post("/staff", {"name": "Nia"}).json()
    for case, entry, field in BAD_HOURS:
        response = _put(
            client, tenant, f"/staff/{staff['id']}/hours", [{"weekday": 0, **entry}]
        )
        assert response.status_code == 422, case
        assert field in response.json()["errors"], (case, response.json())
    assert tenant.get(f"/staff/{staff['id']}").json()["hours"] == []


def test_breaks_inside_hours(client) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    ok = _put(
        client,
        spa.tenant,
        f"/staff/{ava}/breaks",
        [{"weekday": 0, "start": "12:00", "end": "13:00", "label": "Lunch"}],
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()[0]["label"] == "Lunch"

    for body, field in (
        ([{"weekday": 0, "start": "18:00", "end": "19:00"}], "breaks[0]"),
        ([{"weekday": 0, "start": "13:00", "end": "12:00"}], "breaks[0].end"),
        (
            [
                {"weekday": 1, "start": "12:00", "end": "13:00"},
                {"weekday": 1, "start": "12:30", "end": "13:30"},
            ],
            "breaks[1]",
        ),
    ):
        response = _put(client, spa.tenant, f"/staff/{ava}/breaks", body)
        assert response.status_code == 422, response.text
        assert field in response.json()["errors"], response.json()
    assert len(_rows(spa.tenant, StaffBreak)) == 1

    # Shrinking the hours drops a break that no longer fits.
    shrink = _put(
        client,
        spa.tenant,
        f"/staff/{ava}/hours",
        [{"weekday": 0, "start": "14:00", "end": "18:00"}],
    )
    assert shrink.status_code == 200
    assert shrink.json()["breaks"] == []


def _check_schedule_change_day_off_and_hours(client: Any) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    booked = client.post(spa.tenant.api("/bookings"), json=spa.booking("10:00"))
    assert booked.status_code == 201, booked.text
    day = spa.day.isoformat()

    off = _put(
        client,
        spa.tenant,
        f"/staff/{ava}/schedule-changes/{day}",
        {"off": True, "note": "Dentist"},
    )
    assert off.status_code == 200, off.text
    assert off.json()["override"]["off"] is True
    assert [item["id"] for item in off.json()["affected_appointments"]] == [
        booked.json()["id"]
    ]

    later = _put(
        client,
        spa.tenant,
        f"/staff/{ava}/schedule-changes/{day}",
        {
            "hours": [
                {"start": "09:00", "end": "12:00"},
                {"start": "15:00", "end": "18:00"},
            ]
        },
    )
    assert later.status_code == 200, later.text
    assert [h["start"] for h in later.json()["override"]["hours"]] == ["09:00", "15:00"]
    assert later.json()["affected_appointments"] == []

    listed = spa.tenant.get(
        f"/staff/{ava}/schedule-changes", params={"first": day, "last": day}
    )
    assert listed.status_code == 200
    assert len(listed.json()) == 1

    removed = client.delete(
        spa.tenant.api(f"/staff/{ava}/schedule-changes/{day}"),
        headers=spa.tenant.headers,
    )
    assert removed.status_code == 204
    assert _rows(spa.tenant, ScheduleOverride) == []


BAD_CHANGES = [
    ({"hours": [{"start": "12:00", "end": "09:00"}]}, "hours[0].end"),
    ({"hours": []}, "hours"),
    ({"off": "yes"}, "off"),
    ({"off": True, "hours": [{"start": "09:00", "end": "10:00"}]}, "hours"),
    (
        {
            "hours": [
                {"start": "09:00", "end": "12:00"},
                {"start": "11:00", "end": "13:00"},
            ]
        },
        "hours[1]",
    ),
    ({"hours": [{"start_minute": -1, "end": "12:00"}]}, "hours[0].start_minute"),
]


def _check_bad_schedule_change_rejected(client: Any) -> None:
    spa = seed_spa(client)
    for body, field in BAD_CHANGES:
        response = _put(
            client,
            spa.tenant,
            f"/staff/{spa.staff['Ava']}/schedule-changes/{spa.day.isoformat()}",
            body,
        )
        assert response.status_code == 422, field
        assert field in response.json()["errors"], (field, response.json())
    assert _rows(spa.tenant, ScheduleOverride) == []


def _check_time_off_lists_affected_appointments(client: Any) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    booked = client.post(spa.tenant.api("/bookings"), json=spa.booking("10:00"))
    assert booked.status_code == 201, booked.text
    day = spa.day.isoformat()
    response = spa.tenant.post(
        f"/staff/{ava}/time-off",
        {
            "start": f"{day}T09:00",
            "end": f"{day}T13:00",
            "reason": "sickness",
            "note": "Flu",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["time_off"]["reason"] == "sickness"
    assert body["time_off"]["local_start"] == f"{day}T09:00"
    assert [item["id"] for item in body["affected_appointments"]] == [
        booked.json()["id"]
    ]
    # The booking is kept: the desk decides what to do with it.
    assert _rows(spa.tenant, Appointment)[0]["status"] == "booked"

    listed = spa.tenant.get(f"/staff/{ava}/time-off").json()
    assert [item["id"] for item in listed] == [body["time_off"]["id"]]
    gone = spa.tenant.delete(f"/time-off/{body['time_off']['id']}")
    assert gone.status_code == 204
    assert _rows(spa.tenant, TimeOff) == []


BAD_TIME_OFF = [
    (
        "end before start",
        {"start": "2030-01-07T12:00", "end": "2030-01-07T09:00"},
        "end",
    ),
    (
        "end equals start",
        {"start": "2030-01-07T12:00", "end": "2030-01-07T12:00"},
        "end",
    ),
    ("unknown reason", {"reason": "boredom"}, "reason"),
    ("bad start", {"start": "tomorrow"}, "start"),
    ("too long", {"end": "2032-01-07T09:00"}, "end"),
    ("missing end", {"end": None}, "end"),
    (
        "nonexistent local time",
        {"start": "2030-03-31T01:30", "end": "2030-03-31T05:00"},
        "start",
    ),
    ("unknown field", {"colour": "red"}, "colour"),
]


def _check_bad_time_off_rejected(client: Any) -> None:
    spa = seed_spa(client)
    for case, changes, field in BAD_TIME_OFF:
        body = {
            "start": "2030-01-07T09:00",
            "end": "2030-01-08T09:00",
            "reason": "holiday",
            **changes,
        }
        response = spa.tenant.post(f"/staff/{spa.staff['Ava']}/time-off", body)
        assert response.status_code == 422, case
        assert field in response.json()["errors"], (case, response.json())
    assert _rows(spa.tenant, TimeOff) == []


def test_closures(client) -> None:
    spa = seed_spa(client)
    booked = client.post(spa.tenant.api("/bookings"), json=spa.booking("10:00"))
    day = spa.day.isoformat()
    response = spa.tenant.post(
        "/closures", {"first_day": day, "last_day": day, "reason": "Boiler repair"}
    )
    assert response.status_code == 201, response.text
    assert [item["id"] for item in response.json()["affected_appointments"]] == [
        booked.json()["id"]
    ]
    assert [item["reason"] for item in spa.tenant.get("/closures").json()] == [
        "Boiler repair"
    ]

    for body, field in (
        ({"first_day": day, "last_day": "2000-01-01"}, "last_day"),
        ({"first_day": "someday", "last_day": day}, "first_day"),
        (
            {"first_day": day, "last_day": day, "location_id": str(uuid.uuid4())},
            "location_id",
        ),
    ):
        bad = spa.tenant.post("/closures", body)
        assert bad.status_code == 422, bad.text
        assert field in bad.json()["errors"]
    assert len(_rows(spa.tenant, Closure)) == 1
    closure_id = response.json()["closure"]["id"]
    assert spa.tenant.delete(f"/closures/{closure_id}").status_code == 204


def test_provider_time_roles(client) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    desk = add_member(client, spa.tenant, Role.FRONT_DESK)
    provider = add_member(client, spa.tenant, Role.PROVIDER)
    day = spa.day.isoformat()
    for headers in (desk, provider):
        assert (
            client.get(
                spa.tenant.api(f"/staff/{ava}/breaks"), headers=headers
            ).status_code
            == 200
        )
        assert (
            client.get(
                spa.tenant.api(f"/staff/{ava}/time-off"), headers=headers
            ).status_code
            == 200
        )
        writes = [
            client.put(spa.tenant.api(f"/staff/{ava}/hours"), headers=headers, json=[]),
            client.put(
                spa.tenant.api(f"/staff/{ava}/breaks"), headers=headers, json=[]
            ),
            client.put(
                spa.tenant.api(f"/staff/{ava}/schedule-changes/{day}"),
                headers=headers,
                json={"off": True},
            ),
            client.post(
                spa.tenant.api(f"/staff/{ava}/time-off"),
                headers=headers,
                json={
                    "start": f"{day}T09:00",
                    "end": f"{day}T10:00",
                    "reason": "other",
                },
            ),
            client.post(
                spa.tenant.api("/closures"),
                headers=headers,
                json={"first_day": day, "last_day": day},
            ),
        ]
        assert [w.status_code for w in writes] == [403] * len(writes)
        page = client.post(
            spa.tenant.page(f"/staff/team/{ava}/time-off"),
            headers={**HTML, **headers},
            data={"start": f"{day}T09:00", "end": f"{day}T10:00", "reason": "other"},
            follow_redirects=False,
        )
        assert page.status_code == 403
        view = client.get(
            spa.tenant.page(f"/staff/team/{ava}"), headers={**HTML, **headers}
        )
        assert view.status_code == 200
        assert 'id="time-off-form"' not in view.text
        assert 'id="hours-form"' not in view.text
    assert _rows(spa.tenant, TimeOff) == []


def test_other_tenants_provider_time_is_404(client) -> None:
    spa = seed_spa(client)
    other = seed_spa(client)
    theirs = other.staff["Ava"]
    day = spa.day.isoformat()
    assert spa.tenant.get(f"/staff/{theirs}/breaks").status_code == 404
    assert _put(client, spa.tenant, f"/staff/{theirs}/breaks", []).status_code == 404
    assert (
        _put(
            client, spa.tenant, f"/staff/{theirs}/schedule-changes/{day}", {"off": True}
        ).status_code
        == 404
    )
    created = other.tenant.post(
        f"/staff/{theirs}/time-off",
        {"start": f"{day}T09:00", "end": f"{day}T10:00", "reason": "training"},
    ).json()["time_off"]
    assert spa.tenant.delete(f"/time-off/{created['id']}").status_code == 404
    assert len(_rows(other.tenant, TimeOff)) == 1


def test_team_pages_edit_provider_time(client) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    base = f"/staff/team/{ava}"

    def post(path: str, data: dict[str, Any]) -> Any:
        return client.post(
            spa.tenant.page(path),
            headers={**HTML, **spa.tenant.headers},
            data=data,
            follow_redirects=False,
        )

    overnight = post(f"{base}/hours", {"hours_4": "18:00-02:00+1"})
    assert overnight.status_code == 303, overnight.text
    assert spa.tenant.get(f"/staff/{ava}").json()["hours"][0]["end"] == "02:00+1"

    bad_break = post(f"{base}/breaks", {"breaks_0": "12:00-13:00"})
    assert bad_break.status_code == 422
    assert 'id="breaks_0-error"' in bad_break.text
    good_break = post(f"{base}/breaks", {"breaks_4": "22:00-22:30"})
    assert good_break.status_code == 303, good_break.text

    day = spa.day.isoformat()
    bad_change = post(
        f"{base}/changes", {"change_date": day, "change_hours": "14:00-10:00"}
    )
    assert bad_change.status_code == 422
    assert 'id="change_hours-error"' in bad_change.text
    change = post(
        f"{base}/changes",
        {"change_date": day, "change_off": "1", "change_note": "Course"},
    )
    assert change.status_code == 303, change.text

    bad_off = post(
        f"{base}/time-off",
        {"start": f"{day}T12:00", "end": f"{day}T09:00", "reason": "holiday"},
    )
    assert bad_off.status_code == 422
    assert 'id="time_off_end-error"' in bad_off.text
    unknown = post(
        f"{base}/time-off",
        {"start": f"{day}T09:00", "end": f"{day}T12:00", "reason": "nap"},
    )
    assert unknown.status_code == 422
    assert 'id="time_off_reason-error"' in unknown.text
    added = post(
        f"{base}/time-off",
        {"start": f"{day}T09:00", "end": f"{day}T12:00", "reason": "holiday"},
    )
    assert added.status_code == 200, added.text
    assert 'id="affected"' in added.text
    page = client.get(spa.tenant.page(base), headers={**HTML, **spa.tenant.headers})
    assert "Course" in page.text
    assert "holiday" in page.text


def _feed_token(url: str) -> str:
    return url.rsplit("/", 1)[1].removesuffix(".ics")


def test_feed_lists_appointments_and_rotates(client) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    booked = client.post(spa.tenant.api("/bookings"), json=spa.booking("10:00"))
    assert booked.status_code == 201, booked.text
    cancelled = client.post(
        spa.tenant.api("/bookings"), json=spa.booking("14:00", first_name="Zoe")
    ).json()

    async def cancel() -> None:
        await spa.tenant.scope.update(
            Appointment,
            {Appointment.status: "cancelled", Appointment.cancelled_at: utcnow()},
        ).where(Appointment.id == uuid.UUID(cancelled["id"]))

    spa.tenant.run(cancel)
    assert spa.tenant.get(f"/staff/{ava}/feed").json()["url"] is None
    made = spa.tenant.post(f"/staff/{ava}/feed")
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    token = _feed_token(url)
    assert len(token) >= 32

    feed = client.get(spa.tenant.page(f"/feeds/{token}.ics"))
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    mine = events[f"appointment-{booked.json()['id']}@tillbook"]
    assert str(mine["summary"]) == "Signature Facial · Maya"
    assert "Lind" not in feed.text
    assert mine.decoded("dtstart").tzinfo is not None
    assert mine.decoded("dtstart").utcoffset() == timedelta(0)
    assert mine.decoded("dtstart") == datetime.fromisoformat(
        spa.at("10:00")
    ).astimezone(UTC)
    assert str(mine["status"]) == "CONFIRMED"
    assert (
        str(events[f"appointment-{cancelled['id']}@tillbook"]["status"]) == "CANCELLED"
    )

    rotated = spa.tenant.post(f"/staff/{ava}/feed").json()
    assert client.get(spa.tenant.page(f"/feeds/{token}.ics")).status_code == 404
    assert (
        client.get(
            spa.tenant.page(f"/feeds/{_feed_token(rotated['url'])}.ics")
        ).status_code
        == 200
    )
    assert (
        client.get(
            spa.tenant.page("/feeds/not-a-real-token-but-long-enough-1234.ics")
        ).status_code
        == 404
    )
    other = make_tenant(client)
    assert (
        client.get(other.page(f"/feeds/{_feed_token(rotated['url'])}.ics")).status_code
        == 404
    )


def test_feed_rights(client) -> None:
    spa = seed_spa(client)
    ava, ben = spa.staff["Ava"], spa.staff["Ben"]
    provider = add_member(client, spa.tenant, Role.PROVIDER)

    async def link_to_ava() -> None:
        from tillbook.tenancy.tables import Membership

        await spa.tenant.scope.update(
            Membership, {Membership.staff_id: uuid.UUID(ava)}
        ).where(Membership.role == "provider")

    spa.tenant.run(link_to_ava)
    own = client.post(spa.tenant.api(f"/staff/{ava}/feed"), headers=provider)
    assert own.status_code == 201, own.text
    others = client.post(spa.tenant.api(f"/staff/{ben}/feed"), headers=provider)
    assert others.status_code == 403
    assert (
        client.get(spa.tenant.api(f"/staff/{ben}/feed"), headers=provider).status_code
        == 403
    )
    desk = add_member(client, spa.tenant, Role.FRONT_DESK)
    assert (
        client.post(spa.tenant.api(f"/staff/{ava}/feed"), headers=desk).status_code
        == 403
    )
    page = client.post(
        spa.tenant.page(f"/staff/team/{ava}/feed"),
        headers={**HTML, **provider},
        follow_redirects=False,
    )
    assert page.status_code == 303
    other = seed_spa(client)
    assert spa.tenant.post(f"/staff/{other.staff['Ava']}/feed").status_code == 404


def test_feed_on_tenant_host(settings) -> None:
    from litestar.testing import TestClient

    from tillbook.web.app import HostTenantRewrite, create_app

    # Only one started app at a time: the in-process job worker is global.
    SharedClient.close()
    app = HostTenantRewrite(
        create_app(settings, inprocess_worker=True), "tillbook.test"
    )
    with TestClient(app, base_url="http://127.0.0.1:8000") as host_client:  # type: ignore[arg-type]
        tenant = make_tenant(host_client)
        staff = tenant.post("/staff", {"name": "Ola"}).json()
        url = tenant.post(f"/staff/{staff['id']}/feed").json()["url"]
        token = _feed_token(url)
        host = {"Host": f"{tenant.slug}.tillbook.test"}
        feed = host_client.get(f"/feeds/{token}.ics", headers=host)
        assert feed.status_code == 200, feed.text
        assert feed.text.startswith("BEGIN:VCALENDAR")
        wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
        missing = host_client.get(f"/feeds/{wrong}.ics", headers=host)
        assert missing.status_code == 404


def test_weekly_hours_checked(client) -> None:
    """Overnight hours are accepted and bad hours are named."""
    _check_overnight_hours_and_overlap(client)
    _check_bad_hours_named(client)


def test_schedule_changes(client) -> None:
    """Schedule changes are stored, listed and rejected when malformed."""
    _check_schedule_change_day_off_and_hours(client)
    _check_bad_schedule_change_rejected(client)


def test_time_off(client) -> None:
    """Time off lists affected appointments and rejects bad input."""
    _check_time_off_lists_affected_appointments(client)
    _check_bad_time_off_rejected(client)
