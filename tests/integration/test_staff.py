"""The staff API and the team pages: members, weekly hours, services, roles."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.test_booking_setup import add_member, seed_spa
from tests.support import make_tenant
from tillbook.kernel.audit.tables import AuditEntry
from tillbook.kernel.catalog.tables import ServiceProvider
from tillbook.kernel.schedule.tables import Staff, WorkingHours
from tillbook.tenancy.roles import Role

HTML = {"Accept": "text/html"}


def test_staff_create_list_update(client) -> None:
    tenant = make_tenant(client)
    response = tenant.post(
        "/staff",
        json={
            "name": " Ava Stone ",
            "email": "Ava@Example.com",
            "title": "Aesthetician",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "Ava Stone"
    assert created["email"] == "ava@example.com"
    assert created["colour"] == "#7a8b99"
    assert created["bookable"] is True
    assert created["active"] is True
    assert created["hours"] == []

    listing = tenant.get("/staff")
    assert [item["name"] for item in listing.json()] == ["Ava Stone"]

    patched = tenant.patch(
        f"/staff/{created['id']}", json={"colour": "#AA3366", "bookable": False}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["colour"] == "#aa3366"
    assert patched.json()["bookable"] is False
    assert patched.json()["name"] == "Ava Stone"
    assert tenant.get(f"/staff/{created['id']}").json()["bookable"] is False

    scope = tenant.scope
    actions = [row["action"] for row in tenant.run(lambda: scope.select(AuditEntry))]
    assert actions.count("staff.created") == 1
    assert actions.count("staff.updated") == 1


BAD_STAFF = [
    ("missing name", {"title": "x"}, "name"),
    ("blank name", {"name": "  "}, "name"),
    ("long name", {"name": "x" * 201}, "name"),
    ("bad email", {"name": "Ava", "email": "ava"}, "email"),
    ("bad colour", {"name": "Ava", "colour": "red"}, "colour"),
    ("bookable not bool", {"name": "Ava", "bookable": "yes"}, "bookable"),
    ("unknown field", {"name": "Ava", "salary": 1}, "salary"),
]


@pytest.mark.parametrize(
    ("case", "body", "field"), BAD_STAFF, ids=[case for case, _, _ in BAD_STAFF]
)
def test_bad_staff_rejected(
    client, case: str, body: dict[str, Any], field: str
) -> None:
    tenant = make_tenant(client)
    response = tenant.post("/staff", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]
    scope = tenant.scope
    assert tenant.run(lambda: scope.select(Staff)) == []


def test_hours_replace_and_drive_slots(client) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    weekday = spa.day.weekday()
    response = client.put(
        spa.tenant.api(f"/staff/{ava}/hours"),
        headers=spa.tenant.headers,
        json=[
            {"weekday": weekday, "start": "13:00", "end": "17:00"},
            {"weekday": weekday, "start": "09:00", "end": "11:00"},
        ],
    )
    assert response.status_code == 200, response.text
    assert [
        (item["weekday"], item["start"], item["end"])
        for item in response.json()["hours"]
    ] == [(weekday, "09:00", "11:00"), (weekday, "13:00", "17:00")]

    slots = client.get(
        spa.tenant.api("/availability"),
        params={
            "service_id": spa.facial_id,
            "date": spa.day.isoformat(),
            "staff_id": ava,
        },
    ).json()["slots"]
    times = [slot["local"] for slot in slots]
    assert times[:5] == ["09:00", "09:15", "09:30", "09:45", "10:00"]
    assert "10:15" not in times
    assert "12:00" not in times
    assert "13:00" in times

    wrapped = client.put(
        spa.tenant.api(f"/staff/{ava}/hours"),
        headers=spa.tenant.headers,
        json={"hours": []},
    )
    assert wrapped.status_code == 200
    assert wrapped.json()["hours"] == []


BAD_HOURS = [
    (
        "weekday too big",
        [{"weekday": 7, "start": "09:00", "end": "17:00"}],
        "hours[0].weekday",
    ),
    (
        "weekday negative",
        [{"weekday": -1, "start": "09:00", "end": "17:00"}],
        "hours[0].weekday",
    ),
    (
        "weekday text",
        [{"weekday": "mon", "start": "09:00", "end": "17:00"}],
        "hours[0].weekday",
    ),
    (
        "start not a time",
        [{"weekday": 0, "start": "9am", "end": "17:00"}],
        "hours[0].start",
    ),
    (
        "start past midnight",
        [{"weekday": 0, "start": "24:30", "end": "17:00"}],
        "hours[0].start",
    ),
    (
        "minutes over 59",
        [{"weekday": 0, "start": "09:75", "end": "17:00"}],
        "hours[0].start",
    ),
    (
        "end before start",
        [{"weekday": 0, "start": "17:00", "end": "09:00"}],
        "hours[0].end",
    ),
    (
        "empty interval",
        [{"weekday": 0, "start": "09:00", "end": "09:00"}],
        "hours[0].end",
    ),
    (
        "overlap",
        [
            {"weekday": 2, "start": "09:00", "end": "13:00"},
            {"weekday": 2, "start": "12:00", "end": "17:00"},
        ],
        "hours[1]",
    ),
    ("not a list", {"weekday": 0}, "hours"),
    ("entry not an object", ["09:00-17:00"], "hours[0]"),
    (
        "unknown key",
        [{"weekday": 0, "start": "09:00", "end": "17:00", "x": 1}],
        "hours[0]",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "field"), BAD_HOURS, ids=[case for case, _, _ in BAD_HOURS]
)
def test_bad_hours_rejected(client, case: str, body: Any, field: str) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    response = client.put(
        spa.tenant.api(f"/staff/{ava}/hours"), headers=spa.tenant.headers, json=body
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"], response.json()
    # The old hours are untouched: seven days of 09:00-17:00.
    assert len(spa.tenant.get(f"/staff/{ava}").json()["hours"]) == 7


def test_touching_intervals_allowed(client) -> None:
    spa = seed_spa(client)
    response = client.put(
        spa.tenant.api(f"/staff/{spa.staff['Ben']}/hours"),
        headers=spa.tenant.headers,
        json=[
            {"weekday": 0, "start": "00:00", "end": "12:00"},
            {"weekday": 0, "start": "12:00", "end": "24:00"},
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json()["hours"][1]["end"] == "24:00"


def test_staff_writes_need_manager(client) -> None:
    spa = seed_spa(client)
    desk = add_member(client, spa.tenant, Role.FRONT_DESK)
    provider = add_member(client, spa.tenant, Role.PROVIDER)
    ava = spa.staff["Ava"]
    assert client.get(spa.tenant.api("/staff"), headers=desk).status_code == 200
    assert (
        client.get(spa.tenant.api(f"/staff/{ava}"), headers=provider).status_code == 200
    )
    assert (
        client.post(
            spa.tenant.api("/staff"), json={"name": "X"}, headers=desk
        ).status_code
        == 403
    )
    assert (
        client.patch(
            spa.tenant.api(f"/staff/{ava}"), json={"name": "X"}, headers=provider
        ).status_code
        == 403
    )
    assert (
        client.put(
            spa.tenant.api(f"/staff/{ava}/hours"), json=[], headers=desk
        ).status_code
        == 403
    )

    manager = add_member(client, spa.tenant, Role.MANAGER)
    response = client.patch(
        spa.tenant.api(f"/staff/{ava}"), json={"title": "Lead"}, headers=manager
    )
    assert response.status_code == 200
    assert client.get(spa.tenant.api("/staff")).status_code == 401


def test_other_tenant_staff_not_found(client) -> None:
    spa = seed_spa(client)
    other = seed_spa(client)
    theirs = other.staff["Ava"]
    assert spa.tenant.get(f"/staff/{theirs}").status_code == 404
    assert spa.tenant.patch(f"/staff/{theirs}", json={"name": "X"}).status_code == 404
    response = client.put(
        spa.tenant.api(f"/staff/{theirs}/hours"), headers=spa.tenant.headers, json=[]
    )
    assert response.status_code == 404
    assert spa.tenant.get(f"/staff/{uuid.uuid4()}").status_code == 404
    assert len(other.tenant.get(f"/staff/{theirs}").json()["hours"]) == 7
    assert other.tenant.get(f"/staff/{theirs}").json()["name"] == "Ava"


# -- team pages ----------------------------------------------------------------


def _page(client: Any, tenant: Any, path: str, **kwargs: Any) -> Any:
    headers = {**HTML, **tenant.headers, **kwargs.pop("headers", {})}
    method = kwargs.pop("method", "get")
    if method == "post":
        kwargs.setdefault("follow_redirects", False)
    return getattr(client, method)(tenant.page(path), headers=headers, **kwargs)


def test_team_page_adds_staff_and_hours(client) -> None:
    spa = seed_spa(client)
    listing = _page(client, spa.tenant, "/staff/team")
    assert listing.status_code == 200
    assert "Ava" in listing.text
    assert "Mon\u2013Sun 09:00-17:00" in listing.text

    added = _page(
        client,
        spa.tenant,
        "/staff/team",
        method="post",
        data={
            "name": "Dana",
            "title": "Nail artist",
            "colour": "#336699",
            "bookable": "1",
        },
    )
    assert added.status_code == 303, added.text
    member_path = added.headers["location"].removeprefix(f"/t/{spa.tenant.slug}")
    dana_id = member_path.rsplit("/", 1)[1]
    member = _page(client, spa.tenant, member_path)
    assert member.status_code == 200
    assert 'id="hours_0"' in member.text

    hours = _page(
        client,
        spa.tenant,
        f"{member_path}/hours",
        method="post",
        data={"hours_0": "09:00-12:00, 13:00-17:00", "hours_5": "10:00\u201314:00"},
    )
    assert hours.status_code == 303, hours.text
    stored = spa.tenant.get(f"/staff/{dana_id}").json()
    assert [
        (item["weekday"], item["start"], item["end"]) for item in stored["hours"]
    ] == [
        (0, "09:00", "12:00"),
        (0, "13:00", "17:00"),
        (5, "10:00", "14:00"),
    ]
    assert stored["title"] == "Nail artist"
    assert stored["bookable"] is True
    shown = _page(client, spa.tenant, member_path).text
    assert 'value="09:00-12:00, 13:00-17:00"' in shown

    services = _page(
        client,
        spa.tenant,
        f"{member_path}/services",
        method="post",
        data={"service_ids": [spa.facial_id, spa.massage_id]},
    )
    assert services.status_code == 303
    scope = spa.tenant.scope
    links = spa.tenant.run(
        lambda: scope.select(ServiceProvider).where(
            ServiceProvider.staff_id == uuid.UUID(dana_id)
        )
    )
    assert {str(row["service_id"]) for row in links} == {spa.facial_id, spa.massage_id}
    facial = next(
        item
        for item in client.get(spa.tenant.api("/services")).json()
        if item["id"] == spa.facial_id
    )
    assert "Dana" in [provider["name"] for provider in facial["providers"]]


def test_team_page_rejects_bad_hours(client) -> None:
    spa = seed_spa(client)
    ava = spa.staff["Ava"]
    response = _page(
        client,
        spa.tenant,
        f"/staff/team/{ava}/hours",
        method="post",
        data={"hours_0": "9 to 5", "hours_1": "09:00-13:00, 12:00-17:00"},
    )
    assert response.status_code == 422
    assert 'id="hours_0-error"' in response.text
    assert 'id="hours_1-error"' in response.text
    assert 'value="9 to 5"' in response.text
    scope = spa.tenant.scope
    rows = spa.tenant.run(
        lambda: scope.select(WorkingHours).where(
            WorkingHours.staff_id == uuid.UUID(ava)
        )
    )
    assert len(rows) == 7


def test_team_page_rejects_bad_details(client) -> None:
    spa = seed_spa(client)
    response = _page(
        client,
        spa.tenant,
        "/staff/team",
        method="post",
        data={"name": "", "email": "x"},
    )
    assert response.status_code == 422
    assert 'id="name-error"' in response.text
    assert 'id="email-error"' in response.text
    edit = _page(
        client,
        spa.tenant,
        f"/staff/team/{spa.staff['Ben']}",
        method="post",
        data={"name": "Ben", "colour": "blue"},
    )
    assert edit.status_code == 422
    assert 'id="colour-error"' in edit.text


def test_team_page_deactivates(client) -> None:
    spa = seed_spa(client)
    ben = spa.staff["Ben"]
    response = _page(
        client,
        spa.tenant,
        f"/staff/team/{ben}",
        method="post",
        data={"name": "Ben", "colour": "#7a8b99", "bookable": "1"},
    )
    assert response.status_code == 303
    assert spa.tenant.get(f"/staff/{ben}").json()["active"] is False
    times = client.get(
        spa.tenant.api("/availability"),
        params={"service_id": spa.facial_id, "date": spa.day.isoformat()},
    ).json()["slots"]
    assert {slot["staff_name"] for slot in times} == {"Ava"}


def test_team_page_needs_manager(client) -> None:
    spa = seed_spa(client)
    desk = add_member(client, spa.tenant, Role.FRONT_DESK)
    # The desk may look at the team but gets no forms and may not save.
    response = _page(client, spa.tenant, "/staff/team", headers=desk)
    assert response.status_code == 200
    assert 'id="add-staff-form"' not in response.text
    saved = _page(
        client,
        spa.tenant,
        f"/staff/team/{spa.staff['Ava']}/hours",
        method="post",
        headers=desk,
        data={"hours_0": "09:00-10:00"},
    )
    assert saved.status_code == 403
    other = seed_spa(client)
    assert (
        _page(client, spa.tenant, f"/staff/team/{other.staff['Ava']}").status_code
        == 404
    )
