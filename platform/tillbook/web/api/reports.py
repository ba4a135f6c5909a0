"""Report endpoints: the daily sales report as JSON and as CSV."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from tillbook.kernel.reports.daily import daily_sales, parse_report_day
from tillbook.kernel.reports.export import daily_sales_csv
from tillbook.tenancy.roles import MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.paths import API

ReportDate = Annotated[
    str | None,
    QueryParameter(
        name="date",
        description="Local day in the tenant's time zone, YYYY-MM-DD; today if omitted",
    ),
]


@get(f"{API}/reports/daily", opt={"roles": MANAGERS})
async def daily_report(
    tenant_scope: NamedDependency[TenantScope], day: ReportDate = None
) -> dict[str, Any]:
    """Return one day's sales by service, product, provider and tender."""
    report_day = parse_report_day(day, tenant_scope.tenant.zone)
    report = await daily_sales(tenant_scope, report_day)
    return report.to_json()


@get(f"{API}/reports/daily.csv", opt={"roles": MANAGERS})
async def daily_report_csv(
    tenant_scope: NamedDependency[TenantScope], day: ReportDate = None
) -> Response[str]:
    """Return one day's sales as a CSV download with ``section,name,amount``."""
    report_day = parse_report_day(day, tenant_scope.tenant.zone)
    report = await daily_sales(tenant_scope, report_day)
    filename = f"{tenant_scope.tenant.slug}-sales-{report_day.isoformat()}.csv"
    return Response(
        content=daily_sales_csv(report),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


ROUTES: list[Any] = [daily_report, daily_report_csv]
