"""The team pages: staff list, adding staff, details, weekly hours and services.

Managers and owners only. Weekly hours are typed per weekday as ranges
(``09:00-12:00, 13:00-17:00``), and an empty day is a day off.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tillbook.errors import ValidationFailed
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.schedule.staff import (
    WEEKDAY_NAMES,
    create_staff,
    format_day_text,
    get_staff,
    list_staff,
    parse_week_text,
    set_staff_services,
    set_weekly_hours,
    staff_service_ids,
    update_staff,
    weekly_hours,
)
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

MANAGE = {"roles": MANAGERS}
DEFAULT_COLOUR = "#7a8b99"


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _details_from(form: Any) -> dict[str, Any]:
    return {
        "name": _form_text(form, "name"),
        "email": _form_text(form, "email"),
        "title": _form_text(form, "title"),
        "colour": _form_text(form, "colour") or DEFAULT_COLOUR,
        "bookable": "bookable" in form,
    }


def _hours_summary(hours: list[dict[str, Any]]) -> list[str]:
    """Return one line per run of consecutive weekdays with the same hours.

    A line names the first and last day of the run joined by an en dash,
    then the ranges: Monday to Friday at 09:00-17:00 is one line.
    """
    by_day: dict[int, list[str]] = {}
    for item in hours:
        by_day.setdefault(item["weekday"], []).append(f"{item['start']}-{item['end']}")
    lines: list[str] = []
    run_start: int | None = None
    for weekday in range(8):
        ranges = by_day.get(weekday)
        if run_start is not None and ranges != by_day[run_start]:
            days = WEEKDAY_NAMES[run_start][:3]
            if weekday - 1 > run_start:
                days = f"{days}\u2013{WEEKDAY_NAMES[weekday - 1][:3]}"
            lines.append(f"{days} {', '.join(by_day[run_start])}")
            run_start = None
        if run_start is None and ranges is not None:
            run_start = weekday
    return lines


async def _team_page(
    scope: TenantScope,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    staff = await list_staff(scope)
    return page(
        "team/list.html",
        scope,
        actor,
        status_code=status_code,
        staff=[{**item, "summary": _hours_summary(item["hours"])} for item in staff],
        values=values or {"colour": DEFAULT_COLOUR, "bookable": True},
        errors=errors or {},
    )


@get(f"{STAFF}/team", opt=MANAGE)
async def team_list(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Template:
    """List the staff with their hours, and a form to add someone."""
    return await _team_page(tenant_scope, actor)


@post(f"{STAFF}/team", opt=MANAGE)
async def team_add(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Add a staff member and open their page to set hours and services."""
    values = _details_from(await request.form())
    try:
        created = await create_staff(tenant_scope, values, actor_id=actor.account_id)
    except ValidationFailed as exc:
        return await _team_page(
            tenant_scope, actor, values=values, errors=exc.errors, status_code=422
        )
    return Redirect(
        f"/t/{tenant_scope.tenant.slug}/staff/team/{created['id']}", status_code=303
    )


async def _member_page(
    scope: TenantScope,
    actor: Actor,
    staff_id: str,
    *,
    values: dict[str, Any] | None = None,
    hours_text: dict[int, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: str = "",
    status_code: int = 200,
) -> Template:
    member = await get_staff(scope, staff_id)
    intervals = await weekly_hours(scope, uuid.UUID(member["id"]))
    services = await scope.select(Service).order_by(Service.name)
    performed = {str(item) for item in await staff_service_ids(scope, member["id"])}
    return page(
        "team/member.html",
        scope,
        actor,
        status_code=status_code,
        member=member,
        values=values or member,
        weekdays=list(enumerate(WEEKDAY_NAMES)),
        hours_text=hours_text
        or {weekday: format_day_text(intervals, weekday) for weekday in range(7)},
        services=services,
        performed=performed,
        errors=errors or {},
        saved=saved,
    )


@get(f"{STAFF}/team/{{staff_id:str}}", opt=MANAGE)
async def team_member(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
    saved: FromQuery[str] = "",
) -> Template:
    """Show a staff member's details, weekly hours and services to edit."""
    return await _member_page(tenant_scope, actor, staff_id, saved=saved)


@post(f"{STAFF}/team/{{staff_id:str}}", opt=MANAGE)
async def team_member_update(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Template | Redirect:
    """Save a staff member's details (name, email, title, colour, flags)."""
    form = await request.form()
    values = {**_details_from(form), "active": "active" in form}
    try:
        await update_staff(tenant_scope, staff_id, values, actor_id=actor.account_id)
    except ValidationFailed as exc:
        return await _member_page(
            tenant_scope,
            actor,
            staff_id,
            values=values,
            errors=exc.errors,
            status_code=422,
        )
    return _saved(tenant_scope, staff_id, "details")


@post(f"{STAFF}/team/{{staff_id:str}}/hours", opt=MANAGE)
async def team_member_hours(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Template | Redirect:
    """Replace the weekly hours from the fields ``hours_0`` (Monday) to
    ``hours_6`` (Sunday)."""
    await tenant_scope.get(Staff, staff_id)
    form = await request.form()
    text = {weekday: _form_text(form, f"hours_{weekday}") for weekday in range(7)}
    try:
        intervals = parse_week_text(text)
        await set_weekly_hours(
            tenant_scope, staff_id, intervals, actor_id=actor.account_id
        )
    except ValidationFailed as exc:
        return await _member_page(
            tenant_scope,
            actor,
            staff_id,
            hours_text=text,
            errors=exc.errors,
            status_code=422,
        )
    return _saved(tenant_scope, staff_id, "hours")


@post(f"{STAFF}/team/{{staff_id:str}}/services", opt=MANAGE)
async def team_member_services(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Template | Redirect:
    """Replace the services the staff member performs (ticked ``service_ids``)."""
    await tenant_scope.get(Staff, staff_id)
    form = await request.form()
    chosen = [value for value in form.getall("service_ids", []) if value]
    try:
        await set_staff_services(
            tenant_scope, staff_id, chosen, actor_id=actor.account_id
        )
    except ValidationFailed as exc:
        return await _member_page(
            tenant_scope, actor, staff_id, errors=exc.errors, status_code=422
        )
    return _saved(tenant_scope, staff_id, "services")


def _saved(scope: TenantScope, staff_id: str, section: str) -> Redirect:
    return Redirect(
        f"/t/{scope.tenant.slug}/staff/team/{staff_id}?saved={section}", status_code=303
    )


ROUTES: list[Any] = [
    team_list,
    team_add,
    team_member,
    team_member_update,
    team_member_hours,
    team_member_services,
]
