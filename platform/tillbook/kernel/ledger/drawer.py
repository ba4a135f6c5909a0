"""Cash drawers: sessions from float to count, cash moves and over/short.

A drawer session opens with a float and closes with a count. Everything
between is a ``DrawerMove``: cash tendered on a sale (``sale``, the amount
handed over), the change given back (``change``, negative), cash refunds
(``refund``, negative) and staff's cash in and out with a reason. The
expected cash is the float plus every move; the count minus it is the
over/short.

Journal: sales and refunds already post to ``cash`` in their own entries.
The float is cash moved within the business (from the safe), so opening a
session posts nothing. Cash in and out post ``cash`` against
``cash_transfers``; a non-zero over/short posts ``cash`` against
``cash_over_short`` when the session closes.

Cash of a close or refund goes to the open session the actor opened, else
to the only open session, else to the most recently opened one. With no open
session no move is recorded, and the end-of-day report shows that cash as
received outside a drawer.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from asyncpg.exceptions import UniqueViolationError
from piccolo.query.mixins import LockStrength

from tillbook.db import is_postgres, write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader
from tillbook.kernel.ledger import idempotency
from tillbook.kernel.ledger.backoffice_tables import (
    CashDrawer,
    DrawerMove,
    DrawerSession,
)
from tillbook.kernel.ledger.journal import PostingDraft, post_entry
from tillbook.kernel.ledger.tables import Tender, Ticket
from tillbook.kernel.schedule.tables import Location
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

MANUAL_KINDS = ("cash_in", "cash_out")
OVER_SHORT_ACCOUNT = "cash_over_short"
TRANSFER_ACCOUNT = "cash_transfers"
MAX_REASON = 200
# Row locks on a drawer session (PostgreSQL): moves share it, a close excludes them.
SHARED = LockStrength.share
EXCLUSIVE = LockStrength.no_key_update


def drawer_json(row: Mapping[str, Any], open_session: Any = None) -> dict[str, Any]:
    """Return a drawer as JSON, with the id of its open session if any."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "location_id": str(row["location_id"]) if row["location_id"] else None,
        "active": row["active"],
        "open_session_id": str(open_session) if open_session else None,
    }


async def list_drawers(scope: TenantScope) -> list[dict[str, Any]]:
    """Return the tenant's drawers by name with their open sessions."""
    rows = await scope.select(CashDrawer).order_by(CashDrawer.name)
    sessions = await scope.select(
        DrawerSession, DrawerSession.id, DrawerSession.drawer_id
    ).where(DrawerSession.status == "open")
    open_by_drawer = {row["drawer_id"]: row["id"] for row in sessions}
    return [drawer_json(row, open_by_drawer.get(row["id"])) for row in rows]


async def create_drawer(
    scope: TenantScope, values: Mapping[str, Any], *, actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Add a drawer: ``name`` and an optional ``location_id``; return its JSON."""
    reader = FieldReader(values, {"name", "location_id"}, partial=False)
    reader.text("name", required=True, max_length=100)
    if values.get("location_id") in (None, ""):
        reader.cleaned["location_id"] = None
    else:
        reader.uuid_value("location_id")
    cleaned = reader.finish()
    if cleaned["location_id"] and not await scope.get_many(
        Location, [cleaned["location_id"]]
    ):
        raise invalid("location_id", "is not a location of this business")
    async with write_transaction():
        row = CashDrawer(**cleaned)
        await scope.insert(row)
        created = drawer_json(await scope.get(CashDrawer, row.id))
        await record_audit(
            scope,
            actor_id=actor_id,
            action="drawer.created",
            subject_type="cash_drawer",
            subject_id=row.id,
            after=created,
        )
    return created


def _positive_amount(value: object, field: str, *, allow_zero: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be a whole number of minor units, such as 5000")
    if value < 0 or (value == 0 and not allow_zero):
        least = "zero or more" if allow_zero else "more than zero"
        raise invalid(field, f"must be {least}, not {value}")
    if value > 10**12:
        raise invalid(field, "must be at most 10^12 minor units")
    return value


def _reason(value: object, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value.strip()) > MAX_REASON:
        raise invalid("reason", f"must be text of at most {MAX_REASON} characters")
    if required and not value.strip():
        raise invalid("reason", "is required: say why cash goes in or out")
    return value.strip()


async def open_session(
    scope: TenantScope,
    drawer_id: uuid.UUID | str,
    opening_float: object,
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Open a drawer session with a float; return the session report.

    Raises Conflict when the drawer already has an open session (a unique
    partial index settles two opens at once) and ValidationFailed naming
    ``opening_float``.
    """
    drawer = await scope.get(CashDrawer, drawer_id)
    amount = _positive_amount(opening_float, "opening_float", allow_zero=True)
    if not drawer["active"]:
        raise Conflict(f"drawer {drawer['name']!r} is retired")
    now = utcnow()
    try:
        async with write_transaction():
            current = (
                await scope.select(DrawerSession, DrawerSession.id)
                .where(DrawerSession.drawer_id == drawer["id"])
                .where(DrawerSession.status == "open")
                .first()
            )
            if current:
                raise Conflict(
                    f"drawer {drawer['name']!r} is already open: close it first",
                    session_id=str(current["id"]),
                )
            row = DrawerSession(
                drawer_id=drawer["id"],
                status="open",
                opening_float=amount,
                opened_at=now,
                opened_by=actor_id,
            )
            await scope.insert(row)
            await record_audit(
                scope,
                actor_id=actor_id,
                action="drawer.opened",
                subject_type="drawer_session",
                subject_id=row.id,
                before=None,
                after={"drawer_id": str(drawer["id"]), "opening_float": amount},
            )
    except (sqlite3.IntegrityError, UniqueViolationError):
        # The unique partial index drawer_session_one_open turned away a
        # second open that passed the check at the same moment.
        raise Conflict(
            f"drawer {drawer['name']!r} was opened by another request"
        ) from None
    return await session_report(scope, row.id)


async def _open_session_row(
    scope: TenantScope,
    session_id: uuid.UUID | str,
    *,
    lock: LockStrength | None = None,
) -> dict[str, Any]:
    session = await scope.get(DrawerSession, session_id)
    if lock is not None:
        session = await _locked_session(scope, session["id"], lock) or session
    if session["status"] != "open":
        raise Conflict("the drawer session is closed: open a new session")
    return session


async def _locked_session(
    scope: TenantScope, session_id: uuid.UUID, lock: LockStrength
) -> dict[str, Any] | None:
    """Read a session again, on PostgreSQL locking its row until commit.

    Writers of moves take a ``SHARE`` lock and closing takes ``NO KEY
    UPDATE``. So a close waits for the moves in flight before it sums them,
    and a move that waited for a close finds the session closed. SQLite's
    write transaction already serialises them.
    """
    query = scope.select(DrawerSession).where(DrawerSession.id == session_id)
    if is_postgres():
        query = query.lock_rows(lock)
    return await query.first()  # type: ignore[no-any-return]


async def move_cash(
    scope: TenantScope,
    session_id: uuid.UUID | str,
    values: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Put cash into or take it out of an open drawer; return the session report.

    ``values``: ``kind`` (cash_in or cash_out), ``amount`` (more than zero)
    and ``reason``. Posts ``cash`` against ``cash_transfers``. With an
    ``idempotency_key``, a repeat of the request records nothing more and
    returns the report as it is then.
    """
    await _open_session_row(scope, session_id)
    unknown = set(values) - {"kind", "amount", "reason"}
    if unknown:
        raise invalid(
            sorted(unknown)[0], "is not a known field; use kind, amount, reason"
        )
    kind = values.get("kind")
    if kind not in MANUAL_KINDS:
        raise invalid("kind", "must be cash_in or cash_out")
    amount = _positive_amount(values.get("amount"), "amount", allow_zero=False)
    reason = _reason(values.get("reason"), required=True)
    signed = amount if kind == "cash_in" else -amount
    outcome: idempotency.Claim | None = None
    if idempotency_key is not None:
        key = idempotency.check_key(idempotency_key)
        digest = idempotency.request_digest(
            {"session_id": str(session_id), "amount": signed, "reason": reason}
        )
        claimed = await idempotency.claim(scope, "drawer.move", key, digest)
        if isinstance(claimed, idempotency.Replay):
            return await session_report(scope, session_id)
        outcome = claimed
    try:
        return await _apply_move(
            scope, session_id, kind, signed, reason, actor_id, outcome
        )
    except Exception:
        if outcome is not None:
            await idempotency.release(scope, outcome)
        raise


async def _apply_move(
    scope: TenantScope,
    session_id: uuid.UUID | str,
    kind: str,
    signed: int,
    reason: str,
    actor_id: uuid.UUID | None,
    outcome: idempotency.Claim | None,
) -> dict[str, Any]:
    now = utcnow()
    async with write_transaction():
        session = await _open_session_row(scope, session_id, lock=SHARED)
        before = await _expected(scope, session)
        if before + signed < 0:
            raise invalid(
                "amount",
                f"{-signed} is more than the {max(before, 0)} minor units expected "
                "in the drawer: take out at most that",
            )
        entry_id = await post_entry(
            scope,
            kind=kind,
            at=now,
            drafts=[
                PostingDraft("cash", signed, item_name=reason),
                PostingDraft(TRANSFER_ACCOUNT, -signed, item_name=reason),
            ],
            memo=f"Drawer {kind.replace('_', ' ')}: {reason}",
            actor_id=actor_id,
        )
        await scope.insert(
            DrawerMove(
                session_id=session["id"],
                kind=kind,
                amount=signed,
                reason=reason,
                actor_id=actor_id,
                at=now,
            )
        )
        await record_audit(
            scope,
            actor_id=actor_id,
            action=f"drawer.{kind}",
            subject_type="drawer_session",
            subject_id=session["id"],
            before={"expected": before},
            after={
                "expected": before + signed,
                "amount": signed,
                "reason": reason,
                "journal_entry_id": str(entry_id),
            },
        )
        if outcome is not None:
            await idempotency.complete(scope, outcome, 201, {"entry": str(entry_id)})
    return await session_report(scope, session["id"])


async def _expected(scope: TenantScope, session: Mapping[str, Any]) -> int:
    moves = await scope.select(DrawerMove, DrawerMove.amount).where(
        DrawerMove.session_id == session["id"]
    )
    return int(session["opening_float"]) + sum(row["amount"] for row in moves)


async def current_session_for(
    scope: TenantScope, actor_id: uuid.UUID | None
) -> dict[str, Any] | None:
    """Return the open session cash should go to (see the module docstring)."""
    sessions = (
        await scope.select(DrawerSession)
        .where(DrawerSession.status == "open")
        .order_by(DrawerSession.opened_at, ascending=False)
    )
    if not sessions:
        return None
    own = [row for row in sessions if actor_id and row["opened_by"] == actor_id]
    return own[0] if own else sessions[0]


async def _locked_current_session(
    scope: TenantScope, actor_id: uuid.UUID | None
) -> dict[str, Any] | None:
    """Return ``current_session_for`` locked; None if it closed meanwhile."""
    session = await current_session_for(scope, actor_id)
    if session is None:
        return None
    locked = await _locked_session(scope, session["id"], SHARED)
    if locked is None or locked["status"] != "open":
        return None
    return locked


async def record_cash_tenders(
    scope: TenantScope,
    *,
    ticket_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    at: datetime | None = None,
    tenders: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Record a closed ticket's cash and change in the open drawer session.

    Call inside the close transaction, after the tenders are written.
    ``at`` defaults to the ticket's close instant. ``tenders`` are the
    ticket's cash tenders (``amount`` and ``change_given``) when the caller
    has them, so a close without cash reads nothing here. Returns the net
    cash the drawer gained (0 when no session is open).
    """
    if tenders is None:
        tenders = (
            await scope.select(Tender)
            .where(Tender.ticket_id == ticket_id)
            .where(Tender.kind == "cash")
        )
    if not tenders:
        return 0
    if at is None:
        at = (await scope.get(Ticket, ticket_id))["closed_at"] or utcnow()
    session = await _locked_current_session(scope, actor_id)
    if session is None:
        logger.info(
            "cash of ticket %s of tenant %s taken with no drawer session open",
            ticket_id,
            scope.tenant_id,
        )
        return 0
    moves: list[DrawerMove] = []
    for tender in tenders:
        handed = tender["amount"] + tender["change_given"]
        moves.append(
            DrawerMove(
                session_id=session["id"],
                kind="sale",
                amount=handed,
                ticket_id=ticket_id,
                actor_id=actor_id,
                at=at,
            )
        )
        if tender["change_given"]:
            moves.append(
                DrawerMove(
                    session_id=session["id"],
                    kind="change",
                    amount=-tender["change_given"],
                    ticket_id=ticket_id,
                    actor_id=actor_id,
                    at=at,
                )
            )
    await scope.insert(*moves)
    return sum(move.amount for move in moves)


async def record_cash_refund(
    scope: TenantScope,
    *,
    ticket_id: uuid.UUID,
    refund_id: uuid.UUID,
    amount: int,
    at: datetime,
    actor_id: uuid.UUID | None,
) -> bool:
    """Record cash paid out by a refund or void; tell whether a session took it.

    Call inside the refund transaction.
    """
    if amount <= 0:
        return False
    session = await _locked_current_session(scope, actor_id)
    if session is None:
        return False
    await scope.insert(
        DrawerMove(
            session_id=session["id"],
            kind="refund",
            amount=-amount,
            ticket_id=ticket_id,
            refund_id=refund_id,
            actor_id=actor_id,
            at=at,
        )
    )
    return True


async def close_session(
    scope: TenantScope,
    session_id: uuid.UUID | str,
    values: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Close an open session with the counted cash; return its report.

    ``values``: ``counted`` (minor units, zero or more) and an optional
    ``note``. Records expected and over/short (counted minus expected) and
    posts a non-zero over/short to ``cash_over_short``.
    """
    await _open_session_row(scope, session_id)
    unknown = set(values) - {"counted", "note"}
    if unknown:
        raise invalid(sorted(unknown)[0], "is not a known field; use counted, note")
    counted = _positive_amount(values.get("counted"), "counted", allow_zero=True)
    note = values.get("note") or ""
    if not isinstance(note, str) or len(note) > 1000:
        raise ValidationFailed({"note": "must be text of at most 1000 characters"})
    now = utcnow()
    async with write_transaction():
        session = await _open_session_row(scope, session_id, lock=EXCLUSIVE)
        expected = await _expected(scope, session)
        over_short = counted - expected
        entry_id = None
        if over_short:
            entry_id = await post_entry(
                scope,
                kind="drawer_over_short",
                at=now,
                drafts=[
                    PostingDraft("cash", over_short, item_name="drawer count"),
                    PostingDraft(
                        OVER_SHORT_ACCOUNT, -over_short, item_name="drawer count"
                    ),
                ],
                memo=f"Drawer count {'over' if over_short > 0 else 'short'} "
                f"by {abs(over_short)}",
                actor_id=actor_id,
            )
        closed = (
            await scope.update(
                DrawerSession,
                {
                    DrawerSession.status: "closed",
                    DrawerSession.closed_at: now,
                    DrawerSession.closed_by: actor_id,
                    DrawerSession.expected: expected,
                    DrawerSession.counted: counted,
                    DrawerSession.over_short: over_short,
                    DrawerSession.note: note.strip(),
                    DrawerSession.entry_id: entry_id,
                },
            )
            .where(DrawerSession.id == session["id"])
            .where(DrawerSession.status == "open")
            .returning(DrawerSession.id)
        )
        if not closed:
            raise Conflict("the drawer session was closed by another request")
        await record_audit(
            scope,
            actor_id=actor_id,
            action="drawer.closed",
            subject_type="drawer_session",
            subject_id=session["id"],
            before={"status": "open", "expected": expected},
            after={
                "status": "closed",
                "counted": counted,
                "over_short": over_short,
                "journal_entry_id": str(entry_id) if entry_id else None,
            },
        )
    return await session_report(scope, session["id"])


async def session_report(
    scope: TenantScope, session_id: uuid.UUID | str
) -> dict[str, Any]:
    """Return a drawer session's end-of-day report as JSON.

    Totals per move kind, expected cash, and for a closed session the count
    and over/short, followed by every move in time order.
    """
    session = await scope.get(DrawerSession, session_id)
    drawer = await scope.get(CashDrawer, session["drawer_id"])
    moves = (
        await scope.select(DrawerMove)
        .where(DrawerMove.session_id == session["id"])
        .order_by(DrawerMove.at)
    )
    totals = {kind: 0 for kind in ("sale", "change", "refund", "cash_in", "cash_out")}
    for move in moves:
        totals[move["kind"]] = totals.get(move["kind"], 0) + move["amount"]
    expected = session["opening_float"] + sum(move["amount"] for move in moves)
    return {
        "id": str(session["id"]),
        "drawer_id": str(drawer["id"]),
        "drawer_name": drawer["name"],
        "status": session["status"],
        "currency": scope.tenant.currency,
        "opened_at": session["opened_at"].isoformat(),
        "opened_by": str(session["opened_by"]) if session["opened_by"] else None,
        "closed_at": session["closed_at"].isoformat() if session["closed_at"] else None,
        "opening_float": session["opening_float"],
        "totals": totals,
        "expected": expected if session["status"] == "open" else session["expected"],
        "counted": session["counted"],
        "over_short": session["over_short"],
        "note": session["note"],
        "moves": [
            {
                "kind": move["kind"],
                "amount": move["amount"],
                "reason": move["reason"],
                "ticket_id": str(move["ticket_id"]) if move["ticket_id"] else None,
                "refund_id": str(move["refund_id"]) if move["refund_id"] else None,
                "at": move["at"].isoformat(),
            }
            for move in moves
        ],
    }


async def list_sessions(
    scope: TenantScope, *, drawer_id: uuid.UUID | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Return recent drawer sessions, newest first, without their moves."""
    query = (
        scope.select(DrawerSession)
        .order_by(DrawerSession.opened_at, ascending=False)
        .limit(limit)
    )
    if drawer_id is not None:
        query = query.where(DrawerSession.drawer_id == drawer_id)
    rows = await query
    drawers = await scope.get_many(CashDrawer, [row["drawer_id"] for row in rows])
    return [
        {
            "id": str(row["id"]),
            "drawer_id": str(row["drawer_id"]),
            "drawer_name": drawers.get(row["drawer_id"], {}).get("name", ""),
            "status": row["status"],
            "opened_at": row["opened_at"].isoformat(),
            "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
            "opening_float": row["opening_float"],
            "counted": row["counted"],
            "over_short": row["over_short"],
        }
        for row in rows
    ]
