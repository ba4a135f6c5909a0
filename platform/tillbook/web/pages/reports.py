"""Staff pages that read the business's records: daily sales and the mail outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from tillbook.kernel.events.tables import MailMessage
from tillbook.kernel.reports.daily import daily_sales, parse_report_day
from tillbook.kernel.reports.export import tender_label
from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.roles import DESK, MANAGERS
from tillbook.tenancy.scope import TenantScope
from tillbook.web.api.reports import ReportDate
from tillbook.web.paths import STAFF
from tillbook.web.templating import page, report_sections

OUTBOX_PAGE_SIZE = 50

# Columns of the outbox list; the HTML body is loaded only on the detail page.
OUTBOX_COLUMNS = (
    MailMessage.id,
    MailMessage.to_address,
    MailMessage.subject,
    MailMessage.kind,
    MailMessage.created_at,
    MailMessage.sent_at,
    MailMessage.delivery,
    MailMessage.error,
)


@get(f"{STAFF}/reports/daily", opt={"roles": MANAGERS})
async def daily_report_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    hooks: NamedDependency[TenantHooks],
    day: ReportDate = None,
) -> Template:
    """Show one day's sales as tables, with a date picker and a CSV link.

    Enabled plugins add tables after the kernel's (``tillbook_report_sections``
    with ``report="daily"``).
    """
    report_day = parse_report_day(day, tenant_scope.tenant.zone)
    report = await daily_sales(tenant_scope, report_day)
    return page(
        "reports/daily.html",
        tenant_scope,
        actor,
        hooks=hooks,
        report=report,
        plugin_sections=await report_sections(
            hooks, tenant_scope, "daily", report_day, report_day
        ),
        tender_label=tender_label,
        previous_day=report_day - timedelta(days=1),
        next_day=report_day + timedelta(days=1),
    )


@get(f"{STAFF}/outbox", opt={"roles": DESK})
async def outbox_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    page_number: Annotated[int, QueryParameter(name="page", ge=1, le=10_000)] = 1,
) -> Template:
    """List stored emails, newest first, with their delivery status."""
    offset = (page_number - 1) * OUTBOX_PAGE_SIZE
    rows = (
        await tenant_scope.select(MailMessage, *OUTBOX_COLUMNS)
        .order_by(MailMessage.created_at, ascending=False)
        .offset(offset)
        # A row beyond the page size means an older page exists.
        .limit(OUTBOX_PAGE_SIZE + 1)
    )
    return page(
        "outbox/list.html",
        tenant_scope,
        actor,
        mails=rows[:OUTBOX_PAGE_SIZE],
        page_number=page_number,
        has_older=len(rows) > OUTBOX_PAGE_SIZE,
    )


@get(f"{STAFF}/outbox/{{mail_id:str}}", opt={"roles": DESK})
async def outbox_mail_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    mail_id: FromPath[str],
) -> Template:
    """Show one email: its headers, its HTML in a sandboxed frame and its text."""
    mail = await tenant_scope.get(MailMessage, mail_id)
    return page("outbox/detail.html", tenant_scope, actor, mail=mail)


ROUTES: list[Any] = [daily_report_page, outbox_page, outbox_mail_page]
