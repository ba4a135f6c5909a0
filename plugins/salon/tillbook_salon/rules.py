"""Salon rules: hair-length variants, colour processing gaps, rebooking and
stylist commission.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tillbook import (
    Service,
    TenantScope,
    percent_of,
    plugin_settings,
    utcnow,
)
from tillbook_salon.schema import DEFAULT_TIERS, PLUGIN
from tillbook_salon.tables import (
    HAIR_LENGTHS,
    SalonCommissionSale,
    SalonService,
    SalonStylistCommission,
    SalonVariant,
)

LENGTH_FIELD = "salon.hair_length"
LENGTH_LABELS = dict(HAIR_LENGTHS)


def as_uuid(value: Any) -> uuid.UUID | None:
    """Return ``value`` as a UUID, or ``None`` when it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def variants_of(scope: TenantScope, service_id: Any) -> dict[str, dict[str, int]]:
    """Return the service's variants by hair length, shortest first."""
    key = as_uuid(service_id)
    if key is None:
        return {}
    rows = await scope.select(SalonVariant).where(SalonVariant.service_id == key)
    by_length = {row["hair_length"]: row for row in rows}
    return {
        length: {
            "duration_minutes": by_length[length]["duration_minutes"],
            "price": by_length[length]["price"],
        }
        for length, _ in HAIR_LENGTHS
        if length in by_length
    }


async def service_config(scope: TenantScope, service_id: Any) -> dict[str, Any] | None:
    """Return the salon's row for a kernel service, or ``None``."""
    key = as_uuid(service_id)
    if key is None:
        return None
    return (  # type: ignore[no-any-return]
        await scope.select(SalonService).where(SalonService.service_id == key).first()
    )


def is_colour(
    service: dict[str, Any], config: dict[str, Any] | None, settings: dict[str, Any]
) -> bool:
    """Tell whether a service is a colour service: marked, or in the colour category."""
    if config is not None and config["colour"]:
        return True
    category = str(settings.get("colour_category") or "").strip().lower()
    return (
        bool(category) and str(service.get("category", "")).strip().lower() == category
    )


async def booking_fields(
    scope: TenantScope, service: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return the hair-length field for a service priced by length."""
    variants = await variants_of(scope, service.get("id"))
    if not variants:
        return []
    settings = await plugin_settings(scope, PLUGIN)
    return [
        {
            "name": LENGTH_FIELD,
            "label": "Hair length",
            "type": "select",
            "required": bool(settings.get("hair_length_required", True)),
            "choices": [
                {"value": length, "label": LENGTH_LABELS[length]} for length in variants
            ],
            "help": "Longer hair takes longer and costs more.",
        }
    ]


async def validate_booking(
    scope: TenantScope, booking: dict[str, Any]
) -> dict[str, str]:
    """Check the hair length of a booking for a service priced by length."""
    service = booking.get("service") or {}
    variants = await variants_of(scope, service.get("id"))
    if not variants:
        return {}
    chosen = (booking.get("fields") or {}).get(LENGTH_FIELD)
    choices = ", ".join(variants)
    if chosen in (None, ""):
        settings = await plugin_settings(scope, PLUGIN)
        if settings.get("hair_length_required", True):
            name = service.get("name", "this service")
            return {LENGTH_FIELD: f"is required for {name}: choose one of {choices}"}
        return {}
    if chosen not in variants:
        return {LENGTH_FIELD: f"must be one of {choices}"}
    return {}


async def service_timing(
    scope: TenantScope, service: dict[str, Any], fields: dict[str, Any]
) -> dict[str, int] | None:
    """Return the variant's duration and price and a colour service's gap."""
    timing: dict[str, int] = {}
    variants = await variants_of(scope, service.get("id"))
    chosen = (fields or {}).get(LENGTH_FIELD)
    if chosen in variants:
        timing.update(variants[chosen])
    settings = await plugin_settings(scope, PLUGIN)
    config = await service_config(scope, service.get("id"))
    kernel_gap = service.get("processing_after_minutes") is not None
    if is_colour(service, config, settings) and not kernel_gap:
        after = (config or {}).get("processing_after_minutes")
        processing = (config or {}).get("processing_minutes")
        after = (
            settings.get("colour_application_minutes", 30) if after is None else after
        )
        processing = (
            settings.get("colour_processing_minutes", 35)
            if processing is None
            else processing
        )
        duration = timing.get("duration_minutes", service.get("duration_minutes") or 0)
        # The gap must end before the service does, or the stylist would be
        # shown free while still working on the client.
        if processing > 0 and after + processing < duration:
            timing["processing_after_minutes"] = int(after)
            timing["processing_minutes"] = int(processing)
    return timing or None


async def rebook_weeks(
    scope: TenantScope, service_id: Any, settings: dict[str, Any]
) -> int:
    """Return the usual weeks between visits for a service.

    The salon's own interval comes first, then the catalog's rebooking
    interval (rounded to whole weeks), then the ``rebook_weeks`` setting.
    """
    config = await service_config(scope, service_id)
    if config is not None and config["rebook_weeks"]:
        return int(config["rebook_weeks"])
    key = as_uuid(service_id)
    if key is not None:
        row = (
            await scope.select(Service, Service.rebook_interval_days)
            .where(Service.id == key)
            .first()
        )
        if row is not None and row["rebook_interval_days"]:
            return max(1, round(row["rebook_interval_days"] / 7))
    return int(settings.get("rebook_weeks", 6))


async def checkout_prompts(
    scope: TenantScope,
    client: dict[str, Any] | None,
    appointment: dict[str, Any] | None,
    ticket: dict[str, Any] | None,
) -> list[str]:
    """Return one rebooking prompt per service on the ticket or appointment."""
    services: dict[str, str] = {}
    for line in (ticket or {}).get("lines", []) or []:
        if line.get("kind") == "service" and line.get("item_id"):
            services.setdefault(str(line["item_id"]), str(line.get("description", "")))
    if not services and appointment and appointment.get("service_id"):
        services[str(appointment["service_id"])] = str(
            appointment.get("service_name") or "this service"
        )
    if not services:
        return []
    settings = await plugin_settings(scope, PLUGIN)
    today = utcnow().astimezone(scope.tenant.zone).date()
    first_name = (client or {}).get("first_name") or "the client"
    prompts = []
    for service_id, name in services.items():
        weeks = await rebook_weeks(scope, service_id, settings)
        around = today + timedelta(weeks=weeks)
        service = name or "this service"
        prompts.append(
            f"Rebook {first_name} for {service}: usually every {weeks} weeks, "
            f"so around {_day(around)}."
        )
    return prompts


def _day(day: date) -> str:
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b')}"


async def stylist_rates(
    scope: TenantScope, staff_id: Any, settings: dict[str, Any]
) -> tuple[list[dict[str, Any]], Decimal]:
    """Return a stylist's service tiers and product percent, own rates first."""
    tiers: list[dict[str, Any]] = settings.get("service_tiers") or DEFAULT_TIERS
    product = Decimal(str(settings.get("product_percent", 10)))
    key = as_uuid(staff_id)
    if key is None:
        return tiers, product
    row = (
        await scope.select(SalonStylistCommission)
        .where(SalonStylistCommission.staff_id == key)
        .first()
    )
    if row is not None:
        own = row["service_tiers"]
        own = json.loads(own) if isinstance(own, str) else own
        if own:
            tiers = own
        if row["product_percent"] is not None:
            product = Decimal(row["product_percent"])
    return tiers, product


def tier_percent(tiers: list[dict[str, Any]], sales: int) -> Decimal:
    """Return the percent of the tier containing ``sales``; 0 in a gap."""
    for tier in tiers:
        upper = tier.get("to")
        if tier["from"] <= sales and (upper is None or sales < upper):
            return Decimal(str(tier["percent"]))
    return Decimal(0)


def month_of(scope: TenantScope) -> str:
    """Return the current month in the tenant's time zone as ``YYYY-MM``."""
    return utcnow().astimezone(scope.tenant.zone).strftime("%Y-%m")


async def month_sales(scope: TenantScope, staff_id: uuid.UUID, month: str) -> int:
    """Return a stylist's service sales counted so far in ``month``."""
    rows = await scope.select(SalonCommissionSale, SalonCommissionSale.amount).where(
        (SalonCommissionSale.staff_id == staff_id)
        & (SalonCommissionSale.month == month)
    )
    return sum(row["amount"] for row in rows)


async def commission(
    scope: TenantScope, line: dict[str, Any], staff_id: str
) -> int | None:
    """Return the salon's commission for one line, or ``None`` to keep the kernel's.

    A service line earns, on its whole amount, the percent of the tier that
    the stylist's service sales this month (before the line) reached. The
    line then counts towards the month. A product line earns the product
    percent. Computing the same line twice returns the first result.
    """
    kind = line.get("kind")
    if kind not in ("service", "product"):
        return None
    staff_key = as_uuid(staff_id)
    line_key = as_uuid(line.get("id"))
    if staff_key is None or line_key is None:
        return None
    amount = int(line.get("amount") or 0)
    settings = await plugin_settings(scope, PLUGIN)
    tiers, product_percent = await stylist_rates(scope, staff_key, settings)
    if kind == "product":
        return percent_of(amount, product_percent)
    counted = (
        await scope.select(SalonCommissionSale, SalonCommissionSale.commission)
        .where(SalonCommissionSale.line_id == line_key)
        .first()
    )
    if counted is not None:
        return int(counted["commission"])
    month = month_of(scope)
    percent = tier_percent(tiers, await month_sales(scope, staff_key, month))
    earned = percent_of(amount, percent)
    await scope.insert(
        SalonCommissionSale(
            staff_id=staff_key,
            line_id=line_key,
            month=month,
            amount=amount,
            commission=earned,
            percent=str(percent),
        )
    )
    return earned
