"""Text with a NUL character, which PostgreSQL cannot store in a text column."""

from __future__ import annotations

from tests.support import make_tenant


def test_location_name_with_nul_is_422(client) -> None:
    tenant = make_tenant(client)

    response = tenant.post("/locations", {"name": "Main\x00Street"})

    assert response.status_code == 422, response.text
    assert "name" in response.json()["errors"], response.text
    assert tenant.get("/locations").json() == []


def test_nul_in_form_field_or_query_is_422(client) -> None:
    tenant = make_tenant(client)

    form = client.post(
        tenant.page("/staff/locations"),
        content=b"name=Main%00Street",
        headers={
            **tenant.headers,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    query = tenant.get("/clients", params={"q": "Ada\x00"})

    assert form.status_code == 422, form.text
    assert "name" in form.json()["errors"], form.text
    assert query.status_code == 422, query.text
    assert tenant.get("/locations").json() == []
