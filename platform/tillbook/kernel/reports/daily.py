"""The daily sales report, computed from the journal.

Every figure comes from ``Posting`` rows whose ``at`` falls inside one local
day of the tenant's time zone. Postings are debit-positive and credit-negative,
so revenue, tax, tips and liabilities sold (all credits) are negated here and
shown as positive numbers. A refund or void is a reversing entry, so it lowers
the figures of the day on which it was posted.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tillbook.errors import invalid
from tillbook.kernel.dates import FIRST_DAY, LAST_DAY
from tillbook.kernel.ledger.tables import Posting
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.scope import TenantScope

SERVICE_REVENUE = "service_revenue"
RETAIL_REVENUE = "retail_revenue"
DISCOUNTS = "discounts"
TAX_PAYABLE = "tax_payable"
TIPS_PAYABLE = "tips_payable"
GIFT_CARD_LIABILITY = "gift_card_liability"
PACKAGE_LIABILITY = "package_liability"
CASH = "cash"
CARD_CLEARING_PREFIX = "card_clearing:"

UNASSIGNED = "Unassigned"
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class ItemSales:
    """Net revenue of one service or product on the day."""

    item_id: str | None
    name: str
    category: str
    amount: int = 0


@dataclass
class ProviderSales:
    """One staff member's sales, discounts and tips on the day."""

    staff_id: str | None
    name: str
    revenue: int = 0
    discounts: int = 0
    tips: int = 0

    @property
    def net(self) -> int:
        return self.revenue - self.discounts


@dataclass
class TenderTotal:
    """Money taken through one tender kind on one ledger account."""

    name: str
    account: str
    amount: int = 0


@dataclass
class DailySales:
    """One local day's sales, in minor units of ``currency``, all positive."""

    day: date
    time_zone: str
    currency: str
    minor_digits: int
    start: datetime
    end: datetime
    services: list[ItemSales] = field(default_factory=list)
    products: list[ItemSales] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)
    providers: list[ProviderSales] = field(default_factory=list)
    tenders: list[TenderTotal] = field(default_factory=list)
    discounts: int = 0
    tax: int = 0
    gift_cards_sold: int = 0
    packages_sold: int = 0
    other_accounts: dict[str, int] = field(default_factory=dict)
    posting_count: int = 0

    @property
    def hours(self) -> float:
        """Length of the local day: 24, or 23 or 25 on a daylight-saving change.

        A whole number of hours is returned as an int; Lord Howe Island's
        half-hour shift gives 23.5 or 24.5.
        """
        hours = (self.end - self.start).total_seconds() / 3600
        return int(hours) if hours.is_integer() else hours

    @property
    def service_sales(self) -> int:
        return sum(item.amount for item in self.services)

    @property
    def retail_sales(self) -> int:
        return sum(item.amount for item in self.products)

    @property
    def gross_sales(self) -> int:
        return self.service_sales + self.retail_sales

    @property
    def net_sales(self) -> int:
        return self.gross_sales - self.discounts

    @property
    def tips(self) -> int:
        return sum(provider.tips for provider in self.providers)

    @property
    def tendered(self) -> int:
        return sum(tender.amount for tender in self.tenders)

    def totals(self) -> dict[str, int]:
        """Return the day's headline figures by name."""
        return {
            "service_sales": self.service_sales,
            "retail_sales": self.retail_sales,
            "gross_sales": self.gross_sales,
            "discounts": self.discounts,
            "net_sales": self.net_sales,
            "tax": self.tax,
            "tips": self.tips,
            "gift_cards_sold": self.gift_cards_sold,
            "packages_sold": self.packages_sold,
            "tendered": self.tendered,
        }

    def to_json(self) -> dict[str, Any]:
        """Return the report in the API's JSON shape (money in minor units)."""
        return {
            "date": self.day.isoformat(),
            "time_zone": self.time_zone,
            "currency": self.currency,
            "minor_digits": self.minor_digits,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "hours": self.hours,
            "posting_count": self.posting_count,
            "services": [_item_json(item) for item in self.services],
            "products": [_item_json(item) for item in self.products],
            "categories": [
                {"name": name, "amount": amount}
                for name, amount in self.categories.items()
            ],
            "providers": [
                {
                    "staff_id": provider.staff_id,
                    "name": provider.name,
                    "revenue": provider.revenue,
                    "discounts": provider.discounts,
                    "net": provider.net,
                    "tips": provider.tips,
                }
                for provider in self.providers
            ],
            "tenders": [
                {
                    "name": tender.name,
                    "account": tender.account,
                    "amount": tender.amount,
                }
                for tender in self.tenders
            ],
            "other_accounts": [
                {"account": account, "amount": amount}
                for account, amount in self.other_accounts.items()
            ],
            "totals": self.totals(),
        }


def _item_json(item: ItemSales) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "name": item.name,
        "category": item.category,
        "amount": item.amount,
    }


def parse_report_day(value: str | None, zone: ZoneInfo) -> date:
    """Parse a ``YYYY-MM-DD`` query value; empty means today in ``zone``.

    Raises ValidationFailed naming ``date`` when the value is not a calendar
    date.
    """
    if value is None or not value.strip():
        return datetime.now(zone).date()
    problem = f"{value!r} is not a date: use YYYY-MM-DD, such as 2025-03-30"
    if not DATE_PATTERN.fullmatch(value.strip()):
        raise invalid("date", problem)
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise invalid("date", problem) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise invalid("date", f"{value!r} is outside the years 1900 to 2199")
    return day


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the UTC instants at which local ``day`` starts and the next day starts.

    The span is 23 or 25 hours on a daylight-saving change. Where local
    midnight is skipped or repeated, zoneinfo's ``fold=0`` reading is used for
    both ends, so consecutive days share a boundary and never overlap.
    """
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end.astimezone(UTC)


async def daily_sales(scope: TenantScope, day: date) -> DailySales:
    """Compute the sales of local ``day`` in the scope's tenant from its journal.

    Reads only; raises nothing beyond database errors. An empty day yields a
    report whose figures are all zero.
    """
    tenant = scope.tenant
    start, end = local_day_bounds(day, tenant.zone)
    postings = (
        await scope.select(Posting)
        .where(Posting.at >= start)
        .where(Posting.at < end)
        .order_by(Posting.at)
    )
    report = DailySales(
        day=day,
        time_zone=tenant.time_zone,
        currency=tenant.currency,
        minor_digits=tenant.minor_digits,
        start=start,
        end=end,
    )
    staff_names = await _staff_names(scope, postings)
    _summarise(report, postings, staff_names)
    return report


async def _staff_names(
    scope: TenantScope, postings: Iterable[dict[str, Any]]
) -> dict[uuid.UUID, str]:
    staff_ids = {row["staff_id"] for row in postings if row["staff_id"] is not None}
    rows = await scope.get_many(Staff, staff_ids)
    return {staff_id: row["name"] for staff_id, row in rows.items()}


def _summarise(
    report: DailySales,
    postings: list[dict[str, Any]],
    staff_names: dict[uuid.UUID, str],
) -> None:
    services: dict[tuple[str, str], ItemSales] = {}
    products: dict[tuple[str, str], ItemSales] = {}
    categories: dict[str, int] = defaultdict(int)
    providers: dict[uuid.UUID | None, ProviderSales] = {}
    tenders: dict[tuple[str, str], TenderTotal] = {}
    other: dict[str, int] = defaultdict(int)

    def provider(staff_id: uuid.UUID | None) -> ProviderSales:
        if staff_id not in providers:
            name = staff_names.get(staff_id, UNASSIGNED) if staff_id else UNASSIGNED
            providers[staff_id] = ProviderSales(
                staff_id=str(staff_id) if staff_id else None, name=name
            )
        return providers[staff_id]

    for row in postings:
        account: str = row["account"]
        amount: int = row["amount"]
        report.posting_count += 1
        if account in (SERVICE_REVENUE, RETAIL_REVENUE):
            items = services if account == SERVICE_REVENUE else products
            _item(items, row).amount -= amount
            categories[row["category"] or "Uncategorised"] -= amount
            provider(row["staff_id"]).revenue -= amount
        elif account == DISCOUNTS:
            report.discounts += amount
            provider(row["staff_id"]).discounts += amount
        elif account == TAX_PAYABLE:
            report.tax -= amount
        elif account == TIPS_PAYABLE:
            provider(row["staff_id"]).tips -= amount
        elif account in (GIFT_CARD_LIABILITY, PACKAGE_LIABILITY):
            # A debit redeems stored value as a tender; a credit sells it.
            if amount > 0:
                _tender(tenders, row).amount += amount
            elif account == GIFT_CARD_LIABILITY:
                report.gift_cards_sold -= amount
            else:
                report.packages_sold -= amount
        elif account == CASH or account.startswith(CARD_CLEARING_PREFIX):
            # Refunds credit these accounts, so the sum is net of refunds.
            _tender(tenders, row).amount += amount
        else:
            other[account] += amount

    report.services = sorted(services.values(), key=_by_amount_then_name)
    report.products = sorted(products.values(), key=_by_amount_then_name)
    report.categories = dict(sorted(categories.items(), key=lambda kv: (-kv[1], kv[0])))
    report.providers = sorted(
        providers.values(), key=lambda p: (p.staff_id is None, -p.net, p.name)
    )
    report.tenders = sorted(tenders.values(), key=lambda t: (-t.amount, t.name))
    report.other_accounts = dict(sorted(other.items()))


def _item(items: dict[tuple[str, str], ItemSales], row: dict[str, Any]) -> ItemSales:
    item_id = str(row["item_id"]) if row["item_id"] else None
    key = (item_id or "", row["item_name"])
    if key not in items:
        items[key] = ItemSales(
            item_id=item_id,
            name=row["item_name"] or "(unnamed)",
            category=row["category"],
        )
    return items[key]


def _tender(
    tenders: dict[tuple[str, str], TenderTotal], row: dict[str, Any]
) -> TenderTotal:
    account: str = row["account"]
    name = row["item_name"] or account
    key = (account, name)
    if key not in tenders:
        tenders[key] = TenderTotal(name=name, account=account)
    return tenders[key]


def _by_amount_then_name(item: ItemSales) -> tuple[int, str]:
    return (-item.amount, item.name)
