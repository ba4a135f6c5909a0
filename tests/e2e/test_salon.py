"""A stylist records and corrects a client's colour formula from a phone.

Played through Debian's Chromium at 375 px wide against a real server: the
client page shows the salon's formula panel, its link opens the plugin's
formula page, and the saved formula, then its correction, show on both.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

PASSWORD = "foils and toner 2026"


def _call(
    http: httpx.Client, method: str, path: str, expect: int, **kwargs: Any
) -> Any:
    response = http.request(method, path, **kwargs)
    assert response.status_code == expect, (path, response.text)
    return response.json() if response.content else None


def _seed(base: str) -> dict[str, Any]:
    slug = f"salon-{secrets.token_hex(3)}"
    email = f"owner-{slug}@example.com"
    signup = httpx.post(
        f"{base}/api/v1/signup",
        json={
            "business_name": "Marlowe Hair Studio",
            "slug": slug,
            "email": email,
            "password": PASSWORD,
            "owner_name": "Priya Shah",
            "time_zone": "Europe/London",
            "currency": "GBP",
        },
        timeout=30,
    )
    assert signup.status_code == 201, signup.text
    http = httpx.Client(
        base_url=f"{base}/t/{slug}/api/v1",
        headers={"Authorization": f"Bearer {signup.json()['token']}"},
        timeout=30,
    )
    _call(http, "PUT", "/plugins/salon", 200, json={"enabled": True})
    stylist = _call(http, "POST", "/staff", 201, json={"name": "Ellie Brandt"})
    client = _call(
        http,
        "POST",
        "/clients",
        201,
        json={
            "first_name": "Rosa",
            "last_name": "Marchetti",
            "email": f"rosa-{slug}@example.com",
        },
    )
    return {"slug": slug, "email": email, "client": client, "stylist": stylist}


def test_salon_formula_from_phone(live_server, phone) -> None:
    seeded = _seed(live_server.url)
    base = f"{live_server.url}/t/{seeded['slug']}/staff"
    page = phone.new_page()

    page.goto(f"{base}/login")
    page.fill("#email", seeded["email"])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.goto(f"{base}/clients/{seeded['client']['id']}")
    panel = page.locator("#salon-formulas")
    assert "No colour formula recorded yet." in panel.inner_text()

    page.click("#salon-formulas-edit")
    page.fill("#formula", "5.0 40g + 5.3 10g")
    page.fill("#developer", "20 vol (6%)")
    page.fill("#processing_minutes", "35")
    page.select_option("#staff_id", label="Ellie Brandt")
    page.fill("#notes", "Patch test done 3 days before.")
    page.click("#save-formula")

    assert page.locator("#notice").inner_text() == "Formula saved."
    history = page.locator("#formula-history")
    assert "5.0 40g + 5.3 10g" in history.inner_text()
    assert "Ellie Brandt" in history.inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375

    history.locator("summary:has-text('Edit')").first.click()
    history.locator("textarea[name=formula]").first.fill("5.0 45g + 5.3 10g")
    history.locator("button:has-text('Save changes')").first.click()
    assert "5.0 45g + 5.3 10g" in page.locator("#formula-history").inner_text()

    page.click("#back-to-client")
    panel_text = page.locator("#salon-formulas").inner_text()
    assert "5.0 45g + 5.3 10g" in panel_text
    assert "35 min" in panel_text
    assert "5.0 40g" not in panel_text
