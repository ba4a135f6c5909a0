"""The plugin's JSON API and the instructor's staff pages.

API paths start with ``/api/`` and are served under
``/t/{slug}/api/v1/plugins/fitness/``; page paths are served under
``/t/{slug}/staff/plugins/fitness/``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect

import tillbook
from tillbook import (
    DESK,
    TenantScope,
    TillbookError,
    ValidationFailed,
    format_major,
)
from tillbook_fitness.pages import back, render
from tillbook_fitness.passes import (
    balance,
    cancel_pass,
    issue_pass,
    owed_fees,
    settle_fee,
)
from tillbook_fitness.roster import day_sessions, roll

ROLES = {"roles": DESK}


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed({"body": "must be a JSON object"})
    return data


def _today(scope: TenantScope) -> date:
    return datetime.now(scope.tenant.zone).date()


def money_formatter(scope: TenantScope) -> Any:
    """Return a function formatting minor units with the tenant's currency code."""
    tenant = scope.tenant
    return lambda amount: (
        f"{format_major(amount, tenant.minor_digits)} {tenant.currency}"
    )


# JSON API


@get("/api/clients/{client_id:str}/passes", opt=ROLES)
async def passes_index(
    tenant_scope: NamedDependency[TenantScope], client_id: FromPath[str]
) -> dict[str, Any]:
    """Return the client's valid passes, credits for today and fees owed."""
    await tenant_scope.get(tillbook.Client, client_id)
    summary = await balance(tenant_scope, client_id, _today(tenant_scope))
    summary["fees_owed"] = await owed_fees(tenant_scope, client_id)
    return summary


@post("/api/clients/{client_id:str}/passes", opt=ROLES, status_code=201)
async def passes_create(
    tenant_scope: NamedDependency[TenantScope],
    client_id: FromPath[str],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Give the client a class pack or a membership.

    Pack: ``{"kind": "pack", "name", "credits", "valid_days" or "expires_on"}``.
    Membership: ``{"kind": "membership", "name", "period": "week" | "month",
    "classes_per_period": N or null for unlimited}``. Both take ``starts_on``,
    ``price`` (minor units) and ``note``. Raises 422 naming each bad field.
    """
    return await issue_pass(tenant_scope, client_id, _object(data))


@delete("/api/passes/{pass_id:str}", opt=ROLES, status_code=200)
async def passes_cancel(
    tenant_scope: NamedDependency[TenantScope], pass_id: FromPath[str]
) -> dict[str, Any]:
    """Cancel a pass: it pays for no new class; booked places keep their credit."""
    return await cancel_pass(tenant_scope, pass_id)


@post("/api/fees/{fee_id:str}", opt=ROLES, status_code=200)
async def fees_settle(
    tenant_scope: NamedDependency[TenantScope],
    fee_id: FromPath[str],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Mark an owed fee ``{"status": "paid"}`` (taken at the till) or ``waived``."""
    return await settle_fee(tenant_scope, fee_id, _object(data).get("status"))


@get("/api/sessions/{session_id:str}/roll", opt=ROLES)
async def roll_show(
    tenant_scope: NamedDependency[TenantScope], session_id: FromPath[str]
) -> dict[str, Any]:
    """Return the roll call: each place with visits, credits and notes."""
    return await roll(tenant_scope, session_id)


# Staff pages


@get("/today", opt=ROLES)
async def today_page(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
) -> Response[str]:
    """Show the day's classes: a signed-in instructor's own, else every class."""
    try:
        day = date.fromisoformat(request.query_params.get("date") or "")
    except ValueError:
        day = _today(tenant_scope)
    staff_id = getattr(actor, "staff_id", None)
    sessions = await day_sessions(tenant_scope, day, staff_id)
    mine = staff_id is not None
    if not sessions and mine:
        sessions = await day_sessions(tenant_scope, day, None)
        mine = False
    return render(
        "today.html",
        tenant_scope,
        actor,
        day=day.isoformat(),
        sessions=sessions,
        mine=mine,
    )


@get("/sessions/{session_id:str}", opt=ROLES)
async def roll_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    session_id: FromPath[str],
) -> Response[str]:
    """Show the roll call, where each place is marked attended or no-show."""
    return render(
        "roll.html",
        tenant_scope,
        actor,
        session=await roll(tenant_scope, session_id),
        money=money_formatter(tenant_scope),
    )


@post("/sessions/{session_id:str}/marks", opt=ROLES)
async def roll_mark(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    hooks: NamedDependency[Any],
    session_id: FromPath[str],
) -> Response[str] | Redirect:
    """Mark one place through the kernel's roll call; show the error on the page."""
    form = await request.form()
    booking_id = str(form.get("booking_id", ""))
    try:
        await tillbook.roll_call(
            tenant_scope,
            session_id,
            {booking_id: str(form.get("status", ""))},
            actor_id=actor.account_id,
            hooks=hooks,
        )
    except TillbookError as exc:
        if exc.status_code == 404:
            raise
        return render(
            "roll.html",
            tenant_scope,
            actor,
            status_code=exc.status_code,
            session=await roll(tenant_scope, session_id),
            money=money_formatter(tenant_scope),
            error=exc.message,
        )
    return back(tenant_scope, f"/sessions/{session_id}#booking-{booking_id}")


ROUTES: list[Any] = [
    passes_index,
    passes_create,
    passes_cancel,
    fees_settle,
    roll_show,
    today_page,
    roll_page,
    roll_mark,
]
