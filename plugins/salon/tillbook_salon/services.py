"""The salon's per-service settings: colour, processing gap, rebooking, variants."""

from __future__ import annotations

from typing import Any

from tillbook import (
    Service,
    TenantScope,
    ValidationFailed,
    check_amount,
    write_transaction,
)
from tillbook_salon.rules import service_config, variants_of
from tillbook_salon.tables import HAIR_LENGTHS, SalonService, SalonVariant

SERVICE_FIELDS = (
    "colour",
    "processing_after_minutes",
    "processing_minutes",
    "rebook_weeks",
    "variants",
)
LENGTHS = [length for length, _ in HAIR_LENGTHS]


async def service_view(scope: TenantScope, service: dict[str, Any]) -> dict[str, Any]:
    """Return a kernel service with the salon's settings for it."""
    config = await service_config(scope, service["id"]) or {}
    return {
        "service_id": str(service["id"]),
        "name": service["name"],
        "category": service["category"],
        "duration_minutes": service["duration_minutes"],
        "price": service["price"],
        "colour": bool(config.get("colour", False)),
        "processing_after_minutes": config.get("processing_after_minutes"),
        "processing_minutes": config.get("processing_minutes"),
        "rebook_weeks": config.get("rebook_weeks"),
        "variants": await variants_of(scope, service["id"]),
    }


async def list_services(scope: TenantScope) -> list[dict[str, Any]]:
    """Return every active service with the salon's settings, by name."""
    services = (
        await scope.select(Service)
        .where(Service.active.eq(True))
        .order_by(Service.name)
    )
    return [await service_view(scope, service) for service in services]


def _minutes(
    value: Any, name: str, errors: dict[str, str], *, low: int, high: int
) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = (
            f"must be a whole number of minutes from {low} to {high}, or null"
        )
        return None
    if value < 0:
        errors[name] = "must not be negative: enter 0 or more minutes"
        return None
    if not low <= value <= high:
        errors[name] = f"must be from {low} to {high} minutes"
        return None
    return value


def clean_service(values: dict[str, Any]) -> dict[str, Any]:
    """Check a service settings change; raise ValidationFailed naming each field."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key in values:
        if key not in SERVICE_FIELDS:
            errors[key] = (
                f"is not a salon service setting; use {', '.join(SERVICE_FIELDS)}"
            )
    if "colour" in values:
        if not isinstance(values["colour"], bool):
            errors["colour"] = "must be true or false"
        else:
            clean["colour"] = values["colour"]
    for name, low, high in (
        ("processing_after_minutes", 0, 480),
        ("processing_minutes", 0, 480),
    ):
        if name in values:
            clean[name] = _minutes(values[name], name, errors, low=low, high=high)
    if "rebook_weeks" in values:
        weeks = values["rebook_weeks"]
        if weeks is not None and (
            isinstance(weeks, bool)
            or not isinstance(weeks, int)
            or not 1 <= weeks <= 52
        ):
            errors["rebook_weeks"] = (
                "must be a whole number of weeks from 1 to 52, or null"
            )
        else:
            clean["rebook_weeks"] = weeks
    if "variants" in values:
        clean["variants"] = _clean_variants(values["variants"], errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _clean_variants(variants: Any, errors: dict[str, str]) -> dict[str, dict[str, int]]:
    if not isinstance(variants, dict):
        errors["variants"] = (
            'must be an object by hair length, such as {"short": '
            '{"duration_minutes": 45, "price": 4500}}'
        )
        return {}
    clean: dict[str, dict[str, int]] = {}
    for length, variant in variants.items():
        prefix = f"variants.{length}"
        if length not in LENGTHS:
            errors[prefix] = f"is not a hair length; use {', '.join(LENGTHS)}"
            continue
        if not isinstance(variant, dict) or set(variant) != {
            "duration_minutes",
            "price",
        }:
            errors[prefix] = "must have exactly duration_minutes and price"
            continue
        duration = _minutes(
            variant["duration_minutes"],
            f"{prefix}.duration_minutes",
            errors,
            low=5,
            high=720,
        )
        try:
            price = check_amount(variant["price"], f"{prefix}.price", allow_zero=True)
        except ValidationFailed as exc:
            errors.update(exc.errors)
            continue
        if duration is not None:
            clean[length] = {"duration_minutes": duration, "price": price}
    return clean


async def save_service(
    scope: TenantScope, service_id: Any, values: dict[str, Any]
) -> dict[str, Any]:
    """Change the salon's settings of one service; ``variants`` replaces them all."""
    service = await scope.get(Service, str(service_id))
    clean = clean_service(values)
    key = service["id"]
    variants = clean.pop("variants", None)
    async with write_transaction():
        existing = await service_config(scope, key)
        if clean:
            if existing is None:
                await scope.insert(SalonService(service_id=key, **clean))
            else:
                columns: dict[Any, Any] = {
                    getattr(SalonService, name): value for name, value in clean.items()
                }
                await scope.update(SalonService, columns).where(
                    SalonService.id == existing["id"]
                )
        if variants is not None:
            await scope.delete(SalonVariant).where(SalonVariant.service_id == key)
            rows = [
                SalonVariant(service_id=key, hair_length=length, **variant)
                for length, variant in variants.items()
            ]
            await scope.insert(*rows)
    return await service_view(scope, service)
