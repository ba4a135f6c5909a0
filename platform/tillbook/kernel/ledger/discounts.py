"""Discounts: manual line and ticket discounts, promo codes and automatic rules.

The order in which they combine and the zero cap are in ``pricing``. This
module validates requests, stores them as ``TicketDiscount`` rows, works out
which automatic rules a client qualifies for, and counts promo code uses when
a ticket closes.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import Conflict, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.ledger.money import MAX_AMOUNT, parse_rate
from tillbook.kernel.ledger.pricing import DISCOUNTABLE, Discount
from tillbook.kernel.ledger.tables import DiscountRule, PromoCode, TicketDiscount
from tillbook.tenancy.scope import TenantScope

DISCOUNT_KINDS = ("percent", "fixed")
RULE_TRIGGERS = ("loyalty_tier", "first_visit", "birthday_month")
RULE_TARGETS = ("service", "product", "all")
MAX_REASON = 200
MAX_DISCOUNTS_PER_TICKET = 20
_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")


def normalise_promo_code(value: object, field: str = "code") -> str:
    """Return a promo code in upper case; raise ValidationFailed naming ``field``."""
    text = str(value or "").strip().upper()
    if not _CODE_PATTERN.match(text):
        raise invalid(
            field,
            f"{value!r} is not a promo code: use 3 to 40 letters, digits, "
            "'-' or '_', such as SPRING10",
        )
    return text


def check_discount(
    data: dict[str, Any], errors: dict[str, str], *, max_fixed: int = MAX_AMOUNT
) -> dict[str, Any]:
    """Check ``kind`` with ``percent`` or ``amount``; return the column values.

    A fixed amount above ``max_fixed`` (such as the line it applies to) is an
    error on ``amount``.
    """
    kind = data.get("kind", "percent")
    if kind not in DISCOUNT_KINDS:
        errors["kind"] = f"{kind!r} is not a discount kind: use percent or fixed"
        return {}
    if kind == "percent":
        raw = data.get("percent")
        try:
            if isinstance(raw, bool) or raw is None:
                raise ValueError(f"{raw!r} is not a number")
            percent = parse_rate(str(raw))
        except ValueError as exc:
            errors["percent"] = f"{exc}: enter a percentage from 0 to 100"
            return {}
        if percent == 0:
            errors["percent"] = "is 0: enter a percentage above 0"
            return {}
        return {"kind": kind, "percent": f"{percent.normalize():f}", "amount": 0}
    amount = data.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors["amount"] = (
            f"{amount!r} is not a positive whole amount in minor units, such as 500"
        )
        return {}
    if amount > max_fixed:
        errors["amount"] = (
            f"{amount} is more than the {max_fixed} it applies to: enter at most "
            f"{max_fixed}"
        )
        return {}
    return {"kind": kind, "percent": "0", "amount": amount}


def check_reason(value: object, errors: dict[str, str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > MAX_REASON:
        errors["reason"] = f"must be text of at most {MAX_REASON} characters"
        return ""
    return value.strip()


def as_discount(row: dict[str, Any]) -> Discount:
    """Return a stored ``TicketDiscount`` row as a pricing ``Discount``."""
    return Discount(
        key=str(row["id"]),
        kind=row["kind"],
        percent=Decimal(row["percent"] or "0"),
        amount=row["amount"],
        reason=row["reason"],
        source=row["source"],
        line_id=row["line_id"],
    )


def describe(kind: str, percent: str, amount: int, label: str) -> str:
    """Return a short reason such as ``"Loyalty 10%"`` or ``"SPRING10"``."""
    if kind == "percent":
        return f"{label} {Decimal(percent).normalize():f}%"
    return label


# Automatic rules.


def _birthday_month(client: dict[str, Any], today: date) -> bool:
    birthday = client.get("birthday")
    return birthday is not None and birthday.month == today.month


def qualifying_rules(
    rules: list[dict[str, Any]],
    client: dict[str, Any] | None,
    *,
    lifetime_points: int,
    today: date,
) -> list[dict[str, Any]]:
    """Return the active rules ``client`` qualifies for on ``today``."""
    if client is None:
        return []
    found = []
    for rule in rules:
        if not rule["active"]:
            continue
        trigger = rule["trigger"]
        if trigger == "first_visit" and client["completed_visits"] == 0:
            found.append(rule)
        elif trigger == "birthday_month" and _birthday_month(client, today):
            found.append(rule)
        elif (
            trigger == "loyalty_tier"
            and client["completed_visits"] >= rule["min_visits"]
            and lifetime_points >= rule["min_points"]
        ):
            found.append(rule)
    return found


def automatic_discounts(
    lines: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    *,
    tenant_loyalty: tuple[int, int],
    client: dict[str, Any] | None,
) -> dict[uuid.UUID, list[Discount]]:
    """Return the automatic discounts of each line.

    ``rules`` are the rules the client already qualifies for.
    ``tenant_loyalty`` is the tenant's built-in loyalty (percent, minimum
    completed visits), which applies to service lines like a loyalty tier.
    Only percentage rules apply per line; a fixed rule amount applies to
    each eligible line.
    """
    per_line: dict[uuid.UUID, list[Discount]] = {}
    percent, min_visits = tenant_loyalty
    for line in lines:
        if line["kind"] not in DISCOUNTABLE:
            continue
        found: list[Discount] = []
        if (
            client is not None
            and percent > 0
            and line["kind"] == "service"
            and client["completed_visits"] >= min_visits
        ):
            found.append(
                Discount(
                    key="loyalty",
                    kind="percent",
                    percent=Decimal(percent),
                    reason=f"Loyalty {percent}%",
                    source="rule",
                    line_id=line["id"],
                )
            )
        for rule in rules:
            target = rule["applies_to"]
            if target != "all" and target != line["kind"]:
                continue
            if target == "all" and line["kind"] not in ("service", "product"):
                continue
            found.append(
                Discount(
                    key=f"rule:{rule['id']}",
                    kind=rule["kind"],
                    percent=Decimal(rule["percent"] or "0"),
                    amount=rule["amount"],
                    reason=describe(
                        rule["kind"], rule["percent"], rule["amount"], rule["name"]
                    ),
                    source="rule",
                    line_id=line["id"],
                )
            )
        if found:
            per_line[line["id"]] = found
    return per_line


async def active_rules(scope: TenantScope) -> list[dict[str, Any]]:
    return list(
        await scope.select(DiscountRule)
        .where(DiscountRule.active.eq(True))
        .order_by(DiscountRule.position)
    )


# Promo codes.


def promo_problem(
    promo: dict[str, Any], today: date, subtotal: int | None = None
) -> str | None:
    """Return why ``promo`` cannot be used on ``today``, or None when it can."""
    if not promo["active"]:
        return f"promo code {promo['code']} is switched off"
    if promo["valid_from"] is not None and today < promo["valid_from"]:
        return f"promo code {promo['code']} starts on {promo['valid_from']:%Y-%m-%d}"
    if promo["valid_until"] is not None and today > promo["valid_until"]:
        return f"promo code {promo['code']} expired on {promo['valid_until']:%Y-%m-%d}"
    limit = promo["usage_limit"]
    if limit is not None and promo["used_count"] >= limit:
        return f"promo code {promo['code']} has been used its {limit} times"
    if subtotal is not None and subtotal < promo["min_subtotal"]:
        return (
            f"promo code {promo['code']} needs a subtotal of at least "
            f"{promo['min_subtotal']} minor units"
        )
    return None


async def find_promo(scope: TenantScope, code: object, field: str) -> dict[str, Any]:
    """Return the promo code row for ``code``; raise ValidationFailed on ``field``."""
    text = normalise_promo_code(code, field)
    row = await scope.select(PromoCode).where(PromoCode.code == text).first()
    if row is None:
        raise invalid(field, f"promo code {text} not found: check the spelling")
    return row  # type: ignore[no-any-return]


async def count_promo_use(
    scope: TenantScope,
    promo_id: uuid.UUID,
    today: date,
    field: str,
    subtotal: int | None = None,
) -> None:
    """Count one use of a promo code inside the close transaction.

    The conditional update only passes while the code is active, in its
    dates and under its limit, so parallel closes never use it more often
    than the limit. On PostgreSQL the row lock makes a later update re-check
    the condition against the committed count. Without
    ``subtotal`` only codes with no minimum subtotal pass. Raises
    ValidationFailed naming ``field`` when it no longer applies.
    """
    used = (
        await scope.update(PromoCode, {PromoCode.used_count: PromoCode.used_count + 1})
        .where(PromoCode.id == promo_id)
        .where(PromoCode.active.eq(True))
        .where(
            PromoCode.usage_limit.is_null()
            | (PromoCode.used_count < PromoCode.usage_limit)
        )
        .where(PromoCode.valid_from.is_null() | (PromoCode.valid_from <= today))
        .where(PromoCode.valid_until.is_null() | (PromoCode.valid_until >= today))
        .where(PromoCode.min_subtotal <= (subtotal if subtotal is not None else 0))
        .returning(PromoCode.id)
    )
    if not used:
        row = await scope.get(PromoCode, promo_id)
        reason = (
            promo_problem(row, today, subtotal)
            or f"promo code {row['code']} is not usable"
        )
        raise invalid(field, f"{reason}: remove it from the ticket and close again")


# Counts and amounts below live in 32-bit integer columns.
MAX_COUNT = 2_147_483_647
PROMO_FIELDS = (
    "code",
    "kind",
    "percent",
    "amount",
    "description",
    "valid_from",
    "valid_until",
    "usage_limit",
    "min_subtotal",
    "active",
)
RULE_FIELDS = (
    "name",
    "trigger",
    "kind",
    "percent",
    "amount",
    "applies_to",
    "min_visits",
    "min_points",
    "position",
    "active",
)


def _reject_unknown(
    data: dict[str, Any], known: tuple[str, ...], what: str, errors: dict[str, str]
) -> None:
    for key in data:
        if key not in known:
            errors[str(key)] = f"is not a {what} field: use {', '.join(known)}"


def _promo_values(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    _reject_unknown(data, PROMO_FIELDS, "promo code", errors)
    if "code" in data:
        try:
            values["code"] = normalise_promo_code(data["code"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if "kind" in data or "percent" in data or "amount" in data:
        values.update(check_discount(data, errors))
    if "description" in data:
        description = data["description"]
        if not isinstance(description, str) or len(description) > 200:
            errors["description"] = "must be text of at most 200 characters"
        else:
            values["description"] = description.strip()
    for name in ("valid_from", "valid_until"):
        if name in data:
            raw = data[name]
            if raw in (None, ""):
                values[name] = None
                continue
            try:
                values[name] = date.fromisoformat(str(raw))
            except ValueError:
                errors[name] = f"{raw!r} is not a date: use YYYY-MM-DD"
    if "usage_limit" in data:
        limit = data["usage_limit"]
        if limit in (None, ""):
            values["usage_limit"] = None
        elif (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_COUNT
        ):
            errors["usage_limit"] = (
                f"{limit!r} is not a whole number from 1 to {MAX_COUNT}"
            )
        else:
            values["usage_limit"] = limit
    if "min_subtotal" in data:
        minimum = data["min_subtotal"]
        if (
            isinstance(minimum, bool)
            or not isinstance(minimum, int)
            or not 0 <= minimum <= MAX_COUNT
        ):
            errors["min_subtotal"] = (
                f"{minimum!r} is not an amount from 0 to {MAX_COUNT} minor units"
            )
        else:
            values["min_subtotal"] = minimum
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = f"{data['active']!r} is not true or false"
        else:
            values["active"] = data["active"]
    start, end = values.get("valid_from"), values.get("valid_until")
    if start and end and end < start:
        errors["valid_until"] = "is before valid_from: pick a later date"
    return values


def promo_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "code": row["code"],
        "description": row["description"],
        "kind": row["kind"],
        "percent": row["percent"],
        "amount": row["amount"],
        "valid_from": row["valid_from"].isoformat() if row["valid_from"] else None,
        "valid_until": row["valid_until"].isoformat() if row["valid_until"] else None,
        "usage_limit": row["usage_limit"],
        "used_count": row["used_count"],
        "min_subtotal": row["min_subtotal"],
        "active": row["active"],
    }


async def create_promo(
    scope: TenantScope, data: dict[str, Any], actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Create a promo code; raise ValidationFailed naming each bad field."""
    errors: dict[str, str] = {}
    values = _promo_values({"kind": "percent", **data}, errors)
    if "code" not in data:
        errors["code"] = "is required: 3 to 40 letters or digits, such as SPRING10"
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        taken = (
            await scope.select(PromoCode, PromoCode.id)
            .where(PromoCode.code == values["code"])
            .first()
        )
        if taken:
            raise invalid("code", f"promo code {values['code']} already exists")
        row = PromoCode(**values, created_at=utcnow())
        await scope.insert(row)
        created = await scope.get(PromoCode, row.id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="promo_code.created",
            subject_type="promo_code",
            subject_id=row.id,
            after=promo_view(created),
        )
    return promo_view(created)


async def update_promo(
    scope: TenantScope,
    promo_id: uuid.UUID | str,
    data: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Change a promo code; its use count stays."""
    errors: dict[str, str] = {}
    values = _promo_values(data, errors)
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        before = await scope.get(PromoCode, promo_id)
        if "code" in values and values["code"] != before["code"]:
            taken = (
                await scope.select(PromoCode, PromoCode.id)
                .where(PromoCode.code == values["code"])
                .first()
            )
            if taken:
                raise invalid("code", f"promo code {values['code']} already exists")
        start = values.get("valid_from", before["valid_from"])
        end = values.get("valid_until", before["valid_until"])
        if start and end and end < start:
            raise invalid("valid_until", "is before valid_from: pick a later date")
        if values:
            await scope.update(
                PromoCode, {getattr(PromoCode, k): v for k, v in values.items()}
            ).where(PromoCode.id == before["id"])
        after = await scope.get(PromoCode, before["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="promo_code.changed",
            subject_type="promo_code",
            subject_id=before["id"],
            before=promo_view(before),
            after=promo_view(after),
        )
    return promo_view(after)


async def list_promos(scope: TenantScope) -> list[dict[str, Any]]:
    rows = await scope.select(PromoCode).order_by(PromoCode.code)
    return [promo_view(row) for row in rows]


# Rules.


def _rule_values(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    _reject_unknown(data, RULE_FIELDS, "discount rule", errors)
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            errors["name"] = "is required: 1 to 100 characters, such as 'Gold tier'"
        else:
            values["name"] = name.strip()
    if "trigger" in data:
        if data["trigger"] not in RULE_TRIGGERS:
            errors["trigger"] = (
                f"{data['trigger']!r} is not a rule trigger: use one of "
                f"{', '.join(RULE_TRIGGERS)}"
            )
        else:
            values["trigger"] = data["trigger"]
    if "kind" in data or "percent" in data or "amount" in data:
        values.update(check_discount(data, errors))
    if "applies_to" in data:
        if data["applies_to"] not in RULE_TARGETS:
            errors["applies_to"] = (
                f"{data['applies_to']!r} is not a target: use service, product or all"
            )
        else:
            values["applies_to"] = data["applies_to"]
    for name in ("min_visits", "min_points", "position"):
        if name in data:
            value = data[name]
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= MAX_COUNT
            ):
                errors[name] = f"{value!r} is not a whole number from 0 to {MAX_COUNT}"
            else:
                values[name] = value
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = f"{data['active']!r} is not true or false"
        else:
            values["active"] = data["active"]
    return values


def rule_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "trigger": row["trigger"],
        "kind": row["kind"],
        "percent": row["percent"],
        "amount": row["amount"],
        "applies_to": row["applies_to"],
        "min_visits": row["min_visits"],
        "min_points": row["min_points"],
        "active": row["active"],
        "position": row["position"],
    }


async def create_rule(
    scope: TenantScope, data: dict[str, Any], actor_id: uuid.UUID | None
) -> dict[str, Any]:
    """Create an automatic discount rule; raise ValidationFailed per field."""
    errors: dict[str, str] = {}
    values = _rule_values({"kind": "percent", **data}, errors)
    for required in ("name", "trigger"):
        if required not in data and required not in errors:
            errors[required] = "is required"
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        row = DiscountRule(**values)
        await scope.insert(row)
        created = await scope.get(DiscountRule, row.id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="discount_rule.created",
            subject_type="discount_rule",
            subject_id=row.id,
            after=rule_view(created),
        )
    return rule_view(created)


async def update_rule(
    scope: TenantScope,
    rule_id: uuid.UUID | str,
    data: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Change an automatic rule; open tickets pick it up on their next change."""
    errors: dict[str, str] = {}
    values = _rule_values(data, errors)
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        before = await scope.get(DiscountRule, rule_id)
        if values:
            await scope.update(
                DiscountRule, {getattr(DiscountRule, k): v for k, v in values.items()}
            ).where(DiscountRule.id == before["id"])
        after = await scope.get(DiscountRule, before["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="discount_rule.changed",
            subject_type="discount_rule",
            subject_id=before["id"],
            before=rule_view(before),
            after=rule_view(after),
        )
    return rule_view(after)


async def delete_rule(
    scope: TenantScope, rule_id: uuid.UUID | str, actor_id: uuid.UUID | None
) -> None:
    async with write_transaction():
        before = await scope.get(DiscountRule, rule_id)
        await scope.delete(DiscountRule).where(DiscountRule.id == before["id"])
        await record_audit(
            scope,
            actor_id=actor_id,
            action="discount_rule.deleted",
            subject_type="discount_rule",
            subject_id=before["id"],
            before=rule_view(before),
        )


async def list_rules(scope: TenantScope) -> list[dict[str, Any]]:
    rows = await scope.select(DiscountRule).order_by(DiscountRule.position)
    return [rule_view(row) for row in rows]


def today_for(scope: TenantScope, now: datetime | None = None) -> date:
    """Return the tenant's local date, which promo dates and birthdays use."""
    return (now or utcnow()).astimezone(scope.tenant.zone).date()


def ticket_discount_row(
    ticket_id: uuid.UUID,
    values: dict[str, Any],
    *,
    source: str,
    reason: str,
    actor_id: uuid.UUID | None,
    line_id: uuid.UUID | None = None,
    promo_code_id: uuid.UUID | None = None,
    points: int = 0,
) -> TicketDiscount:
    return TicketDiscount(
        ticket_id=ticket_id,
        line_id=line_id,
        source=source,
        kind=values["kind"],
        percent=values.get("percent", "0"),
        amount=values.get("amount", 0),
        reason=reason[:MAX_REASON],
        promo_code_id=promo_code_id,
        points=points,
        created_at=utcnow(),
        created_by=actor_id,
    )


def ensure_room(existing: list[dict[str, Any]]) -> None:
    if len(existing) >= MAX_DISCOUNTS_PER_TICKET:
        raise Conflict(
            f"a ticket has at most {MAX_DISCOUNTS_PER_TICKET} discounts: "
            "remove one first"
        )
