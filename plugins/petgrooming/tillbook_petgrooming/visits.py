"""Grooming visits: pets on an appointment, check-in, treatment log, report card."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup

from tillbook import (
    Appointment,
    Conflict,
    NotFound,
    Service,
    Staff,
    TenantScope,
    ValidationFailed,
    check_in_appointment,
    utcnow,
    write_transaction,
)
from tillbook_petgrooming.pets import get_pet, vaccination_problems
from tillbook_petgrooming.rules import GroomingRules
from tillbook_petgrooming.tables import GroomingVisit, Pet

LOG_LIMITS = {"notes": 2000, "services_done": 1000, "products_used": 1000}
BEHAVIOUR_LIMIT = 200
OPEN_STATUSES = ("booked", "checked_in")


def visit_json(visit: Mapping[str, Any], pet: dict[str, Any]) -> dict[str, Any]:
    """Return a visit and its pet as JSON-ready values."""

    def instant(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": str(visit["id"]),
        "appointment_id": str(visit["appointment_id"]),
        "pet": pet,
        "checked_in_at": instant(visit["checked_in_at"]),
        "notes": visit["notes"],
        "services_done": visit["services_done"],
        "products_used": visit["products_used"],
        "behaviour": visit["behaviour"],
        "finished_at": instant(visit["finished_at"]),
    }


async def list_visits(
    scope: TenantScope, appointment_id: uuid.UUID | str
) -> list[dict[str, Any]]:
    """Return the pets on an appointment with their treatment logs.

    Raises NotFound when the appointment is not this tenant's.
    """
    appointment = await scope.get(Appointment, appointment_id)
    visits = await scope.select(GroomingVisit).where(
        GroomingVisit.appointment_id == appointment["id"]
    )
    found = [
        visit_json(visit, await get_pet(scope, visit["pet_id"])) for visit in visits
    ]
    return sorted(found, key=lambda visit: visit["pet"]["name"].lower())


async def add_pet(
    scope: TenantScope, appointment_id: uuid.UUID | str, pet_id: Any
) -> dict[str, Any]:
    """Put one of the client's pets on an appointment; return the new visit.

    Raises NotFound for an unknown appointment, ValidationFailed when the
    pet is not the appointment client's, and Conflict when it is already on.
    """
    async with write_transaction():
        appointment = await scope.get(Appointment, appointment_id)
        try:
            pet = await scope.get(Pet, str(pet_id))
        except NotFound:
            pet = None
        if pet is None or pet["client_id"] != appointment["client_id"]:
            raise ValidationFailed(
                {"pet_id": "is not one of this appointment's client's pets"}
            )
        existing = (
            await scope.select(GroomingVisit, GroomingVisit.id)
            .where(GroomingVisit.appointment_id == appointment["id"])
            .where(GroomingVisit.pet_id == pet["id"])
            .first()
        )
        if existing is not None:
            raise Conflict(f"{pet['name']} is already on this appointment")
        visit = GroomingVisit(
            appointment_id=appointment["id"], pet_id=pet["id"], created_at=utcnow()
        )
        await scope.insert(visit)
    return visit_json(
        await scope.get(GroomingVisit, visit.id), await get_pet(scope, pet["id"])
    )


async def check_in(
    scope: TenantScope, visit_id: uuid.UUID | str, actor_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """Mark a pet as arrived, and its appointment too when it is still booked.

    Checking a pet in twice keeps the first time. The appointment is checked
    in through the kernel, so the calendar, history and audit log show it.
    """
    async with write_transaction():
        visit = await scope.get(GroomingVisit, visit_id)
        appointment = await scope.get(Appointment, visit["appointment_id"])
        if appointment["status"] not in OPEN_STATUSES:
            raise Conflict(
                f"the appointment is {appointment['status']}: "
                "only booked appointments can be checked in"
            )
        if visit["checked_in_at"] is None:
            await scope.update(
                GroomingVisit, {GroomingVisit.checked_in_at: utcnow()}
            ).where(GroomingVisit.id == visit["id"])
        if appointment["status"] == "booked":
            await check_in_appointment(scope, appointment["id"], actor_id)
    visit = await scope.get(GroomingVisit, visit["id"])
    return visit_json(visit, await get_pet(scope, visit["pet_id"]))


def clean_log(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate treatment-log fields; raise ValidationFailed naming each bad one."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    limits = {**LOG_LIMITS, "behaviour": BEHAVIOUR_LIMIT}
    for key, value in values.items():
        if key == "finished":
            if not isinstance(value, bool):
                errors[key] = "must be true or false"
            else:
                cleaned[key] = value
        elif key in limits:
            if not isinstance(value, str) or len(value.strip()) > limits[key]:
                errors[key] = f"must be text of at most {limits[key]} characters"
            else:
                cleaned[key] = value.strip()
        else:
            errors[str(key)] = "is not a log field; use " + ", ".join(
                [*limits, "finished"]
            )
    if errors:
        raise ValidationFailed(errors)
    return cleaned


async def update_log(
    scope: TenantScope, visit_id: uuid.UUID | str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Write a pet's treatment log; ``finished`` true stamps the end of the groom.

    The log stays editable after the groom is finished, until checkout.
    """
    cleaned = clean_log(values)
    async with write_transaction():
        visit = await scope.get(GroomingVisit, visit_id)
        changes: dict[Any, Any] = {
            getattr(GroomingVisit, key): value
            for key, value in cleaned.items()
            if key != "finished"
        }
        if cleaned.get("finished") is True and visit["finished_at"] is None:
            changes[GroomingVisit.finished_at] = utcnow()
        if cleaned.get("finished") is False:
            changes[GroomingVisit.finished_at] = None
        if changes:
            await scope.update(GroomingVisit, changes).where(
                GroomingVisit.id == visit["id"]
            )
    visit = await scope.get(GroomingVisit, visit["id"])
    return visit_json(visit, await get_pet(scope, visit["pet_id"]))


async def day_list(scope: TenantScope, day: date) -> list[dict[str, Any]]:
    """Return the day's open and checked-in appointments with their pets."""
    zone = scope.tenant.zone
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = start + timedelta(days=1)
    appointments = list(
        await scope.select(Appointment)
        .where(Appointment.start_at >= start)
        .where(Appointment.start_at < end)
        .where(Appointment.status.is_in(["booked", "checked_in", "completed"]))
        .order_by(Appointment.start_at)
    )
    services = await scope.get_many(Service, [a["service_id"] for a in appointments])
    staff = await scope.get_many(Staff, [a["staff_id"] for a in appointments])
    result = []
    for appointment in appointments:
        visits = await scope.select(GroomingVisit).where(
            GroomingVisit.appointment_id == appointment["id"]
        )
        pets = [await get_pet(scope, visit["pet_id"]) for visit in visits]
        service = services.get(appointment["service_id"])
        result.append(
            {
                "id": str(appointment["id"]),
                "start": appointment["start_at"].astimezone(zone).strftime("%H:%M"),
                "status": appointment["status"],
                "service": service["name"] if service else "",
                "groomer": staff[appointment["staff_id"]]["name"]
                if appointment["staff_id"] in staff
                else "",
                "pets": [pet["name"] for pet in pets],
            }
        )
    return result


async def _ticket_visits(
    scope: TenantScope, ticket: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Return the visits of every appointment a ticket settles."""
    appointment_ids: set[uuid.UUID] = set()
    if ticket.get("appointment_id"):
        appointment_ids.add(uuid.UUID(str(ticket["appointment_id"])))
    ticket_id = uuid.UUID(str(ticket["id"]))
    for row in await scope.select(Appointment, Appointment.id).where(
        Appointment.ticket_id == ticket_id
    ):
        appointment_ids.add(row["id"])
    if not appointment_ids:
        return []
    return list(
        await scope.select(GroomingVisit)
        .where(GroomingVisit.appointment_id.is_in(list(appointment_ids)))
        .order_by(GroomingVisit.created_at)
    )


def _row(label: str, value: str) -> Markup:
    if not value:
        return Markup("")
    return Markup("<dt>{}</dt><dd>{}</dd>").format(label, value)


async def report_cards(scope: TenantScope, ticket: Mapping[str, Any]) -> list[str]:
    """Return one escaped HTML report card per pet groomed on the ticket."""
    cards = []
    for visit in await _ticket_visits(scope, ticket):
        pet = await get_pet(scope, visit["pet_id"])
        title = f"{pet['name']}'s report card"
        body = Markup("").join(
            [
                _row("Services", visit["services_done"]),
                _row("Products used", visit["products_used"]),
                _row("Behaviour", visit["behaviour"]),
                _row("Groomer's notes", visit["notes"]),
            ]
        )
        if not body:
            body = _row("Groom", "Groomed today; no notes were recorded.")
        cards.append(
            str(
                Markup(
                    '<section class="report-card"><h3>{}</h3><dl>{}</dl></section>'
                ).format(title, body)
            )
        )
    return cards


async def checkout_prompts(
    scope: TenantScope, appointment: Mapping[str, Any] | None
) -> list[str]:
    """Return reminders for pets whose treatment log is still empty."""
    if not appointment:
        return []
    visits = await scope.select(GroomingVisit).where(
        GroomingVisit.appointment_id == uuid.UUID(str(appointment["id"]))
    )
    prompts = []
    for visit in visits:
        pet = await get_pet(scope, visit["pet_id"])
        if not (visit["notes"] or visit["services_done"] or visit["products_used"]):
            prompts.append(
                f"{pet['name']}: the treatment log is empty, so the report card "
                "will be blank"
            )
        elif visit["notes"]:
            prompts.append(f"{pet['name']}: {visit['notes']}")
    return prompts


async def client_panel(
    scope: TenantScope, rules: GroomingRules, client: Mapping[str, Any], pets: list
) -> str:
    """Return the client's pets as an escaped HTML panel."""
    today = datetime.now(scope.tenant.zone).date()
    items = []
    for pet in pets:
        problems = vaccination_problems(rules, pet, today)
        vaccinations = ", ".join(
            f"{item['name']} to {item['expires_on']}" for item in pet["vaccinations"]
        )
        warning = (
            Markup('<p class="warning">{}</p>').format(
                "; ".join(message for _name, message in problems)
            )
            if problems
            else Markup("")
        )
        items.append(
            Markup(
                "<li><strong>{}</strong> ({}, {}, {} size, {} coat){}"
                "<br>Vaccinations: {}{}{}</li>"
            ).format(
                pet["name"],
                pet["species"],
                pet["breed"] or "breed not given",
                pet["size"],
                pet["coat"],
                Markup("<br>Temperament: {}").format(pet["temperament"])
                if pet["temperament"]
                else "",
                vaccinations or "none on file",
                Markup("<br>Notes: {}").format(pet["notes"]) if pet["notes"] else "",
                warning,
            )
        )
    base = f"/t/{scope.tenant.slug}/staff/plugins/petgrooming"
    grooms = [
        Markup('<li><a href="{}/appointments/{}">{}: check in and log the groom</a>'
               "</li>").format(base, appointment["id"], appointment["when"])
        for appointment in await _upcoming(scope, client["id"])
    ]  # fmt: skip
    return str(
        Markup(
            '<section class="plugin-panel petgrooming-pets"><h2>Pets</h2>'
            '<ul>{}</ul>{}<p><a href="{}/clients/{}">Manage pets</a></p></section>'
        ).format(
            Markup("").join(items) if items else Markup("<li>No pets on file.</li>"),
            Markup("<ul>{}</ul>").format(Markup("").join(grooms)) if grooms else "",
            base,
            client["id"],
        )
    )


async def _upcoming(scope: TenantScope, client_id: Any) -> list[dict[str, Any]]:
    """Return the client's next three open appointments from today on."""
    zone = scope.tenant.zone
    today = datetime.now(zone).date()
    start = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    rows = (
        await scope.select(Appointment, Appointment.id, Appointment.start_at)
        .where(Appointment.client_id == uuid.UUID(str(client_id)))
        .where(Appointment.start_at >= start)
        .where(Appointment.status.is_in(list(OPEN_STATUSES)))
        .order_by(Appointment.start_at)
        .limit(3)
    )
    return [
        {
            "id": str(row["id"]),
            "when": row["start_at"].astimezone(zone).strftime("%a %d %b %H:%M"),
        }
        for row in rows
    ]
