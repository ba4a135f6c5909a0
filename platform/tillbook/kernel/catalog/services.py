"""Bookable services, with their timing, providers, resources and products.

A service's ``provider_ids`` are the staff who perform it (``ServiceProvider``
rows); ``provider_overrides`` give some of them their own duration or price.
``resources`` lists the rooms or equipment each booking needs. ``consumes``
lists products used up by each performance of the service (checkout takes
them out of stock) and ``recommends`` lists products the receipt suggests.
Every linked id must belong to the same tenant.

Timing: buffers before and after keep the provider free around a booking.
A processing gap starts ``processing_after_minutes`` after the start and
lasts ``processing_minutes``, and the provider may serve someone else during
it. Granularity, minimum notice and maximum advance left empty (``None``)
fall back to the tenant's scheduling policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from tillbook.db import write_transaction
from tillbook.errors import ValidationFailed
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.fields import FieldReader, parse_uuid
from tillbook.kernel.catalog.tables import (
    Product,
    Service,
    ServiceProduct,
    ServiceProvider,
)
from tillbook.kernel.schedule.resources import (
    check_requirements,
    parse_requirements,
    replace_requirements,
    service_requirements,
)
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.scope import TenantScope

SERVICE_COLUMNS = frozenset(
    {
        "name",
        "category",
        "description",
        "duration_minutes",
        "price",
        "tax_rate",
        "rebook_interval_days",
        "active",
        "kind",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "processing_after_minutes",
        "processing_minutes",
        "granularity_minutes",
        "min_notice_minutes",
        "max_advance_days",
        "deposit",
        "capacity",
        "online",
    }
)
LINK_FIELDS = frozenset(
    {"provider_ids", "consumes", "recommends", "resources", "provider_overrides"}
)
SERVICE_FIELDS = SERVICE_COLUMNS | LINK_FIELDS
SERVICE_KINDS = ("appointment", "class")
MIN_DURATION = 5
MAX_DURATION = 720
MAX_CONSUMED_QUANTITY = 1000
MAX_BUFFER = 240
MAX_CAPACITY = 1000
MAX_NOTICE_MINUTES = 90 * 24 * 60
MAX_ADVANCE_DAYS = 730
MIN_GRANULARITY = 5
MAX_GRANULARITY = 240


def clean_service(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Return valid service fields, or raise ValidationFailed naming each bad one.

    Checks types and ranges only. ``check_links`` checks that linked staff
    and products belong to the tenant.
    """
    reader = FieldReader(values, SERVICE_FIELDS, partial=partial)
    reader.text("name", required=True)
    reader.text("category", max_length=100)
    reader.text("description", max_length=5000)
    reader.integer(
        "duration_minutes", minimum=MIN_DURATION, maximum=MAX_DURATION, required=True
    )
    reader.money("price", required=True)
    reader.tax_rate("tax_rate")
    reader.integer("rebook_interval_days", minimum=1, maximum=3650, nullable=True)
    reader.boolean("active", default=True)
    _read_timing(reader)
    reader.uuid_list("provider_ids")
    reader.uuid_list("recommends")
    if "resources" in values:
        try:
            reader.cleaned["resources"] = parse_requirements(
                values["resources"], "resources"
            )
        except ValidationFailed as exc:
            reader.errors.update(exc.errors)
    if "provider_overrides" in values:
        overrides = _parse_overrides(values["provider_overrides"])
        if isinstance(overrides, str):
            reader.errors["provider_overrides"] = overrides
        else:
            reader.cleaned["provider_overrides"] = overrides
    if "consumes" in values:
        consumes = _parse_consumes(values["consumes"])
        if isinstance(consumes, str):
            reader.errors["consumes"] = consumes
        else:
            reader.cleaned["consumes"] = consumes
    elif not partial:
        reader.cleaned["consumes"] = []
    return reader.finish()


def _read_timing(reader: FieldReader) -> None:
    reader.text("kind", default="appointment", max_length=12)
    kind = reader.cleaned.get("kind")
    if kind is not None and kind not in SERVICE_KINDS:
        reader.errors["kind"] = (
            f"{kind!r} is not a service kind: use appointment or class"
        )

    for name in ("buffer_before_minutes", "buffer_after_minutes"):
        reader.integer(name, minimum=0, maximum=MAX_BUFFER, default=0)
    reader.integer(
        "processing_after_minutes",
        minimum=1,
        maximum=MAX_DURATION,
        nullable=True,
        default=None,
    )
    reader.integer("processing_minutes", minimum=0, maximum=MAX_DURATION, default=0)

    reader.integer(
        "granularity_minutes",
        minimum=MIN_GRANULARITY,
        maximum=MAX_GRANULARITY,
        nullable=True,
        default=None,
    )
    granularity = reader.cleaned.get("granularity_minutes")
    if granularity and (24 * 60) % granularity:
        reader.errors["granularity_minutes"] = (
            f"{granularity} does not divide a day evenly: use 5, 10, 15, 20, 30, "
            "60 or another divisor of 1440"
        )
    reader.integer(
        "min_notice_minutes",
        minimum=0,
        maximum=MAX_NOTICE_MINUTES,
        nullable=True,
        default=None,
    )
    reader.integer(
        "max_advance_days",
        minimum=1,
        maximum=MAX_ADVANCE_DAYS,
        nullable=True,
        default=None,
    )

    reader.money("deposit", default=0)
    reader.integer("capacity", minimum=1, maximum=MAX_CAPACITY, default=1)
    reader.boolean("online", default=True)


def check_timing(merged: Mapping[str, Any]) -> None:
    """Raise ValidationFailed for timing fields that contradict each other.

    ``merged`` contains the stored service with the changes applied. The
    processing gap must start after the start and end before the end of the
    service (and of every provider's own duration); only classes take more
    than one client; the deposit may not exceed the price.
    """
    errors: dict[str, str] = {}
    duration = merged.get("duration_minutes") or 0
    after = merged.get("processing_after_minutes")
    length = merged.get("processing_minutes") or 0
    if after is None and length:
        errors["processing_after_minutes"] = (
            "is required with processing_minutes: give the minutes from the "
            "start at which the gap begins"
        )
    elif after is not None:
        if length < MIN_DURATION:
            errors["processing_minutes"] = (
                f"must be at least {MIN_DURATION} when the service has a processing gap"
            )
        durations = [duration] + [
            item["duration_minutes"]
            for item in merged.get("provider_overrides") or []
            if item.get("duration_minutes")
        ]
        shortest = min(durations)
        if after + length >= shortest:
            field = (
                "processing_minutes" if after < shortest else "processing_after_minutes"
            )
            errors.setdefault(
                field,
                f"the gap from minute {after} to {after + length} does not fit "
                f"inside {shortest} minutes: it must end before the service does",
            )
    if (
        merged.get("kind", "appointment") == "appointment"
        and (merged.get("capacity") or 1) > 1
    ):
        errors["capacity"] = (
            "must be 1 for an appointment: set kind to class for group sessions"
        )
    if (merged.get("deposit") or 0) > (merged.get("price") or 0):
        errors["deposit"] = "must not exceed the price"
    if errors:
        raise ValidationFailed(errors)


def _parse_overrides(value: Any) -> list[dict[str, Any]] | str:
    """Return per-provider overrides, or the error message."""
    if value is None:
        return []
    shape = (
        'must be a list like [{"staff_id": "…", "duration_minutes": 90, "price": 8000}]'
    )
    if not isinstance(value, list):
        return shape
    result: dict[uuid.UUID, dict[str, Any]] = {}
    for item in value:
        if not isinstance(item, dict) or set(item) - {
            "staff_id",
            "duration_minutes",
            "price",
        }:
            return shape
        staff_id = parse_uuid(item.get("staff_id"))
        if staff_id is None:
            return f"contains staff_id {item.get('staff_id')!r}, not an id"
        duration = item.get("duration_minutes")
        if duration is not None and (
            isinstance(duration, bool)
            or not isinstance(duration, int)
            or not MIN_DURATION <= duration <= MAX_DURATION
        ):
            return (
                f"duration_minutes must be empty or {MIN_DURATION} to "
                f"{MAX_DURATION}, not {duration!r}"
            )
        price = item.get("price")
        if price is not None and (
            isinstance(price, bool) or not isinstance(price, int) or price < 0
        ):
            return f"price must be empty or zero or more minor units, not {price!r}"
        if staff_id in result:
            return f"lists staff {staff_id} twice: give them once"
        result[staff_id] = {
            "staff_id": staff_id,
            "duration_minutes": duration,
            "price": price,
        }
    return list(result.values())


def _parse_consumes(value: Any) -> list[tuple[uuid.UUID, int]] | str:
    """Return (product id, quantity) pairs, or the error message."""
    if value is None:
        return []
    shape = 'must be a list like [{"product_id": "…", "quantity": 1}]'
    if not isinstance(value, list):
        return shape
    pairs: dict[uuid.UUID, int] = {}
    for item in value:
        if not isinstance(item, dict) or set(item) - {"product_id", "quantity"}:
            return shape
        product_id = parse_uuid(item.get("product_id"))
        if product_id is None:
            return f"contains product_id {item.get('product_id')!r}, not an id"
        quantity = item.get("quantity", 1)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_CONSUMED_QUANTITY
        ):
            return f"quantity must be a whole number from 1 to {MAX_CONSUMED_QUANTITY}"
        if product_id in pairs:
            return f"lists product {product_id} twice: give it once with the total"
        pairs[product_id] = quantity
    return list(pairs.items())


async def check_links(scope: TenantScope, cleaned: Mapping[str, Any]) -> None:
    """Raise ValidationFailed unless every linked staff, product and resource is
    the tenant's.

    Ids of another tenant are reported like ids that do not exist.
    """
    errors: dict[str, str] = {}
    provider_ids = cleaned.get("provider_ids") or []
    staff = await scope.get_many(Staff, provider_ids)
    missing = [str(i) for i in provider_ids if i not in staff]
    if missing:
        errors["provider_ids"] = (
            f"contains ids that are not staff of this business: {', '.join(missing)}"
        )
    for field in ("consumes", "recommends"):
        if field == "consumes":
            product_ids = [pid for pid, _ in cleaned.get("consumes") or []]
        else:
            product_ids = list(cleaned.get("recommends") or [])
        products = await scope.get_many(Product, product_ids)
        unknown = [str(i) for i in product_ids if i not in products]
        if unknown:
            errors[field] = (
                f"contains ids that are not products of this business: "
                f"{', '.join(unknown)}"
            )
    if cleaned.get("resources"):
        try:
            await check_requirements(scope, cleaned["resources"], "resources")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)


def service_json(
    row: Mapping[str, Any],
    currency: str,
    providers: Sequence[Mapping[str, Any]],
    links: Sequence[Mapping[str, Any]],
    resources: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Return a service row and its links as the API shows them.

    ``providers`` are the service's ``ServiceProvider`` rows.
    """
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "category": row["category"],
        "description": row["description"],
        "duration_minutes": row["duration_minutes"],
        "price": row["price"],
        "currency": currency,
        "tax_rate": row["tax_rate"],
        "rebook_interval_days": row["rebook_interval_days"],
        "active": row["active"],
        "kind": row["kind"],
        "capacity": row["capacity"],
        "buffer_before_minutes": row["buffer_before_minutes"],
        "buffer_after_minutes": row["buffer_after_minutes"],
        "processing_after_minutes": row["processing_after_minutes"],
        "processing_minutes": row["processing_minutes"],
        "granularity_minutes": row["granularity_minutes"],
        "min_notice_minutes": row["min_notice_minutes"],
        "max_advance_days": row["max_advance_days"],
        "deposit": row["deposit"],
        "online": row["online"],
        "provider_ids": sorted(str(link["staff_id"]) for link in providers),
        "provider_overrides": sorted(
            (
                {
                    "staff_id": str(link["staff_id"]),
                    "duration_minutes": link["duration_minutes"],
                    "price": link["price"],
                }
                for link in providers
                if link["duration_minutes"] is not None or link["price"] is not None
            ),
            key=lambda item: item["staff_id"],
        ),
        "resources": list(resources),
        "consumes": [
            {"product_id": str(link["product_id"]), "quantity": link["quantity"]}
            for link in links
            if link["link"] == "consumes"
        ],
        "recommends": [
            str(link["product_id"]) for link in links if link["link"] == "recommends"
        ],
    }


async def list_services(
    scope: TenantScope, *, active: bool | None = None
) -> list[dict[str, Any]]:
    """Return the tenant's services by category and name, with their links."""
    query = scope.select(Service).order_by(Service.category).order_by(Service.name)
    if active is not None:
        query = query.where(Service.active == active)
    rows = await query
    providers: dict[uuid.UUID, list[Mapping[str, Any]]] = {}
    for link in await scope.select(ServiceProvider):
        providers.setdefault(link["service_id"], []).append(link)
    products: dict[uuid.UUID, list[Mapping[str, Any]]] = {}
    for link in await scope.select(ServiceProduct):
        products.setdefault(link["service_id"], []).append(link)
    resources = await service_requirements(scope, [row["id"] for row in rows])
    return [
        service_json(
            row,
            scope.tenant.currency,
            providers.get(row["id"], []),
            products.get(row["id"], []),
            resources.get(row["id"], []),
        )
        for row in rows
    ]


async def get_service(scope: TenantScope, service_id: uuid.UUID) -> dict[str, Any]:
    """Return one service with its links; raise NotFound if not the tenant's."""
    row = await scope.get(Service, service_id)
    providers = await scope.select(ServiceProvider).where(
        ServiceProvider.service_id == service_id
    )
    links = await scope.select(ServiceProduct).where(
        ServiceProduct.service_id == service_id
    )
    resources = await service_requirements(scope, [row["id"]])
    return service_json(
        row,
        scope.tenant.currency,
        providers,
        links,
        resources.get(row["id"], []),
    )


async def create_service(
    scope: TenantScope,
    values: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Validate and add a service with its links, and return it as JSON.

    Required: ``name``, ``duration_minutes`` (5 to 720) and ``price`` (minor
    units). Raises ValidationFailed naming each bad field, including timing
    fields that contradict each other (``check_timing``) and
    ``provider_ids``, ``consumes``, ``recommends`` or ``resources`` that
    name rows of another tenant.
    """
    cleaned = clean_service(values, partial=False)
    check_timing(cleaned)
    async with write_transaction():
        await check_links(scope, cleaned)
        columns = {k: v for k, v in cleaned.items() if k in SERVICE_COLUMNS}
        row = Service(**columns)
        await scope.insert(row)
        await _replace_links(scope, row.id, cleaned)
        created = await get_service(scope, row.id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="service.created",
            subject_type="service",
            subject_id=row.id,
            after=created,
        )
    return created


async def update_service(
    scope: TenantScope,
    service_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Change some fields of a service, and return it as JSON.

    A link field that is given replaces the whole set (``provider_ids: []``
    removes every provider); providers that stay keep their overrides unless
    ``provider_overrides`` is given. Raises NotFound for another tenant's
    service (checked before the body) and ValidationFailed naming each bad
    field, with timing checked against the stored values it does not change.
    """
    await scope.get(Service, service_id)
    cleaned = clean_service(changes, partial=True)
    async with write_transaction():
        before = await get_service(scope, service_id)
        merged = {**before, **cleaned}
        if "provider_overrides" not in cleaned:
            merged["provider_overrides"] = before["provider_overrides"]
        check_timing(merged)
        await check_links(scope, cleaned)
        columns = {k: v for k, v in cleaned.items() if k in SERVICE_COLUMNS}
        if columns:
            await scope.update(
                Service, {getattr(Service, k): v for k, v in columns.items()}
            ).where(Service.id == service_id)
        await _replace_links(scope, service_id, cleaned)
        after = await get_service(scope, service_id)
        await record_audit(
            scope,
            actor_id=actor_id,
            action="service.updated",
            subject_type="service",
            subject_id=service_id,
            before=before,
            after=after,
        )
    return after


async def _replace_providers(
    scope: TenantScope, service_id: uuid.UUID, cleaned: Mapping[str, Any]
) -> None:
    current = await scope.select(ServiceProvider).where(
        ServiceProvider.service_id == service_id
    )
    kept = {
        link["staff_id"]: {
            "duration_minutes": link["duration_minutes"],
            "price": link["price"],
        }
        for link in current
    }
    provider_ids = cleaned.get("provider_ids", list(kept))
    if "provider_overrides" in cleaned:
        overrides = {item["staff_id"]: item for item in cleaned["provider_overrides"]}
        strangers = [str(key) for key in overrides if key not in provider_ids]
        if strangers:
            raise ValidationFailed(
                {
                    "provider_overrides": (
                        f"names staff who do not perform this service: "
                        f"{', '.join(strangers)}; add them to provider_ids first"
                    )
                }
            )
    else:
        overrides = kept
    await scope.delete(ServiceProvider).where(ServiceProvider.service_id == service_id)
    rows = [
        ServiceProvider(
            service_id=service_id,
            staff_id=staff_id,
            duration_minutes=overrides.get(staff_id, {}).get("duration_minutes"),
            price=overrides.get(staff_id, {}).get("price"),
        )
        for staff_id in provider_ids
    ]
    if rows:
        await scope.insert(*rows)


async def _replace_links(
    scope: TenantScope, service_id: uuid.UUID, cleaned: Mapping[str, Any]
) -> None:
    if "provider_ids" in cleaned or "provider_overrides" in cleaned:
        await _replace_providers(scope, service_id, cleaned)
    if "resources" in cleaned:
        await replace_requirements(scope, service_id, cleaned["resources"])
    for link in ("consumes", "recommends"):
        if link not in cleaned:
            continue
        await (
            scope.delete(ServiceProduct)
            .where(ServiceProduct.service_id == service_id)
            .where(ServiceProduct.link == link)
        )
        if link == "consumes":
            pairs = cleaned["consumes"]
        else:
            pairs = [(product_id, 1) for product_id in cleaned["recommends"]]
        links = [
            ServiceProduct(
                service_id=service_id,
                product_id=product_id,
                link=link,
                quantity=quantity,
            )
            for product_id, quantity in pairs
        ]
        if links:
            await scope.insert(*links)
