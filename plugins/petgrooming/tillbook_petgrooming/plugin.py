"""Hook implementations of the petgrooming plugin.

Pets are client dependents with vaccinations. A grooming booking names its
pet, and its length and price follow the pet's size and coat. A pet whose
required vaccination is missing or expired on the appointment date cannot
be booked. Groomers check pets in, keep a treatment log per pet and send
the client to checkout from one phone page. The receipt carries a report
card per pet.
"""

from __future__ import annotations

import uuid
from typing import Any

from tillbook import (
    Service,
    TenantScope,
    hookimpl,
    percent_of,
    plugin_settings,
)
from tillbook_petgrooming import booking as grooming_booking
from tillbook_petgrooming import visits
from tillbook_petgrooming.demo import seed_demo
from tillbook_petgrooming.migrations import MIGRATIONS
from tillbook_petgrooming.pets import list_pets
from tillbook_petgrooming.routes import ROUTES
from tillbook_petgrooming.rules import PLUGIN, SCHEMA, GroomingRules, parse_rules
from tillbook_petgrooming.tables import GroomingVisit, Pet, PetVaccination


async def _rules(scope: TenantScope) -> GroomingRules:
    rules, _errors = parse_rules(await plugin_settings(scope, PLUGIN))
    return rules


@hookimpl
def tillbook_tables() -> list[Any]:
    return [Pet, PetVaccination, GroomingVisit]


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
async def tillbook_booking_fields(
    scope: TenantScope, service: dict[str, Any]
) -> list[dict[str, Any]]:
    if service.get("kind", "appointment") != "appointment":
        return []
    return grooming_booking.booking_fields(await _rules(scope))


@hookimpl
async def tillbook_validate_booking(
    scope: TenantScope, booking: dict[str, Any]
) -> dict[str, str]:
    return await grooming_booking.validate_booking(scope, await _rules(scope), booking)


@hookimpl
async def tillbook_service_timing(
    scope: TenantScope, service: dict[str, Any], fields: dict[str, Any]
) -> dict[str, int] | None:
    return await grooming_booking.service_timing(
        scope, await _rules(scope), service, fields or {}
    )


@hookimpl
async def tillbook_booking_made(scope: TenantScope, booking: dict[str, Any]) -> None:
    await grooming_booking.record_booking(scope, await _rules(scope), booking)


@hookimpl
async def tillbook_checkout_prompts(
    scope: TenantScope, appointment: dict[str, Any] | None
) -> list[str]:
    return await visits.checkout_prompts(scope, appointment)


@hookimpl
async def tillbook_receipt_sections(
    scope: TenantScope, ticket: dict[str, Any]
) -> list[str]:
    return await visits.report_cards(scope, ticket)


@hookimpl
async def tillbook_commission(
    scope: TenantScope, line: dict[str, Any], amount: int
) -> int | None:
    """Pay the groomer the commission rate on grooming services.

    Products and other lines keep the kernel's commission.
    """
    if line.get("kind") != "service" or not line.get("item_id"):
        return None
    try:
        service_id = uuid.UUID(str(line["item_id"]))
    except ValueError:
        return None
    if not await scope.get_many(Service, [service_id]):
        return None
    rules = await _rules(scope)
    paid = int(line.get("amount", 0))
    return percent_of(max(paid, 0), str(rules.commission_percent))


@hookimpl
async def tillbook_client_panels(
    scope: TenantScope, client: dict[str, Any]
) -> list[str]:
    pets = await list_pets(scope, client["id"])
    return [await visits.client_panel(scope, await _rules(scope), client, pets)]


@hookimpl
async def tillbook_seed_demo(scope: TenantScope) -> None:
    await seed_demo(scope)
