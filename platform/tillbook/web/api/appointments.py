"""Appointment changes API: cancel, reschedule, no-show, and the schedule policy.

Desk routes act on an appointment id. Public routes act on the secret token
of a client's link (the ``cancel_token`` sent in the booking email) and
apply the tenant's policy as for any online change. The policy can be read
by the desk and changed by owners.
"""

from __future__ import annotations

from typing import Any

from litestar import get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from tillbook.errors import invalid
from tillbook.kernel.schedule.booking import appointment_by_token
from tillbook.kernel.schedule.changes import (
    cancel_appointment,
    cancel_by_token,
    cancellation_preview,
    mark_no_show,
    reschedule_appointment,
    reschedule_by_token,
)
from tillbook.kernel.schedule.policy import load_policy, update_policy
from tillbook.kernel.schedule.tables import Appointment
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, OWNERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

PUBLIC = {"public": True}
CANCEL_FIELDS = frozenset({"reason", "waive_fee"})
CLIENT_CANCEL_FIELDS = frozenset({"reason", "expected_fee"})
RESCHEDULE_FIELDS = frozenset({"start", "staff_id"})
NO_SHOW_FIELDS = frozenset({"waive_fee"})


def _body(data: object, allowed: frozenset[str]) -> dict[str, Any]:
    """Return a JSON object body; raise 422 naming an unknown field."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise invalid(
            unknown[0], f"is not a field here: use {', '.join(sorted(allowed))}"
        )
    return data


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise invalid(name, f"{value!r} is not true or false")
    return value


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(name, "must be text")
    return value


@get(f"{API}/policy", opt={"roles": DESK})
async def get_policy(tenant_scope: NamedDependency[TenantScope]) -> dict[str, Any]:
    """Return the schedule policy (the defaults until an owner saves one)."""
    return (await load_policy(tenant_scope)).to_json()


@patch(f"{API}/policy", opt={"roles": OWNERS})
async def change_policy(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change some policy fields and return the whole policy.

    Money is in minor units and percentages are whole numbers from 0 to 100;
    a fee is either fixed or a percentage. ``reminder_offsets`` is a list
    (or comma list) of at most five minute counts above 0. Responds 422
    naming each bad field; nothing changes then.
    """
    policy = await update_policy(tenant_scope, data, actor_id=actor.account_id)
    return policy.to_json()


@get(f"{API}/appointments/{{appointment_id:str}}/cancellation", opt={"roles": DESK})
async def preview_cancellation(
    tenant_scope: NamedDependency[TenantScope], appointment_id: FromPath[str]
) -> dict[str, Any]:
    """Return what cancelling now would cost: fee, deposit use and explanation."""
    row = await tenant_scope.get(Appointment, appointment_id)
    return await cancellation_preview(tenant_scope, row)


@post(
    f"{API}/appointments/{{appointment_id:str}}/cancel",
    opt={"roles": DESK},
    status_code=200,
)
async def cancel(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Cancel an appointment; body ``{"reason": "...", "waive_fee": false}``.

    Inside the policy's fee window the late-cancellation fee is charged
    unless ``waive_fee`` is true, and what is left of a deposit is refunded.
    Repeating the request returns the cancelled appointment and charges or
    refunds nothing again. Responds 409 for an appointment that is checked
    in, completed or a no-show.
    """
    # Look the id up first, so another tenant's id is a 404 whatever the body.
    await tenant_scope.get(Appointment, appointment_id)
    body = _body(data, CANCEL_FIELDS)
    return await cancel_appointment(
        tenant_scope,
        appointment_id,
        actor_id=actor.account_id,
        reason=_text(body, "reason"),
        waive_fee=_flag(body, "waive_fee"),
        hooks=hooks,
    )


@post(
    f"{API}/appointments/{{appointment_id:str}}/reschedule",
    opt={"roles": DESK},
    status_code=200,
)
async def reschedule(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Move an appointment; body ``{"start": ISO 8601, "staff_id": id|"any"}``.

    Without ``staff_id`` the provider stays. Responds 409
    ``slot_unavailable`` when the new time is taken (nothing changes), 422
    naming ``start`` or ``staff_id``, and 409 unless the appointment is booked.
    """
    await tenant_scope.get(Appointment, appointment_id)
    body = _body(data, RESCHEDULE_FIELDS)
    return await reschedule_appointment(
        tenant_scope,
        appointment_id,
        start=body.get("start") or "",
        staff_id=body.get("staff_id"),
        actor=actor,
        hooks=hooks,
    )


@post(
    f"{API}/appointments/{{appointment_id:str}}/no-show",
    opt={"roles": DESK},
    status_code=200,
)
async def no_show(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    appointment_id: FromPath[str],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Record a no-show; body ``{"waive_fee": false}``. 409 before the start."""
    await tenant_scope.get(Appointment, appointment_id)
    body = _body(data, NO_SHOW_FIELDS)
    return await mark_no_show(
        tenant_scope,
        appointment_id,
        actor=actor,
        waive_fee=_flag(body, "waive_fee"),
        hooks=hooks,
    )


@get(f"{API}/bookings/{{token:str}}/cancellation", opt=PUBLIC)
async def client_cancellation(
    tenant_scope: NamedDependency[TenantScope], token: FromPath[str]
) -> dict[str, Any]:
    """Return what the client would pay to cancel now, and the policy."""
    found = await appointment_by_token(tenant_scope, token)
    row = await tenant_scope.get(Appointment, found["id"])
    return await cancellation_preview(tenant_scope, row)


@post(f"{API}/bookings/{{token:str}}/cancel", opt=PUBLIC, status_code=200)
async def client_cancel(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    token: FromPath[str],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any]:
    """Cancel by a client's link; body ``{"reason", "expected_fee"}``.

    With ``expected_fee`` (the fee from ``/cancellation``) a changed fee
    responds 409 and nothing changes.
    """
    body = _body(data, CLIENT_CANCEL_FIELDS)
    expected = body.get("expected_fee")
    if expected is not None and (
        isinstance(expected, bool) or not isinstance(expected, int)
    ):
        raise invalid("expected_fee", f"{expected!r} is not an amount in minor units")
    return await cancel_by_token(
        tenant_scope,
        token,
        hooks=hooks,
        reason=_text(body, "reason"),
        expected_fee=expected,
    )


@post(f"{API}/bookings/{{token:str}}/reschedule", opt=PUBLIC, status_code=200)
async def client_reschedule(
    tenant_scope: NamedDependency[TenantScope],
    hooks: NamedDependency[TenantHooks],
    token: FromPath[str],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Move by a client's link to ``{"start": ISO 8601}`` with the same provider."""
    body = _body(data, frozenset({"start"}))
    return await reschedule_by_token(
        tenant_scope,
        token,
        start=body.get("start") or "",
        hooks=hooks,
    )


ROUTES: list[Any] = [
    get_policy,
    change_policy,
    preview_cancellation,
    cancel,
    reschedule,
    no_show,
    client_cancellation,
    client_cancel,
    client_reschedule,
]
