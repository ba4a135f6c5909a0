"""The tenant's schedule policy: booking windows, cancellation and no-show fees,
reminder offsets.

A tenant has at most one ``SchedulePolicy`` row (a unique index on
``tenant_id``). Until an owner saves the policy form, ``load_policy`` returns
the defaults below, which match the table's column defaults.

A cancellation is free until ``free_cancel_hours`` before the start. Later
cancellations, and no-shows, cost a fee that is either fixed (minor units) or
a percentage of the appointment's price. A policy sets one or the other for
each fee, never both.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tillbook.db import write_transaction
from tillbook.errors import Conflict, ValidationFailed, invalid
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.ledger.money import MAX_AMOUNT, percent_of
from tillbook.kernel.schedule.tables import SchedulePolicy
from tillbook.tenancy.scope import TenantScope

MAX_REMINDERS = 5
# 30 days: a reminder further ahead than that is more likely noise than help.
MAX_REMINDER_OFFSET_MINUTES = 30 * 24 * 60

# Field -> (minimum, maximum) for the whole-number settings.
_RANGES: dict[str, tuple[int, int]] = {
    "granularity_minutes": (5, 240),
    "min_notice_minutes": (0, 30 * 24 * 60),
    "max_advance_days": (1, 730),
    "free_cancel_hours": (0, 720),
    "late_cancel_fee": (0, MAX_AMOUNT),
    "late_cancel_fee_percent": (0, 100),
    "no_show_fee": (0, MAX_AMOUNT),
    "no_show_fee_percent": (0, 100),
    "class_late_cancel_hours": (0, 720),
}
_UNITS = {
    "granularity_minutes": "minutes",
    "min_notice_minutes": "minutes",
    "max_advance_days": "days",
    "free_cancel_hours": "hours",
    "late_cancel_fee": "minor units",
    "late_cancel_fee_percent": "percent",
    "no_show_fee": "minor units",
    "no_show_fee_percent": "percent",
    "class_late_cancel_hours": "hours",
}
FIELDS = (*_RANGES, "reminder_offsets")


@dataclass(frozen=True)
class Policy:
    """A tenant's booking, cancellation and reminder rules."""

    granularity_minutes: int = 15
    min_notice_minutes: int = 60
    max_advance_days: int = 365
    free_cancel_hours: int = 24
    late_cancel_fee: int = 0
    late_cancel_fee_percent: int = 0
    no_show_fee: int = 0
    no_show_fee_percent: int = 0
    # Minutes before the start, largest first.
    reminder_offsets: tuple[int, ...] = (1440, 120)
    class_late_cancel_hours: int = 12

    @property
    def free_cancel_window(self) -> timedelta:
        return timedelta(hours=self.free_cancel_hours)

    def free_cancel_until(self, start: datetime) -> datetime:
        """Return the last instant at which an appointment at ``start`` cancels free."""
        return start - self.free_cancel_window

    def is_late_cancellation(self, start: datetime, now: datetime) -> bool:
        """Tell whether cancelling at ``now`` falls inside the fee window."""
        return now > self.free_cancel_until(start)

    def late_cancel_fee_for(self, price: int) -> int:
        """Return the late-cancellation fee for an appointment of ``price``."""
        return _fee(price, self.late_cancel_fee, self.late_cancel_fee_percent)

    def no_show_fee_for(self, price: int) -> int:
        """Return the no-show fee for an appointment of ``price``."""
        return _fee(price, self.no_show_fee, self.no_show_fee_percent)

    def to_json(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["reminder_offsets"] = list(self.reminder_offsets)
        return values


def _fee(price: int, fixed: int, percent: int) -> int:
    if percent:
        return percent_of(max(price, 0), percent)
    return fixed


def parse_reminder_offsets(
    value: object, field: str = "reminder_offsets"
) -> tuple[int, ...]:
    """Parse reminder offsets: a comma list such as ``"1440,120"`` or a JSON list.

    Returns distinct offsets in minutes, largest first. An empty value means
    no reminders. Raises ValidationFailed naming ``field`` for a value that is
    not a whole number of minutes above 0, for more than ``MAX_REMINDERS``
    offsets, or for an offset above ``MAX_REMINDER_OFFSET_MINUTES``.
    """
    if isinstance(value, str):
        parts: list[object] = [
            part.strip() for part in value.split(",") if part.strip()
        ]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        raise invalid(
            field, "must be a comma-separated list of minutes, such as 1440,120"
        )
    offsets: set[int] = set()
    for part in parts:
        minutes = _whole_number(part)
        if minutes is None or minutes <= 0:
            raise invalid(
                field,
                f"{part!r} is not a whole number of minutes above 0: "
                "use a list such as 1440,120",
            )
        if minutes > MAX_REMINDER_OFFSET_MINUTES:
            raise invalid(
                field,
                f"{minutes} minutes is more than 30 days "
                f"({MAX_REMINDER_OFFSET_MINUTES} minutes) before the start",
            )
        offsets.add(minutes)
    if len(offsets) > MAX_REMINDERS:
        raise invalid(field, f"has {len(offsets)} offsets: use at most {MAX_REMINDERS}")
    return tuple(sorted(offsets, reverse=True))


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and is_whole_number(value.strip()):
        return int(value.strip())
    return None


def policy_from_row(row: dict[str, Any] | None) -> Policy:
    """Return the policy stored in ``row``, or the defaults for ``None``."""
    if row is None:
        return Policy()
    values = {name: row[name] for name in _RANGES}
    try:
        offsets = parse_reminder_offsets(row["reminder_offsets"] or "")
    except ValidationFailed:
        offsets = Policy().reminder_offsets
    return Policy(**values, reminder_offsets=offsets)


async def load_policy(scope: TenantScope) -> Policy:
    """Return the tenant's policy, or the defaults when none was saved."""
    row = await scope.select(SchedulePolicy).first()
    return policy_from_row(row)


def validate_policy_changes(current: Policy, changes: dict[str, Any]) -> Policy:
    """Return ``current`` with ``changes`` applied, after checking every field.

    ``changes`` maps field names to whole numbers (money in minor units) and
    ``reminder_offsets`` to a comma list or a list of minutes. Raises
    ValidationFailed naming every bad field at once.
    """
    if not isinstance(changes, dict):
        raise invalid("body", "must be a JSON object of policy fields")
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in FIELDS:
            errors[name] = f"is not a policy field: use one of {', '.join(FIELDS)}"
            continue
        if name == "reminder_offsets":
            try:
                values[name] = parse_reminder_offsets(value, name)
            except ValidationFailed as exc:
                errors.update(exc.errors)
            continue
        number = _whole_number(value)
        low, high = _RANGES[name]
        if number is None:
            errors[name] = f"{value!r} is not a whole number of {_UNITS[name]}"
        elif number < 0:
            errors[name] = f"{number} is negative: enter 0 or more"
        elif not low <= number <= high:
            errors[name] = f"{number} is outside {low} to {high} {_UNITS[name]}"
        else:
            values[name] = number
    policy = dataclasses.replace(current, **values) if not errors else current
    for fixed, percent in (
        ("late_cancel_fee", "late_cancel_fee_percent"),
        ("no_show_fee", "no_show_fee_percent"),
    ):
        if not errors and getattr(policy, fixed) and getattr(policy, percent):
            errors[percent] = (
                f"is set together with {fixed}: set a fixed fee or a percent, "
                "and the other to 0"
            )
    if errors:
        raise ValidationFailed(errors)
    return policy


async def update_policy(
    scope: TenantScope, changes: dict[str, Any], *, actor_id: uuid.UUID | None
) -> Policy:
    """Apply ``changes`` to the tenant's policy, store it and return it.

    Fields left out keep their value. Records the change in the audit log
    with the values before and after. Raises ValidationFailed naming each
    bad field (see ``validate_policy_changes``); nothing is stored then.
    """
    async with write_transaction():
        row = await scope.select(SchedulePolicy).first()
        before = policy_from_row(row)
        after = validate_policy_changes(before, changes)
        stored: dict[Any, Any] = {
            getattr(SchedulePolicy, name): getattr(after, name) for name in _RANGES
        }
        stored[SchedulePolicy.reminder_offsets] = ",".join(
            str(minutes) for minutes in after.reminder_offsets
        )
        if row is None:
            fresh = SchedulePolicy(
                **{column._meta.name: value for column, value in stored.items()}
            )
            try:
                await scope.insert(fresh)
            except Exception as exc:
                if _is_unique_violation(exc):
                    raise Conflict(
                        "the policy was saved by someone else at the same moment: "
                        "reload and try again"
                    ) from exc
                raise
            policy_id = fresh.id
        else:
            await scope.update(SchedulePolicy, stored).where(
                SchedulePolicy.id == row["id"]
            )
            policy_id = row["id"]
        await record_audit(
            scope,
            actor_id=actor_id,
            action="schedule_policy.changed",
            subject_type="schedule_policy",
            subject_id=policy_id,
            before=before.to_json(),
            after=after.to_json(),
        )
    return after


def _is_unique_violation(exc: BaseException) -> bool:
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) == "23505":
            return True
        if "UNIQUE constraint failed" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False
