"""Colour formula records per client: storing, listing and the client panel."""

from __future__ import annotations

import uuid
from typing import Any

from markupsafe import Markup, escape

from tillbook import (
    Client,
    NotFound,
    Staff,
    TenantScope,
    ValidationFailed,
    is_whole_number,
    utcnow,
    write_transaction,
)
from tillbook_salon.rules import as_uuid
from tillbook_salon.tables import SalonFormula

FORMULA_FIELDS = ("formula", "developer", "processing_minutes", "notes", "staff_id")
MAX_FORMULA = 500
MAX_NOTES = 2000
PANEL_FORMULAS = 3


async def client_row(scope: TenantScope, client_id: Any) -> dict[str, Any]:
    """Return the tenant's client, or raise NotFound (also for another tenant's)."""
    return await scope.get(Client, str(client_id))


def clean_formula(values: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check formula fields from a form or JSON; raise ValidationFailed naming each.

    ``partial`` accepts a subset of the fields (an edit).
    """
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    unknown = [key for key in values if key not in FORMULA_FIELDS]
    for key in unknown:
        errors[key] = f"is not a formula field; use {', '.join(FORMULA_FIELDS)}"
    if "formula" in values or not partial:
        formula = values.get("formula")
        if not isinstance(formula, str) or not formula.strip():
            errors["formula"] = (
                "is required: enter the colours and amounts, such as 6.0 30g + 7.1 20g"
            )
        elif len(formula) > MAX_FORMULA:
            errors["formula"] = f"is longer than {MAX_FORMULA} characters"
        else:
            clean["formula"] = formula.strip()
    if "developer" in values:
        developer = values["developer"]
        if not isinstance(developer, str) or len(developer) > 60:
            errors["developer"] = (
                "must be text of at most 60 characters, such as 20 vol (6%)"
            )
        else:
            clean["developer"] = developer.strip()
    if "processing_minutes" in values:
        minutes = values["processing_minutes"]
        if minutes in (None, ""):
            clean["processing_minutes"] = None
        else:
            if isinstance(minutes, str) and is_whole_number(
                minutes.strip(), signed=True
            ):
                minutes = int(minutes)
            if (
                isinstance(minutes, bool)
                or not isinstance(minutes, int)
                or not 0 <= minutes <= 240
            ):
                errors["processing_minutes"] = (
                    "must be a whole number of minutes from 0 to 240"
                )
            else:
                clean["processing_minutes"] = minutes
    if "notes" in values:
        notes = values["notes"]
        if not isinstance(notes, str) or len(notes) > MAX_NOTES:
            errors["notes"] = f"must be text of at most {MAX_NOTES} characters"
        else:
            clean["notes"] = notes.strip()
    if "staff_id" in values and values["staff_id"] not in (None, ""):
        staff_key = as_uuid(values["staff_id"])
        if staff_key is None:
            errors["staff_id"] = "must be a staff id"
        else:
            clean["staff_id"] = staff_key
    elif "staff_id" in values:
        clean["staff_id"] = None
    if errors:
        raise ValidationFailed(errors)
    return clean


async def _check_staff(scope: TenantScope, staff_id: uuid.UUID | None) -> None:
    if staff_id is None:
        return
    try:
        await scope.get(Staff, staff_id)
    except NotFound:
        raise ValidationFailed({"staff_id": "is not a stylist of this salon"}) from None


async def list_formulas(
    scope: TenantScope, client_id: Any, limit: int | None = None
) -> list[dict[str, Any]]:
    """Return a client's formulas, newest first, with the stylist's name."""
    await client_row(scope, client_id)
    query = (
        scope.select(SalonFormula)
        .where(SalonFormula.client_id == as_uuid(client_id))
        .order_by(SalonFormula.created_at, ascending=False)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = await query
    staff_ids = {row["staff_id"] for row in rows if row["staff_id"]}
    names = {
        row["id"]: row["name"]
        for row in (await scope.get_many(Staff, staff_ids)).values()
    }
    return [formula_view(row, names) for row in rows]


def formula_view(row: dict[str, Any], names: dict[uuid.UUID, str]) -> dict[str, Any]:
    """Return a formula as the API lists it."""
    return {
        "id": str(row["id"]),
        "client_id": str(row["client_id"]),
        "staff_id": str(row["staff_id"]) if row["staff_id"] else None,
        "staff_name": names.get(row["staff_id"], "") if row["staff_id"] else "",
        "formula": row["formula"],
        "developer": row["developer"],
        "processing_minutes": row["processing_minutes"],
        "notes": row["notes"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


async def add_formula(
    scope: TenantScope, client_id: Any, values: dict[str, Any]
) -> dict[str, Any]:
    """Store a new formula for a client and return it."""
    await client_row(scope, client_id)
    clean = clean_formula(values)
    await _check_staff(scope, clean.get("staff_id"))
    now = utcnow()
    row = SalonFormula(
        client_id=as_uuid(client_id),
        staff_id=clean.get("staff_id"),
        formula=clean["formula"],
        developer=clean.get("developer", ""),
        processing_minutes=clean.get("processing_minutes"),
        notes=clean.get("notes", ""),
        created_at=now,
        updated_at=now,
    )
    async with write_transaction():
        await scope.insert(row)
    return await get_formula(scope, row.id)


async def get_formula(scope: TenantScope, formula_id: Any) -> dict[str, Any]:
    """Return one formula, or raise NotFound."""
    row = await scope.get(SalonFormula, str(formula_id))
    names: dict[uuid.UUID, str] = {}
    if row["staff_id"]:
        staff = await scope.get_many(Staff, [row["staff_id"]])
        names = {key: value["name"] for key, value in staff.items()}
    return formula_view(row, names)


async def update_formula(
    scope: TenantScope, formula_id: Any, values: dict[str, Any]
) -> dict[str, Any]:
    """Change some fields of a formula and return it."""
    row = await scope.get(SalonFormula, str(formula_id))
    clean = clean_formula(values, partial=True)
    await _check_staff(scope, clean.get("staff_id"))
    if clean:
        changes: dict[Any, Any] = {
            getattr(SalonFormula, key): value for key, value in clean.items()
        }
        changes[SalonFormula.updated_at] = utcnow()
        async with write_transaction():
            await scope.update(SalonFormula, changes).where(
                SalonFormula.id == row["id"]
            )
    return await get_formula(scope, row["id"])


async def delete_formula(scope: TenantScope, formula_id: Any) -> None:
    """Delete a formula, or raise NotFound."""
    row = await scope.get(SalonFormula, str(formula_id))
    async with write_transaction():
        await scope.delete(SalonFormula).where(SalonFormula.id == row["id"])


async def formula_panel(scope: TenantScope, client: dict[str, Any]) -> str:
    """Return the client panel: the latest formulas and a link to edit them."""
    formulas = await list_formulas(scope, client["id"], limit=PANEL_FORMULAS)
    link = f"/t/{scope.tenant.slug}/staff/plugins/salon/clients/{client['id']}/formulas"
    items = []
    for formula in formulas:
        details = [formula["developer"]]
        if formula["processing_minutes"] is not None:
            details.append(f"{formula['processing_minutes']} min")
        if formula["staff_name"]:
            details.append(formula["staff_name"])
        details.append(formula["created_at"][:10])
        items.append(
            Markup(
                '<li><strong>{}</strong> <span class="muted">{}</span>{}</li>'
            ).format(
                formula["formula"],
                " · ".join(detail for detail in details if detail),
                Markup("<br>{}").format(formula["notes"]) if formula["notes"] else "",
            )
        )
    body = (
        Markup('<ul class="salon-formulas">{}</ul>').format(Markup("").join(items))
        if items
        else Markup('<p class="muted">No colour formula recorded yet.</p>')
    )
    return str(
        Markup(
            '<section class="salon-panel" id="salon-formulas">'
            "<h2>Colour formulas</h2>{}"
            '<p><a href="{}" id="salon-formulas-edit">Add or edit formulas</a></p>'
            "</section>"
        ).format(body, escape(link))
    )
