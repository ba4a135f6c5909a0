"""Service timing through the catalog API and the service forms."""

from __future__ import annotations

from typing import Any

from tests.support import make_tenant
from tillbook.kernel.catalog.tables import Service

HTML = {"Accept": "text/html"}
COLOUR = {
    "name": "Colour and gloss",
    "duration_minutes": 120,
    "price": 9500,
    "buffer_before_minutes": 5,
    "buffer_after_minutes": 10,
    "processing_after_minutes": 30,
    "processing_minutes": 45,
    "granularity_minutes": 30,
    "min_notice_minutes": 240,
    "max_advance_days": 90,
    "deposit": 2000,
    "online": False,
}


def _check_service_timing_round_trip(client: Any) -> None:
    tenant = make_tenant(client)
    staff = tenant.post("/staff", {"name": "Rae"}).json()
    created = tenant.post(
        "/catalog/services",
        {
            **COLOUR,
            "provider_ids": [staff["id"]],
            "provider_overrides": [
                {"staff_id": staff["id"], "duration_minutes": 100, "price": 11000}
            ],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    for key, value in COLOUR.items():
        assert body[key] == value, key
    assert body["kind"] == "appointment"
    assert body["capacity"] == 1
    assert body["provider_overrides"] == [
        {"staff_id": staff["id"], "duration_minutes": 100, "price": 11000}
    ]

    # Changing only the providers keeps a remaining provider's override.
    kept = tenant.patch(
        f"/catalog/services/{body['id']}", {"provider_ids": [staff["id"]]}
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["provider_overrides"][0]["price"] == 11000

    cleared = tenant.patch(
        f"/catalog/services/{body['id']}",
        {"processing_after_minutes": None, "processing_minutes": 0},
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["processing_after_minutes"] is None


def _check_class_service_with_capacity(client: Any) -> None:
    tenant = make_tenant(client)
    response = tenant.post(
        "/catalog/services",
        {
            "name": "Vinyasa",
            "duration_minutes": 60,
            "price": 1500,
            "kind": "class",
            "capacity": 12,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["capacity"] == 12


BASE = {"name": "Cut", "duration_minutes": 60, "price": 4000}
BAD_TIMING = [
    ("unknown kind", {"kind": "webinar"}, "kind"),
    ("negative buffer", {"buffer_before_minutes": -5}, "buffer_before_minutes"),
    ("absurd buffer", {"buffer_after_minutes": 100000}, "buffer_after_minutes"),
    (
        "gap past the end",
        {"processing_after_minutes": 40, "processing_minutes": 30},
        "processing_minutes",
    ),
    (
        "gap starts after the end",
        {"processing_after_minutes": 70, "processing_minutes": 10},
        "processing_after_minutes",
    ),
    (
        "gap length without start",
        {"processing_minutes": 20},
        "processing_after_minutes",
    ),
    (
        "gap too short",
        {"processing_after_minutes": 10, "processing_minutes": 2},
        "processing_minutes",
    ),
    (
        "granularity not dividing a day",
        {"granularity_minutes": 7},
        "granularity_minutes",
    ),
    ("granularity zero", {"granularity_minutes": 0}, "granularity_minutes"),
    ("negative notice", {"min_notice_minutes": -1}, "min_notice_minutes"),
    ("absurd advance", {"max_advance_days": 100000}, "max_advance_days"),
    ("deposit above price", {"deposit": 5000}, "deposit"),
    ("negative deposit", {"deposit": -1}, "deposit"),
    ("capacity on appointment", {"capacity": 4}, "capacity"),
    ("zero capacity", {"kind": "class", "capacity": 0}, "capacity"),
    ("online not bool", {"online": "yes"}, "online"),
    ("resources not a list", {"resources": "room"}, "resources"),
    (
        "unknown resource",
        {"resources": [{"resource_id": "00000000-0000-0000-0000-000000000001"}]},
        "resources",
    ),
    (
        "override for non-provider",
        {
            "provider_overrides": [
                {
                    "staff_id": "00000000-0000-0000-0000-000000000001",
                    "price": 100,
                }
            ]
        },
        "provider_overrides",
    ),
    (
        "override duration absurd",
        {
            "provider_overrides": [
                {
                    "staff_id": "00000000-0000-0000-0000-000000000001",
                    "duration_minutes": 9999,
                }
            ]
        },
        "provider_overrides",
    ),
]


def _check_bad_timing_rejected(client: Any) -> None:
    tenant = make_tenant(client)
    for case, changes, field in BAD_TIMING:
        response = tenant.post("/catalog/services", {**BASE, **changes})
        assert response.status_code == 422, case
        assert field in response.json()["errors"], (case, response.json())
    assert tenant.run(lambda: tenant.scope.select(Service)) == []


def _check_update_checks_gap_against_stored_duration(client: Any) -> None:
    tenant = make_tenant(client)
    created = tenant.post(
        "/catalog/services",
        {**BASE, "processing_after_minutes": 20, "processing_minutes": 20},
    ).json()
    shorter = tenant.patch(
        f"/catalog/services/{created['id']}", {"duration_minutes": 30}
    )
    assert shorter.status_code == 422
    assert "processing_minutes" in shorter.json()["errors"]
    assert (
        tenant.get(f"/catalog/services/{created['id']}").json()["duration_minutes"]
        == 60
    )


def _page_post(client: Any, tenant: Any, path: str, data: dict[str, Any]) -> Any:
    return client.post(
        tenant.page(path),
        headers={**HTML, **tenant.headers},
        data=data,
        follow_redirects=False,
    )


def test_service_form_saves_timing(client) -> None:
    tenant = make_tenant(client)
    staff = tenant.post("/staff", {"name": "Rae"}).json()
    room = tenant.post("/resources", {"name": "Colour bar", "quantity": 2}).json()
    created = tenant.post("/catalog/services", BASE).json()
    path = f"/staff/catalog/services/{created['id']}"
    form = {
        "name": "Cut",
        "duration_minutes": "90",
        "price": "40.00",
        "active": "on",
        "kind": "appointment",
        "capacity": "1",
        "buffer_before_minutes": "",
        "buffer_after_minutes": "15",
        "processing_after_minutes": "30",
        "processing_minutes": "20",
        "granularity_minutes": "",
        "min_notice_minutes": "120",
        "max_advance_days": "",
        "deposit": "10.00",
        "online_shown": "1",
        "provider_ids": [staff["id"]],
        f"override_duration-{staff['id']}": "75",
        f"override_price-{staff['id']}": "45.00",
        f"resource-{room['id']}": "1",
    }
    response = _page_post(client, tenant, path, form)
    assert response.status_code == 303, response.text
    stored = tenant.get(f"/catalog/services/{created['id']}").json()
    assert stored["buffer_after_minutes"] == 15
    assert stored["processing_after_minutes"] == 30
    assert stored["min_notice_minutes"] == 120
    assert stored["granularity_minutes"] is None
    assert stored["deposit"] == 1000
    assert stored["online"] is False
    assert stored["resources"] == [{"resource_id": room["id"], "quantity": 1}]
    assert stored["provider_overrides"] == [
        {"staff_id": staff["id"], "duration_minutes": 75, "price": 4500}
    ]

    page = client.get(tenant.page(path), headers={**HTML, **tenant.headers})
    assert page.status_code == 200
    assert 'name="processing_after_minutes"' in page.text
    assert 'value="45.00"' in page.text


BAD_FORMS = [
    (
        {"processing_after_minutes": "50", "processing_minutes": "30"},
        "processing_minutes",
    ),
    ({"buffer_before_minutes": "-5"}, "buffer_before_minutes"),
    ({"granularity_minutes": "7"}, "granularity_minutes"),
    ({"deposit": "999.00"}, "deposit"),
    ({"min_notice_minutes": "soon"}, "min_notice_minutes"),
]


def test_service_form_rejects_bad_timing(client) -> None:
    tenant = make_tenant(client)
    created = tenant.post("/catalog/services", BASE).json()
    path = f"/staff/catalog/services/{created['id']}"
    for changes, field in BAD_FORMS:
        form = {"name": "Cut", "duration_minutes": "60", "price": "40.00", **changes}
        response = _page_post(client, tenant, path, form)
        assert response.status_code == 422, field
        assert f'id="error-{field}"' in response.text, field
    assert tenant.get(f"/catalog/services/{created['id']}").json() == created


def test_service_timing_stored(client) -> None:
    """Timing, class capacity and overrides round-trip."""
    _check_service_timing_round_trip(client)
    _check_class_service_with_capacity(client)


def test_service_timing_checked(client) -> None:
    """Bad timing is named on create and on update."""
    _check_bad_timing_rejected(client)
    _check_update_checks_gap_against_stored_duration(client)
