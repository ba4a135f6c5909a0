"""Staff accounts of one tenant: adding them, changing roles, removing them.

An account is global (one login per email), and a ``Membership`` gives it a
role in one tenant. Owners manage every account. Managers manage only
front_desk and provider accounts, and cannot give anyone the owner or
manager role. A tenant always keeps at least one owner. Every change is
audited, and so are API tokens issued and revoked here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotAllowed, NotFound, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.accounts import (
    Actor,
    create_api_token,
    hash_password,
    list_api_tokens,
    revoke_api_token,
    verify_password,
)
from tillbook.tenancy.roles import Role
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signin import check_not_limited, record_failure
from tillbook.tenancy.signup import (
    EMAIL_PATTERN,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
)
from tillbook.tenancy.tables import Account, ApiToken, Membership

ACCOUNT_FIELDS = frozenset({"email", "name", "role", "password", "staff_id"})
CHANGE_FIELDS = frozenset({"role", "staff_id"})
# The roles a manager may grant, and the only accounts a manager may change.
MANAGER_GRANTABLE = frozenset({Role.FRONT_DESK, Role.PROVIDER})


def account_json(membership: Mapping[str, Any], account: Mapping[str, Any]) -> dict:
    """Return a member as the API shows it, with the account id as ``id``."""
    staff_id = membership["staff_id"]
    return {
        "id": str(account["id"]),
        "email": account["email"],
        "name": account["name"],
        "role": membership["role"],
        "staff_id": str(staff_id) if staff_id else None,
    }


async def list_accounts(scope: TenantScope) -> list[dict[str, Any]]:
    """Return the tenant's staff accounts, by role then name."""
    memberships = await scope.select(Membership)
    ids = [row["account_id"] for row in memberships]
    accounts: dict[uuid.UUID, dict[str, Any]] = {}
    if ids:
        rows = await Account.select().where(Account.id.is_in(ids))
        accounts = {row["id"]: row for row in rows}
    order = {role.value: index for index, role in enumerate(Role)}
    members = [
        account_json(membership, accounts[membership["account_id"]])
        for membership in memberships
        if membership["account_id"] in accounts
    ]
    members.sort(key=lambda member: (order.get(member["role"], 9), member["name"]))
    return members


async def get_account(scope: TenantScope, account_id: uuid.UUID) -> dict[str, Any]:
    """Return one member; raise NotFound if the account is not in this tenant."""
    membership = await _membership(scope, account_id)
    account = await Account.select().where(Account.id == account_id).first()
    if account is None:
        raise NotFound("account", str(account_id))
    return account_json(membership, account)


async def create_account(
    scope: TenantScope, values: Mapping[str, Any], *, actor: Actor | None = None
) -> dict[str, Any]:
    """Give an account a role in the tenant, creating the account if needed.

    ``values``: ``email``, ``name``, ``role`` (owner, manager, front_desk or
    provider), ``password`` (10 characters or more) and optional
    ``staff_id`` (a staff member of this tenant, linked to one account at
    most). When the email already has a Tillbook account, ``password`` must
    be that account's password, and ``name`` is ignored. ``actor`` is the
    member making the change (``None`` for the system).

    Raises NotAllowed when a manager grants owner or manager,
    ValidationFailed naming each bad field, and TooManyAttempts after
    repeated wrong passwords for an existing account.
    """
    errors = _unknown_fields(values, ACCOUNT_FIELDS)
    email = _text(values, "email", errors, max_length=254).lower()
    if "email" not in errors and not EMAIL_PATTERN.match(email):
        errors["email"] = "is not a valid email address"
    name = values.get("name") or ""
    if not isinstance(name, str):
        errors["name"] = "must be a string"
        name = ""
    elif len(name.strip()) > 200:
        errors["name"] = "is longer than 200 characters"
    name = name.strip()
    role = _role(values, errors)
    password = values.get("password")
    if not isinstance(password, str):
        errors["password"] = "is required"  # noqa: S105 - a message, not a password
        password = ""
    elif len(password) < MIN_PASSWORD_LENGTH:
        # Every account's password has this length, so a shorter one is wrong
        # for an existing account too.
        errors["password"] = f"must have at least {MIN_PASSWORD_LENGTH} characters"
    staff_id = _staff_id(values, errors)
    if role is not None:
        _check_may_grant(actor, role)
    if errors:
        raise ValidationFailed(errors)
    assert role is not None

    async with write_transaction():
        account = await Account.select().where(Account.email == email).first()
        if account is None:
            _check_new_account(name, password)
            new_account = Account(
                email=email,
                name=name,
                password_hash=hash_password(password),
                created_at=utcnow(),
            )
            await new_account.save()
            account_id = new_account.id
        else:
            account_id = account["id"]
            if await _find_membership(scope, account_id) is not None:
                raise invalid("email", "already has an account at this business")
            # Counted like failed sign-ins, per email and adding member, so
            # this form cannot be used to guess another account's password.
            limit_key = f"member:{actor.account_id if actor else 'system'}"
            await check_not_limited(email, limit_key)
            if not verify_password(account["password_hash"], password):
                await record_failure(email, limit_key)
                raise invalid(
                    "email",
                    "already has a Tillbook account: enter that account's "
                    "password to add it here, or use another email",
                )
        if staff_id is not None:
            await _check_staff(scope, staff_id, account_id)
        await scope.insert(
            Membership(account_id=account_id, role=role.value, staff_id=staff_id)
        )
        created = await get_account(scope, account_id)
        await record_audit(
            scope,
            actor_id=actor.account_id if actor else None,
            action="account.added",
            subject_type="account",
            subject_id=account_id,
            after=created,
        )
    return created


async def update_account(
    scope: TenantScope,
    account_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    actor: Actor | None = None,
) -> dict[str, Any]:
    """Change a member's ``role`` or linked ``staff_id`` (null unlinks).

    Raises NotFound when the account is not in this tenant, which is checked
    first. Raises NotAllowed when a manager changes an owner or manager or
    grants either role. Raises ValidationFailed naming the field, also for a
    change that would leave the tenant without an owner.
    """
    before = await get_account(scope, account_id)
    errors = _unknown_fields(changes, CHANGE_FIELDS)
    role = _role(changes, errors) if "role" in changes else None
    staff_id = _staff_id(changes, errors)
    current = Role(before["role"])
    if actor is not None:
        _check_may_manage(actor, current)
    if role is not None:
        _check_may_grant(actor, role)
    if errors:
        raise ValidationFailed(errors)

    values: dict[Any, Any] = {}
    async with write_transaction():
        if role is not None and role != current:
            if current == Role.OWNER and await _owner_count(scope) <= 1:
                raise invalid(
                    "role",
                    "would leave the business without an owner: make another "
                    "account owner first",
                )
            values[Membership.role] = role.value
        if "staff_id" in changes:
            if staff_id is not None:
                await _check_staff(scope, staff_id, account_id)
            values[Membership.staff_id] = staff_id
        if values:
            await scope.update(Membership, values).where(
                Membership.account_id == account_id
            )
        after = await get_account(scope, account_id)
        await record_audit(
            scope,
            actor_id=actor.account_id if actor else None,
            action="account.updated",
            subject_type="account",
            subject_id=account_id,
            before=before,
            after=after,
        )
    return after


async def remove_account(
    scope: TenantScope, account_id: uuid.UUID, *, actor: Actor | None = None
) -> None:
    """Remove an account's membership and revoke its tokens in this tenant.

    The account itself stays, since it may belong to other tenants. Raises
    NotFound when the account is not in this tenant, NotAllowed when a
    manager removes an owner or manager, and Conflict when it is the last
    owner.
    """
    before = await get_account(scope, account_id)
    role = Role(before["role"])
    if actor is not None:
        _check_may_manage(actor, role)
    async with write_transaction():
        if role == Role.OWNER and await _owner_count(scope) <= 1:
            raise Conflict(
                "this is the business's last owner: make another account owner "
                "before removing it"
            )
        await scope.delete(Membership).where(Membership.account_id == account_id)
        await scope.update(ApiToken, {ApiToken.revoked: True}).where(
            ApiToken.account_id == account_id
        )
        await record_audit(
            scope,
            actor_id=actor.account_id if actor else None,
            action="account.removed",
            subject_type="account",
            subject_id=account_id,
            before=before,
        )


async def issue_api_token(
    scope: TenantScope, actor: Actor, name: Any
) -> tuple[str, dict[str, Any]]:
    """Create an API token for the actor and return the token (shown once) and row.

    Raises ValidationFailed on a missing or too long ``name``.
    """
    async with write_transaction():
        token, token_id = await create_api_token(
            scope, actor.account_id, name if isinstance(name, str) else ""
        )
        listed = await list_api_tokens(scope, actor.account_id)
        row = next(item for item in listed if item["id"] == str(token_id))
        await record_audit(
            scope,
            actor_id=actor.account_id,
            action="api_token.created",
            subject_type="api_token",
            subject_id=token_id,
            after=row,
        )
    return token, row


async def withdraw_api_token(
    scope: TenantScope, actor: Actor, token_id: uuid.UUID
) -> dict[str, Any]:
    """Revoke a token: owners may revoke any token of the tenant, others their own.

    Raises NotFound for a token the actor may not see or one already revoked.
    """
    owner_only = None if actor.role == Role.OWNER else actor.account_id
    async with write_transaction():
        row = await revoke_api_token(scope, token_id, owner_only)
        await record_audit(
            scope,
            actor_id=actor.account_id,
            action="api_token.revoked",
            subject_type="api_token",
            subject_id=token_id,
            after=row,
        )
    return row


def _unknown_fields(values: Mapping[str, Any], allowed: frozenset[str]) -> dict:
    names = ", ".join(sorted(allowed))
    return {
        str(key): f"is not a known field; use one of: {names}"
        for key in values
        if key not in allowed
    }


def _text(
    values: Mapping[str, Any], name: str, errors: dict[str, str], *, max_length: int
) -> str:
    value = values.get(name)
    if not isinstance(value, str) or not value.strip():
        errors[name] = "is required"
        return ""
    if len(value.strip()) > max_length:
        errors[name] = f"is longer than {max_length} characters"
    return value.strip()


def _role(values: Mapping[str, Any], errors: dict[str, str]) -> Role | None:
    value = values.get("role")
    try:
        return Role(str(value))
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        errors["role"] = f"must be one of: {choices}"
        return None


def _staff_id(values: Mapping[str, Any], errors: dict[str, str]) -> uuid.UUID | None:
    value = values.get("staff_id")
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        errors["staff_id"] = "must be the id of a staff member, or null"
        return None


def _check_may_grant(actor: Actor | None, role: Role) -> None:
    if actor is None or actor.role == Role.OWNER:
        return
    if actor.role != Role.MANAGER or role not in MANAGER_GRANTABLE:
        raise NotAllowed(
            f"a {actor.role.value} may not give the {role.value} role: "
            "managers may give front_desk and provider only; ask an owner"
        )


def _check_may_manage(actor: Actor, target_role: Role) -> None:
    if actor.role == Role.OWNER:
        return
    if actor.role != Role.MANAGER or target_role not in MANAGER_GRANTABLE:
        raise NotAllowed(
            f"a {actor.role.value} may not change a {target_role.value} account; "
            "ask an owner"
        )


def _check_new_account(name: str, password: str) -> None:
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "is required for a new account: enter the person's name"
    if len(password) > MAX_PASSWORD_LENGTH:
        errors["password"] = f"must have at most {MAX_PASSWORD_LENGTH} characters"
    if errors:
        raise ValidationFailed(errors)


async def _check_staff(
    scope: TenantScope, staff_id: uuid.UUID, account_id: uuid.UUID
) -> None:
    if not await scope.get_many(Staff, [staff_id]):
        raise invalid("staff_id", f"{staff_id} is not a staff member of this business")
    linked = (
        await scope.select(Membership, Membership.account_id)
        .where(Membership.staff_id == staff_id)
        .where(Membership.account_id != account_id)
        .first()
    )
    if linked is not None:
        raise invalid(
            "staff_id", "is already linked to another account: unlink it there first"
        )


async def _membership(scope: TenantScope, account_id: uuid.UUID) -> dict[str, Any]:
    membership = await _find_membership(scope, account_id)
    if membership is None:
        raise NotFound("account", str(account_id))
    return membership


async def _find_membership(
    scope: TenantScope, account_id: uuid.UUID
) -> dict[str, Any] | None:
    return await (  # type: ignore[no-any-return]
        scope.select(Membership).where(Membership.account_id == account_id).first()
    )


async def _owner_count(scope: TenantScope) -> int:
    return await scope.count(Membership).where(  # type: ignore[no-any-return]
        Membership.role == Role.OWNER.value
    )
