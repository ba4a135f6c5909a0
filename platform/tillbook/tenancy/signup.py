"""Signing a business up: a tenant, its owner account and membership."""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit
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
# ISO 4217 codes starting with X are metals, fund units and test codes (XAU,
# XDR, XTS, XXX), none of which a business prices services in. The CFA and
# CFP francs and the East Caribbean dollar are real currencies and allowed.
SPENDABLE_X_CODES = frozenset({"XAF", "XCD", "XOF", "XPF"})
COLOUR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
RESERVED_SLUGS = frozenset({"api", "www", "static", "admin", "app", "signup", "t"})
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000
MAX_LOGO_BYTES = 300_000
MAX_LOGO_URL_LENGTH = 2000

# The choices the sign-up and settings forms offer. The API accepts any IANA
# zone and any ISO 4217 code.
COMMON_TIME_ZONES = (
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Athens",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Asia/Kuwait",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/St_Johns",
    "America/Halifax",
    "America/Toronto",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Vancouver",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Africa/Johannesburg",
    "UTC",
)
COMMON_CURRENCIES = (
    "GBP",
    "EUR",
    "USD",
    "JPY",
    "KWD",
    "AUD",
    "CAD",
    "INR",
    "NZD",
    "CHF",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "SGD",
    "HKD",
    "AED",
    "ZAR",
    "MXN",
    "BRL",
)

# Accepted logo uploads by media type, with the leading bytes each file of
# that type starts with (SVG is text, checked separately).
LOGO_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/webp": (b"RIFF",),
}


class PasswordMismatch(ValidationFailed):
    """Sign-up named an existing account's email with the wrong password."""

    def __init__(self) -> None:
        super().__init__(
            {"email": "already has an account: enter its password to use it"}
        )


@dataclass(frozen=True)
class SignupRequest:
    """The fields an owner enters to open a business on Tillbook."""

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
    elif len(request.password) > MAX_PASSWORD_LENGTH:
        errors["password"] = f"must have at most {MAX_PASSWORD_LENGTH} characters"
    if len(request.owner_name.strip()) > 200:
        errors["owner_name"] = "is longer than 200 characters"
    if request.time_zone not in available_timezones():
        errors["time_zone"] = (
            f"{request.time_zone!r} is not an IANA time zone, such as Europe/London"
        )
    currency = request.currency.strip().upper()
    if (
        not re.fullmatch(r"[A-Z]{3}", currency)
        or (currency.startswith("X") and currency not in SPENDABLE_X_CODES)
        or get_currency_name(currency, locale="en") == currency
    ):
        errors["currency"] = (
            f"{request.currency!r} is not an ISO 4217 currency code like GBP"
        )
    if not COLOUR_PATTERN.match(request.brand_colour):
        errors["brand_colour"] = "must be a hex colour such as #5b6b5a"
    logo_error = logo_url_error(request.logo_url)
    if logo_error:
        errors["logo_url"] = logo_error
    return errors


def logo_url_error(value: str) -> str | None:
    """Return what is wrong with a logo URL, or ``None`` when it is acceptable.

    A logo is an http(s) URL of at most 2000 characters, or a ``data:`` URL
    made by ``logo_data_url`` from an upload of at most 300 kB.
    """
    logo = value.strip()
    if not logo:
        return None
    if logo.startswith("data:"):
        media_type = logo[5:].split(";", 1)[0]
        if media_type not in (*LOGO_SIGNATURES, "image/svg+xml"):
            return "must be a PNG, JPEG, SVG or WebP image"
        if len(logo) > MAX_LOGO_BYTES * 4 // 3 + 100:
            return f"the image is larger than {MAX_LOGO_BYTES // 1000} kB"
        return None
    parts = urlsplit(logo)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an http(s) URL, such as https://example.com/logo.png"
    if len(logo) > MAX_LOGO_URL_LENGTH:
        return f"is longer than {MAX_LOGO_URL_LENGTH} characters"
    if any(ch.isspace() or ch in "\"'<>" for ch in logo):
        return "may not contain spaces, quotes or angle brackets"
    return None


def logo_data_url(content_type: str, content: bytes) -> str:
    """Return an uploaded logo as a ``data:`` URL to store in ``Tenant.logo_url``.

    The bytes must match the declared type: a PNG, JPEG or WebP signature, or
    SVG markup. Raises ValidationFailed on ``logo`` for another type, a file
    that does not match its type, or one larger than 300 kB.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "image/jpg":
        media_type = "image/jpeg"
    if len(content) > MAX_LOGO_BYTES:
        limit = MAX_LOGO_BYTES // 1000
        raise ValidationFailed(
            {"logo": f"is larger than {limit} kB: upload a smaller file"}
        )
    if media_type == "image/svg+xml":
        head = content[:500].lstrip().lower()
        valid = head.startswith((b"<svg", b"<?xml")) and b"<svg" in content.lower()
    elif media_type in LOGO_SIGNATURES:
        valid = content.startswith(LOGO_SIGNATURES[media_type])
        if media_type == "image/webp":
            valid = valid and content[8:12] == b"WEBP"
    else:
        raise ValidationFailed({"logo": "must be a PNG, JPEG, SVG or WebP image"})
    if not valid:
        raise ValidationFailed(
            {"logo": f"is not a valid {media_type.split('/')[1].upper()} file"}
        )
    encoded = base64.b64encode(content).decode("ascii")
    return f"data:{media_type};base64,{encoded}"


async def sign_up(request: SignupRequest) -> tuple[TenantScope, uuid.UUID]:
    """Create the tenant and its owner, and return the new scope and account id.

    An email that already has an account joins with that account, but only
    when the password matches it, so nobody can attach a tenant to someone
    else's login. A wrong password raises PasswordMismatch. Raises
    ValidationFailed naming each bad field, and on ``slug`` when it is taken.
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
                raise PasswordMismatch()
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
        assert row is not None, "the tenant row was inserted in this transaction"
        scope = TenantScope(TenantInfo.from_row(row))
        await scope.insert(Membership(account_id=account_id, role=Role.OWNER.value))
    return scope, account_id
