"""The daily sales report sums the journal of one local day exactly."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.support import TenantHandle, make_tenant
from tillbook.db.base import utcnow
from tillbook.kernel.ledger.tables import JournalEntry, Posting
from tillbook.kernel.reports.daily import DailySales, daily_sales, local_day_bounds
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.accounts import create_api_token, hash_password
from tillbook.tenancy.roles import Role
from tillbook.tenancy.tables import Account, Membership

# The clocks in Europe/London went forward at 01:00 GMT on 30 March 2025, so
# that local day ran from 00:00Z to 23:00Z: 23 hours.
SPRING_DAY = date(2025, 3, 30)
# They went back at 01:00 GMT on 26 October 2025: a 25-hour day.
AUTUMN_DAY = date(2025, 10, 26)

Line = tuple[str, int, dict[str, Any]]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def post_entry(tenant: TenantHandle, when: datetime, lines: list[Line]) -> None:
    """Insert one balanced journal entry with its postings at ``when``."""
    assert sum(amount for _, amount, _ in lines) == 0, "entry must balance"

    async def insert() -> None:
        entry = JournalEntry(at=when, kind="sale", memo="test")
        await tenant.scope.insert(entry)
        postings = [
            Posting(entry_id=entry.id, at=when, account=account, amount=amount, **dims)
            for account, amount, dims in lines
        ]
        await tenant.scope.insert(*postings)

    tenant.run(insert)


def add_staff(tenant: TenantHandle, name: str) -> uuid.UUID:
    row = Staff(name=name)
    tenant.run(tenant.scope.insert, row)
    return row.id  # type: ignore[no-any-return]


def member_token(tenant: TenantHandle, role: Role) -> dict[str, str]:
    """Create an account with ``role`` in the tenant; return its auth headers."""

    async def create() -> str:
        account = Account(
            email=f"{role.value}-{uuid.uuid4().hex[:8]}@example.com",
            name=f"Test {role.value}",
            password_hash=hash_password("a long test password"),
            created_at=utcnow(),
        )
        await account.save()
        await tenant.scope.insert(Membership(account_id=account.id, role=role.value))
        token, _ = await create_api_token(tenant.scope, account.id, "tests")
        return token

    return {"Authorization": f"Bearer {tenant.run(create)}"}


@pytest.fixture
def spa(client: Any) -> dict[str, Any]:
    """A London spa with a known day of journal entries on SPRING_DAY."""
    tenant = make_tenant(client)
    ava = add_staff(tenant, "Ava Stone")
    ben = add_staff(tenant, "Ben Hart")
    facial = uuid.uuid4()
    serum = uuid.uuid4()
    facial_dims = {
        "item_id": facial,
        "item_name": "Signature Facial",
        "category": "Facials",
    }
    serum_dims = {"item_id": serum, "item_name": "Rose Serum", "category": "Retail"}

    # A checkout at 10:00 local: facial with a discount, a serum, a tip for
    # Ava, paid by card, gift card and cash.
    post_entry(
        tenant,
        at("2025-03-30T09:00:00"),
        [
            ("service_revenue", -8500, {**facial_dims, "staff_id": ava}),
            ("discounts", 850, {**facial_dims, "staff_id": ava}),
            ("tax_payable", -1275, {**facial_dims, "staff_id": ava}),
            ("retail_revenue", -2400, {**serum_dims, "staff_id": ava}),
            ("tips_payable", -1000, {"staff_id": ava}),
            ("card_clearing:stripe", 5000, {"item_name": "card"}),
            ("gift_card_liability", 2500, {"item_name": "gift_card"}),
            ("cash", 4825, {"item_name": "cash"}),
        ],
    )
    # A gift card sold for cash, and a package sold on an external terminal.
    post_entry(
        tenant,
        at("2025-03-30T11:30:00"),
        [
            ("gift_card_liability", -5000, {"item_name": "Gift card"}),
            ("cash", 5000, {"item_name": "cash"}),
        ],
    )
    post_entry(
        tenant,
        at("2025-03-30T12:00:00"),
        [
            ("package_liability", -30000, {"item_name": "Three facials"}),
            ("card_clearing:external", 30000, {"item_name": "external_card"}),
        ],
    )
    # A facial paid from a package, with Ben.
    post_entry(
        tenant,
        at("2025-03-30T14:00:00"),
        [
            ("package_liability", 7500, {"item_name": "package"}),
            ("service_revenue", -7500, {**facial_dims, "staff_id": ben}),
            ("package_variance", 100, {}),
            ("service_revenue", -100, {**facial_dims, "staff_id": ben}),
        ],
    )
    # The serum refunded in cash one second before local midnight (23:59:59 BST).
    post_entry(
        tenant,
        at("2025-03-30T22:59:59"),
        [
            ("retail_revenue", 2400, {**serum_dims, "staff_id": ava}),
            ("cash", -2400, {"item_name": "cash"}),
        ],
    )
    # Sales one second before the local day starts (23:59:59 GMT on the 29th)
    # and exactly when the next local day starts (00:00 BST on the 31st).
    for outside in ("2025-03-29T23:59:59", "2025-03-30T23:00:00"):
        post_entry(
            tenant,
            at(outside),
            [
                ("service_revenue", -999_900, {**facial_dims, "staff_id": ava}),
                ("cash", 999_900, {"item_name": "cash"}),
            ],
        )
    return {"tenant": tenant, "ava": ava, "ben": ben, "facial": facial}


def test_day_bounds_spring_forward() -> None:
    start, end = local_day_bounds(SPRING_DAY, _london())
    assert start == at("2025-03-30T00:00:00")
    assert end == at("2025-03-30T23:00:00")


def test_day_bounds_autumn_back() -> None:
    start, end = local_day_bounds(AUTUMN_DAY, _london())
    assert start == at("2025-10-25T23:00:00")
    assert end == at("2025-10-27T00:00:00")


def test_day_hours_half_hour_shift() -> None:
    from zoneinfo import ZoneInfo

    # Lord Howe Island moves its clocks by 30 minutes; on 5 October 2025
    # they went forward.
    day = date(2025, 10, 5)
    start, end = local_day_bounds(day, ZoneInfo("Australia/Lord_Howe"))
    report = DailySales(day, "Australia/Lord_Howe", "AUD", 2, start, end)

    assert report.hours == 23.5


def _london() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/London")


def test_daily_sales_sums_dst_day(spa: dict[str, Any]) -> None:
    tenant: TenantHandle = spa["tenant"]
    report = tenant.run(daily_sales, tenant.scope, SPRING_DAY)

    assert report.hours == 23
    assert report.posting_count == 18
    assert [(s.name, s.amount) for s in report.services] == [
        ("Signature Facial", 16_100)
    ]
    assert report.services[0].item_id == str(spa["facial"])
    assert [(p.name, p.amount) for p in report.products] == [("Rose Serum", 0)]
    assert report.categories == {"Facials": 16_100, "Retail": 0}
    assert report.discounts == 850
    assert report.tax == 1275
    assert report.gift_cards_sold == 5000
    assert report.packages_sold == 30_000
    assert report.other_accounts == {"package_variance": 100}


def test_daily_sales_by_provider(spa: dict[str, Any]) -> None:
    tenant: TenantHandle = spa["tenant"]
    report = tenant.run(daily_sales, tenant.scope, SPRING_DAY)
    by_name = {p.name: p for p in report.providers}

    assert set(by_name) == {"Ava Stone", "Ben Hart"}
    assert by_name["Ava Stone"].staff_id == str(spa["ava"])
    assert by_name["Ava Stone"].revenue == 8500
    assert by_name["Ava Stone"].discounts == 850
    assert by_name["Ava Stone"].net == 7650
    assert by_name["Ava Stone"].tips == 1000
    assert by_name["Ben Hart"].revenue == 7600
    assert by_name["Ben Hart"].tips == 0
    assert report.tips == 1000


def test_daily_sales_by_tender(spa: dict[str, Any]) -> None:
    tenant: TenantHandle = spa["tenant"]
    report = tenant.run(daily_sales, tenant.scope, SPRING_DAY)
    tenders = {(t.account, t.name): t.amount for t in report.tenders}

    assert tenders == {
        ("card_clearing:stripe", "card"): 5000,
        ("card_clearing:external", "external_card"): 30_000,
        ("gift_card_liability", "gift_card"): 2500,
        ("package_liability", "package"): 7500,
        ("cash", "cash"): 4825 + 5000 - 2400,
    }
    totals = report.totals()
    assert totals["net_sales"] == 16_100 - 850
    assert totals["tendered"] == 52_425
    # Every posting balances, so what was taken covers sales, tax, tips and
    # stored value sold, less the debit to the variance account.
    assert totals["tendered"] == (
        totals["net_sales"]
        + totals["tax"]
        + totals["tips"]
        + totals["gift_cards_sold"]
        + totals["packages_sold"]
        - report.other_accounts["package_variance"]
    )


def test_daily_sales_days_around_dst(spa: dict[str, Any]) -> None:
    tenant: TenantHandle = spa["tenant"]
    before = tenant.run(daily_sales, tenant.scope, date(2025, 3, 29))
    after = tenant.run(daily_sales, tenant.scope, date(2025, 3, 31))

    assert before.hours == 24
    assert before.service_sales == 999_900
    assert after.service_sales == 999_900
    assert after.tendered == 999_900


def test_daily_sales_empty_day(client: Any) -> None:
    tenant = make_tenant(client)
    report = tenant.run(daily_sales, tenant.scope, AUTUMN_DAY)

    assert report.hours == 25
    assert report.posting_count == 0
    assert set(report.totals().values()) == {0}


def test_daily_report_api_json(spa: dict[str, Any]) -> None:
    tenant: TenantHandle = spa["tenant"]
    response = tenant.get("/reports/daily?date=2025-03-30")

    assert response.status_code == 200
    body = response.json()
    assert body["date"] == "2025-03-30"
    assert body["currency"] == "GBP"
    assert body["hours"] == 23
    assert body["from"] == "2025-03-30T00:00:00+00:00"
    assert body["to"] == "2025-03-30T23:00:00+00:00"
    assert body["totals"]["net_sales"] == 15_250
    assert body["totals"]["tax"] == 1275
    assert body["services"][0] == {
        "item_id": str(spa["facial"]),
        "name": "Signature Facial",
        "category": "Facials",
        "amount": 16_100,
    }
    ava = next(p for p in body["providers"] if p["name"] == "Ava Stone")
    assert ava == {
        "staff_id": str(spa["ava"]),
        "name": "Ava Stone",
        "revenue": 8500,
        "discounts": 850,
        "net": 7650,
        "tips": 1000,
    }


def test_daily_report_csv(spa: dict[str, Any]) -> None:
    tenant: TenantHandle = spa["tenant"]
    response = tenant.get("/reports/daily.csv?date=2025-03-30")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-type"].count("charset") == 1
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"{tenant.slug}-sales-2025-03-30.csv" in disposition
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["section", "name", "amount"]
    assert ["service", "Signature Facial", "161.00"] in rows
    assert ["product", "Rose Serum", "0.00"] in rows
    assert ["provider", "Ava Stone", "76.50"] in rows
    assert ["tips", "Ava Stone", "10.00"] in rows
    assert ["tender", "Cash", "74.25"] in rows
    assert ["tender", "Card (stripe)", "50.00"] in rows
    assert ["tender", "Card terminal", "300.00"] in rows
    assert ["tender", "Package session", "75.00"] in rows
    assert ["total", "net_sales", "152.50"] in rows
    assert ["total", "packages_sold", "300.00"] in rows


def test_daily_report_csv_zero_digit_currency(client: Any) -> None:
    tenant = make_tenant(client, currency="JPY", time_zone="Asia/Tokyo")
    post_entry(
        tenant,
        # 09:00 in Tokyo on 1 June 2025.
        at("2025-06-01T00:00:00"),
        [
            ("service_revenue", -4500, {"item_name": "Head spa"}),
            ("cash", 4500, {"item_name": "cash"}),
        ],
    )
    response = tenant.get("/reports/daily.csv?date=2025-06-01")
    rows = list(csv.reader(io.StringIO(response.text)))

    assert ["service", "Head spa", "4500"] in rows


def test_daily_report_csv_quotes_formulas(client: Any) -> None:
    tenant = make_tenant(client)
    post_entry(
        tenant,
        at("2025-06-01T10:00:00"),
        [
            ("service_revenue", -100, {"item_name": "=HYPERLINK(1)"}),
            ("cash", 100, {"item_name": "cash"}),
        ],
    )
    response = tenant.get("/reports/daily.csv?date=2025-06-01")
    rows = list(csv.reader(io.StringIO(response.text)))

    assert ["service", "'=HYPERLINK(1)", "1.00"] in rows


def test_daily_report_rejects_bad_date(client: Any) -> None:
    tenant = make_tenant(client)
    for value in ("2025-02-30", "30/03/2025", "2025W131"):
        response = tenant.get(f"/reports/daily?date={value}")
        assert response.status_code == 422, value
        assert "YYYY-MM-DD" in response.json()["errors"]["date"]


def test_daily_report_defaults_to_today(client: Any) -> None:
    tenant = make_tenant(client)
    response = tenant.get("/reports/daily")
    today = datetime.now(_london()).date()

    assert response.status_code == 200
    assert response.json()["date"] in {today.isoformat(), utcnow().date().isoformat()}


def test_daily_report_needs_manager(client: Any) -> None:
    tenant = make_tenant(client)
    for role in (Role.FRONT_DESK, Role.PROVIDER):
        headers = member_token(tenant, role)
        response = client.get(tenant.api("/reports/daily"), headers=headers)
        assert response.status_code == 403, role
    manager = member_token(tenant, Role.MANAGER)
    assert client.get(tenant.api("/reports/daily"), headers=manager).status_code == 200


def test_daily_report_other_tenant_404(spa: dict[str, Any], client: Any) -> None:
    tenant: TenantHandle = spa["tenant"]
    other = make_tenant(client)
    response = client.get(
        tenant.api("/reports/daily?date=2025-03-30"), headers=other.headers
    )

    assert response.status_code in (401, 404)
    assert "Signature Facial" not in response.text


def test_daily_report_page(spa: dict[str, Any], client: Any) -> None:
    tenant: TenantHandle = spa["tenant"]
    response = client.get(
        tenant.page("/staff/reports/daily?date=2025-03-30"),
        headers={**tenant.headers, "Accept": "text/html"},
    )

    assert response.status_code == 200
    html = response.text
    assert 'type="date"' in html
    assert 'value="2025-03-30"' in html
    assert "/api/v1/reports/daily.csv?date=2025-03-30" in html
    assert "Signature Facial" in html
    assert "£161.00" in html
    assert "£152.50" in html
    assert "Ava Stone" in html
    assert "23 hours" in html
    assert "?date=2025-03-29" in html
    assert "?date=2025-03-31" in html


def test_daily_report_page_bad_date(client: Any) -> None:
    tenant = make_tenant(client)
    response = client.get(
        tenant.page("/staff/reports/daily?date=yesterday"),
        headers={**tenant.headers, "Accept": "text/html"},
    )

    assert response.status_code == 422
    assert "YYYY-MM-DD" in response.text
