"""Staff sign-in to one tenant, with a limit on failed attempts.

Failures are counted per email and client IP address in a fixed window: in
Redis when ``settings.redis_url`` is set (shared by every app process), else
in this process's memory. Once the limit is reached, every attempt for that
pair is rejected with 429 until the window ends, even with the right
password. A successful sign-in clears the count.
"""

from __future__ import annotations

import hashlib
import logging
import time
from urllib.parse import urlsplit

from tillbook.config import get_settings
from tillbook.errors import NotAuthenticated, TillbookError
from tillbook.tenancy.accounts import Actor, actor_for, authenticate_password
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
WRONG_CREDENTIALS = "email or password is wrong"
# The in-memory counter drops expired entries once it contains this many keys.
_PRUNE_AT = 10_000


class TooManyAttempts(TillbookError):
    """Too many failed sign-ins for one email from one address."""

    code = "too_many_attempts"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"too many failed sign-ins for this email: wait {minutes} minutes "
            "and try again, or ask an owner to reset the password",
            retry_after=retry_after,
        )


def _key(email: str, client_ip: str) -> str:
    raw = f"{email.strip().lower()}|{client_ip}".encode()
    return hashlib.sha256(raw).hexdigest()


class _MemoryCounter:
    """Failure counts in this process, by key: (count, end of the window).

    The window end is a ``time.monotonic()`` reading.
    """

    def __init__(self) -> None:
        self.entries: dict[str, tuple[int, float]] = {}

    def retry_after(self, key: str) -> int | None:
        count, ends = self.entries.get(key, (0, 0.0))
        remaining = ends - time.monotonic()
        if count >= MAX_FAILURES and remaining > 0:
            return int(remaining) + 1
        return None

    def add_failure(self, key: str) -> None:
        now = time.monotonic()
        count, ends = self.entries.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + WINDOW_SECONDS
        self.entries[key] = (count + 1, ends)
        if len(self.entries) > _PRUNE_AT:
            self.entries = {k: v for k, v in self.entries.items() if v[1] > now}

    def clear(self, key: str) -> None:
        self.entries.pop(key, None)


_memory = _MemoryCounter()


def _redis_key(key: str) -> str:
    return f"{get_settings().redis_prefix}:signin-failures:{key}"


async def _retry_after(key: str) -> int | None:
    settings = get_settings()
    if not settings.redis_url:
        return _memory.retry_after(key)
    from redis.asyncio import Redis

    # A client per call: sign-ins are rare, and a pooled client would be bound
    # to the event loop that created it.
    client = Redis.from_url(settings.redis_url)
    try:
        count = await client.get(_redis_key(key))
        if count is None or int(count) < MAX_FAILURES:
            return None
        ttl = await client.ttl(_redis_key(key))
        return max(int(ttl), 1)
    finally:
        await client.aclose()


async def record_failure(email: str, client_ip: str) -> None:
    """Count one failed password check for ``email`` from ``client_ip``."""
    key = _key(email, client_ip)
    settings = get_settings()
    if not settings.redis_url:
        _memory.add_failure(key)
        return
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url)
    try:
        count = await client.incr(_redis_key(key))
        if count == 1:
            await client.expire(_redis_key(key), WINDOW_SECONDS)
    finally:
        await client.aclose()


async def _clear_failures(key: str) -> None:
    settings = get_settings()
    if not settings.redis_url:
        _memory.clear(key)
        return
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url)
    try:
        await client.delete(_redis_key(key))
    finally:
        await client.aclose()


async def check_not_limited(email: str, client_ip: str) -> None:
    """Raise TooManyAttempts while ``email`` from ``client_ip`` is locked out."""
    retry_after = await _retry_after(_key(email, client_ip))
    if retry_after is not None:
        raise TooManyAttempts(retry_after)


async def sign_in(
    scope: TenantScope, email: str, password: str, *, client_ip: str
) -> Actor:
    """Check the password of a member of ``scope``'s tenant and return the actor.

    Raises TooManyAttempts (429) once the pair has failed too often, and
    NotAuthenticated with the same message whether the email is unknown, the
    password is wrong or the account is not a member of this tenant, so the
    response never reveals which.
    """
    await check_not_limited(email, client_ip)
    account_id = await authenticate_password(email, password)
    actor = await actor_for(scope, account_id) if account_id is not None else None
    if actor is None:
        await record_failure(email, client_ip)
        logger.info("failed sign-in to tenant %s", scope.tenant.slug)
        raise NotAuthenticated(WRONG_CREDENTIALS)
    await _clear_failures(_key(email, client_ip))
    logger.info(
        "account %s signed in to tenant %s", actor.account_id, scope.tenant.slug
    )
    return actor


def safe_next(slug: str, target: str | None) -> str:
    """Return ``target`` if it is a path of this tenant, else the calendar.

    Only a plain path under ``/t/{slug}/`` is followed, so a crafted link
    cannot send a signed-in user to another site (``//evil.example``,
    ``https://…``, backslashes) or to another tenant.
    """
    fallback = f"/t/{slug}/staff/calendar"
    if not target:
        return fallback
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith(f"/t/{slug}/")
        or "\\" in target
        or "//" in target
        or any(ord(ch) < 32 or ch.isspace() for ch in target)
        or "/../" in parts.path
        or parts.path.endswith("/..")
    ):
        return fallback
    return target
