"""Locations, opening hours, resources and service resources through the API."""

from __future__ import annotations

from typing import Any

from tests.integration.test_booking_setup import add_member
from tests.support import make_tenant
from tillbook.kernel.schedule.tables import Location, Resource
from tillbook.tenancy.roles import Role


def _location(tenant: Any, **fields: Any) -> dict[str, Any]:
    body = {"name": "Soho", "time_zone": "Europe/London", **fields}
    response = tenant.post("/locations", body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_location_crud_and_hours(client) -> None:
    tenant = make_tenant(client)
    [default] = tenant.get("/locations", params={"effective": "true"}).json()
    assert default["id"] is None
    assert default["effective_time_zone"] == "Europe/London"
    created = _location(tenant, address="1 Dean St", phone="+44 20 7946 0001")
    assert created["time_zone"] == "Europe/London"
    assert created["effective_time_zone"] == "Europe/London"
    assert created["hours"] == []

    hours = client.put(
        tenant.api(f"/locations/{created['id']}/hours"),
        headers=tenant.headers,
        json=[
            {"weekday": 0, "start": "09:00", "end": "12:00"},
            {"weekday": 0, "start": "13:00", "end": "17:00"},
            {"weekday": 4, "start": "18:00", "end": "02:00+1"},
        ],
    )
    assert hours.status_code == 200, hours.text
    shown = [(h["weekday"], h["start"], h["end"]) for h in hours.json()["hours"]]
    assert shown == [
        (0, "09:00", "12:00"),
        (0, "13:00", "17:00"),
        (4, "18:00", "02:00+1"),
    ]
    assert hours.json()["hours"][2]["end_minute"] == 26 * 60

    patched = tenant.patch(f"/locations/{created['id']}", {"time_zone": ""})
    assert patched.status_code == 200, patched.text
    assert patched.json()["effective_time_zone"] == "Europe/London"

    listing = tenant.get("/locations").json()
    assert [item["name"] for item in listing] == ["Soho"]

    gone = tenant.delete(f"/locations/{created['id']}")
    assert gone.status_code == 204, gone.text
    assert tenant.get(f"/locations/{created['id']}").status_code == 404


BAD_LOCATIONS = [
    ("unknown zone", {"name": "X", "time_zone": "Mars/Olympus"}, "time_zone"),
    ("missing name", {"time_zone": "Europe/Paris"}, "name"),
    ("zone not text", {"name": "X", "time_zone": 5}, "time_zone"),
    ("unknown field", {"name": "X", "colour": "red"}, "colour"),
    ("negative position", {"name": "X", "position": -1}, "position"),
]


def _check_bad_location_rejected(client: Any) -> None:
    tenant = make_tenant(client)
    for case, body, field in BAD_LOCATIONS:
        response = tenant.post("/locations", body)
        assert response.status_code == 422, case
        assert field in response.json()["errors"], case
    assert tenant.run(lambda: tenant.scope.select(Location)) == []


BAD_OPENING = [
    (
        "end before start",
        [{"weekday": 1, "start": "17:00", "end": "09:00"}],
        "hours[0].end",
    ),
    (
        "overlap",
        [
            {"weekday": 1, "start": "09:00", "end": "13:00"},
            {"weekday": 1, "start": "12:00", "end": "18:00"},
        ],
        "hours[1]",
    ),
    (
        "overnight overlaps next day",
        [
            {"weekday": 6, "start": "20:00", "end": "03:00+1"},
            {"weekday": 0, "start": "02:00", "end": "10:00"},
        ],
        "hours[1]",
    ),
    (
        "negative minutes",
        [{"weekday": 1, "start_minute": -30, "end": "10:00"}],
        "hours[0].start_minute",
    ),
    (
        "absurd minutes",
        [{"weekday": 1, "start": "09:00", "end_minute": 99999}],
        "hours[0].end_minute",
    ),
]


def _check_bad_opening_hours_rejected(client: Any) -> None:
    tenant = make_tenant(client)
    location = _location(tenant)
    for case, body, field in BAD_OPENING:
        response = client.put(
            tenant.api(f"/locations/{location['id']}/hours"),
            headers=tenant.headers,
            json=body,
        )
        assert response.status_code == 422, case
        assert field in response.json()["errors"], (case, response.json())
    assert tenant.get(f"/locations/{location['id']}").json()["hours"] == []


def _check_location_in_use_cannot_be_deleted(client: Any) -> None:
    tenant = make_tenant(client)
    location = _location(tenant)
    room = tenant.post(
        "/resources", {"name": "Room 1", "kind": "room", "location_id": location["id"]}
    )
    assert room.status_code == 201, room.text
    response = tenant.delete(f"/locations/{location['id']}")
    assert response.status_code == 409
    assert "resources" in response.json()["message"]


def test_resource_crud_and_service_requirements(client) -> None:
    tenant = make_tenant(client)
    chairs = tenant.post(
        "/resources", {"name": "Pedicure chair", "kind": "chair", "quantity": 2}
    )
    assert chairs.status_code == 201, chairs.text
    chair_id = chairs.json()["id"]
    service = tenant.post(
        "/catalog/services",
        {
            "name": "Pedicure",
            "duration_minutes": 45,
            "price": 3500,
            "resources": [{"resource_id": chair_id, "quantity": 1}],
        },
    )
    assert service.status_code == 201, service.text
    assert service.json()["resources"] == [{"resource_id": chair_id, "quantity": 1}]
    service_id = service.json()["id"]

    too_many = client.put(
        tenant.api(f"/catalog/services/{service_id}/resources"),
        headers=tenant.headers,
        json=[{"resource_id": chair_id, "quantity": 3}],
    )
    assert too_many.status_code == 422
    assert "resources" in too_many.json()["errors"]

    both = client.put(
        tenant.api(f"/catalog/services/{service_id}/resources"),
        headers=tenant.headers,
        json=[{"resource_id": chair_id, "quantity": 2}],
    )
    assert both.status_code == 200, both.text
    assert tenant.get(f"/catalog/services/{service_id}/resources").json() == [
        {"resource_id": chair_id, "quantity": 2}
    ]

    shrink = tenant.patch(f"/resources/{chair_id}", {"quantity": 1})
    assert shrink.status_code == 422
    assert "quantity" in shrink.json()["errors"]

    in_use = tenant.delete(f"/resources/{chair_id}")
    assert in_use.status_code == 409
    assert "Pedicure" in in_use.json()["message"]


BAD_RESOURCES = [
    ("unknown kind", {"name": "Sauna", "kind": "spaceship"}, "kind"),
    ("zero quantity", {"name": "Sauna", "quantity": 0}, "quantity"),
    ("absurd quantity", {"name": "Sauna", "quantity": 10**6}, "quantity"),
    ("unknown location", {"name": "Sauna", "location_id": "not-an-id"}, "location_id"),
]


def _check_bad_resource_rejected(client: Any) -> None:
    tenant = make_tenant(client)
    for case, body, field in BAD_RESOURCES:
        response = tenant.post("/resources", body)
        assert response.status_code == 422, case
        assert field in response.json()["errors"], case
    assert tenant.run(lambda: tenant.scope.select(Resource)) == []


def _check_other_tenants_location_rejected_on_resource(client: Any) -> None:
    ours = make_tenant(client)
    theirs = make_tenant(client)
    location = _location(theirs)
    response = ours.post("/resources", {"name": "Room", "location_id": location["id"]})
    assert response.status_code == 422
    assert "location_id" in response.json()["errors"]
    assert ours.get(f"/locations/{location['id']}").status_code == 404


def test_locations_need_manager_to_change(client) -> None:
    tenant = make_tenant(client)
    location = _location(tenant)
    for role in (Role.FRONT_DESK, Role.PROVIDER):
        headers = add_member(client, tenant, role)
        read = client.get(tenant.api("/locations"), headers=headers)
        assert read.status_code == 200
        write = client.post(
            tenant.api("/locations"), headers=headers, json={"name": "New"}
        )
        assert write.status_code == 403
        hours = client.put(
            tenant.api(f"/locations/{location['id']}/hours"), headers=headers, json=[]
        )
        assert hours.status_code == 403


def _form(client: Any, tenant: Any, path: str, data: dict[str, Any], **kw: Any) -> Any:
    headers = {"Accept": "text/html", **tenant.headers, **kw.pop("headers", {})}
    return client.post(
        tenant.page(path), headers=headers, data=data, follow_redirects=False
    )


def test_location_pages(client) -> None:
    tenant = make_tenant(client)
    page = client.get(
        tenant.page("/staff/locations"),
        headers={"Accept": "text/html", **tenant.headers},
    )
    assert page.status_code == 200
    assert 'id="no-locations"' in page.text

    bad = _form(
        client,
        tenant,
        "/staff/locations",
        {"name": "Soho", "time_zone": "Nowhere/Town"},
    )
    assert bad.status_code == 422
    assert 'id="error-time_zone"' in bad.text
    assert 'value="Nowhere/Town"' in bad.text
    added = _form(
        client,
        tenant,
        "/staff/locations",
        {"name": "Soho", "time_zone": "Europe/Paris", "active": "on"},
    )
    assert added.status_code == 303, added.text
    location = tenant.get("/locations").json()[0]
    assert location["time_zone"] == "Europe/Paris"

    path = f"/staff/locations/{location['id']}"
    overlap = _form(
        client, tenant, f"{path}/hours", {"hours_0": "09:00-13:00, 12:00-18:00"}
    )
    assert overlap.status_code == 422
    assert 'id="error-hours_0"' in overlap.text
    reversed_range = _form(client, tenant, f"{path}/hours", {"hours_1": "18:00-09:00"})
    assert reversed_range.status_code == 422
    assert 'id="error-hours_1"' in reversed_range.text
    hours = _form(client, tenant, f"{path}/hours", {"hours_4": "10:00-02:00+1"})
    assert hours.status_code == 303, hours.text
    assert (
        tenant.get(f"/locations/{location['id']}").json()["hours"][0]["end"]
        == "02:00+1"
    )
    renamed = _form(client, tenant, path, {"name": "", "time_zone": "Europe/Paris"})
    assert renamed.status_code == 422
    assert 'id="error-name"' in renamed.text

    bad_resource = _form(
        client,
        tenant,
        "/staff/resources",
        {"name": "Chair", "kind": "chair", "quantity": "0"},
    )
    assert bad_resource.status_code == 422
    assert 'id="error-quantity"' in bad_resource.text
    resource = _form(
        client,
        tenant,
        "/staff/resources",
        {
            "name": "Chair",
            "kind": "chair",
            "quantity": "2",
            "location_id": location["id"],
            "active": "on",
        },
    )
    assert resource.status_code == 303, resource.text
    assert tenant.get("/resources").json()[0]["location_id"] == location["id"]

    bad_closure = _form(
        client,
        tenant,
        "/staff/closures",
        {"first_day": "2030-01-09", "last_day": "2030-01-08"},
    )
    assert bad_closure.status_code == 422
    assert 'id="error-last_day"' in bad_closure.text
    closure = _form(
        client,
        tenant,
        "/staff/closures",
        {
            "first_day": "2030-01-08",
            "last_day": "2030-01-09",
            "reason": "Refit",
            "location_id": location["id"],
        },
    )
    assert closure.status_code == 200, closure.text
    assert 'id="affected"' in closure.text
    assert tenant.get("/closures").json()[0]["reason"] == "Refit"

    in_use = _form(client, tenant, f"{path}/delete", {})
    assert in_use.status_code == 409
    desk = add_member(client, tenant, Role.FRONT_DESK)
    assert (
        _form(
            client, tenant, "/staff/locations", {"name": "X"}, headers=desk
        ).status_code
        == 403
    )


def test_bad_location_inputs_rejected(client) -> None:
    """Each location, opening-hours and resource input is checked."""
    _check_bad_location_rejected(client)
    _check_bad_opening_hours_rejected(client)
    _check_bad_resource_rejected(client)


def test_location_links_checked(client) -> None:
    """Locations in use stay, and another tenant's location is unknown."""
    _check_location_in_use_cannot_be_deleted(client)
    _check_other_tenants_location_rejected_on_resource(client)
