"""The plugin's JSON API and staff pages.

API paths start with ``/api/`` and are served under
``/t/{slug}/api/v1/plugins/petgrooming/``; page paths are served under
``/t/{slug}/staff/plugins/petgrooming/``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect

from tillbook import (
    DESK,
    Appointment,
    Client,
    Service,
    TenantScope,
    ValidationFailed,
    plugin_settings,
)
from tillbook_petgrooming.pages import back, render
from tillbook_petgrooming.pets import (
    archive_pet,
    create_pet,
    get_pet,
    list_pets,
    update_pet,
    vaccination_problems,
)
from tillbook_petgrooming.rules import COATS, PLUGIN, SIZES, SPECIES, parse_rules
from tillbook_petgrooming.visits import (
    add_pet,
    check_in,
    day_list,
    list_visits,
    update_log,
)

ROLES = {"roles": DESK}


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed({"body": "must be a JSON object"})
    return data


# JSON API


@get("/api/clients/{client_id:str}/pets", opt=ROLES)
async def pets_index(
    tenant_scope: NamedDependency[TenantScope], client_id: FromPath[str]
) -> list[dict[str, Any]]:
    """List a client's pets with their vaccinations."""
    return await list_pets(tenant_scope, client_id)


@post("/api/clients/{client_id:str}/pets", opt=ROLES, status_code=201)
async def pets_create(
    tenant_scope: NamedDependency[TenantScope],
    client_id: FromPath[str],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Add a pet: ``name`` (required), ``species``, ``breed``, ``size``, ``coat``,
    ``temperament``, ``notes`` and ``vaccinations`` (``[{name, expires_on}]``).

    Raises 404 for an unknown client and 422 naming each bad field.
    """
    return await create_pet(tenant_scope, client_id, _object(data))


@get("/api/pets/{pet_id:str}", opt=ROLES)
async def pets_show(
    tenant_scope: NamedDependency[TenantScope], pet_id: FromPath[str]
) -> dict[str, Any]:
    """Return one pet with its vaccinations."""
    return await get_pet(tenant_scope, pet_id)


@patch("/api/pets/{pet_id:str}", opt=ROLES)
async def pets_update(
    tenant_scope: NamedDependency[TenantScope],
    pet_id: FromPath[str],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Change some of a pet's fields; ``vaccinations`` replaces the whole list."""
    return await update_pet(tenant_scope, pet_id, _object(data))


@delete("/api/pets/{pet_id:str}", opt=ROLES, status_code=204)
async def pets_archive(
    tenant_scope: NamedDependency[TenantScope], pet_id: FromPath[str]
) -> None:
    """Archive a pet: it leaves lists and booking, its report cards stay."""
    await archive_pet(tenant_scope, pet_id)


@get("/api/appointments/{appointment_id:str}/visits", opt=ROLES)
async def visits_index(
    tenant_scope: NamedDependency[TenantScope], appointment_id: FromPath[str]
) -> list[dict[str, Any]]:
    """List the pets on an appointment with their check-in and treatment log."""
    return await list_visits(tenant_scope, appointment_id)


@post("/api/appointments/{appointment_id:str}/visits", opt=ROLES, status_code=201)
async def visits_create(
    tenant_scope: NamedDependency[TenantScope],
    appointment_id: FromPath[str],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Put another of the client's pets on the appointment: ``{"pet_id": ...}``."""
    return await add_pet(tenant_scope, appointment_id, _object(data).get("pet_id"))


@post("/api/visits/{visit_id:str}/check-in", opt=ROLES, status_code=200)
async def visits_check_in(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    visit_id: FromPath[str],
) -> dict[str, Any]:
    """Mark the pet, and its appointment when still booked, as arrived.

    A second check-in keeps the first time.
    """
    return await check_in(tenant_scope, visit_id, actor.account_id)


@patch("/api/visits/{visit_id:str}", opt=ROLES)
async def visits_log(
    tenant_scope: NamedDependency[TenantScope],
    visit_id: FromPath[str],
    data: JSONBody[Any],
) -> dict[str, Any]:
    """Write the treatment log: ``notes``, ``services_done``, ``products_used``,
    ``behaviour`` and ``finished`` (true stamps the end of the groom).
    """
    return await update_log(tenant_scope, visit_id, _object(data))


# Staff pages


def _day(text: str | None, scope: TenantScope) -> date:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return datetime.now(scope.tenant.zone).date()


@get("/today", opt=ROLES)
async def today_page(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
) -> Response[str]:
    """Show the day's grooming appointments, each linking to its check-in page."""
    day = _day(request.query_params.get("date"), tenant_scope)
    appointments = await day_list(tenant_scope, day)
    return render(
        "today.html",
        tenant_scope,
        actor,
        day=day.isoformat(),
        appointments=appointments,
    )


@get("/appointments/{appointment_id:str}", opt=ROLES)
async def visit_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    appointment_id: FromPath[str],
) -> Response[str]:
    """Show check-in, the treatment log per pet and the way to checkout."""
    appointment = await tenant_scope.get(Appointment, appointment_id)
    client = await tenant_scope.get(Client, appointment["client_id"])
    service = await tenant_scope.get(Service, appointment["service_id"])
    rules, _errors = parse_rules(await plugin_settings(tenant_scope, PLUGIN))
    zone = tenant_scope.tenant.zone
    day = appointment["start_at"].astimezone(zone).date()

    visits = await list_visits(tenant_scope, appointment["id"])
    for visit in visits:
        visit["problems"] = [
            message for _name, message in vaccination_problems(rules, visit["pet"], day)
        ]

    on_visit = {visit["pet"]["id"] for visit in visits}
    spare = [
        pet
        for pet in await list_pets(tenant_scope, client["id"])
        if pet["id"] not in on_visit
    ]
    return render(
        "visit.html",
        tenant_scope,
        actor,
        appointment_id=str(appointment["id"]),
        client_id=str(client["id"]),
        client_name=f"{client['first_name']} {client['last_name']}".strip(),
        service=service["name"],
        status=appointment["status"],
        open=appointment["status"] in ("booked", "checked_in"),
        when=appointment["start_at"].astimezone(zone).strftime("%a %d %b %H:%M"),
        visits=visits,
        spare_pets=spare,
    )


@post("/appointments/{appointment_id:str}/pets", opt=ROLES)
async def visit_add_pet(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    appointment_id: FromPath[str],
) -> Redirect:
    """Put the chosen pet on the appointment and go back to it."""
    form = await request.form()
    visit = await add_pet(tenant_scope, appointment_id, form.get("pet_id"))
    return back(tenant_scope, f"/appointments/{visit['appointment_id']}")


@post("/visits/{visit_id:str}/check-in", opt=ROLES)
async def visit_check_in(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    visit_id: FromPath[str],
) -> Redirect:
    """Check the pet in and go back to its appointment."""
    visit = await check_in(tenant_scope, visit_id, actor.account_id)
    return back(
        tenant_scope,
        f"/appointments/{visit['appointment_id']}#pet-{visit['pet']['id']}",
    )


@post("/visits/{visit_id:str}/log", opt=ROLES)
async def visit_log(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    visit_id: FromPath[str],
) -> Redirect:
    """Save the treatment log from the form and go back to the appointment."""
    form = await request.form()
    values: dict[str, Any] = {
        name: str(form.get(name, ""))
        for name in ("notes", "services_done", "products_used", "behaviour")
    }
    values["finished"] = form.get("finished") == "1"
    visit = await update_log(tenant_scope, visit_id, values)
    return back(
        tenant_scope,
        f"/appointments/{visit['appointment_id']}#pet-{visit['pet']['id']}",
    )


def _pet_form(form: Any) -> dict[str, Any]:
    """Read the pet form; vaccinations come as lines of "name YYYY-MM-DD"."""
    values: dict[str, Any] = {
        name: str(form.get(name, ""))
        for name in ("name", "species", "breed", "size", "coat", "temperament", "notes")
    }
    vaccinations = []
    for line in str(form.get("vaccinations", "")).splitlines():
        line = line.strip()
        if not line:
            continue
        name, _, expires = line.rpartition(" ")
        vaccinations.append({"name": name or line, "expires_on": expires})
    values["vaccinations"] = vaccinations
    return values


async def _client_page(
    scope: TenantScope,
    actor: Any,
    client_id: str,
    errors: dict[str, str] | None = None,
    new_pet: dict[str, Any] | None = None,
) -> Response[str]:
    client = await scope.get(Client, client_id)
    return render(
        "client.html",
        scope,
        actor,
        status_code=422 if errors else 200,
        client_id=str(client["id"]),
        client_name=f"{client['first_name']} {client['last_name']}".strip(),
        pets=await list_pets(scope, client["id"]),
        new_pet=new_pet or {"species": "dog", "size": "medium", "coat": "short"},
        errors=errors or {},
        species=SPECIES,
        sizes=SIZES,
        coats=COATS,
    )


@get("/clients/{client_id:str}", opt=ROLES)
async def client_page(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    client_id: FromPath[str],
) -> Response[str]:
    """Show a client's pets, each editable, and a form to add one."""
    return await _client_page(tenant_scope, actor, client_id)


@post("/clients/{client_id:str}/pets", opt=ROLES)
async def client_add_pet(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    client_id: FromPath[str],
) -> Response[str] | Redirect:
    """Add a pet from the form; show the form again with errors (422)."""
    values = _pet_form(await request.form())
    try:
        pet = await create_pet(tenant_scope, client_id, values)
    except ValidationFailed as exc:
        return await _client_page(tenant_scope, actor, client_id, exc.errors, values)
    return back(tenant_scope, f"/clients/{pet['client_id']}")


@post("/pets/{pet_id:str}", opt=ROLES)
async def pet_save(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Any],
    pet_id: FromPath[str],
) -> Response[str] | Redirect:
    """Save a pet from the form; show the page again with errors (422)."""
    pet = await get_pet(tenant_scope, pet_id)
    try:
        await update_pet(tenant_scope, pet_id, _pet_form(await request.form()))
    except ValidationFailed as exc:
        return await _client_page(tenant_scope, actor, pet["client_id"], exc.errors)
    return back(tenant_scope, f"/clients/{pet['client_id']}")


ROUTES: list[Any] = [
    pets_index,
    pets_create,
    pets_show,
    pets_update,
    pets_archive,
    visits_index,
    visits_create,
    visits_check_in,
    visits_log,
    today_page,
    visit_page,
    visit_add_pet,
    visit_check_in,
    visit_log,
    client_page,
    client_add_pet,
    pet_save,
]
