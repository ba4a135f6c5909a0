"""Staff API: the team, each member's details and weekly working hours.

Reads need a desk role; changes need a manager or owner.
"""

from __future__ import annotations

from typing import Any

from litestar import get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from tillbook.errors import invalid
from tillbook.kernel.schedule.staff import (
    create_staff,
    get_staff,
    list_staff,
    parse_hours,
    set_weekly_hours,
    update_staff,
)
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API


@get(f"{API}/staff", opt={"roles": DESK})
async def staff_index(
    tenant_scope: NamedDependency[TenantScope], include_inactive: FromQuery[bool] = True
) -> list[dict[str, Any]]:
    """Return the staff ordered by name, each with weekly hours."""
    return await list_staff(tenant_scope, include_inactive=include_inactive)


@post(f"{API}/staff", opt={"roles": MANAGERS})
async def staff_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Add a staff member: ``name`` (required), ``email``, ``title``,
    ``colour`` (``#rrggbb``), ``bookable``, ``active``. Responds 201, or 422
    naming each bad field."""
    return await create_staff(tenant_scope, _object(data), actor_id=actor.account_id)


@get(f"{API}/staff/{{staff_id:str}}", opt={"roles": DESK})
async def staff_detail(
    tenant_scope: NamedDependency[TenantScope], staff_id: FromPath[str]
) -> dict[str, Any]:
    """Return one staff member with weekly hours; 404 for an unknown id."""
    return await get_staff(tenant_scope, staff_id)


@patch(f"{API}/staff/{{staff_id:str}}", opt={"roles": MANAGERS})
async def staff_update(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change the given fields of a staff member; 422 names each bad field."""
    return await update_staff(
        tenant_scope, staff_id, _object(data), actor_id=actor.account_id
    )


@put(f"{API}/staff/{{staff_id:str}}/hours", opt={"roles": MANAGERS})
async def staff_hours(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    staff_id: FromPath[str],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Replace the weekly hours with ``[{"weekday": 0, "start": "09:00",
    "end": "17:00"}, ...]`` (weekday 0 is Monday; ``{"hours": [...]}`` is also
    accepted). Responds 422 naming the entry, such as ``hours[1].end``, for an
    invalid or overlapping interval."""
    # Look the id up first, so another tenant's id is a 404 whatever the body.
    await tenant_scope.get(Staff, staff_id)
    entries = data.get("hours") if isinstance(data, dict) else data
    intervals = parse_hours(entries)
    await set_weekly_hours(tenant_scope, staff_id, intervals, actor_id=actor.account_id)
    return await get_staff(tenant_scope, staff_id)


def _object(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    return data


ROUTES: list[Any] = [staff_index, staff_create, staff_detail, staff_update, staff_hours]
