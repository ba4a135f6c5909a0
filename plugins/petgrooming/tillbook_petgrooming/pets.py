"""Pets as client dependents, and their vaccinations.

Every function takes the request's ``TenantScope``; a pet or client of
another tenant is reported as not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from tillbook import (
    Client,
    TenantScope,
    ValidationFailed,
    utcnow,
    write_transaction,
)
from tillbook_petgrooming.rules import COATS, MAX_NAME, SIZES, SPECIES, GroomingRules
from tillbook_petgrooming.tables import Pet, PetVaccination

TEXT_LIMITS = {"name": 100, "breed": 100, "temperament": 200, "notes": 2000}
CHOICES = {"species": SPECIES, "size": SIZES, "coat": COATS}
MAX_VACCINATIONS = 20


def _parse_vaccinations(value: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        errors["vaccinations"] = (
            'must be a list such as [{"name": "Rabies", "expires_on": "2027-05-31"}]'
        )
        return []
    if len(value) > MAX_VACCINATIONS:
        errors["vaccinations"] = f"lists {len(value)}; at most {MAX_VACCINATIONS}"
        return []
    parsed: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        field = f"vaccinations[{index}]"
        if not isinstance(item, Mapping):
            errors[field] = 'must be an object with "name" and "expires_on"'
            continue
        name = " ".join(str(item.get("name") or "").split())
        if not name or len(name) > MAX_NAME:
            errors[f"{field}.name"] = f"must be 1 to {MAX_NAME} characters"
            continue
        try:
            expires = date.fromisoformat(str(item.get("expires_on") or ""))
        except ValueError:
            errors[f"{field}.expires_on"] = "must be a date as YYYY-MM-DD"
            continue
        if name.lower() in {known["name"].lower() for known in parsed}:
            errors[f"{field}.name"] = f'"{name}" is listed twice; keep one'
            continue
        parsed.append({"name": name, "expires_on": expires})
    return parsed


def clean_pet(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validate pet fields; raise ValidationFailed naming each bad field.

    ``partial`` allows missing fields (an update); a new pet needs a name.
    ``vaccinations``, when given, is returned parsed under the same key.
    """
    errors: dict[str, str] = {}
    known = {*TEXT_LIMITS, *CHOICES, "vaccinations"}
    for key in values:
        if key not in known:
            errors[str(key)] = "is not a pet field; use " + ", ".join(sorted(known))
    cleaned: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name not in values:
            continue
        text = values[name]
        if not isinstance(text, str) or len(text.strip()) > limit:
            errors[name] = f"must be text of at most {limit} characters"
            continue
        cleaned[name] = text.strip()
    for name, choices in CHOICES.items():
        if name not in values:
            continue
        choice = str(values[name] or "").strip().lower()
        if choice not in choices:
            errors[name] = f'"{values[name]}" is unknown; use {", ".join(choices)}'
            continue
        cleaned[name] = choice
    if not partial and not cleaned.get("name"):
        errors.setdefault("name", "is required: the pet's name")
    if partial and "name" in cleaned and not cleaned["name"]:
        errors["name"] = "must not be empty"
    if "vaccinations" in values:
        cleaned["vaccinations"] = _parse_vaccinations(values["vaccinations"], errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def pet_json(pet: Mapping[str, Any], vaccinations: list[dict[str, Any]]) -> dict:
    """Return a pet and its vaccinations as JSON-ready values."""
    return {
        "id": str(pet["id"]),
        "client_id": str(pet["client_id"]),
        "name": pet["name"],
        "species": pet["species"],
        "breed": pet["breed"],
        "size": pet["size"],
        "coat": pet["coat"],
        "temperament": pet["temperament"],
        "notes": pet["notes"],
        "vaccinations": [
            {"name": row["name"], "expires_on": row["expires_on"].isoformat()}
            for row in sorted(vaccinations, key=lambda row: row["name"].lower())
        ],
    }


async def _vaccinations_by_pet(
    scope: TenantScope, pet_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = {pet_id: [] for pet_id in pet_ids}
    if not pet_ids:
        return found
    rows = await scope.select(PetVaccination).where(
        PetVaccination.pet_id.is_in(pet_ids)
    )
    for row in rows:
        found.setdefault(row["pet_id"], []).append(row)
    return found


async def list_pets(scope: TenantScope, client_id: uuid.UUID | str) -> list[dict]:
    """Return a client's active pets with their vaccinations, by name.

    Raises NotFound when the client is not this tenant's.
    """
    client = await scope.get(Client, client_id)
    pets = list(
        await scope.select(Pet)
        .where(Pet.client_id == client["id"])
        .where(Pet.active == True)  # noqa: E712 (a piccolo condition)
        .order_by(Pet.name)
    )
    vaccinations = await _vaccinations_by_pet(scope, [pet["id"] for pet in pets])
    return [pet_json(pet, vaccinations[pet["id"]]) for pet in pets]


async def get_pet(scope: TenantScope, pet_id: uuid.UUID | str) -> dict[str, Any]:
    """Return one pet with its vaccinations; raise NotFound for another tenant's."""
    pet = await scope.get(Pet, pet_id)
    vaccinations = await _vaccinations_by_pet(scope, [pet["id"]])
    return pet_json(pet, vaccinations[pet["id"]])


async def _write_vaccinations(
    scope: TenantScope, pet_id: uuid.UUID, vaccinations: list[dict[str, Any]]
) -> None:
    await scope.delete(PetVaccination).where(PetVaccination.pet_id == pet_id)
    await scope.insert(
        *(
            PetVaccination(
                pet_id=pet_id, name=item["name"], expires_on=item["expires_on"]
            )
            for item in vaccinations
        )
    )


async def insert_pet(
    scope: TenantScope, client_id: uuid.UUID, cleaned: dict[str, Any]
) -> uuid.UUID:
    """Insert a validated pet inside the caller's transaction; return its id."""
    vaccinations = cleaned.pop("vaccinations", [])
    pet_id = uuid.uuid4()
    await scope.insert(
        Pet(id=pet_id, client_id=client_id, created_at=utcnow(), **cleaned)
    )
    await _write_vaccinations(scope, pet_id, vaccinations)
    return pet_id


async def create_pet(
    scope: TenantScope, client_id: uuid.UUID | str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Add a pet to a client's file; return it.

    Raises NotFound for an unknown client and ValidationFailed naming each
    bad field.
    """
    cleaned = clean_pet(values, partial=False)
    async with write_transaction():
        client = await scope.get(Client, client_id)
        pet_id = await insert_pet(scope, client["id"], cleaned)
    return await get_pet(scope, pet_id)


async def update_pet(
    scope: TenantScope, pet_id: uuid.UUID | str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Change some of a pet's fields; ``vaccinations`` replaces the whole list."""
    cleaned = clean_pet(values, partial=True)
    async with write_transaction():
        pet = await scope.get(Pet, pet_id)
        vaccinations = cleaned.pop("vaccinations", None)
        if cleaned:
            changes: dict[Any, Any] = dict(cleaned)
            await scope.update(Pet, changes).where(Pet.id == pet["id"])
        if vaccinations is not None:
            await _write_vaccinations(scope, pet["id"], vaccinations)
    return await get_pet(scope, pet["id"])


async def archive_pet(scope: TenantScope, pet_id: uuid.UUID | str) -> None:
    """Hide a pet from booking and lists; its visits and report cards stay."""
    async with write_transaction():
        pet = await scope.get(Pet, pet_id)
        await scope.update(Pet, {Pet.active: False}).where(Pet.id == pet["id"])


def vaccination_problems(
    rules: GroomingRules, pet: Mapping[str, Any], day: date
) -> list[tuple[str, str]]:
    """Return why ``pet`` may not be groomed on ``day``: (vaccination, sentence).

    ``pet`` is ``pet_json`` output. A vaccination is valid through its
    expiry date, so it must expire on ``day`` or later.
    """
    on_file = {item["name"].lower(): item for item in pet["vaccinations"]}
    problems = []
    for name in rules.required_for(pet["species"]):
        item = on_file.get(name.lower())
        if item is None:
            problems.append(
                (
                    name,
                    f"{pet['name']} has no {name} vaccination on file; "
                    "add it with its expiry date before booking",
                )
            )
        elif date.fromisoformat(item["expires_on"]) < day:
            problems.append(
                (
                    name,
                    f"{pet['name']}'s {name} vaccination expired on "
                    f"{item['expires_on']}, before the appointment on "
                    f"{day.isoformat()}",
                )
            )
    return problems
