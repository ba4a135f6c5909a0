"""JSON API: sign-up, sessions, staff accounts and API tokens."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from tillbook.errors import ValidationFailed
from tillbook.tenancy.accounts import Actor, create_api_token, list_api_tokens
from tillbook.tenancy.members import (
    create_account,
    get_account,
    issue_api_token,
    list_accounts,
    remove_account,
    update_account,
    withdraw_api_token,
)
from tillbook.tenancy.roles import DESK, MANAGERS, Role
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signin import check_not_limited, record_failure, sign_in
from tillbook.tenancy.signup import PasswordMismatch, SignupRequest, sign_up
from tillbook.web.api import settings as settings_api
from tillbook.web.deps import SESSION_ACCOUNT
from tillbook.web.paths import API

SIGNUP_FIELDS = (
    "business_name",
    "slug",
    "email",
    "password",
    "owner_name",
    "time_zone",
    "currency",
    "brand_colour",
    "logo_url",
)


def client_ip(request: Request[Any, Any, Any]) -> str:
    """Return the caller's address, the key sign-in limits count by."""
    # NOTE: behind a proxy this is the proxy's address, so the limit counts
    # all clients of that proxy together until X-Forwarded-For is trusted.
    return request.client.host if request.client else "unknown"


def signup_request(values: dict[str, Any]) -> SignupRequest:
    """Build a SignupRequest from submitted fields.

    Raises ValidationFailed on unknown fields and on values that are not text.
    """
    errors: dict[str, str] = {}
    for key in values:
        if key not in SIGNUP_FIELDS:
            errors[str(key)] = (
                f"is not a known field; use one of: {', '.join(SIGNUP_FIELDS)}"
            )
    strings: dict[str, str] = {}
    for name in SIGNUP_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[name] = "must be a string"
        else:
            strings[name] = value
    for name in ("business_name", "slug", "email", "password"):
        if name not in strings and name not in errors:
            errors[name] = "is required"
    if errors:
        raise ValidationFailed(errors)
    return SignupRequest(**strings)


async def sign_up_limited(
    request: SignupRequest, ip: str
) -> tuple[TenantScope, uuid.UUID]:
    """Run ``sign_up`` under the sign-in limit for the email and address.

    A wrong password for an existing email counts as a failed sign-in, so
    sign-up cannot be used to guess passwords.
    """
    await check_not_limited(request.email, ip)
    try:
        return await sign_up(request)
    except PasswordMismatch:
        await record_failure(request.email, ip)
        raise


def tenant_json(scope: TenantScope) -> dict[str, Any]:
    """Return the tenant's public settings and its main URLs."""
    tenant = scope.tenant
    return {
        "id": str(tenant.id),
        "slug": tenant.slug,
        "name": tenant.name,
        "time_zone": tenant.time_zone,
        "currency": tenant.currency,
        "brand_colour": tenant.brand_colour,
        "logo_url": tenant.logo_url,
        "staff_url": f"/t/{tenant.slug}/staff/calendar",
        "booking_url": f"/t/{tenant.slug}/book",
        "api_url": f"/t/{tenant.slug}/api/v1",
    }


def actor_json(actor: Actor) -> dict[str, Any]:
    """Return the signed-in member as the API shows it."""
    return {
        "id": str(actor.account_id),
        "email": actor.email,
        "name": actor.name,
        "role": actor.role.value,
        "staff_id": str(actor.staff_id) if actor.staff_id else None,
    }


@post("/api/v1/signup", opt={"public": True})
async def signup(
    request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
) -> dict:
    """Open a business: create the tenant and its owner, and an owner API token.

    Returns 201 with ``tenant``, ``owner`` and ``token`` (shown only here).
    Raises 422 naming each bad field, ``slug`` when it is taken, and
    ``email`` when the email has an account and the password is not its
    password. Raises 429 after repeated wrong passwords.
    """
    signup_data = signup_request(data)
    scope, account_id = await sign_up_limited(signup_data, client_ip(request))
    token, _ = await create_api_token(scope, account_id, "Created at sign-up")
    owner = await get_account(scope, account_id)
    return {"tenant": tenant_json(scope), "owner": owner, "token": token}


@post(f"{API}/session", opt={"public": True}, status_code=HTTP_200_OK)
async def open_session(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Sign a member in with ``email`` and ``password`` and set the session cookie.

    Raises 401 "email or password is wrong" for an unknown email, a wrong
    password or an account that is not a member of this business alike, and
    429 after repeated failures.
    """
    email, password = data.get("email"), data.get("password")
    errors = {
        name: "is required"
        for name, value in (("email", email), ("password", password))
        if not isinstance(value, str) or not value
    }
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(email, str) and isinstance(password, str)
    actor = await sign_in(tenant_scope, email, password, client_ip=client_ip(request))
    request.set_session({SESSION_ACCOUNT: str(actor.account_id)})
    return actor_json(actor)


@get(f"{API}/session", opt={"roles": DESK})
async def show_session(actor: NamedDependency[Actor]) -> dict:
    """Return the signed-in member (from the session cookie or a token)."""
    return actor_json(actor)


@delete(f"{API}/session", opt={"public": True})
async def close_session(request: Request[Any, Any, Any]) -> None:
    """Sign out by clearing the session cookie, which succeeds without a session too."""
    request.clear_session()


@get(f"{API}/accounts", opt={"roles": MANAGERS})
async def accounts_index(
    tenant_scope: NamedDependency[TenantScope],
) -> list[dict[str, Any]]:
    """List the business's staff accounts with their roles."""
    return await list_accounts(tenant_scope)


@post(f"{API}/accounts", opt={"roles": MANAGERS})
async def accounts_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Add a staff account: ``email``, ``name``, ``role``, ``password``, ``staff_id``.

    Managers may add front_desk and provider accounts only (403 otherwise).
    Raises 422 naming each bad field.
    """
    return await create_account(tenant_scope, data, actor=actor)


@patch(f"{API}/accounts/{{account_id:uuid}}", opt={"roles": MANAGERS})
async def accounts_update(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    account_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Change a member's ``role`` or ``staff_id``.

    Raises 404 for an account that is not a member here, 403 when a manager
    touches an owner or manager, and 422 naming the field.
    """
    return await update_account(tenant_scope, account_id, data, actor=actor)


@delete(f"{API}/accounts/{{account_id:uuid}}", opt={"roles": MANAGERS})
async def accounts_remove(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    account_id: FromPath[uuid.UUID],
) -> None:
    """Remove a member from the business and revoke their tokens here.

    Raises 404 for an account that is not a member here, 403 when a manager
    removes an owner or manager, and 409 for the last owner.
    """
    await remove_account(tenant_scope, account_id, actor=actor)


@get(f"{API}/tokens", opt={"roles": DESK})
async def tokens_index(
    tenant_scope: NamedDependency[TenantScope], actor: NamedDependency[Actor]
) -> list[dict]:
    """List live API tokens: all of the business's for owners, else your own."""
    account_id = None if actor.role == Role.OWNER else actor.account_id
    return await list_api_tokens(tenant_scope, account_id)


@post(f"{API}/tokens", opt={"roles": DESK})
async def tokens_create(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    data: JSONBody[dict[str, Any]],
) -> dict:
    """Create an API token for yourself. The ``token`` is shown only in this reply.

    Raises 422 on ``name``.
    """
    token, row = await issue_api_token(tenant_scope, actor, data.get("name"))
    return {**row, "token": token}


@delete(f"{API}/tokens/{{token_id:uuid}}", opt={"roles": DESK})
async def tokens_revoke(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    token_id: FromPath[uuid.UUID],
) -> None:
    """Revoke a token, so requests with it get 401 from then on.

    Owners may revoke any token of the business, others only their own.
    Raises 404 for any other token.
    """
    await withdraw_api_token(tenant_scope, actor, token_id)


ROUTES: list[Any] = [
    signup,
    open_session,
    show_session,
    close_session,
    accounts_index,
    accounts_create,
    accounts_update,
    accounts_remove,
    tokens_index,
    tokens_create,
    tokens_revoke,
    *settings_api.ROUTES,
]
