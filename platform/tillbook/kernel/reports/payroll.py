"""The payroll report: per provider revenue, commission and tips for a period.

The period is a range of local days in the tenant's time zone, both ends
included. Revenue and commission come from the ``Commission`` rows written
when tickets close (one per service or product line with a provider) and
reversed by refunds and voids, so both are net of refunds. Revenue is net:
after discounts, before tax. Tips are the ``Tip`` rows of tickets closed in
the period, leaving out voided tickets. Plugins add sections through the
``tillbook_report_sections`` hook with ``report="payroll"``.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from tillbook.errors import ValidationFailed
from tillbook.kernel.ledger.backoffice_tables import Commission
from tillbook.kernel.ledger.tables import Ticket, TicketLine, Tip
from tillbook.kernel.reports.daily import local_day_bounds, parse_report_day
from tillbook.kernel.reports.export import major_units, safe_cell
from tillbook.kernel.schedule.tables import Staff
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

logger = logging.getLogger(__name__)

# A payroll period longer than this is almost surely a typo.
MAX_DAYS = 366
CSV_COLUMNS = (
    "provider",
    "service_revenue",
    "product_revenue",
    "commission",
    "tips",
    "pay",
)


@dataclass
class ProviderPay:
    """One provider's line of the payroll report, in minor units."""

    staff_id: uuid.UUID
    name: str
    service_revenue: int = 0
    product_revenue: int = 0
    commission: int = 0
    tips: int = 0

    @property
    def pay(self) -> int:
        """Commission plus tips: what the period adds to the provider's wages."""
        return self.commission + self.tips

    def to_json(self) -> dict[str, Any]:
        return {
            "staff_id": str(self.staff_id),
            "name": self.name,
            "service_revenue": self.service_revenue,
            "product_revenue": self.product_revenue,
            "commission": self.commission,
            "tips": self.tips,
            "pay": self.pay,
        }


def parse_period(
    first: str | None, last: str | None, scope: TenantScope
) -> tuple[date, date]:
    """Parse ``from`` and ``to`` (YYYY-MM-DD); default to this month so far.

    Raises ValidationFailed naming ``from`` or ``to``.
    """
    zone = scope.tenant.zone
    errors: dict[str, str] = {}
    last_day = first_day = None
    try:
        last_day = parse_report_day(last, zone)
    except ValidationFailed as exc:
        errors["to"] = next(iter(exc.errors.values()))
    try:
        if first is None or not first.strip():
            first_day = (last_day or date.today()).replace(day=1)
        else:
            first_day = parse_report_day(first, zone)
    except ValidationFailed as exc:
        errors["from"] = next(iter(exc.errors.values()))
    if first_day and last_day:
        if first_day > last_day:
            errors["from"] = f"{first_day} is after {last_day}: swap the two dates"
        elif (last_day - first_day).days >= MAX_DAYS:
            errors["to"] = f"the period is longer than {MAX_DAYS} days: shorten it"
    if errors:
        raise ValidationFailed(errors)
    assert first_day is not None and last_day is not None
    return first_day, last_day


async def payroll(
    scope: TenantScope,
    first_day: date,
    last_day: date,
    hooks: TenantHooks | None = None,
) -> dict[str, Any]:
    """Return the payroll report of local days ``first_day`` to ``last_day``.

    ``{"first_day", "last_day", "currency", "providers": [...], "totals",
    "sections"}``; providers are sorted by name.
    """
    zone = scope.tenant.zone
    since, _ = local_day_bounds(first_day, zone)
    _, until = local_day_bounds(last_day, zone)
    providers: dict[uuid.UUID, ProviderPay] = {}

    def provider(staff_id: uuid.UUID) -> ProviderPay:
        if staff_id not in providers:
            providers[staff_id] = ProviderPay(staff_id, "")
        return providers[staff_id]

    commissions = (
        await scope.select(Commission)
        .where(Commission.at >= since)
        .where(Commission.at < until)
    )
    kinds = {
        row["id"]: row["kind"]
        for row in (
            await scope.get_many(TicketLine, [row["line_id"] for row in commissions])
        ).values()
    }
    for row in commissions:
        pay = provider(row["staff_id"])
        pay.commission += row["amount"]
        if kinds.get(row["line_id"]) == "product":
            pay.product_revenue += row["revenue"]
        else:
            pay.service_revenue += row["revenue"]
    tickets = (
        await scope.select(Ticket, Ticket.id)
        .where(Ticket.closed_at >= since)
        .where(Ticket.closed_at < until)
        .where(Ticket.status == "closed")
    )
    ticket_ids = [row["id"] for row in tickets]
    if ticket_ids:
        for tip in await scope.select(Tip).where(Tip.ticket_id.is_in(ticket_ids)):
            provider(tip["staff_id"]).tips += tip["amount"]
    names = await scope.get_many(Staff, list(providers))
    for staff_id, pay in providers.items():
        pay.name = names.get(staff_id, {}).get("name", "Former staff member")
    rows = sorted(providers.values(), key=lambda pay: pay.name.lower())
    totals = {
        "service_revenue": sum(pay.service_revenue for pay in rows),
        "product_revenue": sum(pay.product_revenue for pay in rows),
        "commission": sum(pay.commission for pay in rows),
        "tips": sum(pay.tips for pay in rows),
    }
    totals["pay"] = totals["commission"] + totals["tips"]
    return {
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "currency": scope.tenant.currency,
        "providers": [pay.to_json() for pay in rows],
        "totals": totals,
        "sections": await plugin_sections(scope, first_day, last_day, hooks),
    }


async def plugin_sections(
    scope: TenantScope, first_day: date, last_day: date, hooks: TenantHooks | None
) -> list[dict[str, Any]]:
    """Return the payroll sections plugins add, dropping malformed ones."""
    if hooks is None:
        return []
    results = await hooks.tillbook_report_sections(
        scope=scope, report="payroll", first_day=first_day, last_day=last_day
    )
    sections: list[dict[str, Any]] = []
    for result in results or []:
        for section in result or []:
            if _well_formed(section):
                sections.append(section)
            else:
                logger.warning(
                    "dropped a malformed payroll section from a plugin for tenant %s",
                    scope.tenant_id,
                )
    return sections


def _well_formed(section: object) -> bool:
    if not isinstance(section, dict):
        return False
    columns = section.get("columns")
    rows = section.get("rows")
    return (
        isinstance(section.get("title"), str)
        and isinstance(columns, list)
        and isinstance(rows, list)
        and all(isinstance(row, list | tuple) for row in rows)
    )


def payroll_csv(report: dict[str, Any], minor_digits: int) -> str:
    """Render the provider rows and totals as CSV, money in major units."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in [*report["providers"], {"name": "Total", **report["totals"]}]:
        writer.writerow(
            (
                safe_cell(row["name"]),
                *(major_units(row[column], minor_digits) for column in CSV_COLUMNS[1:]),
            )
        )
    for section in report["sections"]:
        writer.writerow(())
        writer.writerow((safe_cell(str(section["title"])),))
        writer.writerow([safe_cell(str(column)) for column in section["columns"]])
        for cells in section["rows"]:
            writer.writerow([safe_cell(str(cell)) for cell in cells])
    return buffer.getvalue()
