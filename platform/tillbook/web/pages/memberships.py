"""Staff pages for membership plans and client memberships.

Any staff member can view the plans and memberships; managers and owners add
plans, enrol clients, record paid periods and pause or cancel memberships.
Amounts are typed in major units. The paid-period form carries an
idempotency key made when the page is shown, so a double submit records one
payment.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from tillbook.errors import ValidationFailed
from tillbook.kernel.catalog import memberships
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.catalog.tables import ClientMembership, Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.money import parse_major
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

# The enrol form lists this many clients by name; beyond that, use the API.
CLIENT_CHOICES = 500


def _back(scope: TenantScope) -> Redirect:
    return Redirect(f"/t/{scope.tenant.slug}/staff/memberships", status_code=303)


async def _memberships_page(
    scope: TenantScope,
    actor: Actor,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    clients = (
        await scope.select(Client, Client.id, Client.first_name, Client.last_name)
        .order_by(Client.first_name)
        .limit(CLIENT_CHOICES)
    )
    services = await scope.select(Service, Service.id, Service.name).order_by(
        Service.name
    )
    client_names = {
        str(row["id"]): f"{row['first_name']} {row['last_name']}".strip()
        for row in clients
    }
    return page(
        "backoffice/memberships.html",
        scope,
        actor,
        status_code=status_code,
        plans=await memberships.list_membership_plans(scope),
        memberships=await memberships.list_client_memberships(scope),
        clients=clients,
        client_names=client_names,
        services=services,
        errors=errors or {},
        key=secrets.token_hex(16),
    )


@get(f"{STAFF}/memberships", opt={"roles": DESK})
async def memberships_page(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> Template:
    """List membership plans and client memberships, with the staff forms."""
    return await _memberships_page(tenant_scope, actor)


@post(f"{STAFF}/membership-plans", opt={"roles": MANAGERS})
async def membership_plan_add_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Add a membership plan from the form."""
    form = await request.form()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": str(form.get("name") or ""),
        "interval": str(form.get("interval") or "month"),
        "benefit": str(form.get("benefit") or "sessions"),
        "service_ids": [str(item) for item in form.getall("service_ids", [])],
    }
    for name in ("sessions_per_period", "discount_percent", "interval_count"):
        text = str(form.get(name) or "").strip()
        if text:
            values[name] = int(text) if is_whole_number(text) else text
    try:
        values["price"] = parse_major(
            str(form.get("price") or ""), tenant_scope.tenant.minor_digits, "price"
        )
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if not errors:
        try:
            await memberships.create_membership_plan(
                tenant_scope, values, actor_id=actor.account_id
            )
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        return await _memberships_page(
            tenant_scope, actor, status_code=422, errors=errors
        )
    return _back(tenant_scope)


@post(f"{STAFF}/client-memberships", opt={"roles": MANAGERS})
async def enrol_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Enrol the chosen client in the chosen plan; the first period is due."""
    form = await request.form()
    try:
        await memberships.enrol_client(
            tenant_scope,
            {
                "client_id": str(form.get("client_id") or ""),
                "plan_id": str(form.get("plan_id") or ""),
            },
            actor_id=actor.account_id,
        )
    except ValidationFailed as exc:
        return await _memberships_page(
            tenant_scope, actor, status_code=422, errors=exc.errors
        )
    return _back(tenant_scope)


@post(
    f"{STAFF}/client-memberships/{{client_membership_id:uuid}}/paid",
    opt={"roles": MANAGERS},
)
async def period_paid_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    client_membership_id: FromPath[uuid.UUID],
    request: Request[Any, Any, Any],
) -> Template | Redirect:
    """Record a period's payment: amount, where it was paid and a reference."""
    await tenant_scope.get(ClientMembership, client_membership_id)
    form = await request.form()
    try:
        amount = parse_major(
            str(form.get("amount") or ""), tenant_scope.tenant.minor_digits, "amount"
        )
        await memberships.mark_period_paid(
            tenant_scope,
            client_membership_id,
            amount=amount,
            account=str(form.get("account") or ""),
            reference=str(form.get("reference") or ""),
            actor_id=actor.account_id,
            idempotency_key=str(form.get("key") or "") or None,
        )
    except ValidationFailed as exc:
        return await _memberships_page(
            tenant_scope, actor, status_code=422, errors=exc.errors
        )
    return _back(tenant_scope)


@post(
    f"{STAFF}/client-memberships/{{client_membership_id:uuid}}/status",
    opt={"roles": MANAGERS},
)
async def membership_status_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    client_membership_id: FromPath[uuid.UUID],
    request: Request[Any, Any, Any],
) -> Redirect:
    """Pause, resume or cancel the membership, as the form's ``status`` requests."""
    await tenant_scope.get(ClientMembership, client_membership_id)
    form = await request.form()
    await memberships.set_membership_status(
        tenant_scope,
        client_membership_id,
        str(form.get("status") or ""),
        actor_id=actor.account_id,
    )
    return _back(tenant_scope)


ROUTES: list[Any] = [
    memberships_page,
    membership_plan_add_page,
    enrol_page,
    period_paid_page,
    membership_status_page,
]
