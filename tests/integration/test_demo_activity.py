"""The demo's week of trade goes through booking and checkout for real."""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tillbook.demo import data
from tillbook.demo.activity import FEATURED_NOTE, Week
from tillbook.demo.seed import DemoSpa, seed_demo
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard, Product
from tillbook.kernel.ledger.tables import JournalEntry, Posting, Ticket
from tillbook.kernel.reports.daily import daily_sales
from tillbook.kernel.schedule.tables import Appointment

LONDON = ZoneInfo("Europe/London")


def recent_thursday_afternoon() -> datetime:
    """Return 14:10 UTC on the latest Thursday, so sold packages are unexpired."""
    today = datetime.now(UTC).date()
    thursday = today - timedelta(days=(today.weekday() - 3) % 7)
    return datetime.combine(thursday, time(14, 10), tzinfo=UTC)


NOW = recent_thursday_afternoon()
# A shorter week than the demo's keeps the test quick; Saturday is in it.
WEEK = Week(past_days=2, future_days=2)

# Seeding a week of trade takes many seconds, and the tests below only read
# it, so they share one seeded spa in the session database.
_seeded: dict[str, DemoSpa] = {}


def run(client: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    async def call() -> Any:
        return await fn(*args, **kwargs)

    return client.blocking_portal.call(call)


@pytest.fixture
def spa(client: Any) -> DemoSpa:
    if "spa" not in _seeded:
        slug = f"week-{secrets.token_hex(4)}"
        seeded = run(client, seed_demo, slug, now=NOW, week=WEEK)
        assert seeded is not None
        _seeded["spa"] = seeded
    return _seeded["spa"]


def test_activity_appointment_statuses(client: Any, spa: DemoSpa) -> None:
    rows = run(client, spa.scope.select(Appointment).run)
    statuses = {row["status"] for row in rows}
    ended = [row for row in rows if row["end_at"] <= NOW]
    later = [row for row in rows if row["start_at"] > NOW]

    assert len(rows) > 20
    assert ended
    assert later
    assert all(row["status"] == "completed" for row in ended)
    assert all(row["ticket_id"] is not None for row in ended)
    assert all(row["status"] == "booked" for row in later)
    assert statuses <= {"completed", "checked_in", "booked"}


def test_activity_spans_week(client: Any, spa: DemoSpa) -> None:
    rows = run(client, spa.scope.select(Appointment).run)
    days = {row["start_at"].astimezone(LONDON).date() for row in rows}
    today = NOW.astimezone(LONDON).date()

    assert min(days) == today - timedelta(days=WEEK.past_days)
    assert max(days) == today + timedelta(days=WEEK.future_days)
    assert today - timedelta(days=1) in days


def test_activity_featured_visit(client: Any, spa: DemoSpa) -> None:
    rows = run(
        client,
        spa.scope.select(Appointment).where(Appointment.note == FEATURED_NOTE).run,
    )

    assert len(rows) == 1
    visit = rows[0]
    local_start = visit["start_at"].astimezone(LONDON)
    assert local_start.weekday() == 5
    assert local_start.time() == time(15, 0)
    assert visit["staff_id"] == spa.staff["Maya Okafor"]
    assert visit["service_id"] == spa.services["Signature Facial"]
    assert visit["client_id"] == spa.clients[0]
    assert visit["status"] == "booked"


def test_activity_journal_balances(client: Any, spa: DemoSpa) -> None:
    postings = run(client, spa.scope.select(Posting).run)
    entries = run(client, spa.scope.select(JournalEntry).run)
    sums: dict[Any, int] = defaultdict(int)
    for posting in postings:
        sums[posting["entry_id"]] += posting["amount"]

    assert len(entries) > 10
    assert set(sums) == {entry["id"] for entry in entries}
    assert set(sums.values()) == {0}


def test_activity_entries_dated_in_past(client: Any, spa: DemoSpa) -> None:
    entries = run(client, spa.scope.select(JournalEntry).run)
    first_day = NOW.astimezone(LONDON).date() - timedelta(days=WEEK.past_days)

    assert all(entry["at"] <= NOW for entry in entries)
    assert min(entry["at"].astimezone(LONDON).date() for entry in entries) == (
        first_day
    )


def test_activity_sales_on_first_day(client: Any, spa: DemoSpa) -> None:
    first_day = NOW.astimezone(LONDON).date() - timedelta(days=WEEK.past_days)
    report = run(client, daily_sales, spa.scope, first_day)
    cards = run(client, spa.scope.select(GiftCard).run)

    assert report.packages_sold == sum(plan.price for plan in data.PACKAGE_PLANS)
    assert len(cards) == 4
    assert report.gift_cards_sold == sum(card["initial_amount"] for card in cards)


def test_activity_yesterday_report(client: Any, spa: DemoSpa) -> None:
    yesterday = NOW.astimezone(LONDON).date() - timedelta(days=1)
    report = run(client, daily_sales, spa.scope, yesterday)
    totals = report.totals()

    assert report.service_sales > 0
    assert report.tax > 0
    assert {p.name for p in report.providers} <= {p.name for p in data.PROVIDERS}
    assert totals["tendered"] == (
        totals["net_sales"]
        + totals["tax"]
        + totals["tips"]
        + totals["gift_cards_sold"]
        + totals["packages_sold"]
        + sum(-amount for amount in report.other_accounts.values())
    )


def test_activity_packages_sold(client: Any, spa: DemoSpa) -> None:
    packages = run(client, spa.scope.select(ClientPackage).run)
    owners = {row["client_id"] for row in packages}

    assert len(packages) == len(data.PACKAGE_PLANS)
    assert spa.clients[0] in owners


def test_activity_takes_stock(client: Any, spa: DemoSpa) -> None:
    products = run(client, spa.scope.select(Product).run)
    start_stock = sum(spec.stock for spec in data.PRODUCTS)

    assert sum(row["stock"] for row in products) < start_stock


def test_activity_tickets_closed(client: Any, spa: DemoSpa) -> None:
    tickets = run(client, spa.scope.select(Ticket).run)

    assert tickets
    assert {ticket["status"] for ticket in tickets} == {"closed"}
