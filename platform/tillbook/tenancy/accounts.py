"""Staff accounts: password hashes, sign-in and API tokens."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from tillbook.db.base import utcnow
from tillbook.errors import NotAllowed, NotFound, invalid
from tillbook.tenancy.roles import Role
from tillbook.tenancy.scope import SystemScope, TenantScope
from tillbook.tenancy.tables import Account, ApiToken, Membership

# TILLBOOK_FAST_PASSWORD_HASHES=1 selects argon2's cheapest parameters, for
# the test suite only: those hashes are far quicker to brute-force.
_hasher = (
    PasswordHasher.from_parameters(profiles.CHEAPEST)
    if os.environ.get("TILLBOOK_FAST_PASSWORD_HASHES") == "1"
    else PasswordHasher()
)

# Verifying against this hash when the email is unknown keeps sign-in time the
# same for known and unknown emails, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Actor:
    """The signed-in staff member making a request, in one tenant."""

    account_id: uuid.UUID
    name: str
    email: str
    role: Role
    staff_id: uuid.UUID | None

    def require(self, roles: frozenset[Role]) -> None:
        """Raise NotAllowed unless the actor's role is in ``roles``."""
        if self.role not in roles:
            allowed = ", ".join(sorted(role.value for role in roles))
            raise NotAllowed(
                f"role {self.role.value} may not do this; it needs one of: {allowed}"
            )


async def authenticate_password(email: str, password: str) -> uuid.UUID | None:
    """Return the account id for a correct email and password, else ``None``."""
    row = await Account.select().where(Account.email == email.strip().lower()).first()
    if row is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(row["password_hash"], password):
        return None
    return row["id"]


async def actor_for(scope: TenantScope, account_id: uuid.UUID) -> Actor | None:
    """Return the account's actor in the scope's tenant, or ``None`` if not a member."""
    membership = (
        await scope.select(Membership)
        .where(Membership.account_id == account_id)
        .first()
    )
    if membership is None:
        return None
    account = await Account.select().where(Account.id == account_id).first()
    if account is None:
        return None
    return Actor(
        account_id=account_id,
        name=account["name"],
        email=account["email"],
        role=Role(membership["role"]),
        staff_id=membership["staff_id"],
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_api_token(
    scope: TenantScope, account_id: uuid.UUID, name: str
) -> tuple[str, uuid.UUID]:
    """Create a bearer token for the account and return it (shown once) and its id.

    Raises ValidationFailed on an empty ``name`` or one over 100 characters,
    and NotAllowed when the account is not a member of the tenant.
    """
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise invalid("name", "is required: say what the token is for")
    if len(name) > 100:
        raise invalid("name", "is longer than 100 characters")
    if await actor_for(scope, account_id) is None:
        raise NotAllowed("the account is not a member of this tenant")
    secret = secrets.token_urlsafe(32)
    prefix = secret[:8]
    token = f"tb_{secret}"
    row = ApiToken(
        account_id=account_id,
        name=name,
        token_hash=_digest(token),
        prefix=prefix,
        created_at=utcnow(),
    )
    await scope.insert(row)
    return token, row.id


async def actor_for_token(scope: TenantScope, token: str) -> Actor | None:
    """Return the actor a bearer token stands for in the scope's tenant."""
    row = (
        await scope.select(ApiToken)
        .where(ApiToken.token_hash == _digest(token))
        .where(ApiToken.revoked == False)  # noqa: E712 - piccolo builds SQL from ==
        .first()
    )
    if row is None:
        return None
    await scope.update(ApiToken, {ApiToken.last_used_at: utcnow()}).where(
        ApiToken.id == row["id"]
    )
    return await actor_for(scope, row["account_id"])


def api_token_json(row: dict[str, Any], email: str = "") -> dict[str, Any]:
    """Return a token row as the API lists it: never the secret, only its prefix."""
    last_used = row["last_used_at"]
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "prefix": f"tb_{row['prefix']}",
        "account_id": str(row["account_id"]),
        "account_email": email,
        "created_at": row["created_at"].isoformat(),
        "last_used_at": last_used.isoformat() if last_used else None,
        "revoked": row["revoked"],
    }


async def list_api_tokens(
    scope: TenantScope, account_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Return the tenant's live tokens, newest first, or only one account's."""
    query = (
        scope.select(ApiToken)
        .where(ApiToken.revoked == False)  # noqa: E712 - piccolo builds SQL from ==
        .order_by(ApiToken.created_at, ascending=False)
    )
    if account_id is not None:
        query = query.where(ApiToken.account_id == account_id)
    rows = await query
    account_ids = list({row["account_id"] for row in rows})
    emails: dict[uuid.UUID, str] = {}
    if account_ids:
        accounts = await Account.select(Account.id, Account.email).where(
            Account.id.is_in(account_ids)
        )
        emails = {account["id"]: account["email"] for account in accounts}
    return [api_token_json(row, emails.get(row["account_id"], "")) for row in rows]


async def revoke_api_token(
    scope: TenantScope, token_id: uuid.UUID, account_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """Revoke a token, so requests with it get 401, and return it as listed.

    With ``account_id`` only that account's tokens can be revoked. Raises
    NotFound for a token of another tenant, of another account when
    ``account_id`` is given, or one already revoked.
    """
    row = await scope.get(ApiToken, token_id)
    if row["revoked"] or (account_id is not None and row["account_id"] != account_id):
        raise NotFound("api_token", str(token_id))
    await scope.update(ApiToken, {ApiToken.revoked: True}).where(
        ApiToken.id == token_id
    )
    return api_token_json({**row, "revoked": True})


async def tenants_of_account(account_id: uuid.UUID) -> list[uuid.UUID]:
    """Return the ids of the tenants an account belongs to.

    This reads memberships across tenants on purpose: it runs at sign-in,
    before any tenant is chosen, and returns only the caller's own tenants.
    """
    rows = await (
        SystemScope()
        .select(Membership, Membership.tenant_id)
        .where(Membership.account_id == account_id)
    )
    return [row["tenant_id"] for row in rows]
