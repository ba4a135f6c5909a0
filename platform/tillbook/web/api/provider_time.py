"""Provider time API: weekly breaks, one-off schedule changes, time off,
closures, and each provider's iCalendar feed URL.

Every staff role may read; owners and managers may change. A provider may
create or rotate their own feed URL, and managers may do it for anyone.
Adding time off, a closure or a schedule change over booked appointments is
allowed, and the response lists them under ``affected_appointments``.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from litestar import Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from tillbook.config import get_settings
from tillbook.db.base import utcnow
from tillbook.errors import NotAllowed, invalid
from tillbook.kernel.schedule.feeds import (
    feed_path,
    revoke_feed_token,
    rotate_feed_token,
)
from tillbook.kernel.schedule.staff import (
    get_staff,
    parse_breaks,
    set_weekly_breaks,
)
from tillbook.kernel.schedule.tables import Staff
from tillbook.kernel.schedule.timeoff import (
    add_closure,
    add_time_off,
    delete_closure,
    delete_day_override,
    delete_time_off,
    list_closures,
    list_overrides,
    list_time_off,
    parse_date,
    set_day_override,
)
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

READ = {"roles": DESK}
WRITE = {"roles": MANAGERS}
# Maximum number of days of schedule changes one request may list.
MAX_LIST_DAYS = 366


@get(f"{API}/staff/{{staff_id:str}}/breaks", opt=READ)
async def breaks_show(
    tenant_scope: NamedDependency[TenantScope], staff_id: FromPath[str]
) -> list[dict[str, Any]]:
    """Return a staff member's weekly breaks."""
    return (await get_staff(tenant_scope, staff_id))["breaks"]  # type: ignore[no-any-return]


@put(f"{API}/staff/{{staff_id:str}}/breaks", opt=WRITE)
async def breaks_set(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
    data: JSONBody[Any],
) -> list[dict[str, Any]]:
    """Replace the weekly breaks with ``[{"weekday": 0, "start": "12:00",
    "end": "13:00", "label": "Lunch"}]``. Each must lie inside the working
    hours; 422 names the entry, such as ``breaks[0]``."""
    await tenant_scope.get(Staff, staff_id)
    entries = data.get("breaks") if isinstance(data, dict) else data
    breaks = parse_breaks(entries)
    await set_weekly_breaks(tenant_scope, staff_id, breaks, actor_id=actor.account_id)
    return (await get_staff(tenant_scope, staff_id))["breaks"]  # type: ignore[no-any-return]


@get(f"{API}/staff/{{staff_id:str}}/schedule-changes", opt=READ)
async def overrides_index(
    tenant_scope: NamedDependency[TenantScope],
    staff_id: FromPath[str],
    first: FromQuery[str] = "",
    last: FromQuery[str] = "",
) -> list[dict[str, Any]]:
    """List one-off schedule changes between ``first`` and ``last``
    (``YYYY-MM-DD``; today and 90 days on by default, at most 366 days)."""
    await tenant_scope.get(Staff, staff_id)
    today = utcnow().astimezone(tenant_scope.tenant.zone).date()
    start = parse_date(first, "first") if first else today
    end = parse_date(last, "last") if last else start + timedelta(days=90)
    if end < start:
        raise invalid("last", "is before first: give a later date")
    if (end - start).days > MAX_LIST_DAYS:
        raise invalid("last", f"is more than {MAX_LIST_DAYS} days after first")
    return await list_overrides(tenant_scope, staff_id, start, end)


@put(f"{API}/staff/{{staff_id:str}}/schedule-changes/{{day:date}}", opt=WRITE)
async def overrides_set(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
    day: FromPath[date],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Replace the hours of one local date: ``{"off": true, "note": "..."}``
    or ``{"hours": [{"start": "10:00", "end": "14:00", "location_id": null}]}``.
    The response lists ``affected_appointments`` outside the new hours."""
    await tenant_scope.get(Staff, staff_id)
    return await set_day_override(
        tenant_scope, staff_id, day, data, actor_id=actor.account_id
    )


@delete(f"{API}/staff/{{staff_id:str}}/schedule-changes/{{day:date}}", opt=WRITE)
async def overrides_delete(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
    day: FromPath[date],
) -> None:
    """Remove the schedule change of a date; the weekly hours apply again."""
    await delete_day_override(tenant_scope, staff_id, day, actor_id=actor.account_id)


@get(f"{API}/staff/{{staff_id:str}}/time-off", opt=READ)
async def time_off_index(
    tenant_scope: NamedDependency[TenantScope], staff_id: FromPath[str]
) -> list[dict[str, Any]]:
    """List a staff member's current and future time off."""
    return await list_time_off(tenant_scope, staff_id)


@post(f"{API}/staff/{{staff_id:str}}/time-off", opt=WRITE)
async def time_off_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Record time off: ``start`` and ``end`` as local ``YYYY-MM-DDTHH:MM``,
    ``reason`` (holiday, sickness, training, personal, other) and ``note``.
    Responds 201 with ``time_off`` and the ``affected_appointments``."""
    await tenant_scope.get(Staff, staff_id)
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    return await add_time_off(tenant_scope, staff_id, data, actor_id=actor.account_id)


@delete(f"{API}/time-off/{{time_off_id:uuid}}", opt=WRITE)
async def time_off_delete(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    time_off_id: FromPath[uuid.UUID],
) -> None:
    """Delete one time-off entry (204)."""
    await delete_time_off(tenant_scope, time_off_id, actor_id=actor.account_id)


@get(f"{API}/closures", opt=READ)
async def closures_index(
    tenant_scope: NamedDependency[TenantScope], include_past: FromQuery[bool] = False
) -> list[dict[str, Any]]:
    """List closures by first day; past ones only with ``?include_past=true``."""
    today = utcnow().astimezone(tenant_scope.tenant.zone).date()
    return await list_closures(tenant_scope, since=None if include_past else today)


@post(f"{API}/closures", opt=WRITE)
async def closures_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Close a location (``location_id``, or null for all) from ``first_day``
    to ``last_day`` inclusive, with a ``reason``. Responds 201 with the
    ``closure`` and the ``affected_appointments``."""
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    return await add_closure(tenant_scope, data, actor_id=actor.account_id)


@delete(f"{API}/closures/{{closure_id:uuid}}", opt=WRITE)
async def closures_delete(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    closure_id: FromPath[uuid.UUID],
) -> None:
    """Delete a closure (204)."""
    await delete_closure(tenant_scope, closure_id, actor_id=actor.account_id)


async def may_manage_feed(
    scope: TenantScope, actor: Actor, staff_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return the staff row if ``actor`` may manage its feed, else raise.

    Raises NotFound for another tenant's id first, then NotAllowed unless
    the actor is a manager, an owner, or that staff member.
    """
    staff = await scope.get(Staff, staff_id)
    if actor.role not in MANAGERS and actor.staff_id != staff["id"]:
        raise NotAllowed("only managers or the provider themself may see this feed")
    return staff


def feed_json(scope: TenantScope, token: str) -> dict[str, Any]:
    """Return the feed's URL for people and for calendar apps (``webcal:``)."""
    base = get_settings().public_url.rstrip("/")
    url = f"{base}{feed_path(scope.tenant.slug, token)}" if token else None
    return {
        "url": url,
        "webcal_url": url.replace("https://", "webcal://").replace(
            "http://", "webcal://"
        )
        if url
        else None,
    }


@get(f"{API}/staff/{{staff_id:str}}/feed", opt=READ)
async def feed_show(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> dict[str, Any]:
    """Return the provider's feed URL (``null`` before one is made). Only the
    provider themself and managers may see it."""
    staff = await may_manage_feed(tenant_scope, actor, staff_id)
    return feed_json(tenant_scope, staff["feed_token"])


@post(f"{API}/staff/{{staff_id:str}}/feed", opt=READ)
async def feed_rotate(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> Response[dict[str, Any]]:
    """Make a new secret feed URL (201); the old one stops working."""
    staff = await may_manage_feed(tenant_scope, actor, staff_id)
    token = await rotate_feed_token(
        tenant_scope, staff["id"], actor_id=actor.account_id
    )
    return Response(feed_json(tenant_scope, token), status_code=201)


@delete(f"{API}/staff/{{staff_id:str}}/feed", opt=READ)
async def feed_revoke(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
) -> None:
    """Turn the feed off (204); its URL returns 404 from then on."""
    staff = await may_manage_feed(tenant_scope, actor, staff_id)
    await revoke_feed_token(tenant_scope, staff["id"], actor_id=actor.account_id)


ROUTES: list[Any] = [
    breaks_show,
    breaks_set,
    overrides_index,
    overrides_set,
    overrides_delete,
    time_off_index,
    time_off_create,
    time_off_delete,
    closures_index,
    closures_create,
    closures_delete,
    feed_show,
    feed_rotate,
    feed_revoke,
]
