"""Staff confirmation pages for cancelling, moving and marking a no-show.

The pages live under ``/staff/appointments/{id}/changes/...`` so the
calendar can link to them. Each GET states what the change will do,
including any fee the policy charges, and its form POSTs the change. The
client's own pages are in ``booking_manage``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tillbook.errors import Conflict, ValidationFailed, invalid
from tillbook.kernel.schedule.booking import (
    parse_instant,
)
from tillbook.kernel.schedule.changes import (
    appointment_with_names,
    cancel_appointment,
    cancellation_preview,
    mark_no_show,
    reschedule_appointment,
)
from tillbook.kernel.schedule.fees import quote_no_show
from tillbook.kernel.schedule.notices import describe_when, format_price
from tillbook.kernel.schedule.policy import load_policy
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

logger = logging.getLogger(__name__)

CHANGES = f"{STAFF}/appointments/{{appointment_id:str}}/changes"


def when_text(result: dict[str, Any]) -> str:
    """Return an appointment JSON's local date and time as words."""
    return describe_when(date.fromisoformat(result["date"]), result["local"])


def form_text(form: Any, name: str) -> str:
    """Return a submitted form field stripped, or "" when absent."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _appointment_url(scope: TenantScope, appointment_id: str) -> str:
    return f"/t/{scope.tenant.slug}/staff/appointments/{appointment_id}"


async def _staff_view(scope: TenantScope, appointment_id: str) -> dict[str, Any]:
    row = await scope.get(Appointment, appointment_id)
    result, _client = await appointment_with_names(scope, row)
    result["when"] = when_text(result)
    result["price_text"] = format_price(scope.tenant, result["price"])
    result["row"] = row
    return result


def _staff_page(
    scope: TenantScope,
    actor: Actor,
    action: str,
    appointment: dict[str, Any],
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    return page(
        "changes/staff.html",
        scope,
        actor,
        status_code=status_code,
        action=action,
        appointment=appointment,
        money=lambda amount: format_price(scope.tenant, amount),
        **context,
    )


# -- staff: cancel -------------------------------------------------------------


@get(f"{CHANGES}/cancel", opt={"roles": DESK})
async def staff_cancel_form(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
) -> Template:
    """Show what cancelling costs under the policy, with a reason and a waiver."""
    appointment = await _staff_view(tenant_scope, appointment_id)
    preview = await cancellation_preview(tenant_scope, appointment["row"])
    return _staff_page(tenant_scope, actor, "cancel", appointment, preview=preview)


@post(f"{CHANGES}/cancel", opt={"roles": DESK})
async def staff_cancel(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
) -> Template | Redirect:
    """Cancel and go back to the appointment; 409 or 422 stay on the form."""
    appointment = await _staff_view(tenant_scope, appointment_id)
    form = await request.form()
    try:
        await cancel_appointment(
            tenant_scope,
            appointment["id"],
            actor_id=actor.account_id,
            reason=form_text(form, "reason"),
            waive_fee=form_text(form, "waive_fee") == "on",
            hooks=hooks,
        )
    except (Conflict, ValidationFailed) as exc:
        preview = await cancellation_preview(tenant_scope, appointment["row"])
        return _staff_page(
            tenant_scope,
            actor,
            "cancel",
            appointment,
            preview=preview,
            error=exc.message,
            status_code=exc.status_code,
        )
    return Redirect(_appointment_url(tenant_scope, appointment["id"]), status_code=303)


# -- staff: no-show ------------------------------------------------------------


@get(f"{CHANGES}/no-show", opt={"roles": DESK})
async def staff_no_show_form(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
) -> Template:
    """Show the no-show fee the policy charges, with a waiver."""
    appointment = await _staff_view(tenant_scope, appointment_id)
    policy = await load_policy(tenant_scope)
    quote = quote_no_show(policy, appointment["row"])
    return _staff_page(
        tenant_scope, actor, "no-show", appointment, quote=quote.to_json()
    )


@post(f"{CHANGES}/no-show", opt={"roles": DESK})
async def staff_no_show(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
) -> Template | Redirect:
    """Record the no-show and go back to the appointment; 409 stays on the form."""
    appointment = await _staff_view(tenant_scope, appointment_id)
    form = await request.form()
    try:
        await mark_no_show(
            tenant_scope,
            appointment["id"],
            actor=actor,
            waive_fee=form_text(form, "waive_fee") == "on",
            hooks=hooks,
        )
    except Conflict as exc:
        quote = quote_no_show(await load_policy(tenant_scope), appointment["row"])
        return _staff_page(
            tenant_scope,
            actor,
            "no-show",
            appointment,
            quote=quote.to_json(),
            error=exc.message,
            status_code=exc.status_code,
        )
    return Redirect(_appointment_url(tenant_scope, appointment["id"]), status_code=303)


# -- staff: move ---------------------------------------------------------------


async def move_target(
    scope: TenantScope, start_text: str, staff_id: str
) -> dict[str, Any]:
    """Describe a proposed new time (and provider); raise 422 on ``start``."""
    try:
        start = parse_instant(start_text, "start")
        local = start.astimezone(scope.tenant.zone)
    except OverflowError:
        # A time near year 1 or 9999 whose offset moves it out of range.
        raise invalid(
            "start", f"{start_text!r} is out of range: choose a time from the list"
        ) from None
    target: dict[str, Any] = {
        "start": start.isoformat(),
        "when": describe_when(local.date(), local.strftime("%H:%M")),
        "staff_id": staff_id,
        "staff_name": "",
    }
    person_id = _uuid_or_none(staff_id) if staff_id not in ("", "any") else None
    if person_id is not None:
        person = (
            await scope.select(Staff, Staff.name).where(Staff.id == person_id).first()
        )
        target["staff_name"] = person["name"] if person else ""
    return target


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@get(f"{CHANGES}/move", opt={"roles": DESK})
async def staff_move_form(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    appointment_id: FromPath[str],
    start: FromQuery[str] = "",
    staff_id: FromQuery[str] = "",
) -> Template:
    """Confirm moving the appointment to ``start`` (and ``staff_id``, if given)."""
    appointment = await _staff_view(tenant_scope, appointment_id)
    try:
        target = await move_target(tenant_scope, start, staff_id)
    except ValidationFailed as exc:
        return _staff_page(
            tenant_scope,
            actor,
            "move",
            appointment,
            target=None,
            error=exc.message,
            status_code=422,
        )
    return _staff_page(tenant_scope, actor, "move", appointment, target=target)


@post(f"{CHANGES}/move", opt={"roles": DESK})
async def staff_move(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
) -> Template | Redirect:
    """Move the appointment; a taken time (409) or bad input (422) stays here."""
    appointment = await _staff_view(tenant_scope, appointment_id)
    form = await request.form()
    start_text, staff_id = form_text(form, "start"), form_text(form, "staff_id")
    try:
        await reschedule_appointment(
            tenant_scope,
            appointment["id"],
            start=start_text,
            staff_id=staff_id or None,
            actor=actor,
            hooks=hooks,
        )
    except (Conflict, ValidationFailed) as exc:
        try:
            target = await move_target(tenant_scope, start_text, staff_id)
        except ValidationFailed:
            target = None
        return _staff_page(
            tenant_scope,
            actor,
            "move",
            appointment,
            target=target,
            error=exc.message,
            status_code=exc.status_code,
        )
    return Redirect(_appointment_url(tenant_scope, appointment["id"]), status_code=303)


ROUTES: list[Any] = [
    staff_cancel_form,
    staff_cancel,
    staff_no_show_form,
    staff_no_show,
    staff_move_form,
    staff_move,
]
