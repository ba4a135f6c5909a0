"""Class packs and memberships: selling them, and the credits classes spend.

``apply_change`` is called from the ``tillbook_class_booking_changed`` hook
inside the kernel's class-booking transaction, so a credit spent or refunded
here commits or rolls back with the booking itself.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from tillbook import (
    Client,
    Conflict,
    TenantScope,
    ValidationFailed,
    invalid,
    utcnow,
    write_transaction,
)
from tillbook_fitness.rules import StudioRules
from tillbook_fitness.tables import ClassCredit, ClassFee, ClassPass

KINDS = ("pack", "membership")
PERIODS = ("week", "month")
MAX_CREDITS = 1000
MAX_DAYS = 3 * 366
# ClassPass.price is an INTEGER column, 32 bits on PostgreSQL.
MAX_PRICE = 2**31 - 1
TAKEN = ("spent", "forfeited")


def _day(value: Any, field: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[field] = "must be a date as YYYY-MM-DD"
        return None


def _count(value: Any, field: str, errors: dict[str, str], maximum: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= maximum
    ):
        errors[field] = f"must be a whole number from 1 to {maximum}"
        return 0
    return value


def clean_pass(values: Mapping[str, Any], today: date) -> dict[str, Any]:
    """Validate a new pack or membership; raise ValidationFailed naming each field.

    A pack takes ``credits`` and ``valid_days`` (or ``expires_on``). A
    membership takes ``period`` (week or month), ``classes_per_period``
    (omit or null for unlimited) and optionally ``expires_on``. Both take
    ``name``, ``starts_on`` (default today), ``price`` and ``note``.
    """
    errors: dict[str, str] = {}
    allowed = {
        "kind", "name", "credits", "valid_days", "expires_on", "period",
        "classes_per_period", "starts_on", "price", "note",
    }  # fmt: skip
    for key in values:
        if key not in allowed:
            errors[str(key)] = "is not a pass field; use " + ", ".join(sorted(allowed))
    kind = values.get("kind")
    if kind not in KINDS:
        errors["kind"] = "must be pack or membership"
    name = " ".join(str(values.get("name") or "").split())
    if not name or len(name) > 120:
        errors["name"] = "must be 1 to 120 characters, such as 10-class pack"
    starts = today
    if values.get("starts_on") is not None:
        starts = _day(values["starts_on"], "starts_on", errors) or today
    expires = None
    if values.get("expires_on") is not None:
        expires = _day(values["expires_on"], "expires_on", errors)
    price = values.get("price", 0)
    if isinstance(price, bool) or not isinstance(price, int) or price < 0:
        errors["price"] = "must be a whole amount in minor units, 0 or more"
    elif price > MAX_PRICE:
        errors["price"] = f"must be at most {MAX_PRICE} minor units"
    note = values.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        errors["note"] = "must be text of at most 500 characters"
    cleaned: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "starts_on": starts,
        "price": price,
        "note": note.strip() if isinstance(note, str) else "",
    }
    if kind == "pack":
        credits = _count(values.get("credits"), "credits", errors, MAX_CREDITS)
        if expires is None and "expires_on" not in errors:
            days = _count(values.get("valid_days"), "valid_days", errors, MAX_DAYS)
            expires = starts + timedelta(days=days - 1) if days else None
        cleaned.update(credits_total=credits, credits_left=credits, period="")
    elif kind == "membership":
        if values.get("period") not in PERIODS:
            errors["period"] = "must be week or month"
        per_period = values.get("classes_per_period")
        if per_period is not None:
            per_period = _count(per_period, "classes_per_period", errors, 100)
        cleaned.update(
            credits_total=per_period, credits_left=0, period=values.get("period")
        )
    if expires is not None and expires < starts:
        errors["expires_on"] = "must be on or after starts_on"
    cleaned["expires_on"] = expires
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def pass_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a pass as JSON-ready values."""
    return {
        "id": str(row["id"]),
        "client_id": str(row["client_id"]),
        "kind": row["kind"],
        "name": row["name"],
        "credits_total": row["credits_total"],
        "credits_left": row["credits_left"] if row["kind"] == "pack" else None,
        "period": row["period"] or None,
        "starts_on": row["starts_on"].isoformat(),
        "expires_on": row["expires_on"].isoformat() if row["expires_on"] else None,
        "price": row["price"],
        "status": row["status"],
        "note": row["note"],
    }


async def issue_pass(
    scope: TenantScope, client_id: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Give a client a pack or membership; return it.

    NOTE: the pass is not a sale. Take its price at the till as a product or
    service line; the pass records ``price`` for reference only.
    """
    today = datetime.now(scope.tenant.zone).date()
    cleaned = clean_pass(values, today)
    async with write_transaction():
        client = await scope.get(Client, client_id)
        row = ClassPass(client_id=client["id"], created_at=utcnow(), **cleaned)
        await scope.insert(row)
    return pass_json(await scope.get(ClassPass, row.id))


async def cancel_pass(scope: TenantScope, pass_id: str) -> dict[str, Any]:
    """Stop a pass paying for new classes; places it already paid for stay."""
    async with write_transaction():
        row = await scope.get(ClassPass, pass_id)
        await scope.update(ClassPass, {ClassPass.status: "cancelled"}).where(
            ClassPass.id == row["id"]
        )
    return pass_json(await scope.get(ClassPass, row["id"]))


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """Return the first and last day of the calendar week or month holding ``day``."""
    if period == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def _valid_on(row: Mapping[str, Any], day: date) -> bool:
    if row["status"] != "active" or row["starts_on"] > day:
        return False
    return row["expires_on"] is None or row["expires_on"] >= day


async def _used_in_period(scope: TenantScope, row: Mapping[str, Any], day: date) -> int:
    first, last = period_bounds(row["period"], day)
    zone = scope.tenant.zone
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return await (
        scope.count(ClassCredit)
        .where(ClassCredit.pass_id == row["id"])
        .where(ClassCredit.status.is_in(list(TAKEN)))
        .where(ClassCredit.session_start >= start)
        .where(ClassCredit.session_start < end)
    )


async def balance(
    scope: TenantScope, client_id: uuid.UUID | str, day: date
) -> dict[str, Any]:
    """Return what a client can book on ``day``.

    ``unlimited`` is true with a valid unlimited membership; ``credits`` adds
    pack credits left and membership classes left in the day's period.
    """
    rows = await scope.select(ClassPass).where(
        ClassPass.client_id == uuid.UUID(str(client_id))
    )
    credits = 0
    unlimited = False
    passes = []
    for row in rows:
        if not _valid_on(row, day):
            continue
        passes.append(row)
        if row["kind"] == "pack":
            credits += row["credits_left"]
        elif row["credits_total"] is None:
            unlimited = True
        else:
            used = await _used_in_period(scope, row, day)
            credits += max(row["credits_total"] - used, 0)
    return {
        "unlimited": unlimited,
        "credits": credits,
        "passes": [pass_json(row) for row in passes],
    }


def describe_balance(summary: Mapping[str, Any]) -> str:
    """Return a balance as staff read it, such as "Unlimited" or "3 credits"."""
    if summary["unlimited"]:
        return "Unlimited membership"
    count = summary["credits"]
    return "No credits" if count == 0 else f"{count} credit{'s' if count != 1 else ''}"


async def _pick_pass(
    scope: TenantScope, client_id: uuid.UUID, day: date
) -> dict[str, Any] | None:
    """Return the pass that pays for a class on ``day``, or None.

    Unlimited memberships come first, then memberships with classes left in
    the period, then the pack that expires first.
    """
    rows = [
        row
        for row in await scope.select(ClassPass).where(ClassPass.client_id == client_id)
        if _valid_on(row, day)
    ]

    def order(row: Mapping[str, Any]) -> tuple[int, date]:
        if row["kind"] == "membership":
            rank = 0 if row["credits_total"] is None else 1
        else:
            rank = 2
        return rank, row["expires_on"] or date.max

    for row in sorted(rows, key=order):
        if row["kind"] == "pack":
            taken = await (
                scope.update(
                    ClassPass, {ClassPass.credits_left: ClassPass.credits_left - 1}
                )
                .where(ClassPass.id == row["id"])
                .where(ClassPass.credits_left > 0)
                .returning(ClassPass.id)
            )
            if taken:
                return row
        elif row["credits_total"] is None:
            return row
        elif await _used_in_period(scope, row, day) < row["credits_total"]:
            # NOTE: two bookings of one member in different sessions at the
            # same moment can both see the last class of the period free.
            return row
    return None


def _session_start(session: Mapping[str, Any]) -> datetime:
    value = session["start_at"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def _credit_of(scope: TenantScope, booking_id: uuid.UUID) -> dict | None:
    return await (  # type: ignore[no-any-return]
        scope.select(ClassCredit)
        .where(ClassCredit.class_booking_id == booking_id)
        .order_by(ClassCredit.created_at, ascending=False)
        .first()
    )


async def _give_back(
    scope: TenantScope, credit: Mapping[str, Any], status: str
) -> None:
    """Mark a credit refunded or forfeited, returning a pack credit if refunded."""
    await scope.update(
        ClassCredit, {ClassCredit.status: status, ClassCredit.changed_at: utcnow()}
    ).where(ClassCredit.id == credit["id"])
    if status == "refunded" and credit["status"] != "refunded":
        await (
            scope.update(
                ClassPass, {ClassPass.credits_left: ClassPass.credits_left + 1}
            )
            .where(ClassPass.id == credit["pass_id"])
            .where(ClassPass.kind == "pack")
        )


async def _spend(
    scope: TenantScope,
    rules: StudioRules,
    booking: Mapping[str, Any],
    session: Mapping[str, Any],
) -> None:
    booking_id = uuid.UUID(str(booking["id"]))
    existing = await _credit_of(scope, booking_id)
    if existing is not None and existing["status"] in TAKEN:
        return
    client_id = uuid.UUID(str(booking["client_id"]))
    start = _session_start(session)
    day = start.astimezone(scope.tenant.zone).date()
    chosen = await _pick_pass(scope, client_id, day)
    if chosen is None:
        if not rules.require_pass:
            return
        client = await scope.get(Client, client_id)
        name = f"{client['first_name']} {client['last_name']}".strip()
        raise invalid(
            "client_id",
            f"{name} has no class-pack credit or membership for {day.isoformat()}: "
            "sell a class pack or membership first",
        )
    await scope.insert(
        ClassCredit(
            pass_id=chosen["id"],
            class_booking_id=booking_id,
            session_id=uuid.UUID(str(session["id"])),
            client_id=client_id,
            session_start=start,
            created_at=utcnow(),
        )
    )


async def _penalise(
    scope: TenantScope,
    rules: StudioRules,
    booking: Mapping[str, Any],
    session: Mapping[str, Any],
    change: str,
) -> None:
    booking_id = uuid.UUID(str(booking["id"]))
    rule, fee = rules.rule_for(change)
    credit = await _credit_of(scope, booking_id)
    if credit is not None:
        await _give_back(
            scope, credit, "forfeited" if rule == "forfeit_credit" else "refunded"
        )
    if rule == "charge_fee":
        # NOTE: the fee is recorded as owed, not charged. Checkout shows it as
        # a prompt, and staff mark it paid once it is taken at the till.
        await _waive_fees(scope, booking_id)
        await scope.insert(
            ClassFee(
                client_id=uuid.UUID(str(booking["client_id"])),
                class_booking_id=booking_id,
                session_id=uuid.UUID(str(session["id"])),
                reason="late_cancel" if change == "late_cancelled" else "no_show",
                amount=fee,
                created_at=utcnow(),
            )
        )


async def _waive_fees(scope: TenantScope, booking_id: uuid.UUID) -> None:
    await (
        scope.update(ClassFee, {ClassFee.status: "waived"})
        .where(ClassFee.class_booking_id == booking_id)
        .where(ClassFee.status == "owed")
    )


async def _attended(
    scope: TenantScope,
    rules: StudioRules,
    booking: Mapping[str, Any],
    session: Mapping[str, Any],
) -> None:
    """Undo a no-show's penalty when the mark is corrected to attended."""
    booking_id = uuid.UUID(str(booking["id"]))
    await _waive_fees(scope, booking_id)
    credit = await _credit_of(scope, booking_id)
    if credit is None or credit["status"] == "refunded":
        try:
            await _spend(scope, rules, booking, session)
        except ValidationFailed:
            # The client attended, so the mark is kept even without a credit.
            return
    elif credit["status"] == "forfeited":
        await scope.update(
            ClassCredit, {ClassCredit.status: "spent", ClassCredit.changed_at: utcnow()}
        ).where(ClassCredit.id == credit["id"])


async def apply_change(
    scope: TenantScope,
    rules: StudioRules,
    booking: Mapping[str, Any],
    session: Mapping[str, Any],
    change: str,
) -> None:
    """Spend, refund or forfeit the credit of a class place as it changes.

    ``booked`` and ``promoted`` spend a credit, and raise ``invalid`` when
    the client has none while passes are required. ``cancelled`` refunds
    the credit. ``late_cancelled`` and ``no_show`` follow the studio's
    rules, and ``attended`` undoes a no-show's penalty.
    """
    if change in ("booked", "promoted"):
        await _spend(scope, rules, booking, session)
    elif change == "cancelled":
        credit = await _credit_of(scope, uuid.UUID(str(booking["id"])))
        if credit is not None and credit["status"] != "refunded":
            await _give_back(scope, credit, "refunded")
    elif change in ("late_cancelled", "no_show"):
        await _penalise(scope, rules, booking, session, change)
    elif change == "attended":
        await _attended(scope, rules, booking, session)


async def owed_fees(scope: TenantScope, client_id: uuid.UUID | str) -> list[dict]:
    """Return the fees a client still owes, oldest first."""
    rows = (
        await scope.select(ClassFee)
        .where(ClassFee.client_id == uuid.UUID(str(client_id)))
        .where(ClassFee.status == "owed")
        .order_by(ClassFee.created_at)
    )
    return [
        {
            "id": str(row["id"]),
            "class_booking_id": str(row["class_booking_id"]),
            "session_id": str(row["session_id"]),
            "reason": row["reason"],
            "amount": row["amount"],
            "status": row["status"],
        }
        for row in rows
    ]


async def settle_fee(scope: TenantScope, fee_id: str, status: Any) -> dict[str, Any]:
    """Mark an owed fee ``paid`` (taken at the till) or ``waived``."""
    if status not in ("paid", "waived"):
        raise invalid("status", "must be paid or waived")
    async with write_transaction():
        row = await scope.get(ClassFee, fee_id)
        if row["status"] != "owed":
            raise Conflict(f"the fee is already {row['status']}")
        await scope.update(ClassFee, {ClassFee.status: status}).where(
            ClassFee.id == row["id"]
        )
    return {"id": str(row["id"]), "status": status, "amount": row["amount"]}
