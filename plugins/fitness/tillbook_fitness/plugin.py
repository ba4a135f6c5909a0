"""Hook implementations of the fitness plugin.

Group classes, their instructors, rooms, capacity and waitlist are the
kernel's. The plugin adds class packs and memberships in its own tables:
booking a class spends a credit or checks the membership inside the
kernel's booking transaction, a free cancellation refunds it, and late
cancellations and no-shows follow the studio's rules. It also gives the
instructor a roll-call page for the phone and adds instructor pay to the
payroll report.

The kernel's packages and memberships are redeemed at the till when a
ticket closes, but a class credit must be spent when the place is booked
and refunded when it is cancelled, so passes live here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tillbook import TenantScope, hookimpl, plugin_settings
from tillbook_fitness.demo import seed_demo
from tillbook_fitness.migrations import MIGRATIONS
from tillbook_fitness.panels import client_panel
from tillbook_fitness.passes import apply_change, balance, describe_balance, owed_fees
from tillbook_fitness.roster import fee_prompts, payroll_section
from tillbook_fitness.routes import ROUTES, money_formatter
from tillbook_fitness.rules import PLUGIN, SCHEMA, StudioRules, parse_rules
from tillbook_fitness.tables import ClassCredit, ClassFee, ClassPass


async def _rules(scope: TenantScope) -> StudioRules:
    rules, _errors = parse_rules(await plugin_settings(scope, PLUGIN))
    return rules


@hookimpl
def tillbook_tables() -> list[Any]:
    return [ClassPass, ClassCredit, ClassFee]


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
    _rules_parsed, errors = parse_rules(settings)
    return errors


@hookimpl
def tillbook_routes() -> list[Any]:
    return list(ROUTES)


@hookimpl
async def tillbook_class_booking_changed(
    scope: TenantScope,
    booking: dict[str, Any],
    session: dict[str, Any],
    change: str,
) -> None:
    await apply_change(scope, await _rules(scope), booking, session, change)


@hookimpl
async def tillbook_report_sections(
    scope: TenantScope, report: str, first_day: date, last_day: date
) -> list[dict[str, Any]]:
    if report != "payroll":
        return []
    return [await payroll_section(scope, await _rules(scope), first_day, last_day)]


@hookimpl
async def tillbook_checkout_prompts(
    scope: TenantScope, client: dict[str, Any] | None
) -> list[str]:
    if not client:
        return []
    fees = await owed_fees(scope, client["id"])
    today = datetime.now(scope.tenant.zone).date()
    prompts = fee_prompts(fees, money_formatter(scope))
    summary = await balance(scope, client["id"], today)
    if summary["passes"]:
        prompts.append(f"Class balance: {describe_balance(summary)}")
    return prompts


@hookimpl
async def tillbook_client_panels(
    scope: TenantScope, client: dict[str, Any]
) -> list[str]:
    return [await client_panel(scope, client)]


@hookimpl
async def tillbook_seed_demo(scope: TenantScope) -> None:
    await seed_demo(scope)
