"""The client's own pages for an appointment, reached from booking emails.

Under ``/book/manage/{token}`` (the appointment's secret ``cancel_token``)
the client sees the appointment and the cancellation policy, moves it to
another free time with the same provider, or cancels it after seeing the
fee. Everything works without JavaScript.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from tillbook.db.base import utcnow
from tillbook.errors import Conflict, ValidationFailed
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.schedule.booking import appointment_by_token, parse_day
from tillbook.kernel.schedule.changes import (
    cancel_by_token,
    cancellation_preview,
    reschedule_by_token,
)
from tillbook.kernel.schedule.fees import describe_policy
from tillbook.kernel.schedule.notices import format_price
from tillbook.kernel.schedule.policy import load_policy
from tillbook.kernel.schedule.search import search_slots
from tillbook.kernel.schedule.tables import Appointment
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope
from tillbook.web.pages.appointment_actions import form_text, move_target, when_text
from tillbook.web.paths import TENANT
from tillbook.web.templating import page

logger = logging.getLogger(__name__)

PUBLIC = {"public": True}
MANAGE = f"{TENANT}/book/manage/{{token:str}}"


async def _client_view(scope: TenantScope, token: str) -> dict[str, Any]:
    appointment = await appointment_by_token(scope, token)
    row = await scope.get(Appointment, appointment["id"])
    policy = await load_policy(scope)
    now = utcnow()
    appointment["when"] = when_text(appointment)
    appointment["price_text"] = format_price(scope.tenant, appointment["price"])
    appointment["row"] = row
    appointment["policy_text"] = describe_policy(scope, policy, row["price"])
    booked = row["status"] == "booked" and row["start_at"] > now
    appointment["can_cancel"] = booked
    appointment["can_move"] = booked and not policy.is_late_cancellation(
        row["start_at"], now
    )
    return appointment


def _client_page(
    scope: TenantScope,
    action: str,
    appointment: dict[str, Any],
    token: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    return page(
        "changes/client.html",
        scope,
        status_code=status_code,
        action=action,
        appointment=appointment,
        token=token,
        **context,
    )


@get(MANAGE, opt=PUBLIC)
async def manage(
    tenant_scope: NamedDependency[TenantScope], token: FromPath[str]
) -> Template:
    """Show the client's appointment, the policy, and the move and cancel links."""
    appointment = await _client_view(tenant_scope, token)
    return _client_page(tenant_scope, "view", appointment, token)


@get(f"{MANAGE}/move", opt=PUBLIC)
async def client_move_times(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    token: FromPath[str],
    day: FromQuery[str] = "",
) -> Template:
    """List free times with the same provider on a chosen day."""
    appointment = await _client_view(tenant_scope, token)
    errors: dict[str, str] = {}
    today = utcnow().astimezone(tenant_scope.tenant.zone).date()
    chosen = date.fromisoformat(appointment["date"])
    slots: list[Any] = []
    if day:
        try:
            chosen = parse_day(day, "day")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if chosen < today:
        chosen = today
    if appointment["can_move"] and not errors:
        try:
            found = await search_slots(
                tenant_scope,
                service_id=appointment["service_id"],
                first_day=chosen,
                staff_id=appointment["staff_id"],
                location_id=appointment["row"]["location_id"],
                source="online",
                hooks=hooks,
                ignore_appointment_id=appointment["row"]["id"],
            )
            slots = found.slots
        except ValidationFailed as exc:
            errors.update(exc.errors)
    return _client_page(
        tenant_scope,
        "move",
        appointment,
        token,
        day=chosen,
        today=today,
        slots=[slot for slot in slots if slot.start != appointment["row"]["start_at"]],
        errors=errors,
    )


@get(f"{MANAGE}/move/confirm", opt=PUBLIC)
async def client_move_confirm(
    tenant_scope: NamedDependency[TenantScope],
    token: FromPath[str],
    start: FromQuery[str] = "",
) -> Template:
    """Show the old and the new time before the client confirms the move."""
    appointment = await _client_view(tenant_scope, token)
    try:
        target = await move_target(tenant_scope, start, "")
    except ValidationFailed as exc:
        return _client_page(
            tenant_scope, "view", appointment, token, error=exc.message, status_code=422
        )
    return _client_page(tenant_scope, "confirm-move", appointment, token, target=target)


@post(f"{MANAGE}/move", opt=PUBLIC)
async def client_move(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    token: FromPath[str],
) -> Template:
    """Move the appointment and show the new time (409 when it was taken)."""
    form = await request.form()
    start_text = form_text(form, "start")
    try:
        await reschedule_by_token(
            tenant_scope,
            token,
            start=start_text,
            hooks=hooks,
        )
    except (Conflict, ValidationFailed) as exc:
        appointment = await _client_view(tenant_scope, token)
        return _client_page(
            tenant_scope,
            "view",
            appointment,
            token,
            error=f"The appointment was not moved: {exc.message}",
            status_code=exc.status_code,
        )
    appointment = await _client_view(tenant_scope, token)
    logger.info(
        "client moved appointment %s of tenant %s",
        appointment["id"],
        tenant_scope.tenant_id,
    )
    return _client_page(tenant_scope, "moved", appointment, token)


@get(f"{MANAGE}/cancel", opt=PUBLIC)
async def client_cancel_form(
    tenant_scope: NamedDependency[TenantScope], token: FromPath[str]
) -> Template:
    """Explain what cancelling now costs before the client confirms."""
    appointment = await _client_view(tenant_scope, token)
    preview = await cancellation_preview(tenant_scope, appointment["row"])
    return _client_page(tenant_scope, "cancel", appointment, token, preview=preview)


@post(f"{MANAGE}/cancel", opt=PUBLIC)
async def client_cancel(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    token: FromPath[str],
) -> Template:
    """Cancel at the fee the client saw; a changed fee shows the form again (409)."""
    form = await request.form()
    expected_text = form_text(form, "expected_fee")
    expected = int(expected_text) if is_whole_number(expected_text) else None
    try:
        await cancel_by_token(
            tenant_scope,
            token,
            hooks=hooks,
            reason=form_text(form, "reason"),
            expected_fee=expected,
        )
    except (Conflict, ValidationFailed) as exc:
        appointment = await _client_view(tenant_scope, token)
        preview = await cancellation_preview(tenant_scope, appointment["row"])
        return _client_page(
            tenant_scope,
            "cancel",
            appointment,
            token,
            preview=preview,
            error=exc.message,
            status_code=exc.status_code,
        )
    appointment = await _client_view(tenant_scope, token)
    return _client_page(tenant_scope, "cancelled", appointment, token)


ROUTES: list[Any] = [
    manage,
    client_move_times,
    client_move_confirm,
    client_move,
    client_cancel_form,
    client_cancel,
]
