"""The fitness plugin: class credits and memberships through the kernel's class
roster, late cancellation and no-show rules, the roll call and instructor pay."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.plugins.shops import (
    add_client,
    add_service,
    add_staff,
    call_hook,
    configure,
    hooks_of,
    local_instant,
    plugin_tenant,
)
from tests.support import TenantHandle
from tillbook.db.base import utcnow
from tillbook.errors import ValidationFailed
from tillbook.kernel.schedule.class_roster import book_place, cancel_place, roll_call
from tillbook.kernel.schedule.tables import ClassBooking, ClassSession

PLUGIN = "fitness"


def _studio(client: Any, plugin: str | None = PLUGIN) -> dict[str, Any]:
    tenant = plugin_tenant(client, plugin)
    instructor = add_staff(tenant, "Iris", "Instructor")
    return {
        "tenant": tenant,
        "instructor": instructor,
        "yoga": add_service(tenant, "Vinyasa Flow", 60, 1500, [instructor], "class"),
        "client": add_client(tenant, "Mira", "Stone"),
    }


def _session(
    studio: dict[str, Any], start: datetime, capacity: int = 12, staff: str = ""
) -> str:
    tenant: TenantHandle = studio["tenant"]
    row = ClassSession(
        service_id=uuid.UUID(studio["yoga"]),
        staff_id=uuid.UUID(staff or studio["instructor"]),
        start_at=start,
        end_at=start + timedelta(hours=1),
        capacity=capacity,
        created_at=utcnow(),
    )
    tenant.run(tenant.scope.insert, row)
    return str(row.id)


def _pass(studio: dict[str, Any], client_id: str, **values: Any) -> dict[str, Any]:
    tenant: TenantHandle = studio["tenant"]
    response = tenant.post(f"/plugins/{PLUGIN}/clients/{client_id}/passes", values)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _pack(studio: dict[str, Any], client_id: str, credits: int) -> dict[str, Any]:
    return _pass(
        studio,
        client_id,
        kind="pack",
        name=f"{credits}-class pack",
        credits=credits,
        valid_days=90,
    )


def _balance(studio: dict[str, Any], client_id: str) -> dict[str, Any]:
    tenant: TenantHandle = studio["tenant"]
    response = tenant.get(f"/plugins/{PLUGIN}/clients/{client_id}/passes")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _book(studio: dict[str, Any], session_id: str, client_id: str) -> dict:
    tenant: TenantHandle = studio["tenant"]
    hooks = hooks_of(tenant)
    return tenant.run(  # type: ignore[no-any-return]
        lambda: book_place(
            tenant.scope, session_id, client=uuid.UUID(client_id), hooks=hooks
        )
    )


def _cancel(studio: dict[str, Any], booking_id: str) -> dict:
    tenant: TenantHandle = studio["tenant"]
    hooks = hooks_of(tenant)
    return tenant.run(  # type: ignore[no-any-return]
        lambda: cancel_place(tenant.scope, booking_id, hooks=hooks)
    )


def _mark(studio: dict[str, Any], session_id: str, marks: dict[str, str]) -> dict:
    tenant: TenantHandle = studio["tenant"]
    hooks = hooks_of(tenant)
    return tenant.run(  # type: ignore[no-any-return]
        lambda: roll_call(tenant.scope, session_id, marks, hooks=hooks)
    )


def _places(studio: dict[str, Any]) -> list[dict[str, Any]]:
    tenant: TenantHandle = studio["tenant"]
    return tenant.run(lambda: tenant.scope.select(ClassBooking))  # type: ignore[no-any-return]


def _check_booking_spends_and_free_cancel_refunds(client: Any) -> None:
    studio = _studio(client)
    _pack(studio, studio["client"], 2)
    session = _session(studio, local_instant(studio["tenant"], 3, "18:00"))

    place = _book(studio, session, studio["client"])
    assert place["status"] == "booked"
    assert _balance(studio, studio["client"])["credits"] == 1

    _cancel(studio, place["id"])
    assert _balance(studio, studio["client"])["credits"] == 2


def _check_booking_without_credit_rolls_back(client: Any) -> None:
    studio = _studio(client)
    session = _session(studio, local_instant(studio["tenant"], 3, "18:00"))
    with pytest.raises(ValidationFailed) as caught:
        _book(studio, session, studio["client"])
    assert "client_id" in caught.value.errors
    assert "Mira Stone" in caught.value.errors["client_id"]
    assert _places(studio) == []


def _check_expired_pack_does_not_pay(client: Any) -> None:
    studio = _studio(client)
    today = local_instant(studio["tenant"], 0, "12:00").date()
    _pass(
        studio,
        studio["client"],
        kind="pack",
        name="Old pack",
        credits=5,
        expires_on=(today + timedelta(days=1)).isoformat(),
    )
    session = _session(studio, local_instant(studio["tenant"], 3, "18:00"))
    with pytest.raises(ValidationFailed):
        _book(studio, session, studio["client"])


def _check_weekly_membership_limits_classes(client: Any) -> None:
    studio = _studio(client)
    _pass(
        studio,
        studio["client"],
        kind="membership",
        name="Once a week",
        period="week",
        classes_per_period=1,
    )
    monday = local_instant(studio["tenant"], 7, "07:00")
    monday -= timedelta(days=monday.weekday())
    first = _session(studio, monday)
    second = _session(studio, monday + timedelta(days=2))
    next_week = _session(studio, monday + timedelta(days=7))

    _book(studio, first, studio["client"])
    with pytest.raises(ValidationFailed):
        _book(studio, second, studio["client"])
    assert _book(studio, next_week, studio["client"])["status"] == "booked"


def _check_unlimited_membership_keeps_pack(client: Any) -> None:
    studio = _studio(client)
    _pass(studio, studio["client"], kind="membership", name="Unlimited", period="month")
    pack = _pack(studio, studio["client"], 3)
    for day in (2, 3, 4):
        session = _session(studio, local_instant(studio["tenant"], day, "18:00"))
        _book(studio, session, studio["client"])
    summary = _balance(studio, studio["client"])
    assert summary["unlimited"] is True
    packs = [item for item in summary["passes"] if item["id"] == pack["id"]]
    assert packs[0]["credits_left"] == 3


def _check_late_cancel_forfeits_credit(client: Any) -> None:
    studio = _studio(client)
    _pack(studio, studio["client"], 2)
    soon = utcnow() + timedelta(hours=2)
    session = _session(studio, soon)
    place = _book(studio, session, studio["client"])
    cancelled = _cancel(studio, place["id"])
    assert cancelled["status"] == "late_cancelled"
    assert _balance(studio, studio["client"])["credits"] == 1


def _check_late_cancel_fee_rule_refunds_and_charges(client: Any) -> None:
    studio = _studio(client)
    settings = {"late_cancel_rule": "charge_fee", "late_cancel_fee": 700}
    assert configure(studio["tenant"], PLUGIN, settings).status_code == 200
    _pack(studio, studio["client"], 2)
    session = _session(studio, utcnow() + timedelta(hours=2))
    place = _book(studio, session, studio["client"])
    _cancel(studio, place["id"])
    summary = _balance(studio, studio["client"])
    assert summary["credits"] == 2
    assert [(fee["reason"], fee["amount"]) for fee in summary["fees_owed"]] == [
        ("late_cancel", 700)
    ]


def _check_no_show_forfeits_and_correction_restores(client: Any) -> None:
    studio = _studio(client)
    settings = {"no_show_rule": "charge_fee", "no_show_fee": 1000}
    assert configure(studio["tenant"], PLUGIN, settings).status_code == 200
    _pack(studio, studio["client"], 3)
    session = _session(studio, local_instant(studio["tenant"], 1, "18:00"))
    place = _book(studio, session, studio["client"])

    _mark(studio, session, {place["id"]: "no_show"})
    summary = _balance(studio, studio["client"])
    assert summary["credits"] == 3
    assert [fee["amount"] for fee in summary["fees_owed"]] == [1000]

    _mark(studio, session, {place["id"]: "attended"})
    summary = _balance(studio, studio["client"])
    assert summary["credits"] == 2
    assert summary["fees_owed"] == []


def _check_promotion_spends_promoted_clients_credit(client: Any) -> None:
    studio = _studio(client)
    other = add_client(studio["tenant"], "Noor", "Hale")
    _pack(studio, studio["client"], 1)
    _pack(studio, other, 1)
    session = _session(studio, local_instant(studio["tenant"], 3, "18:00"), capacity=1)
    first = _book(studio, session, studio["client"])
    waiting = _book(studio, session, other)
    assert waiting["status"] == "waitlisted"
    assert _balance(studio, other)["credits"] == 1

    result = _cancel(studio, first["id"])
    assert [row["client_id"] for row in result["promoted"]] == [other]
    assert _balance(studio, other)["credits"] == 0
    assert _balance(studio, studio["client"])["credits"] == 1


def _check_roll_call_shows_visits_credits_notes(client: Any) -> None:
    studio = _studio(client)
    tenant: TenantHandle = studio["tenant"]
    tenant.patch(f"/clients/{studio['client']}", {"notes": "Knee injury: no lunges"})
    _pack(studio, studio["client"], 5)
    past = _session(studio, local_instant(tenant, 1, "07:00"))
    place = _book(studio, past, studio["client"])
    _mark(studio, past, {place["id"]: "attended"})
    session = _session(studio, local_instant(tenant, 2, "07:00"))
    _book(studio, session, studio["client"])

    response = tenant.get(f"/plugins/{PLUGIN}/sessions/{session}/roll")
    assert response.status_code == 200, response.text
    roll = response.json()
    assert roll["service"] == "Vinyasa Flow"
    assert roll["instructor"] == "Iris"
    [attendee] = roll["attendees"]
    assert attendee["name"] == "Mira Stone"
    assert attendee["visits"] == 1
    assert attendee["credits"] == 3
    assert attendee["client_notes"] == "Knee injury: no lunges"


def _check_payroll_section_pays_class_and_attendee(client: Any) -> None:
    studio = _studio(client)
    tenant: TenantHandle = studio["tenant"]
    settings = {"pay_per_class": 3000, "pay_per_attendee": 250}
    assert configure(tenant, PLUGIN, settings).status_code == 200
    other = add_client(tenant, "Noor", "Hale")
    for client_id in (studio["client"], other):
        _pack(studio, client_id, 5)
    first = _session(studio, local_instant(tenant, 1, "07:00"))
    second = _session(studio, local_instant(tenant, 1, "18:00"))
    marks: dict[str, dict[str, str]] = {first: {}, second: {}}
    for client_id in (studio["client"], other):
        marks[first][_book(studio, first, client_id)["id"]] = "attended"
    marks[second][_book(studio, second, other)["id"]] = "no_show"
    for session_id, session_marks in marks.items():
        _mark(studio, session_id, session_marks)

    day = local_instant(tenant, 1, "07:00").date()
    sections = call_hook(
        tenant,
        "tillbook_report_sections",
        report="payroll",
        first_day=day,
        last_day=day,
    )
    [section] = [item for result in sections for item in result]
    assert section["columns"][-1] == "Pay (minor units)"
    assert section["rows"] == [["Iris", 2, 2, 2 * 3000 + 2 * 250]]
    daily = call_hook(
        tenant, "tillbook_report_sections", report="daily", first_day=day, last_day=day
    )
    assert all(result == [] for result in daily)

    report = tenant.get(
        "/reports/payroll", params={"from": day.isoformat(), "to": day.isoformat()}
    )
    assert report.status_code == 200, report.text
    titles = [section["title"] for section in report.json()["sections"]]
    assert titles == ["Instructor pay for classes"]


def _check_bad_settings_name_the_setting(client: Any) -> None:
    tenant = _studio(client)["tenant"]
    cases = [
        ({"towel_fee": 100}, "towel_fee"),
        ({"late_cancel_rule": "shrug"}, "late_cancel_rule"),
        ({"no_show_fee": -100}, "no_show_fee"),
        ({"no_show_rule": "charge_fee", "no_show_fee": 0}, "no_show_fee"),
    ]
    for settings, name in cases:
        response = configure(tenant, PLUGIN, settings)
        assert response.status_code == 422, (settings, response.text)
        assert name in response.json()["errors"], (settings, response.text)


def _check_bad_pass_rejected_by_field(client: Any) -> None:
    studio = _studio(client)
    tenant: TenantHandle = studio["tenant"]
    url = f"/plugins/{PLUGIN}/clients/{studio['client']}/passes"
    response = tenant.post(url, {"kind": "pack", "name": "", "credits": 0})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "name" in errors
    assert "credits" in errors
    assert "valid_days" in errors
    response = tenant.post(url, {"kind": "membership", "name": "M", "period": "day"})
    assert response.status_code == 422
    assert "period" in response.json()["errors"]


def _check_disabled_tenant_books_without_passes(client: Any) -> None:
    enabled = _studio(client)
    _pack(enabled, enabled["client"], 1)
    plain = _studio(client, plugin=None)
    session = _session(plain, local_instant(plain["tenant"], 3, "18:00"))
    assert _book(plain, session, plain["client"])["status"] == "booked"
    tenant: TenantHandle = plain["tenant"]
    url = f"/plugins/{PLUGIN}/clients/{plain['client']}/passes"
    assert tenant.get(url).status_code == 404
    page = tenant.client.get(
        tenant.page(f"/staff/plugins/{PLUGIN}/today"), headers=tenant.headers
    )
    assert page.status_code == 404
    other_pass = enabled["tenant"].get(
        f"/plugins/{PLUGIN}/clients/{enabled['client']}/passes"
    )
    assert other_pass.json()["credits"] == 1


def test_packs_spend_and_refund(client) -> None:
    _check_booking_spends_and_free_cancel_refunds(client)
    _check_booking_without_credit_rolls_back(client)
    _check_expired_pack_does_not_pay(client)


def test_memberships_limit_and_unlimited(client) -> None:
    _check_weekly_membership_limits_classes(client)
    _check_unlimited_membership_keeps_pack(client)


def test_late_cancel_and_no_show_rules(client) -> None:
    _check_late_cancel_forfeits_credit(client)
    _check_late_cancel_fee_rule_refunds_and_charges(client)
    _check_no_show_forfeits_and_correction_restores(client)


def test_waitlist_promotion_and_roll(client) -> None:
    _check_promotion_spends_promoted_clients_credit(client)
    _check_roll_call_shows_visits_credits_notes(client)


def test_payroll_settings_and_isolation(client) -> None:
    _check_payroll_section_pays_class_and_attendee(client)
    _check_bad_settings_name_the_setting(client)
    _check_bad_pass_rejected_by_field(client)
    _check_disabled_tenant_books_without_passes(client)
