"""CSV export of reports, with money in major units of the tenant's currency."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tillbook.kernel.reports.daily import CARD_CLEARING_PREFIX, DailySales

CSV_COLUMNS = ("section", "name", "amount")
TENDER_LABELS = {
    "cash": "Cash",
    "external_card": "Card terminal",
    "gift_card": "Gift card",
    "package": "Package session",
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def major_units(amount: int, digits: int) -> str:
    """Format minor units with the currency's number of digits: 1250, 2 -> ``12.50``."""
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"


def daily_sales_rows(report: DailySales) -> list[tuple[str, str, int]]:
    """Return the report as (section, name, amount in minor units) rows."""
    rows: list[tuple[str, str, int]] = []
    rows += [("service", item.name, item.amount) for item in report.services]
    rows += [("product", item.name, item.amount) for item in report.products]
    rows += [("category", name, amount) for name, amount in report.categories.items()]
    rows += [("provider", p.name, p.net) for p in report.providers]
    rows += [("tips", p.name, p.tips) for p in report.providers if p.tips]
    rows += [
        ("tender", tender_label(tender.name, tender.account), tender.amount)
        for tender in report.tenders
    ]
    rows += [
        ("other", account, amount) for account, amount in report.other_accounts.items()
    ]
    rows += [("total", name, amount) for name, amount in report.totals().items()]
    return rows


def tender_label(name: str, account: str) -> str:
    """Return a readable tender name, such as "Card (stripe)" or "Cash"."""
    if name == "card" and account.startswith(CARD_CLEARING_PREFIX):
        return f"Card ({account.removeprefix(CARD_CLEARING_PREFIX)})"
    if name in TENDER_LABELS:
        return TENDER_LABELS[name]
    if name == account:
        return name
    return f"{name} ({account})"


def daily_sales_csv(report: DailySales) -> str:
    """Render the report as CSV text with the columns ``section,name,amount``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for section, name, amount in daily_sales_rows(report):
        writer.writerow(
            (section, safe_cell(name), major_units(amount, report.minor_digits))
        )
    return buffer.getvalue()


def safe_cell(text: str) -> str:
    """Quote text that a spreadsheet would run as a formula (leading = + - @)."""
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text
