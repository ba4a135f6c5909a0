"""Signing a business up: a tenant, its owner account and membership."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from zoneinfo import available_timezones

from babel.numbers import get_currency_name

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import ValidationFailed
from tillbook.tenancy.accounts import hash_password, verify_password
from tillbook.tenancy.roles import Role
from tillbook.tenancy.scope import TenantInfo, TenantScope
from tillbook.tenancy.tables import Account, Membership, Tenant

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COLOUR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
RESERVED_SLUGS = frozenset({"api", "www", "static", "admin", "app", "signup", "t"})
MIN_PASSWORD_LENGTH = 10
MAX_LOGO_BYTES = 300_000


@dataclass(frozen=True)
class SignupRequest:
    """What an owner enters to open a business on Tillbook."""

    business_name: str
    slug: str
    email: str
    password: str
    owner_name: str = ""
    time_zone: str = "Europe/London"
    currency: str = "GBP"
    brand_colour: str = "#5b6b5a"
    logo_url: str = ""


def validate_signup(request: SignupRequest) -> dict[str, str]:
    """Return a mapping of field to problem; empty when the request is valid."""
    errors: dict[str, str] = {}
    if not request.business_name.strip():
        errors["business_name"] = "is required: enter the business name clients see"
    elif len(request.business_name) > 200:
        errors["business_name"] = "is longer than 200 characters"
    slug = request.slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        errors["slug"] = (
            "must be 3 to 63 lowercase letters, digits or hyphens, "
            "starting and ending with a letter or digit"
        )
    elif slug in RESERVED_SLUGS:
        errors["slug"] = f"{slug!r} is reserved: choose another"
    if not EMAIL_PATTERN.match(request.email.strip()):
        errors["email"] = "is not a valid email address"
    if len(request.password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"must have at least {MIN_PASSWORD_LENGTH} characters"
    if request.time_zone not in available_timezones():
        errors["time_zone"] = (
            f"{request.time_zone!r} is not an IANA time zone, such as Europe/London"
        )
    currency = request.currency.strip().upper()
    if (
        not re.fullmatch(r"[A-Z]{3}", currency)
        or get_currency_name(currency, locale="en") == currency
    ):
        errors["currency"] = f"{request.currency!r} is not an ISO 4217 code like GBP"
    if not COLOUR_PATTERN.match(request.brand_colour):
        errors["brand_colour"] = "must be a hex colour such as #5b6b5a"
    logo = request.logo_url.strip()
    if logo and not (
        logo.startswith(("https://", "http://")) or logo.startswith("data:image/")
    ):
        errors["logo_url"] = "must be an http(s) URL or an uploaded image"
    elif len(logo) > MAX_LOGO_BYTES * 4 // 3 + 100:
        errors["logo_url"] = f"the image is larger than {MAX_LOGO_BYTES // 1000} kB"
    return errors


async def sign_up(request: SignupRequest) -> tuple[TenantScope, uuid.UUID]:
    """Create the tenant and its owner; return the new scope and the account id.

    An email that already has an account joins with that account, but only
    when the password matches it, so nobody can attach a tenant to someone
    else's login.
    """
    errors = validate_signup(request)
    if errors:
        raise ValidationFailed(errors)
    slug = request.slug.strip().lower()
    email = request.email.strip().lower()
    async with write_transaction():
        if await Tenant.exists().where(Tenant.slug == slug):
            raise ValidationFailed({"slug": f"{slug!r} is taken: choose another"})
        account = await Account.select().where(Account.email == email).first()
        if account is not None:
            if not verify_password(account["password_hash"], request.password):
                raise ValidationFailed(
                    {"email": "already has an account: enter its password to use it"}
                )
            account_id = account["id"]
        else:
            new_account = Account(
                email=email,
                name=request.owner_name.strip() or email.split("@")[0],
                password_hash=hash_password(request.password),
                created_at=utcnow(),
            )
            await new_account.save()
            account_id = new_account.id
        tenant = Tenant(
            slug=slug,
            name=request.business_name.strip(),
            time_zone=request.time_zone,
            currency=request.currency.strip().upper(),
            brand_colour=request.brand_colour.lower(),
            logo_url=request.logo_url.strip(),
            created_at=utcnow(),
        )
        await tenant.save()
        row = await Tenant.select().where(Tenant.id == tenant.id).first()
        scope = TenantScope(TenantInfo.from_row(row))
        await scope.insert(Membership(account_id=account_id, role=Role.OWNER.value))
    return scope, account_id
