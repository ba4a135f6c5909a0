"""Class pages: the staff week, session and roll call, and public booking."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.class_studio import seed_studio
from tillbook.db.base import utcnow
from tillbook.kernel.schedule.tables import SchedulePolicy


def test_staff_schedule_roster_and_roll_call(client) -> None:
    studio = seed_studio(client, capacity=1)
    tenant = studio.tenant
    headers = {**tenant.headers, "Accept": "text/html"}
    session = studio.new_session()

    response = client.get(
        tenant.page("/staff/classes"), params={"week": session["date"]}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert "Vinyasa Flow" in response.text
    assert f"/staff/classes/{session['id']}" in response.text

    # A wall time on the week page's form becomes a session at that local time.
    local = (utcnow() + timedelta(days=4)).astimezone(tenant.scope.tenant.zone)
    response = client.post(
        tenant.page("/staff/classes"),
        data={
            "service_id": studio.service_id,
            "staff_id": studio.other_staff_id,
            "start_local": local.strftime("%Y-%m-%dT10:30"),
            "capacity": "5",
        },
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert "notice=" in response.headers["location"]

    # Four weekly sessions from one form.
    response = client.post(
        tenant.page("/staff/classes"),
        data={
            "service_id": studio.service_id,
            "staff_id": studio.other_staff_id,
            "start_local": local.strftime("%Y-%m-%dT07:00"),
            "weeks": "4",
        },
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Scheduled+4+weekly+sessions" in response.headers["location"]

    path = tenant.page(f"/staff/classes/{session['id']}")
    for first_name in ("Ann", "Bea"):
        response = client.post(
            f"{path}/book",
            data={"first_name": first_name, "email": f"{first_name}@example.com"},
            headers=headers,
            follow_redirects=False,
        )
        assert response.status_code == 303
    page = client.get(path, headers=headers)
    assert page.status_code == 200
    assert "Ann" in page.text
    assert "Bea" in page.text
    assert "1 on the waitlist" in page.text

    booked = next(row for row in studio.bookings() if row["status"] == "booked")
    response = client.post(
        f"{path}/roll-call",
        data={f"mark-{booked['id']}": "attended"},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "error" not in response.headers["location"]
    assert {row["status"] for row in studio.bookings()} == {"attended", "waitlisted"}

    response = client.post(
        f"{path}/book",
        data={"first_name": "", "email": "not-an-email"},
        headers=headers,
        follow_redirects=False,
    )
    assert "error=" in response.headers["location"]


def test_public_timetable_book_and_cancel(client) -> None:
    studio = seed_studio(client, capacity=1)
    tenant = studio.tenant
    tenant.run(tenant.scope.insert, SchedulePolicy(class_late_cancel_hours=1))
    session = studio.new_session()

    response = client.get(tenant.page("/classes"), params={"week": session["date"]})
    assert response.status_code == 200
    assert "Vinyasa Flow" in response.text
    assert "1 places left" in response.text

    path = tenant.page(f"/classes/{session['id']}")
    response = client.post(path, data={"first_name": "Mia", "email": "bad"})
    assert response.status_code == 422
    assert 'id="email-error"' in response.text

    response = client.post(
        path,
        data={"first_name": "Mia", "last_name": "Park", "email": "mia@example.com"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    place_url = response.headers["location"]
    assert "/classes/cancel/" in place_url
    page = client.get(place_url)
    assert "your place is booked" in page.text

    full = client.get(path)
    assert "Join the waitlist" in full.text
    mails = studio.mails_to_address("mia@example.com")
    assert any("/classes/cancel/" in row["text"] for row in mails)

    response = client.post(place_url)
    assert response.status_code == 200
    assert "Your place is cancelled" in response.text
    assert {row["status"] for row in studio.bookings()} == {"cancelled"}

    assert (
        client.get(tenant.page("/classes/cancel/no-such-token-at-all")).status_code
        == 404
    )
