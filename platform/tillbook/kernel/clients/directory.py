"""Finding, searching and creating clients."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from piccolo.columns.combination import Or, Where

from tillbook.db import is_postgres, write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.clients.tables import Client
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import EMAIL_PATTERN

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
CLIENT_FIELDS = frozenset({*CONTACT_FIELDS, "preferences", "notes"})
MAX_PREFERENCES = 2000
MAX_NOTES = 5000
MAX_PAGE = 200


def validate_contact(first_name: str, last_name: str, email: str, phone: str) -> None:
    """Raise ValidationFailed naming each bad contact field."""
    errors: dict[str, str] = {}
    if not first_name.strip():
        errors["first_name"] = "is required"
    if len(first_name) > 100:
        errors["first_name"] = "is longer than 100 characters"
    if len(last_name) > 100:
        errors["last_name"] = "is longer than 100 characters"
    if email and not EMAIL_PATTERN.match(email.strip()):
        errors["email"] = "is not a valid email address"
    digits = [ch for ch in phone if ch.isdigit()]
    if phone and (len(digits) < 6 or len(phone) > 40):
        errors["phone"] = "must have at least 6 digits, such as +44 20 7946 0000"
    if errors:
        raise ValidationFailed(errors)


def clean_client(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Check client fields are known strings of allowed length.

    Returns the stripped values that were given (on create, absent fields are
    empty strings). Raises ValidationFailed naming each bad field. Contact
    formats are checked by ``validate_contact``.
    """
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key in values:
        if key not in CLIENT_FIELDS:
            names = ", ".join(sorted(CLIENT_FIELDS))
            errors[str(key)] = f"is not a known field; use one of: {names}"
    limits = {"preferences": MAX_PREFERENCES, "notes": MAX_NOTES}
    for name in sorted(CLIENT_FIELDS):
        if name not in values:
            if not partial:
                cleaned[name] = ""
            continue
        value = values[name]
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[name] = "must be a string"
            continue
        limit = limits.get(name)
        if limit is not None and len(value) > limit:
            errors[name] = f"is longer than {limit} characters"
            continue
        cleaned[name] = value.strip()
    if "email" in cleaned:
        cleaned["email"] = cleaned["email"].lower()
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def client_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a client row as lists and search results show it."""
    return {
        "id": str(row["id"]),
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "name": full_name(row),
        "email": row["email"],
        "phone": row["phone"],
        "completed_visits": row["completed_visits"],
        "created_at": as_utc(row["created_at"]).isoformat(),
    }


def full_name(row: Mapping[str, Any]) -> str:
    """Return the client's first and last name joined by a space."""
    return f"{row['first_name']} {row['last_name']}".strip()


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC, taking a naive value to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


async def find_or_create_client(
    scope: TenantScope,
    *,
    first_name: str,
    last_name: str,
    email: str,
    phone: str = "",
) -> uuid.UUID:
    """Return the client with this email, creating one if there is none.

    Matching is by email, case-insensitive; a client who books twice with the
    same address keeps one history. Call inside the booking transaction.
    """
    validate_contact(first_name, last_name, email, phone)
    email = email.strip().lower()
    if email:
        existing = (
            await scope.select(Client, Client.id).where(Client.email == email).first()
        )
        if existing is not None:
            return existing["id"]  # type: ignore[no-any-return]
    client = Client(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email,
        phone=phone.strip(),
        created_at=utcnow(),
    )
    await scope.insert(client)
    return client.id  # type: ignore[no-any-return]


async def check_email_free(
    scope: TenantScope, email: str, client_id: uuid.UUID | None
) -> None:
    """Raise ValidationFailed on ``email`` if another client already has it.

    Online booking matches returning clients by email, so two clients with
    one address would split a history.
    """
    if not email:
        return
    query = scope.select(Client).where(Client.email == email)
    if client_id is not None:
        query = query.where(Client.id != client_id)
    other = await query.first()
    if other is not None:
        raise invalid(
            "email",
            f"already belongs to client {full_name(other)}: open that client instead",
        )


async def create_client(
    scope: TenantScope,
    values: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Validate and add a client entered by staff, and return it as JSON.

    Fields: ``first_name`` (required), ``last_name``, ``email``, ``phone``,
    ``preferences``, ``notes``. Raises ValidationFailed naming each bad field,
    including an ``email`` another client of the tenant already has.
    """
    cleaned = clean_client(values, partial=False)
    validate_contact(
        cleaned["first_name"], cleaned["last_name"], cleaned["email"], cleaned["phone"]
    )
    async with write_transaction():
        await check_email_free(scope, cleaned["email"], None)
        row = Client(created_at=utcnow(), **cleaned)
        await scope.insert(row)
        created = await scope.get(Client, row.id)
        await add_history(scope, row.id, "client.created", "Added by staff")
        await record_audit(
            scope,
            actor_id=actor_id,
            action="client.created",
            subject_type="client",
            subject_id=row.id,
            after=cleaned,
        )
    return client_json(created)


async def search_clients(
    scope: TenantScope, q: str = "", *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of clients matching ``q``, and how many match in all.

    Each word of ``q`` must appear (case-insensitive) in the first name, last
    name, email or phone, so "ann smi" finds Ann Smith. Results are ordered
    by last then first name. Raises ValidationFailed on a bad ``limit`` or
    ``offset``.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise invalid("limit", f"must be from 1 to {MAX_PAGE}")
    if offset < 0:
        raise invalid("offset", "must be zero or more")
    if len(q) > 200:
        raise invalid("q", "is longer than 200 characters")
    query = scope.select(Client)
    count = scope.count(Client)
    for word in q.split():
        condition = _matches_word(word)
        query = query.where(condition)
        count = count.where(condition)
    rows = await (
        query.order_by(Client.last_name)
        .order_by(Client.first_name)
        .order_by(Client.id)
        .limit(limit)
        .offset(offset)
    )
    return [client_json(row) for row in rows], await count


def _matches_word(word: str) -> Or | Where:
    # SQLite's LIKE already ignores case, for ASCII letters only. PostgreSQL
    # needs ILIKE.
    pattern = f"%{word}%"
    columns = (Client.first_name, Client.last_name, Client.email, Client.phone)
    if is_postgres():
        wheres = [column.ilike(pattern) for column in columns]
    else:
        wheres = [column.like(pattern) for column in columns]
    return wheres[0] | wheres[1] | wheres[2] | wheres[3]
