"""Public booking API: a start of the wrong type is named as invalid, not missing."""

from __future__ import annotations

from tests.integration.test_booking_setup import seed_spa


def test_booking_start_wrong_type_named(client) -> None:
    spa = seed_spa(client)
    for start in (1700000000, ["2027-01-05T10:00:00Z"], {"at": "10:00"}, True):
        response = client.post(
            spa.tenant.api("/bookings"), json=spa.booking(start=start)
        )
        assert response.status_code == 422, (start, response.text)
        message = response.json()["errors"]["start"]
        assert "is required" not in message, (start, message)
        assert "ISO 8601" in message, (start, message)
    assert spa.appointments() == []


def test_booking_start_missing_still_required(client) -> None:
    spa = seed_spa(client)
    for start in (None, "", "  "):
        response = client.post(
            spa.tenant.api("/bookings"), json=spa.booking(start=start)
        )
        assert response.status_code == 422, (start, response.text)
        assert "is required" in response.json()["errors"]["start"], response.text
    assert spa.appointments() == []
