"""Booking a grooming appointment for a pet: fields, timing, validation, records.

A booking names its pet by ``petgrooming.pet_id`` (one of the client's
pets) or by ``petgrooming.pet_name``. A name that matches none of the
client's pets adds a new pet with the species, breed, size, coat and
vaccination dates given in the other fields. Vaccination dates given with
a booking also update the pet's file when they are later than the dates on
it.

Several pets groom in one kernel visit by giving each item of the visit its
own fields. Each hook call then receives one item's pet, so every pet gets its
own length and price, and one pet's expired vaccination rejects the whole
visit.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

from tillbook import Client, NotFound, TenantScope, utcnow
from tillbook_petgrooming.pets import (
    get_pet,
    insert_pet,
    vaccination_problems,
)
from tillbook_petgrooming.rules import (
    COATS,
    MAX_NAME,
    PLUGIN,
    SIZES,
    SPECIES,
    GroomingRules,
)
from tillbook_petgrooming.tables import GroomingVisit, Pet, PetVaccination

PET_ID = f"{PLUGIN}.pet_id"
PET_NAME = f"{PLUGIN}.pet_name"
VACCINATION_PREFIX = f"{PLUGIN}.vaccination."


def vaccination_field(name: str) -> str:
    """Return the booking field that carries a vaccination's expiry date."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return f"{VACCINATION_PREFIX}{slug}"


def _all_required(rules: GroomingRules) -> list[str]:
    names: list[str] = []
    for group in rules.required_vaccinations.values():
        for name in group:
            if name.lower() not in {known.lower() for known in names}:
                names.append(name)
    return names


def booking_fields(rules: GroomingRules) -> list[dict[str, Any]]:
    """Return the fields a grooming booking form shows."""

    def select(name: str, label: str, values: tuple[str, ...], help: str) -> dict:
        return {
            "name": f"{PLUGIN}.{name}",
            "label": label,
            "type": "select",
            "required": False,
            "choices": [{"value": "", "label": "—"}]
            + [{"value": value, "label": value.title()} for value in values],
            "help": help,
        }

    fields: list[dict[str, Any]] = [
        {
            "name": PET_ID,
            "label": "Pet on file (staff)",
            "type": "text",
            "required": False,
            "choices": [],
            "help": "Staff: the id of one of the client's pets. Clients: leave "
            "this empty and give your pet's name below.",
        },
        {
            "name": PET_NAME,
            "label": "Pet's name",
            "type": "text",
            "required": False,
            "choices": [],
            "help": "The pet this appointment is for. A new pet is added to the "
            "client's file.",
        },
        select("species", "Species", SPECIES, "For a new pet."),
        {
            "name": f"{PLUGIN}.breed",
            "label": "Breed",
            "type": "text",
            "required": False,
            "choices": [],
            "help": "For a new pet, such as Cockapoo.",
        },
        select("size", "Size", SIZES, "Sets the length and price of the groom."),
        select("coat", "Coat", COATS, "Sets the length and price of the groom."),
    ]
    for name in _all_required(rules):
        fields.append(
            {
                "name": vaccination_field(name),
                "label": f"{name} vaccination valid until",
                "type": "date",
                "required": False,
                "choices": [],
                "help": "The expiry date on the certificate; needed for a new pet.",
            }
        )
    return fields


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(f"{PLUGIN}.{name}")
    return " ".join(str(value).split()) if value is not None else ""


def _given_dates(
    rules: GroomingRules, fields: dict[str, Any], errors: dict[str, str]
) -> dict[str, date]:
    """Return vaccination expiry dates given in the booking fields, by name."""
    given: dict[str, date] = {}
    for name in _all_required(rules):
        field = vaccination_field(name)
        text = str(fields.get(field) or "").strip()
        if not text:
            continue
        try:
            given[name] = date.fromisoformat(text)
        except ValueError:
            errors[field] = f'"{text}" is not a date; use YYYY-MM-DD'
    return given


def _with_dates(pet: dict[str, Any], given: dict[str, date]) -> dict[str, Any]:
    """Return ``pet`` with each given date replacing an earlier one on file."""
    on_file = {item["name"].lower(): dict(item) for item in pet["vaccinations"]}
    for name, expires in given.items():
        item = on_file.get(name.lower())
        if item is None:
            on_file[name.lower()] = {"name": name, "expires_on": expires.isoformat()}
        elif date.fromisoformat(item["expires_on"]) < expires:
            item["expires_on"] = expires.isoformat()
    return {**pet, "vaccinations": list(on_file.values())}


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def resolve_pet(
    scope: TenantScope,
    rules: GroomingRules,
    client_id: str | None,
    fields: dict[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Return the pet a booking is for (``id`` None for a new one) and errors.

    Returns ``(None, {})`` when the fields name no pet at all.
    """
    errors: dict[str, str] = {}
    given = _given_dates(rules, fields, errors)
    pet_id = _text(fields, "pet_id")
    name = _text(fields, "pet_name")
    if pet_id:
        try:
            pet = await get_pet(scope, pet_id)
        except NotFound:  # also raised for an id that is not a UUID
            pet = None
        if pet is None or pet["client_id"] != str(client_id):
            errors[PET_ID] = "is not one of this client's pets; choose another"
            return None, errors
        return _with_dates(pet, given), errors
    if not name:
        return None, errors
    if len(name) > MAX_NAME:
        errors[PET_NAME] = f"must be at most {MAX_NAME} characters"
        return None, errors
    client_key = _uuid_or_none(client_id)
    if client_key is not None:
        pets = await scope.select(Pet, Pet.id, Pet.name).where(
            (Pet.client_id == client_key) & (Pet.active == True)  # noqa: E712
        )
        for match in pets:
            if match["name"].lower() == name.lower():
                return _with_dates(await get_pet(scope, match["id"]), given), errors
    new_pet: dict[str, Any] = {
        "id": None,
        "client_id": str(client_id) if client_id else None,
        "name": name,
        "breed": _text(fields, "breed")[:100],
        "temperament": "",
        "notes": "",
        "vaccinations": [],
    }
    for key, choices, default in (
        ("species", SPECIES, "dog"),
        ("size", SIZES, "medium"),
        ("coat", COATS, "short"),
    ):
        value = _text(fields, key).lower() or default
        if value not in choices:
            errors[f"{PLUGIN}.{key}"] = (
                f'"{value}" is unknown; use {", ".join(choices)}'
            )
        new_pet[key] = value
    return _with_dates(new_pet, given), errors


def local_day(scope: TenantScope, start: Any) -> date:
    """Return the tenant-local date of an ISO 8601 instant or a datetime."""
    instant = start if isinstance(start, datetime) else datetime.fromisoformat(start)
    return instant.astimezone(scope.tenant.zone).date()


async def _visit_pets(scope: TenantScope, appointment_id: str) -> list[dict]:
    try:
        key = uuid.UUID(str(appointment_id))
    except ValueError:
        return []
    visits = await scope.select(GroomingVisit, GroomingVisit.pet_id).where(
        GroomingVisit.appointment_id == key
    )
    return [await get_pet(scope, visit["pet_id"]) for visit in visits]


async def validate_booking(
    scope: TenantScope, rules: GroomingRules, booking: dict[str, Any]
) -> dict[str, str]:
    """Return errors by field for an appointment booking, empty when valid.

    A booking with ``appointment_id`` and no grooming field is a reschedule.
    The pets already on that appointment are then checked for the new date.
    """
    if booking.get("kind") != "appointment":
        return {}
    fields = dict(booking.get("fields") or {})
    day = local_day(scope, booking["start"])
    ours = any(key.startswith(f"{PLUGIN}.") and fields[key] for key in fields)
    if not ours and booking.get("appointment_id"):
        pets = await _visit_pets(scope, booking["appointment_id"])
        problems = [
            message
            for pet in pets
            for _name, message in vaccination_problems(rules, pet, day)
        ]
        return {PET_ID: "; ".join(problems)} if problems else {}
    pet, errors = await resolve_pet(scope, rules, booking.get("client_id"), fields)
    if pet is None:
        if not errors:
            errors[PET_NAME] = (
                "is required: choose one of the client's pets or give the pet's name"
            )
        return errors
    for name, message in vaccination_problems(rules, pet, day):
        errors[vaccination_field(name)] = message
    return errors


async def service_timing(
    scope: TenantScope,
    rules: GroomingRules,
    service: dict[str, Any],
    fields: dict[str, Any],
) -> dict[str, int] | None:
    """Return the duration and price of ``service`` for the booked pet, or None.

    None leaves the kernel's values: a class, a flat service, or no size
    and coat known yet.
    """
    if service.get("kind", "appointment") != "appointment":
        return None
    if not rules.is_sized(str(service.get("name", ""))):
        return None
    size = _text(fields, "size").lower()
    coat = _text(fields, "coat").lower()
    pet_id = _text(fields, "pet_id")
    if pet_id:
        try:
            pet = await get_pet(scope, pet_id)
        except NotFound:  # the validation hook reports the bad id
            return None
        size, coat = pet["size"], pet["coat"]
    if size not in SIZES and coat not in COATS:
        return None
    return rules.timing(
        int(service["duration_minutes"]),
        int(service["price"]),
        size if size in SIZES else SIZES[0],
        coat if coat in COATS else COATS[0],
    )


async def record_booking(
    scope: TenantScope, rules: GroomingRules, booking: dict[str, Any]
) -> None:
    """Store the booked pet (new or updated) and its visit row.

    Runs inside the booking's transaction.
    """
    if booking.get("kind") != "appointment" or not booking.get("appointment_id"):
        return
    fields = dict(booking.get("fields") or {})
    client_id = booking.get("client_id")
    pet, errors = await resolve_pet(scope, rules, client_id, fields)
    if pet is None or errors or not client_id:
        return
    client = await scope.get(Client, client_id)
    vaccinations = [
        {"name": item["name"], "expires_on": date.fromisoformat(item["expires_on"])}
        for item in pet["vaccinations"]
    ]
    if pet["id"] is None:
        pet_id = await insert_pet(
            scope,
            client["id"],
            {
                "name": pet["name"],
                "species": pet["species"],
                "breed": pet["breed"],
                "size": pet["size"],
                "coat": pet["coat"],
                "vaccinations": vaccinations,
            },
        )
    else:
        pet_id = uuid.UUID(pet["id"])
        await scope.delete(PetVaccination).where(PetVaccination.pet_id == pet_id)
        await scope.insert(
            *(
                PetVaccination(
                    pet_id=pet_id, name=item["name"], expires_on=item["expires_on"]
                )
                for item in vaccinations
            )
        )
    await scope.insert(
        GroomingVisit(
            appointment_id=uuid.UUID(str(booking["appointment_id"])),
            pet_id=pet_id,
            created_at=utcnow(),
        )
    )
