"""Hook implementations of the salon plugin.

Colour services get a processing gap. Services priced by hair length get a
booking field and their variant's duration and price. Each client has colour
formula records, shown in a client panel and edited on a phone page.
Stylists earn tiered service commission and a product commission, and
checkout offers rebooking.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tillbook import Staff, TenantScope, format_major, hookimpl
from tillbook_salon import demo, rules
from tillbook_salon.formulas import formula_panel
from tillbook_salon.migrations import MIGRATIONS
from tillbook_salon.routes import ROUTES
from tillbook_salon.schema import PLUGIN, SCHEMA, validate
from tillbook_salon.tables import TABLES, SalonCommissionSale


@hookimpl
def tillbook_tables() -> list[Any]:
    return list(TABLES)


@hookimpl
def tillbook_migrations() -> list[Any]:
    return list(MIGRATIONS)


@hookimpl
def tillbook_settings_schema() -> dict[str, dict[str, Any]]:
    return SCHEMA


@hookimpl
def tillbook_validate_settings(plugin: str, settings: dict[str, Any]) -> dict[str, str]:
    if plugin != PLUGIN:
        return {}
    return validate(settings)


@hookimpl
def tillbook_routes() -> list[Any]:
    return list(ROUTES)


@hookimpl
def tillbook_staff_links() -> list[dict[str, Any]]:
    return [
        {"label": "Salon services", "path": "/services", "roles": ["owner", "manager"]}
    ]


@hookimpl
async def tillbook_booking_fields(
    scope: TenantScope, service: dict[str, Any]
) -> list[dict[str, Any]]:
    return await rules.booking_fields(scope, service)


@hookimpl
async def tillbook_validate_booking(
    scope: TenantScope, booking: dict[str, Any]
) -> dict[str, str]:
    return await rules.validate_booking(scope, booking)


@hookimpl
async def tillbook_service_timing(
    scope: TenantScope, service: dict[str, Any], fields: dict[str, Any]
) -> dict[str, int] | None:
    return await rules.service_timing(scope, service, fields)


@hookimpl
async def tillbook_checkout_prompts(
    scope: TenantScope,
    client: dict[str, Any] | None,
    appointment: dict[str, Any] | None,
    ticket: dict[str, Any] | None,
) -> list[str]:
    return await rules.checkout_prompts(scope, client, appointment, ticket)


@hookimpl
async def tillbook_commission(
    scope: TenantScope, line: dict[str, Any], staff_id: str
) -> int | None:
    return await rules.commission(scope, line, staff_id)


@hookimpl
async def tillbook_client_panels(
    scope: TenantScope, client: dict[str, Any]
) -> list[str]:
    return [await formula_panel(scope, client)]


@hookimpl
async def tillbook_report_sections(
    scope: TenantScope, report: str, first_day: date, last_day: date
) -> list[dict[str, Any]]:
    """Show each stylist's service sales counted this month and their tier."""
    if report != "daily":
        return []
    month = first_day.strftime("%Y-%m")
    rows = await scope.select(SalonCommissionSale).where(
        SalonCommissionSale.month == month
    )
    if not rows:
        return []
    names = {
        row["id"]: row["name"]
        for row in (
            await scope.get_many(Staff, {row["staff_id"] for row in rows})
        ).values()
    }
    totals: dict[Any, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda item: item["id"]):
        entry = totals.setdefault(
            row["staff_id"], {"sales": 0, "commission": 0, "percent": "0"}
        )
        entry["sales"] += row["amount"]
        entry["commission"] += row["commission"]
        entry["percent"] = row["percent"]
    digits = scope.tenant.minor_digits
    return [
        {
            "title": f"Salon commission, {first_day.strftime('%B %Y')} so far",
            "columns": ["Stylist", "Service sales", "Latest tier %", "Commission"],
            "rows": [
                [
                    names.get(staff_id, "former stylist"),
                    format_major(entry["sales"], digits),
                    entry["percent"],
                    format_major(entry["commission"], digits),
                ]
                for staff_id, entry in sorted(
                    totals.items(), key=lambda item: names.get(item[0], "")
                )
            ],
        }
    ]


@hookimpl
async def tillbook_seed_demo(scope: TenantScope) -> None:
    await demo.seed(scope)
