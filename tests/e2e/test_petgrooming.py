"""A groomer checks two dogs in, logs their grooms and checks out on a phone.

Played through Debian's Chromium at 375 px wide against a real server: the
plugin's day list, the check-in and treatment-log page per pet, the kernel's
checkout with a cash tender, and the receipt with a report card per pet.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

PASSWORD = "clean paws 2026"
ZONE = ZoneInfo("Europe/London")
VACCINATIONS = [
    {"name": name, "expires_on": "2099-12-31"}
    for name in ("Rabies", "DHPP", "Bordetella")
]


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
    slug = f"paws-{secrets.token_hex(3)}"
    email = f"owner-{slug}@example.com"
    signup = httpx.post(
        f"{base}/api/v1/signup",
        json={
            "business_name": "Muddy Paws Grooming",
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
    api.call("PUT", "/plugins/petgrooming", 200, json={"enabled": True})
    gina = api.call("POST", "/staff", 201, json={"name": "Gina", "title": "Groomer"})
    api.call(
        "PUT",
        f"/staff/{gina['id']}/hours",
        200,
        json=[{"weekday": day, "start": "08:00", "end": "20:00"} for day in range(7)],
    )

    groom = api.call(
        "POST",
        "/catalog/services",
        201,
        json={
            "name": "Full groom",
            "duration_minutes": 60,
            "price": 4000,
            "tax_rate": "0",
            "provider_ids": [gina["id"]],
        },
    )

    client = api.call(
        "POST",
        "/clients",
        201,
        json={
            "first_name": "Hannah",
            "last_name": "Reed",
            "email": f"h-{slug}@example.com",
        },
    )

    pets = [
        api.call(
            "POST",
            f"/plugins/petgrooming/clients/{client['id']}/pets",
            201,
            json={
                "name": name,
                "breed": "Cockapoo",
                "size": size,
                "coat": "curly",
                "vaccinations": VACCINATIONS,
            },
        )
        for name, size in (("Biscuit", "small"), ("Crumpet", "medium"))
    ]

    day = datetime.now(ZONE).date() + timedelta(days=1)
    start = datetime.combine(day, time(10, 0), tzinfo=ZONE)
    appointment = api.call(
        "POST",
        "/appointments",
        201,
        json={
            "client_id": client["id"],
            "service_id": groom["id"],
            "staff_id": gina["id"],
            "start": start.isoformat(),
            "fields": {"petgrooming.pet_id": pets[0]["id"]},
        },
    )
    api.call(
        "POST",
        f"/plugins/petgrooming/appointments/{appointment['id']}/visits",
        201,
        json={"pet_id": pets[1]["id"]},
    )
    return {
        "slug": slug,
        "email": email,
        "api": api,
        "day": day,
        "appointment_id": appointment["id"],
    }


def _fits_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide on a 375 px screen"


def test_check_in_log_and_checkout_on_phone(live_server: Any, phone: Any) -> None:
    seeded = _seed(live_server.url)
    slug = seeded["slug"]
    base = f"{live_server.url}/t/{slug}/staff"
    page = phone.new_page()
    page.goto(f"{base}/login")
    page.fill("#email", seeded["email"])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")

    # The day list leads to the appointment with both dogs on it.
    page.goto(f"{base}/plugins/petgrooming/today?date={seeded['day'].isoformat()}")
    _fits_phone(page)
    page.click("a:has-text('Full groom')")
    page.wait_for_selector("h2:has-text('Biscuit')")
    assert page.locator("h2:has-text('Crumpet')").count() == 1
    _fits_phone(page)

    # Check each dog in, then log Biscuit's groom.
    page.click("button:has-text('Check in Biscuit')")
    page.click("button:has-text('Check in Crumpet')")
    biscuit = page.locator("section.pet", has_text="Biscuit")
    biscuit.locator("input[name=services_done]").fill("Bath, full clip, nails")
    biscuit.locator("input[name=products_used]").fill("Oatmeal shampoo")
    biscuit.locator("textarea[name=notes]").fill("Matting behind ears")
    biscuit.locator("input[name=finished]").check()
    biscuit.locator("button:has-text('Save')").click()
    page.wait_for_selector("textarea:has-text('Matting behind ears')")
    assert page.locator("section.pet .done").count() == 2
    _fits_phone(page)

    # Checkout is the kernel's page, reached from the same flow.
    page.click("#checkout")
    page.wait_for_selector("#close-form")
    _fits_phone(page)
    checkout_text = page.inner_text("body")
    assert "Biscuit: Matting behind ears" in checkout_text
    assert "Crumpet: the treatment log is empty" in checkout_text
    due = page.inner_text("#remaining").replace("£", "").strip()
    page.fill("#cash_amount", due)
    page.click("button:has-text('Close ticket')")
    page.wait_for_load_state()

    api: Api = seeded["api"]
    visits = api.call(
        "GET",
        f"/plugins/petgrooming/appointments/{seeded['appointment_id']}/visits",
        200,
    )
    logged = {visit["pet"]["name"]: visit for visit in visits}
    assert logged["Biscuit"]["notes"] == "Matting behind ears"
    assert logged["Biscuit"]["finished_at"]
    assert logged["Crumpet"]["checked_in_at"]
    appointment = api.call("GET", f"/appointments/{seeded['appointment_id']}", 200)
    ticket_id = appointment.get("ticket_id")
    assert ticket_id, appointment
    receipt = api.http.get(f"/tickets/{ticket_id}/receipt")
    assert receipt.status_code == 200, receipt.text
    assert "Biscuit&#39;s report card" in receipt.text
    assert "Oatmeal shampoo" in receipt.text
    assert "Crumpet&#39;s report card" in receipt.text
