"""The schedule policy page: cancellation and no-show fees, reminders, booking rules.

Owners edit the policy here; the same rules apply to the API's ``/policy``.
Fees are typed in major units (``15.00``) and stored in minor units.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from tillbook.errors import ValidationFailed
from tillbook.kernel.ledger.money import format_major, parse_major
from tillbook.kernel.schedule.policy import FIELDS, Policy, load_policy, update_policy
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import OWNERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

MONEY_FIELDS = ("late_cancel_fee", "no_show_fee")


def _form_values(scope: TenantScope, policy: Policy) -> dict[str, str]:
    """Return the policy as the text the form shows."""
    values = {name: str(value) for name, value in policy.to_json().items()}
    for name in MONEY_FIELDS:
        values[name] = format_major(getattr(policy, name), scope.tenant.minor_digits)
    values["reminder_offsets"] = ",".join(str(m) for m in policy.reminder_offsets)
    return values


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _policy_page(
    scope: TenantScope,
    actor: Actor,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Template:
    return page(
        "policy/form.html",
        scope,
        actor,
        status_code=status_code,
        values=values,
        errors=errors or {},
        saved=saved,
    )


@get(f"{STAFF}/policy", opt={"roles": OWNERS})
async def policy_form(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    saved: FromQuery[bool] = False,
) -> Template:
    """Show the policy form with the current (or default) values."""
    policy = await load_policy(tenant_scope)
    return _policy_page(
        tenant_scope, actor, _form_values(tenant_scope, policy), saved=saved
    )


@post(f"{STAFF}/policy", opt={"roles": OWNERS})
async def policy_save(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Save the policy; bad fields come back under each field (422)."""
    form = await request.form()
    values = {name: _text(form.get(name)) for name in FIELDS}
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, text in values.items():
        if name in MONEY_FIELDS:
            try:
                changes[name] = (
                    parse_major(text, tenant_scope.tenant.minor_digits, name) or 0
                )
            except ValidationFailed as exc:
                errors.update(exc.errors)
        elif name == "reminder_offsets":
            changes[name] = text
        elif text:
            changes[name] = text
        else:
            errors[name] = "is required: enter a whole number"
    if not errors:
        try:
            await update_policy(tenant_scope, changes, actor_id=actor.account_id)
        except ValidationFailed as exc:
            errors = exc.errors
    if errors:
        return _policy_page(tenant_scope, actor, values, errors=errors, status_code=422)
    return Redirect(
        f"/t/{tenant_scope.tenant.slug}/staff/policy?saved=true", status_code=303
    )


ROUTES: list[Any] = [policy_form, policy_save]
