"""The team pages: staff list, details, hours, breaks, schedule changes, time
off, services, and each provider's calendar feed.

Every staff role may look, and owners and managers may change. Weekly hours
and breaks are typed per weekday as ranges such as ``09:00-12:00,
13:00-17:00``. A shift ending the next day is ``22:00-06:00+1``, and an empty
day is a day off.
The provider themself and managers may make or rotate the provider's
calendar feed URL, which is served here too at ``/t/{slug}/feeds/{token}.ics``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tillbook.config import get_settings
from tillbook.db.base import utcnow
from tillbook.errors import NotAllowed, NotFound, ValidationFailed
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.schedule.feeds import (
    build_feed,
    feed_path,
    revoke_feed_token,
    rotate_feed_token,
    staff_for_token,
)
from tillbook.kernel.schedule.locations import list_locations
from tillbook.kernel.schedule.staff import (
    create_staff,
    get_staff,
    list_staff,
    parse_week_text,
    set_staff_services,
    set_weekly_breaks,
    set_weekly_hours,
    staff_service_ids,
    update_staff,
    weekly_breaks,
    weekly_hours,
)
from tillbook.kernel.schedule.tables import Staff, TimeOff
from tillbook.kernel.schedule.timeoff import (
    TIME_OFF_REASONS,
    add_time_off,
    delete_day_override,
    delete_time_off,
    list_overrides,
    list_time_off,
    parse_date,
    set_day_override,
)
from tillbook.kernel.schedule.weekly import (
    WEEKDAY_NAMES,
    format_day_text,
    parse_day_text,
)
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF, TENANT
from tillbook.web.templating import page

VIEW = {"roles": DESK}
MANAGE = {"roles": MANAGERS}
DEFAULT_COLOUR = "#7a8b99"
# Schedule changes listed on a member's page: this many days ahead.
CHANGES_AHEAD_DAYS = 120
SAVED_MESSAGES = {
    "details": "Saved details.",
    "hours": "Saved hours.",
    "breaks": "Saved breaks.",
    "services": "Saved services.",
    "change": "Saved the schedule change.",
    "change-removed": "Removed the schedule change.",
    "time-off-removed": "Removed the time off.",
    "feed": "Made a new calendar feed URL. The old one no longer works.",
    "feed-off": "Turned the calendar feed off.",
}


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
        can_edit=actor.role in MANAGERS,
    )


@get(f"{STAFF}/team", opt=VIEW)
async def team_list(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Template:
    """List the staff with their hours, and a form to add someone (managers)."""
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


def _feed_url(scope: TenantScope, token: str) -> str:
    if not token:
        return ""
    return get_settings().public_url.rstrip("/") + feed_path(scope.tenant.slug, token)


async def _member_page(
    scope: TenantScope,
    actor: Actor,
    staff_id: str,
    *,
    values: dict[str, Any] | None = None,
    hours_text: dict[int, str] | None = None,
    breaks_text: dict[int, str] | None = None,
    change_values: dict[str, str] | None = None,
    time_off_values: dict[str, str] | None = None,
    affected: list[dict[str, Any]] | None = None,
    errors: dict[str, str] | None = None,
    saved: str = "",
    status_code: int = 200,
) -> Template:
    member = await get_staff(scope, staff_id)
    row = await scope.get(Staff, staff_id)
    intervals = await weekly_hours(scope, row["id"])
    breaks = await weekly_breaks(scope, row["id"])
    services = await scope.select(Service).order_by(Service.name)
    performed = {str(item) for item in await staff_service_ids(scope, row["id"])}
    today = utcnow().astimezone(scope.tenant.zone).date()
    can_edit = actor.role in MANAGERS
    may_feed = can_edit or actor.staff_id == row["id"]
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
        day_locations={item.weekday: str(item.location_id or "") for item in intervals},
        breaks_text=breaks_text
        or {weekday: format_day_text(breaks, weekday) for weekday in range(7)},
        locations=await list_locations(scope),
        changes=await list_overrides(
            scope, row["id"], today, today + timedelta(days=CHANGES_AHEAD_DAYS)
        ),
        change_values=change_values or {},
        time_off=await list_time_off(scope, row["id"]),
        time_off_values=time_off_values or {},
        reasons=TIME_OFF_REASONS,
        affected=affected,
        services=services,
        performed=performed,
        errors=errors or {},
        saved=SAVED_MESSAGES.get(saved, ""),
        can_edit=can_edit,
        may_feed=may_feed,
        feed_url=_feed_url(scope, row["feed_token"]) if may_feed else "",
    )


@get(f"{STAFF}/team/{{staff_id:str}}", opt=VIEW)
async def team_member(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
    saved: FromQuery[str] = "",
) -> Template:
    """Show a staff member's details, hours, breaks, schedule changes, time
    off and services; managers get the forms to change them."""
    return await _member_page(tenant_scope, actor, staff_id, saved=saved)


@post(f"{STAFF}/team/{{staff_id:str}}", opt=MANAGE)
async def team_member_update(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Template | Redirect:
    """Save a staff member's details (name, email, title, colour, flags)."""
    await tenant_scope.get(Staff, staff_id)
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


def _day_locations(form: Any) -> dict[int, uuid.UUID | None]:
    """Read the location chosen for each weekday; a bad id becomes ``None``.

    ``set_weekly_hours`` checks each id against the tenant's locations.
    """
    chosen: dict[int, uuid.UUID | None] = {}
    for weekday in range(7):
        text = _form_text(form, f"location_{weekday}")
        try:
            chosen[weekday] = uuid.UUID(text) if text else None
        except ValueError:
            chosen[weekday] = None
    return chosen


@post(f"{STAFF}/team/{{staff_id:str}}/hours", opt=MANAGE)
async def team_member_hours(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Template | Redirect:
    """Replace the weekly hours from the fields ``hours_0`` (Monday) to
    ``hours_6`` (Sunday), each with its location ``location_<weekday>``."""
    await tenant_scope.get(Staff, staff_id)
    form = await request.form()
    text = {weekday: _form_text(form, f"hours_{weekday}") for weekday in range(7)}
    try:
        intervals = parse_week_text(text, _day_locations(form))
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


@post(f"{STAFF}/team/{{staff_id:str}}/breaks", opt=MANAGE)
async def team_member_breaks(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Template | Redirect:
    """Replace the weekly breaks from ``breaks_0`` to ``breaks_6``."""
    await tenant_scope.get(Staff, staff_id)
    form = await request.form()
    text = {weekday: _form_text(form, f"breaks_{weekday}") for weekday in range(7)}
    errors: dict[str, str] = {}
    breaks = []
    for weekday, typed in text.items():
        try:
            breaks.extend(parse_day_text(weekday, typed, f"breaks_{weekday}"))
        except ValidationFailed as exc:
            errors[f"breaks_{weekday}"] = next(iter(exc.errors.values()))
    try:
        if errors:
            raise ValidationFailed(errors)
        await set_weekly_breaks(
            tenant_scope, staff_id, breaks, actor_id=actor.account_id
        )
    except ValidationFailed as exc:
        # The kernel names breaks by position; show each under its weekday.
        shown = {}
        for field, message in exc.errors.items():
            if field.startswith("breaks["):
                index = int(field[7 : field.index("]")])
                field = f"breaks_{breaks[index].weekday}"
            shown[field] = message
        return await _member_page(
            tenant_scope,
            actor,
            staff_id,
            breaks_text=text,
            errors=shown,
            status_code=422,
        )
    return _saved(tenant_scope, staff_id, "breaks")


@post(f"{STAFF}/team/{{staff_id:str}}/changes", opt=MANAGE)
async def team_member_change(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Template | Redirect:
    """Set the hours of one date (``change_date``): not working
    (``change_off``) or the ranges in ``change_hours``, with a note."""
    await tenant_scope.get(Staff, staff_id)
    form = await request.form()
    typed = {
        name: _form_text(form, name)
        for name in ("change_date", "change_hours", "change_note")
    }
    off = "change_off" in form
    try:
        day = parse_date(typed["change_date"], "change_date")
        intervals = [] if off else parse_day_text(0, typed["change_hours"], "hours")
        body: dict[str, Any] = {"off": off, "note": typed["change_note"]}
        if not off:
            body["hours"] = [
                {"start_minute": item.start_minute, "end_minute": item.end_minute}
                for item in intervals
            ]
        result = await set_day_override(
            tenant_scope, staff_id, day, body, actor_id=actor.account_id
        )
    except ValidationFailed as exc:
        errors = {
            f"change_{field.split('[')[0].split('.')[0]}"
            if not field.startswith("change_")
            else field: message
            for field, message in exc.errors.items()
        }
        return await _member_page(
            tenant_scope,
            actor,
            staff_id,
            change_values={**typed, "change_off": "1" if off else ""},
            errors=errors,
            status_code=422,
        )
    if result["affected_appointments"]:
        return await _member_page(
            tenant_scope,
            actor,
            staff_id,
            affected=result["affected_appointments"],
            saved="change",
        )
    return _saved(tenant_scope, staff_id, "change")


@post(f"{STAFF}/team/{{staff_id:str}}/changes/{{day:str}}/delete", opt=MANAGE)
async def team_member_change_delete(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
    day: FromPath[str],
) -> Redirect:
    """Remove the schedule change of a date."""
    await tenant_scope.get(Staff, staff_id)
    await delete_day_override(
        tenant_scope, staff_id, parse_date(day, "date"), actor_id=actor.account_id
    )
    return _saved(tenant_scope, staff_id, "change-removed")


@post(f"{STAFF}/team/{{staff_id:str}}/time-off", opt=MANAGE)
async def team_member_time_off(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Template:
    """Record time off from the form and show the appointments it touches."""
    await tenant_scope.get(Staff, staff_id)
    form = await request.form()
    typed = {
        name: _form_text(form, name) for name in ("start", "end", "reason", "note")
    }
    try:
        result = await add_time_off(
            tenant_scope, staff_id, typed, actor_id=actor.account_id
        )
    except ValidationFailed as exc:
        return await _member_page(
            tenant_scope,
            actor,
            staff_id,
            time_off_values=typed,
            errors={f"time_off_{key}": value for key, value in exc.errors.items()},
            status_code=422,
        )
    return await _member_page(
        tenant_scope,
        actor,
        staff_id,
        affected=result["affected_appointments"],
        saved="",
    )


@post(f"{STAFF}/time-off/{{time_off_id:uuid}}/delete", opt=MANAGE)
async def time_off_remove(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    time_off_id: FromPath[uuid.UUID],
) -> Redirect:
    """Delete a time-off entry and go back to the staff member."""
    row = await tenant_scope.get(TimeOff, time_off_id)
    await delete_time_off(tenant_scope, time_off_id, actor_id=actor.account_id)
    return _saved(tenant_scope, str(row["staff_id"]), "time-off-removed")


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


@post(f"{STAFF}/team/{{staff_id:str}}/feed", opt=VIEW)
async def team_member_feed(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Redirect:
    """Make a new feed URL, or turn the feed off with ``action=off``.

    Managers may do it for anyone, a provider for themself only.
    """
    row = await tenant_scope.get(Staff, staff_id)
    if actor.role not in MANAGERS and actor.staff_id != row["id"]:
        raise NotAllowed("only managers or the provider themself may change a feed")
    form = await request.form()
    if _form_text(form, "action") == "off":
        await revoke_feed_token(tenant_scope, row["id"], actor_id=actor.account_id)
        return _saved(tenant_scope, staff_id, "feed-off")
    await rotate_feed_token(tenant_scope, row["id"], actor_id=actor.account_id)
    return _saved(tenant_scope, staff_id, "feed")


@get(f"{TENANT}/feeds/{{feed_file:str}}", opt={"public": True})
async def provider_feed(
    tenant_scope: NamedDependency[TenantScope], feed_file: FromPath[str]
) -> Response[bytes]:
    """Serve a provider's iCalendar feed; an unknown token returns 404."""
    if not feed_file.endswith(".ics"):
        raise NotFound("feed", "")
    staff = await staff_for_token(tenant_scope, feed_file.removesuffix(".ics"))
    body = await build_feed(tenant_scope, staff)
    return Response(
        body,
        media_type="text/calendar",
        headers={"Cache-Control": "private, max-age=300"},
    )


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
    team_member_breaks,
    team_member_change,
    team_member_change_delete,
    team_member_time_off,
    time_off_remove,
    team_member_services,
    team_member_feed,
    provider_feed,
]
