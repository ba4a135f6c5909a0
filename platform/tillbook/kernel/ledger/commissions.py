"""Provider commissions: rules, computation on close and reversal on refund.

Commission is earned on service and product lines that name a provider
(``staff_id``), on the line's net revenue (after discount, before tax).

Precedence: for each line the most specific active rule wins. A rule naming
the item (``item_id``) beats one naming the category, which beats one naming
only the kind (service or product), which beats a rule that names none of
them. At equal item specificity a rule for the provider beats a rule for
everyone. Remaining ties go to the rule created first (lowest id order is
used as a stable stand-in). No matching rule means no commission.

A rule's rate is ``percent`` of the net revenue plus ``fixed`` per unit. Its
tiers replace that rate once the provider's revenue in the rule's period
(the local calendar month, or week from Monday) reaches a tier's
``threshold``. The revenue counted is what the provider sold in the period
before the line, net of refunds. The highest tier reached applies to the
whole line.

The ``tillbook_commission`` hook receives the kernel's amount and may replace it
(first result wins). Each line gets one ``Commission`` row on close; a refund
or void adds a negative row for the refunded share.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.errors import ValidationFailed
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader, parse_tax_rate
from tillbook.kernel.catalog.tables import Product, Service
from tillbook.kernel.ledger.backoffice_tables import (
    Commission,
    CommissionRule,
    CommissionTier,
)
from tillbook.kernel.ledger.money import round_minor
from tillbook.kernel.ledger.tables import Ticket, TicketLine
from tillbook.kernel.schedule.tables import Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

COMMISSION_KINDS = ("service", "product")
PERIODS = ("month", "week")
RULE_FIELDS = frozenset(
    {
        "name",
        "staff_id",
        "kind",
        "category",
        "item_id",
        "percent",
        "fixed",
        "period",
        "active",
        "tiers",
    }
)
MAX_TIERS = 20


def rule_specificity(rule: Mapping[str, Any]) -> tuple[int, int]:
    """Return a sort key: higher means the rule wins (see the module docstring)."""
    if rule["item_id"] is not None:
        item_level = 3
    elif rule["category"]:
        item_level = 2
    elif rule["kind"]:
        item_level = 1
    else:
        item_level = 0
    return (item_level, 1 if rule["staff_id"] is not None else 0)


def rule_matches(rule: Mapping[str, Any], line: Mapping[str, Any]) -> bool:
    """Tell whether ``rule`` applies to ``line``."""
    if not rule["active"]:
        return False
    if rule["staff_id"] is not None and rule["staff_id"] != line["staff_id"]:
        return False
    if rule["kind"] and rule["kind"] != line["kind"]:
        return False
    if rule["category"] and rule["category"] != line["category"]:
        return False
    return not (rule["item_id"] is not None and rule["item_id"] != line["item_id"])


def choose_rule(
    rules: list[dict[str, Any]], line: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Return the winning rule for ``line``, or None when none matches."""
    matching = [rule for rule in rules if rule_matches(rule, line)]
    if not matching:
        return None
    matching.sort(key=lambda rule: str(rule["id"]))
    return max(matching, key=rule_specificity)


def rate_for(
    rule: Mapping[str, Any], tiers: list[dict[str, Any]], period_revenue: int
) -> tuple[str, int]:
    """Return the ``(percent, fixed)`` that applies at ``period_revenue``."""
    reached = [tier for tier in tiers if tier["threshold"] <= period_revenue]
    if reached:
        top = max(reached, key=lambda tier: tier["threshold"])
        return top["percent"], top["fixed"]
    return rule["percent"], rule["fixed"]


def commission_amount(revenue: int, quantity: int, percent: str, fixed: int) -> int:
    """Return ``percent`` of ``revenue`` plus ``fixed`` per unit, in minor units.

    Rounds half up; a negative revenue (a refund) gives a negative amount.
    """
    share = round_minor(Decimal(revenue) * Decimal(percent) / 100)
    return share + fixed * quantity


def period_start(scope: TenantScope, period: str, at: datetime) -> datetime:
    """Return the start of the local calendar month or week containing ``at``."""
    local = at.astimezone(scope.tenant.zone)
    day = local.date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    else:
        day = day.replace(day=1)
    return datetime.combine(day, time(0), tzinfo=scope.tenant.zone)


async def period_revenue(
    scope: TenantScope, staff_id: uuid.UUID, since: datetime, until: datetime
) -> int:
    """Return a provider's net revenue in ``[since, until)``, refunds deducted."""
    rows = (
        await scope.select(Commission, Commission.revenue)
        .where(Commission.staff_id == staff_id)
        .where(Commission.at >= since)
        .where(Commission.at < until)
    )
    return sum(row["revenue"] for row in rows)


async def _rules_and_tiers(
    scope: TenantScope,
) -> tuple[list[dict[str, Any]], dict[uuid.UUID, list[dict[str, Any]]]]:
    rules = list(
        await scope.select(CommissionRule).where(CommissionRule.active == True)  # noqa: E712
    )
    tiers: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if rules:
        rows = await scope.select(CommissionTier).where(
            CommissionTier.rule_id.is_in([rule["id"] for rule in rules])
        )
        for row in rows:
            tiers.setdefault(row["rule_id"], []).append(row)
    return rules, tiers


def _hook_line(line: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(line["id"]),
        "ticket_id": str(line["ticket_id"]),
        "kind": line["kind"],
        "item_id": str(line["item_id"]) if line["item_id"] else None,
        "description": line["description"],
        "category": line["category"],
        "quantity": line["quantity"],
        "unit_price": line["unit_price"],
        "amount": line["net"],
    }


async def _plugin_amount(
    scope: TenantScope,
    hooks: TenantHooks | None,
    line: Mapping[str, Any],
    kernel_amount: int,
) -> int | None:
    if hooks is None:
        return None
    result = await hooks.tillbook_commission(
        scope=scope,
        line=_hook_line(line),
        staff_id=str(line["staff_id"]),
        amount=kernel_amount,
    )
    if result is None:
        return None
    if isinstance(result, bool) or not isinstance(result, int):
        logger.error(
            "tillbook_commission returned %r for line %s of tenant %s, not an "
            "integer; the kernel's amount is kept",
            result,
            line["id"],
            scope.tenant_id,
        )
        return None
    return result


async def record_commissions(
    scope: TenantScope,
    *,
    ticket_id: uuid.UUID,
    hooks: TenantHooks | None = None,
    at: datetime | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Compute and store the commission of each provider line of a closed ticket.

    Call inside the close transaction, after the lines have their final
    amounts. ``at`` defaults to the ticket's close instant. ``lines`` are the
    ticket's line rows in position order when the caller has them, which
    saves reading them again. Returns
    ``[{"line_id", "staff_id", "revenue", "amount", "source"}]``. Lines are
    taken in position order, so a tier reached by an earlier line of the
    ticket applies to the later ones.
    """
    if at is None:
        at = (await scope.get(Ticket, ticket_id))["closed_at"] or utcnow()
    if lines is None:
        lines = (
            await scope.select(TicketLine)
            .where(TicketLine.ticket_id == ticket_id)
            .order_by(TicketLine.position)
        )
    earning = [
        line
        for line in lines
        if line["kind"] in COMMISSION_KINDS and line["staff_id"] is not None
    ]
    if not earning:
        return []
    rules, tiers = await _rules_and_tiers(scope)
    rows: list[Commission] = []
    added: dict[tuple[uuid.UUID, datetime], int] = {}
    for line in earning:
        rule = choose_rule(rules, line)
        amount = 0
        source = "none"
        if rule is not None:
            since = period_start(scope, rule["period"], at)
            key = (line["staff_id"], since)
            if key not in added:
                added[key] = await period_revenue(scope, line["staff_id"], since, at)
            percent, fixed = rate_for(rule, tiers.get(rule["id"], []), added[key])
            amount = commission_amount(line["net"], line["quantity"], percent, fixed)
            source = "rule"
        override = await _plugin_amount(scope, hooks, line, amount)
        if override is not None:
            amount, source = override, "plugin"
        for key in list(added):
            if key[0] == line["staff_id"]:
                added[key] += line["net"]
        rows.append(
            Commission(
                ticket_id=ticket_id,
                line_id=line["id"],
                staff_id=line["staff_id"],
                revenue=line["net"],
                amount=amount,
                rule_id=rule["id"] if rule else None,
                source=source,
                at=at,
            )
        )
    await scope.insert(*rows)
    return [
        {
            "line_id": str(row.line_id),
            "staff_id": str(row.staff_id),
            "revenue": row.revenue,
            "amount": row.amount,
            "source": row.source,
        }
        for row in rows
    ]


async def reverse_commissions(
    scope: TenantScope,
    *,
    refund_id: uuid.UUID,
    refunded_net: Mapping[uuid.UUID, int],
    at: datetime,
) -> int:
    """Add negative commission rows for the refunded net revenue of each line.

    ``refunded_net`` maps a line id to the net revenue refunded now. The
    reversed amount is the line's commission in proportion to that share of
    its net, rounded half up. Refunding what is left of a line reverses
    exactly what is left of its commission. Returns the total reversed
    (a negative number or 0). Call inside the refund transaction.
    """
    if not refunded_net:
        return 0
    rows = await scope.select(Commission).where(
        Commission.line_id.is_in(list(refunded_net))
    )
    by_line: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        by_line.setdefault(row["line_id"], []).append(row)
    reversals: list[Commission] = []
    for line_id, net in refunded_net.items():
        history = by_line.get(line_id)
        if not history or net == 0:
            continue
        original = next(row for row in history if row["refund_id"] is None)
        revenue_left = sum(row["revenue"] for row in history)
        amount_left = sum(row["amount"] for row in history)
        if net >= revenue_left:
            amount = amount_left
        elif original["revenue"]:
            amount = round_minor(
                Decimal(original["amount"]) * net / Decimal(original["revenue"])
            )
            amount = min(amount, amount_left) if amount_left >= 0 else amount
        else:
            amount = 0
        reversals.append(
            Commission(
                ticket_id=original["ticket_id"],
                line_id=line_id,
                staff_id=original["staff_id"],
                refund_id=refund_id,
                revenue=-min(net, revenue_left),
                amount=-amount,
                rule_id=original["rule_id"],
                source=original["source"],
                at=at,
            )
        )
    if reversals:
        await scope.insert(*reversals)
    return sum(row.amount for row in reversals)


async def _check_references(
    scope: TenantScope, cleaned: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> None:
    """Raise ValidationFailed unless ``staff_id`` and ``item_id`` are this tenant's."""
    errors: dict[str, str] = {}
    staff_id = cleaned.get("staff_id")
    if staff_id is not None:
        found = await scope.select(Staff, Staff.id).where(Staff.id == staff_id).first()
        if found is None:
            errors["staff_id"] = (
                f"unknown staff member {staff_id}: choose one of this business's"
            )
    item_id = cleaned.get("item_id")
    if item_id is not None:
        kind = cleaned.get("kind", existing["kind"] if existing else "")
        tables: list[type[Service] | type[Product]]
        if kind == "service":
            tables = [Service]
        elif kind == "product":
            tables = [Product]
        else:
            tables = [Service, Product]
        for table in tables:
            if await scope.select(table, table.id).where(table.id == item_id).first():
                break
        else:
            item_kind = kind or "service or product"
            errors["item_id"] = (
                f"unknown {item_kind} {item_id}: choose one of this business's"
            )
    if errors:
        raise ValidationFailed(errors)


def clean_rule(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Return valid commission rule fields; raise ValidationFailed naming each."""
    reader = FieldReader(values, RULE_FIELDS, partial=partial)
    reader.text("name", default="")
    reader.text("category", max_length=100, default="")
    reader.money("fixed", default=0)
    reader.boolean("active", default=True)
    for name in ("staff_id", "item_id"):
        if name in values and values[name] in (None, ""):
            reader.cleaned[name] = None
        else:
            reader.uuid_value(name)
    if "kind" in values:
        if values["kind"] not in ("", *COMMISSION_KINDS):
            reader.errors["kind"] = 'must be "service", "product" or "" for any'
        else:
            reader.cleaned["kind"] = values["kind"]
    elif not partial:
        reader.cleaned["kind"] = ""
    if "period" in values:
        if values["period"] not in PERIODS:
            reader.errors["period"] = f"must be one of {', '.join(PERIODS)}"
        else:
            reader.cleaned["period"] = values["period"]
    elif not partial:
        reader.cleaned["period"] = "month"
    _read_percent(reader, "percent", values, partial=partial)
    if "tiers" in values or not partial:
        reader.cleaned["tiers"] = _clean_tiers(values.get("tiers") or [], reader)
    return reader.finish()


def _read_percent(
    reader: FieldReader, name: str, values: Mapping[str, Any], *, partial: bool
) -> None:
    if name not in values:
        if not partial:
            reader.cleaned[name] = "0"
        return
    rate = parse_tax_rate(values[name])
    if rate is None:
        reader.errors[name] = (
            'must be a percentage from 0 to 100 with at most 3 decimals, such as "12.5"'
        )
    else:
        reader.cleaned[name] = rate


def _clean_tiers(raw: object, reader: FieldReader) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or len(raw) > MAX_TIERS:
        reader.errors["tiers"] = (
            f"must be a list of at most {MAX_TIERS} {{threshold, percent, fixed}}"
        )
        return []
    tiers: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        prefix = f"tiers[{index}]"
        if not isinstance(item, dict):
            reader.errors[prefix] = "must be an object with threshold, percent, fixed"
            continue
        tier_reader = FieldReader(
            item, {"threshold", "percent", "fixed"}, partial=False
        )
        tier_reader.money("threshold", required=True)
        tier_reader.money("fixed", default=0)
        _read_percent(tier_reader, "percent", item, partial=False)
        try:
            tiers.append(tier_reader.finish())
        except ValidationFailed as exc:
            for field, message in exc.errors.items():
                reader.errors[f"{prefix}.{field}"] = message
    thresholds = [tier["threshold"] for tier in tiers]
    if len(set(thresholds)) != len(thresholds):
        reader.errors["tiers"] = "has two tiers with the same threshold"
    return sorted(tiers, key=lambda tier: tier["threshold"])


def rule_json(row: Mapping[str, Any], tiers: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a commission rule with its tiers as the API shows it."""
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "staff_id": str(row["staff_id"]) if row["staff_id"] else None,
        "kind": row["kind"],
        "category": row["category"],
        "item_id": str(row["item_id"]) if row["item_id"] else None,
        "percent": row["percent"],
        "fixed": row["fixed"],
        "period": row["period"],
        "active": row["active"],
        "tiers": [
            {
                "threshold": tier["threshold"],
                "percent": tier["percent"],
                "fixed": tier["fixed"],
            }
            for tier in sorted(tiers, key=lambda tier: tier["threshold"])
        ],
    }


async def get_rule(scope: TenantScope, rule_id: uuid.UUID | str) -> dict[str, Any]:
    """Return one commission rule as JSON; raise NotFound if not the tenant's."""
    row = await scope.get(CommissionRule, rule_id)
    tiers = await scope.select(CommissionTier).where(
        CommissionTier.rule_id == row["id"]
    )
    return rule_json(row, list(tiers))


async def list_rules(scope: TenantScope) -> list[dict[str, Any]]:
    """Return every commission rule, most specific first."""
    rows = list(await scope.select(CommissionRule))
    tiers: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for tier in await scope.select(CommissionTier):
        tiers.setdefault(tier["rule_id"], []).append(tier)
    rows.sort(key=lambda row: (rule_specificity(row), row["name"]), reverse=True)
    return [rule_json(row, tiers.get(row["id"], [])) for row in rows]


async def save_rule(
    scope: TenantScope,
    values: Mapping[str, Any],
    *,
    rule_id: uuid.UUID | str | None = None,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Create a rule, or change one when ``rule_id`` is given; return it as JSON.

    Tiers, when sent, replace the rule's tiers. Raises ValidationFailed
    naming each bad field.
    """
    existing = await scope.get(CommissionRule, rule_id) if rule_id else None
    cleaned = clean_rule(values, partial=existing is not None)
    await _check_references(scope, cleaned, existing)
    tiers = cleaned.pop("tiers", None)
    async with write_transaction():
        if existing is not None:
            # A no-op update locks the rule's row until commit on PostgreSQL,
            # so two changes of its tiers do not both delete and both insert.
            await scope.update(
                CommissionRule, {CommissionRule.name: CommissionRule.name}
            ).where(CommissionRule.id == existing["id"])
        before = await get_rule(scope, existing["id"]) if existing else None
        if existing is None:
            row = CommissionRule(**cleaned)
            await scope.insert(row)
            saved_id = row.id
        else:
            saved_id = existing["id"]
            if cleaned:
                await scope.update(
                    CommissionRule,
                    {getattr(CommissionRule, key): val for key, val in cleaned.items()},
                ).where(CommissionRule.id == saved_id)
        if tiers is not None:
            await scope.delete(CommissionTier).where(CommissionTier.rule_id == saved_id)
            if tiers:
                await scope.insert(
                    *(CommissionTier(rule_id=saved_id, **tier) for tier in tiers)
                )
        after = await get_rule(scope, saved_id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="commission_rule.saved",
            subject_type="commission_rule",
            subject_id=saved_id,
            before=before,
            after=after,
        )
    return after
