"""The salon plugin's API routes and staff pages.

Paths starting with ``/api/`` are mounted under
``/t/{slug}/api/v1/plugins/salon/``, and the others are staff pages under
``/t/{slug}/staff/plugins/salon/``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect

from tillbook import (
    DESK,
    MANAGERS,
    Staff,
    TenantScope,
    ValidationFailed,
    format_major,
    is_whole_number,
    parse_major,
    render_plugin_page,
    tiers_error,
    write_transaction,
)
from tillbook_salon import formulas as formula_store
from tillbook_salon.services import clean_service, list_services, save_service
from tillbook_salon.tables import HAIR_LENGTHS, SalonStylistCommission

PACKAGE = "tillbook_salon"

# API: colour formulas.


@get("/api/clients/{client_id:uuid}/formulas", opt={"roles": DESK})
async def formulas_index(
    tenant_scope: NamedDependency[TenantScope], client_id: FromPath[uuid.UUID]
) -> list[dict[str, Any]]:
    """List a client's colour formulas, newest first."""
    return await formula_store.list_formulas(tenant_scope, client_id)


@post("/api/clients/{client_id:uuid}/formulas", opt={"roles": DESK})
async def formulas_add(
    tenant_scope: NamedDependency[TenantScope],
    client_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Record a formula: ``formula`` (required), ``developer``,
    ``processing_minutes``, ``notes``, ``staff_id``. 422 names each bad field.
    """
    return await formula_store.add_formula(tenant_scope, client_id, data)


@patch("/api/formulas/{formula_id:uuid}", opt={"roles": DESK})
async def formulas_update(
    tenant_scope: NamedDependency[TenantScope],
    formula_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change some fields of a formula."""
    return await formula_store.update_formula(tenant_scope, formula_id, data)


@delete("/api/formulas/{formula_id:uuid}", opt={"roles": DESK}, status_code=204)
async def formulas_delete(
    tenant_scope: NamedDependency[TenantScope], formula_id: FromPath[uuid.UUID]
) -> None:
    """Delete a formula recorded by mistake."""
    await formula_store.delete_formula(tenant_scope, formula_id)


# API: services and stylist commission.


@get("/api/services", opt={"roles": MANAGERS})
async def services_index(
    tenant_scope: NamedDependency[TenantScope],
) -> list[dict[str, Any]]:
    """List active services with their colour, gap, rebooking and variants."""
    return await list_services(tenant_scope)


@put("/api/services/{service_id:uuid}", opt={"roles": MANAGERS})
async def services_save(
    tenant_scope: NamedDependency[TenantScope],
    service_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Change a service's salon settings: ``colour``, ``processing_after_minutes``,
    ``processing_minutes``, ``rebook_weeks`` and ``variants`` (by hair length,
    each ``{"duration_minutes", "price"}``; replaces all variants).
    """
    return await save_service(tenant_scope, service_id, data)


@get("/api/stylists/{staff_id:uuid}/commission", opt={"roles": MANAGERS})
async def stylist_commission_show(
    tenant_scope: NamedDependency[TenantScope], staff_id: FromPath[uuid.UUID]
) -> dict[str, Any]:
    """Return a stylist's own commission rates (empty or null: the settings')."""
    await tenant_scope.get(Staff, staff_id)
    row = (
        await tenant_scope.select(SalonStylistCommission)
        .where(SalonStylistCommission.staff_id == staff_id)
        .first()
    )
    return _commission_view(staff_id, row)


def _commission_view(staff_id: uuid.UUID, row: dict[str, Any] | None) -> dict[str, Any]:
    tiers = row["service_tiers"] if row else []
    if isinstance(tiers, str):
        tiers = json.loads(tiers)
    percent = row["product_percent"] if row else None
    return {
        "staff_id": str(staff_id),
        "service_tiers": tiers,
        "product_percent": float(percent) if percent is not None else None,
    }


def _clean_commission(data: dict[str, Any]) -> tuple[list[Any], str | None]:
    """Return checked tiers and the product percent as text; raise on errors."""
    errors: dict[str, str] = {}
    for key in data:
        if key not in ("service_tiers", "product_percent"):
            errors[key] = (
                "is not a commission field; use service_tiers and product_percent"
            )
    tiers = data.get("service_tiers", [])
    if tiers != [] and (problem := tiers_error(tiers)):
        errors["service_tiers"] = problem
    percent = data.get("product_percent")
    if percent is not None and (
        isinstance(percent, bool)
        or not isinstance(percent, int | float)
        or not 0 <= percent <= 100
    ):
        errors["product_percent"] = "must be a percentage from 0 to 100, or null"
    if errors:
        raise ValidationFailed(errors)
    return tiers, None if percent is None else str(percent)


@put("/api/stylists/{staff_id:uuid}/commission", opt={"roles": MANAGERS})
async def stylist_commission_save(
    tenant_scope: NamedDependency[TenantScope],
    staff_id: FromPath[uuid.UUID],
    data: JSONBody[dict[str, Any]],
) -> dict[str, Any]:
    """Set a stylist's own ``service_tiers`` (non-overlapping tiers; ``[]`` for
    the settings' tiers) and ``product_percent`` (0 to 100, or null).
    """
    await tenant_scope.get(Staff, staff_id)
    tiers, percent = _clean_commission(data)
    mine = SalonStylistCommission.staff_id == staff_id

    async with write_transaction():
        existing = (
            await tenant_scope.select(SalonStylistCommission, SalonStylistCommission.id)
            .where(mine)
            .first()
        )
        if existing is None:
            row = SalonStylistCommission(
                staff_id=staff_id,
                service_tiers=json.dumps(tiers),
                product_percent=percent,
            )
            await tenant_scope.insert(row)
        else:
            values: dict[Any, Any] = {
                SalonStylistCommission.service_tiers: json.dumps(tiers),
                SalonStylistCommission.product_percent: percent,
            }
            await tenant_scope.update(SalonStylistCommission, values).where(mine)
        saved = await tenant_scope.select(SalonStylistCommission).where(mine).first()
    return _commission_view(staff_id, saved)


# Staff pages: the formula card, made for a phone at the chair.


async def _formula_page(
    scope: TenantScope,
    actor: Any,
    client_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    entered: dict[str, Any] | None = None,
    editing: str = "",
    notice: str = "",
    status_code: int = 200,
) -> Response[str]:
    client = await formula_store.client_row(scope, client_id)
    stylists = (
        await scope.select(Staff, Staff.id, Staff.name)
        .where(Staff.active.eq(True))
        .order_by(Staff.name)
    )
    return render_plugin_page(
        PACKAGE,
        "formulas.html",
        scope,
        actor,
        status_code=status_code,
        client=client,
        formulas=await formula_store.list_formulas(scope, client_id),
        stylists=[(str(row["id"]), row["name"]) for row in stylists],
        errors=errors or {},
        entered=entered or {},
        editing=editing,
        notice=notice,
        base=f"/t/{scope.tenant.slug}/staff/plugins/salon",
    )


@get("/clients/{client_id:uuid}/formulas", opt={"roles": DESK})
async def formulas_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    client_id: FromPath[uuid.UUID],
    saved: FromQuery[str] = "",
) -> Response[str]:
    """Show a client's formulas with a form to add one and to edit each."""
    notice = "Formula saved." if saved else ""
    return await _formula_page(tenant_scope, actor, client_id, notice=notice)


def _form_values(form: Any) -> dict[str, Any]:
    return {
        name: str(form.get(name, "")).strip()
        for name in formula_store.FORMULA_FIELDS
        if name in form
    }


def _saved(scope: TenantScope, client_id: uuid.UUID) -> Redirect:
    return Redirect(
        f"/t/{scope.tenant.slug}/staff/plugins/salon/clients/{client_id}/formulas?saved=1",
        status_code=303,
    )


@post("/clients/{client_id:uuid}/formulas", opt={"roles": DESK})
async def formulas_page_add(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    client_id: FromPath[uuid.UUID],
) -> Response[str] | Redirect:
    """Add a formula from the page form."""
    values = _form_values(await request.form())
    try:
        await formula_store.add_formula(tenant_scope, client_id, values)
    except ValidationFailed as exc:
        return await _formula_page(
            tenant_scope,
            actor,
            client_id,
            errors=exc.errors,
            entered=values,
            status_code=422,
        )
    return _saved(tenant_scope, client_id)


@post("/formulas/{formula_id:uuid}", opt={"roles": DESK})
async def formulas_page_edit(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    formula_id: FromPath[uuid.UUID],
) -> Response[str] | Redirect:
    """Save an edited formula from the page form."""
    formula = await formula_store.get_formula(tenant_scope, formula_id)
    client_id = uuid.UUID(formula["client_id"])
    values = _form_values(await request.form())
    try:
        await formula_store.update_formula(tenant_scope, formula_id, values)
    except ValidationFailed as exc:
        return await _formula_page(
            tenant_scope,
            actor,
            client_id,
            errors=exc.errors,
            entered=values,
            editing=str(formula_id),
            status_code=422,
        )
    return _saved(tenant_scope, client_id)


# Staff page: the salon settings of every service.

_FORM_NUMBERS = ("processing_after_minutes", "processing_minutes", "rebook_weeks")
_LENGTH_FIELDS = [
    f"{length}_{part}" for length, _ in HAIR_LENGTHS for part in ("minutes", "price")
]


def _service_form(service: dict[str, Any], digits: int) -> dict[str, Any]:
    """Return a service's salon settings as the page's form shows them."""
    form: dict[str, Any] = {"colour": service["colour"]}
    for name in _FORM_NUMBERS:
        form[name] = "" if service[name] is None else str(service[name])
    for length, variant in service["variants"].items():
        form[f"{length}_minutes"] = str(variant["duration_minutes"])
        form[f"{length}_price"] = format_major(variant["price"], digits)
    return form


def _parse_service_form(form: Any, digits: int) -> dict[str, Any]:
    """Turn the page's form into a ``save_service`` body; raise naming each field."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"colour": "colour" in form}
    for name in _FORM_NUMBERS:
        raw = str(form.get(name, "")).strip()
        if not raw:
            body[name] = None
        elif is_whole_number(raw, signed=True):
            body[name] = int(raw)
        else:
            errors[name] = "must be a whole number"
    body["variants"] = _parse_variants(form, digits, errors)

    # The API's checks name fields such as variants.short.duration_minutes;
    # running them here reports every problem of the form at once.
    try:
        clean_service(body)
    except ValidationFailed as exc:
        errors.update(_form_errors(exc.errors))
    if errors:
        raise ValidationFailed(errors)
    return body


def _parse_variants(
    form: Any, digits: int, errors: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Read the minutes and price of each hair length; add problems to ``errors``."""
    variants: dict[str, dict[str, Any]] = {}
    for length, _ in HAIR_LENGTHS:
        minutes = str(form.get(f"{length}_minutes", "")).strip()
        price_text = str(form.get(f"{length}_price", "")).strip()
        if not minutes and not price_text:
            continue
        if not minutes:
            errors[f"{length}_minutes"] = "is required when a price is given"
            continue
        if not is_whole_number(minutes, signed=True):
            errors[f"{length}_minutes"] = "must be a whole number of minutes"
            continue
        try:
            price = parse_major(price_text, digits, f"{length}_price")
        except ValidationFailed as exc:
            errors.update(exc.errors)
            continue
        if price is None:
            errors[f"{length}_price"] = "is required when minutes are given"
            continue
        variants[length] = {"duration_minutes": int(minutes), "price": price}
    return variants


def _form_errors(errors: dict[str, str]) -> dict[str, str]:
    """Name ``variants.long.price`` errors after the form's ``long_price`` field."""
    renamed = {}
    for name, message in errors.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "variants":
            part = "minutes" if parts[2] == "duration_minutes" else parts[2]
            renamed[f"{parts[1]}_{part}"] = message
        else:
            renamed[name] = message
    return renamed


async def _services_page(
    scope: TenantScope,
    actor: Any,
    *,
    errors: dict[str, str] | None = None,
    entered: dict[str, Any] | None = None,
    editing: str = "",
    notice: str = "",
    status_code: int = 200,
) -> Response[str]:
    digits = scope.tenant.minor_digits
    services = await list_services(scope)
    for service in services:
        service["form"] = _service_form(service, digits)
    return render_plugin_page(
        PACKAGE,
        "services.html",
        scope,
        actor,
        status_code=status_code,
        services=services,
        lengths=HAIR_LENGTHS,
        field_names=["colour", *_FORM_NUMBERS, *_LENGTH_FIELDS],
        errors=errors or {},
        entered=entered or {},
        editing=editing,
        notice=notice,
        base=f"/t/{scope.tenant.slug}/staff/plugins/salon",
    )


@get("/services", opt={"roles": MANAGERS})
async def services_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    saved: FromQuery[str] = "",
) -> Response[str]:
    """Show every active service with its salon settings form."""
    notice = "Service saved." if saved else ""
    return await _services_page(tenant_scope, actor, notice=notice)


@post("/services/{service_id:uuid}", opt={"roles": MANAGERS})
async def services_page_save(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    service_id: FromPath[uuid.UUID],
) -> Response[str] | Redirect:
    """Save one service's salon settings from the page form."""
    form = await request.form()
    entered = {name: form.get(name, "") for name in form}
    entered["colour"] = "colour" in form
    try:
        body = _parse_service_form(form, tenant_scope.tenant.minor_digits)
        await save_service(tenant_scope, service_id, body)
    except ValidationFailed as exc:
        return await _services_page(
            tenant_scope,
            actor,
            errors=exc.errors,
            entered=entered,
            editing=str(service_id),
            status_code=422,
        )
    return Redirect(
        f"/t/{tenant_scope.tenant.slug}/staff/plugins/salon/services?saved=1"
        f"#service-{service_id}",
        status_code=303,
    )


ROUTES = [
    formulas_index,
    formulas_add,
    formulas_update,
    formulas_delete,
    services_index,
    services_save,
    stylist_commission_show,
    stylist_commission_save,
    formulas_page,
    formulas_page_add,
    formulas_page_edit,
    services_page,
    services_page_save,
]
