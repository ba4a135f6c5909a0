"""Finding and creating clients."""

from __future__ import annotations

import uuid

from tillbook.db.base import utcnow
from tillbook.errors import ValidationFailed
from tillbook.kernel.clients.tables import Client
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import EMAIL_PATTERN


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
