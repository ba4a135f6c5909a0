"""An instructor takes the roll call of a yoga class on a phone.

Played through Debian's Chromium at 375 px wide against a real server: the
plugin's list of the day's classes, the roll call with each attendee's
visits, credits and notes, and attended and no-show marks made through the
kernel's roll call.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

PASSWORD = "sun salutation 2026"
ZONE = ZoneInfo("Europe/London")


class Api:
    """A small JSON client for seeding a tenant through the public API."""

    def __init__(self, base: str, slug: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{base}/t/{slug}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == expect, (path, response.text)
        return response.json() if response.content else None


def _seed(base: str) -> dict[str, Any]:
    slug = f"lotus-{secrets.token_hex(3)}"
    email = f"owner-{slug}@example.com"
    signup = httpx.post(
        f"{base}/api/v1/signup",
        json={
            "business_name": "Lotus Yoga Studio",
            "slug": slug,
            "email": email,
            "password": PASSWORD,
            "owner_name": "Olive Owner",
            "time_zone": "Europe/London",
            "currency": "GBP",
        },
        timeout=30,
    )
    assert signup.status_code == 201, signup.text

    api = Api(base, slug, signup.json()["token"])
    api.call("PUT", "/plugins/fitness", 200, json={"enabled": True})
    iris = api.call("POST", "/staff", 201, json={"name": "Iris", "title": "Instructor"})

    flow = api.call(
        "POST",
        "/catalog/services",
        201,
        json={
            "name": "Vinyasa Flow",
            "kind": "class",
            "capacity": 12,
            "duration_minutes": 60,
            "price": 1500,
            "tax_rate": "0",
            "provider_ids": [iris["id"]],
        },
    )

    day = datetime.now(ZONE).date() + timedelta(days=1)
    session = api.call(
        "POST",
        "/classes/sessions",
        201,
        json={
            "service_id": flow["id"],
            "staff_id": iris["id"],
            "start": datetime.combine(day, time(7, 0), tzinfo=ZONE).isoformat(),
        },
    )

    clients = {}
    for first, notes in (("Mira", "Knee injury: no deep lunges"), ("Noor", "")):
        row = api.call(
            "POST",
            "/clients",
            201,
            json={
                "first_name": first,
                "last_name": "Stone",
                "email": f"{first.lower()}-{slug}@example.com",
                "notes": notes,
            },
        )
        api.call(
            "POST",
            f"/plugins/fitness/clients/{row['id']}/passes",
            201,
            json={
                "kind": "pack",
                "name": "5-class pack",
                "credits": 5,
                "valid_days": 60,
            },
        )
        place = api.call(
            "POST",
            f"/classes/sessions/{session['id']}/bookings",
            201,
            json={"client_id": row["id"]},
        )
        clients[first] = {"id": row["id"], "booking_id": place["id"]}
    return {
        "slug": slug,
        "email": email,
        "api": api,
        "day": day,
        "session_id": session["id"],
        "clients": clients,
    }


def _fits_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide on a 375 px screen"


def test_roll_call_on_phone(live_server: Any, phone: Any) -> None:
    seeded = _seed(live_server.url)
    base = f"{live_server.url}/t/{seeded['slug']}/staff"
    page = phone.new_page()
    page.goto(f"{base}/login")
    page.fill("#email", seeded["email"])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")

    page.goto(f"{base}/plugins/fitness/today?date={seeded['day'].isoformat()}")
    _fits_phone(page)
    page.click("a:has-text('Vinyasa Flow')")
    page.wait_for_selector("h2:has-text('Mira Stone')")
    _fits_phone(page)

    mira = page.locator("section.attendee", has_text="Mira Stone")
    assert "Knee injury: no deep lunges" in mira.inner_text()
    assert "0 visits" in mira.inner_text()
    assert "4 credits" in mira.inner_text()

    mira.locator("button:has-text('Attended')").click()
    page.wait_for_selector("section.attendee.attended:has-text('Mira Stone')")
    noor = page.locator("section.attendee", has_text="Noor Stone")
    noor.locator("button:has-text('No-show')").click()
    page.wait_for_selector("section.attendee.no_show:has-text('Noor Stone')")
    mira = page.locator("section.attendee", has_text="Mira Stone")
    assert "1 visit" in mira.inner_text()
    _fits_phone(page)

    api: Api = seeded["api"]
    roll = api.call(
        "GET", f"/plugins/fitness/sessions/{seeded['session_id']}/roll", 200
    )
    marks = {person["name"]: person["status"] for person in roll["attendees"]}
    assert marks == {"Mira Stone": "attended", "Noor Stone": "no_show"}
    noor_balance = api.call(
        "GET", f"/plugins/fitness/clients/{seeded['clients']['Noor']['id']}/passes", 200
    )
    assert noor_balance["credits"] == 4
