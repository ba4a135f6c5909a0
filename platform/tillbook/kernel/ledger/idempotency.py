"""Idempotency keys for requests that move money.

The first request with a key claims it by inserting a pending
``IdempotencyRecord`` (unique on tenant, scope and key). When that request
succeeds, its response is stored in the same transaction as its effects, and
every later request with the key gets that response back. Requests that
arrive while the first is still running wait for its result. A request that
fails releases its claim, so the client may retry with the same key; only
successful results are kept. A reused key with a different request body is
rejected, because replaying another request's result would mislead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from asyncpg.exceptions import UniqueViolationError

from tillbook.db import is_postgres, write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, invalid
from tillbook.kernel.ledger.tables import IdempotencyRecord
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# How long a request waits for the first request with its key to finish.
WAIT_SECONDS = 30.0
# A pending claim older than this belongs to a request that died (its process
# stopped mid-way), so another request with the key may take it over.
STALE_AFTER = timedelta(minutes=2)
_PENDING = json.dumps({"pending": True})


@dataclass(frozen=True)
class Claim:
    """This request owns the key and must complete or release it."""

    record_id: uuid.UUID


@dataclass(frozen=True)
class Replay:
    """The key already has a result, to be returned unchanged."""

    status: int
    body: dict[str, Any]


def check_key(key: str | None) -> str:
    """Return a usable key; raise ValidationFailed naming the header."""
    if key is None or not key.strip():
        raise invalid(
            HEADER,
            "header is required: send a new unique value, such as a UUID, "
            "for each payment attempt and reuse it only to retry that attempt",
        )
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise invalid(HEADER, f"must be at most {MAX_KEY_LENGTH} printable characters")
    return key


def request_digest(payload: dict[str, Any]) -> str:
    """Return a SHA-256 hex digest of a request's canonical JSON."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _load(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _pending_record(name: str, key: str, digest: str) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key,
        scope=name,
        request_hash=digest,
        response=_PENDING,
        created_at=utcnow(),
    )


async def _find(scope: TenantScope, name: str, key: str) -> dict[str, Any] | None:
    row = (
        await scope.select(IdempotencyRecord)
        .where(IdempotencyRecord.scope == name)
        .where(IdempotencyRecord.key == key)
        .first()
    )
    return row  # type: ignore[no-any-return]


async def _try_insert(
    scope: TenantScope, name: str, key: str, digest: str
) -> tuple[Claim | None, dict[str, Any] | None]:
    """Insert a pending claim, or return the record that already has the key.

    On PostgreSQL the insert runs on its own and the unique index turns away
    a second request, whose caller then reads the winner's record. SQLite
    runs one ``write_transaction`` at a time (``BEGIN IMMEDIATE``), so there
    the read comes first and the insert never meets an existing key.
    """
    if is_postgres():
        record = _pending_record(name, key, digest)
        try:
            await scope.insert(record)
        except UniqueViolationError:
            return None, await _find(scope, name, key)
        return Claim(record.id), None
    async with write_transaction():
        row = await _find(scope, name, key)
        if row is not None:
            return None, row
        record = _pending_record(name, key, digest)
        await scope.insert(record)
        return Claim(record.id), None


async def _take_over(scope: TenantScope, row: dict[str, Any]) -> Claim | None:
    """Take a stale pending claim; ``None`` when another request got it first."""
    updated = (
        await scope.update(IdempotencyRecord, {IdempotencyRecord.created_at: utcnow()})
        .where(IdempotencyRecord.id == row["id"])
        .where(IdempotencyRecord.created_at == row["created_at"])
        .returning(IdempotencyRecord.id)
    )
    return Claim(row["id"]) if updated else None


async def claim(
    scope: TenantScope,
    name: str,
    key: str,
    digest: str,
    *,
    wait_seconds: float = WAIT_SECONDS,
) -> Claim | Replay:
    """Claim ``key`` within ``name`` (such as ``ticket.close``), or replay it.

    Returns a Replay when an earlier request with the same key and digest
    succeeded, and a Claim when this request is the first. Waits while
    another request has the key claimed. Raises ValidationFailed naming the header
    when the key was used with a different request, and Conflict when the
    other request is still running after ``wait_seconds``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = 0.02
    while True:
        claimed, row = await _try_insert(scope, name, key, digest)
        if claimed is not None:
            return claimed
        if row is not None:
            if row["request_hash"] != digest:
                raise invalid(
                    HEADER,
                    "was already used for a different request: "
                    "send a new key for a new payment attempt",
                )
            response = _load(row["response"])
            if not response.get("pending"):
                return Replay(int(response["status"]), response["body"])
            if utcnow() - row["created_at"] > STALE_AFTER:
                taken = await _take_over(scope, row)
                if taken is not None:
                    logger.warning(
                        "took over stale %s request with key record %s of tenant %s",
                        name,
                        row["id"],
                        scope.tenant_id,
                    )
                    return taken
        if loop.time() > deadline:
            raise Conflict(
                "a request with this Idempotency-Key is still in progress: "
                "retry in a moment to get its result"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)


async def complete(
    scope: TenantScope, claimed: Claim, status: int, body: dict[str, Any]
) -> None:
    """Store the response for the key; call inside the request's transaction."""
    stored = json.dumps({"status": status, "body": body}, default=str)
    await scope.update(IdempotencyRecord, {IdempotencyRecord.response: stored}).where(
        IdempotencyRecord.id == claimed.record_id
    )


async def release(scope: TenantScope, claimed: Claim) -> None:
    """Drop a claim whose request failed, so the key can be retried."""
    async with write_transaction():
        await scope.delete(IdempotencyRecord).where(
            IdempotencyRecord.id == claimed.record_id
        )
