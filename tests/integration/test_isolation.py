"""No route lets one tenant reach another tenant's rows, and every route is guarded.

The walker reads the routes from the running app, so a route added later is
checked without editing this file. For every path with an id parameter it
calls each HTTP method as tenant A's owner with tenant B's ids and expects
404, the response for a row that does not exist.

A typed body is filled in from its field types. An untyped body is tried as
``{}`` and then as ``[]``. The call passes when one body gets 404 and none
succeeds. A handler that rejects every body before it looks the id up fails
the walk, because it must look the id up first: then another tenant's id
gets 404 whatever the body.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import secrets
import types
import typing
import uuid
from decimal import Decimal
from typing import Any

from litestar.routes import HTTPRoute

from tests.support import TenantHandle, make_tenant
from tillbook.db.base import utcnow
from tillbook.db.tables import TENANT_TABLES
from tillbook.kernel.catalog.tables import Service
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.tables import Ticket
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.plugins import get_plugin_manager

PATH_PARAM = re.compile(r"\{(\w+):(\w+)\}")
# Parameters that litestar fills itself or that come from dependencies.
RESERVED = {"request", "data", "state", "headers", "query", "cookies", "scope"}
RESERVED |= {"body", "socket"}
# Id parameter stems that do not spell their table's name.
ALIASES = {
    "plan": "package_plan",
    "token": "api_token",
    "card": "gift_card",
    "line": "ticket_line",
    "package": "client_package",
    "mail": "mail_message",
    "message": "mail_message",
    "event": "outbox_event",
    "entry": "journal_entry",
    "provider": "staff",
    "member": "account",
    "membership": "account",
    "history": "client_history",
    "hours": "working_hours",
    "audit": "audit_entry",
    "tender": "tender",
    "tip": "tip",
}
# Routes this product defines that the walker must find. If it finds fewer,
# the walk itself is broken.
EXPECTED_ROUTES = {
    "/t/{slug:str}/api/v1/clients/{client_id:uuid}",
    "/t/{slug:str}/api/v1/catalog/services/{service_id:uuid}",
    "/t/{slug:str}/api/v1/catalog/products/{product_id:uuid}",
    "/t/{slug:str}/api/v1/catalog/products/{product_id:uuid}/stock",
    "/t/{slug:str}/api/v1/catalog/package-plans/{plan_id:uuid}",
    "/t/{slug:str}/api/v1/accounts/{account_id:uuid}",
    "/t/{slug:str}/api/v1/tokens/{token_id:uuid}",
    "/t/{slug:str}/staff/clients/{client_id:uuid}",
}


# Seeding tenant B with one row of every kind.


def seed_every_kind(tenant: TenantHandle) -> dict[str, uuid.UUID]:
    """Create one row of every kind in ``tenant`` and return ids by table name."""
    ids: dict[str, uuid.UUID] = {}
    ids["client"] = _created(
        tenant.post("/clients", {"first_name": "Bea", "email": "bea@example.com"})
    )
    ids["product"] = _created(
        tenant.post("/catalog/products", {"name": "Oil", "price": 900, "stock": 3})
    )
    ids["service"] = _created(
        tenant.post(
            "/catalog/services",
            {"name": "Massage", "duration_minutes": 60, "price": 7000},
        )
    )
    ids["package_plan"] = _created(
        tenant.post(
            "/catalog/package-plans",
            {
                "name": "Five massages",
                "service_id": str(ids["service"]),
                "sessions": 5,
                "price": 30000,
            },
        )
    )
    ids["account"] = _created(
        tenant.post(
            "/accounts",
            {
                "email": f"desk-{secrets.token_hex(4)}@example.com",
                "name": "Desk",
                "role": "front_desk",
                "password": "desk password 1",
            },
        )
    )
    ids["api_token"] = _created(tenant.post("/tokens", {"name": "other"}))
    ids.update(tenant.run(_insert_rows, tenant, ids))
    return ids


def _created(response: Any) -> uuid.UUID:
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def _insert_rows(
    tenant: TenantHandle, known: dict[str, uuid.UUID]
) -> dict[str, uuid.UUID]:
    scope = tenant.scope
    staff = Staff(name="Sam Stylist")
    await scope.insert(staff)
    start = utcnow().replace(microsecond=0) + dt.timedelta(days=3)
    appointment = Appointment(
        client_id=known["client"],
        service_id=known["service"],
        staff_id=staff.id,
        start_at=start,
        end_at=start + dt.timedelta(hours=1),
        price=7000,
        cancel_token=secrets.token_hex(16),
        created_at=utcnow(),
    )
    await scope.insert(appointment)
    ticket = Ticket(
        number=1,
        client_id=known["client"],
        appointment_id=appointment.id,
        opened_at=utcnow(),
    )
    await scope.insert(ticket)
    ids = {"staff": staff.id, "appointment": appointment.id, "ticket": ticket.id}

    # Every other tenant table, plugin tables included, gets a row made of
    # column defaults, with id columns pointing at this tenant's rows.
    tables = list(TENANT_TABLES)
    for plugin_tables in get_plugin_manager().hook.tillbook_tables():
        tables.extend(plugin_tables)
    references = {**known, **ids}
    for table in tables:
        name = table._meta.tablename
        first = await scope.select(table, table.id).first()
        if first is not None:
            ids.setdefault(name, first["id"])
            continue
        row = table()
        for column in table._meta.columns:
            stem = column._meta.name.removesuffix("_id")
            if column._meta.name.endswith("_id") and stem in references:
                setattr(row, column._meta.name, references[stem])
        await scope.insert(row)
        ids[name] = row.id
    return ids


# Building requests from route declarations.


def id_for(param: str, ids: dict[str, uuid.UUID]) -> uuid.UUID | None:
    """Return tenant B's id for a path parameter such as ``plan_id``."""
    stem = param.removesuffix("_id")
    for kind in (stem, ALIASES.get(stem, stem)):
        if kind in ids:
            return ids[kind]
    return None


def is_id_param(name: str, kind: str) -> bool:
    """Tell whether a path parameter names a row."""
    return kind == "uuid" or name == "id" or name.endswith("_id")


def plausible(annotation: Any, name: str, ids: dict[str, uuid.UUID]) -> Any:
    """Return a JSON value that a field of this type would accept."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return plausible(args[0], name, ids)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        return plausible(options[0], name, ids) if options else None
    if origin is typing.Literal:
        return args[0]
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple):
        return []
    if origin is dict or annotation is dict:
        return {}
    if annotation is typing.Any:
        return None
    if isinstance(annotation, type):
        return _plausible_type(annotation, name, ids)
    return None


def _plausible_type(kind: type, name: str, ids: dict[str, uuid.UUID]) -> Any:
    if name.endswith("_id") or kind is uuid.UUID:
        found = id_for(name, ids)
        return str(found or uuid.uuid4())
    if issubclass(kind, enum.Enum):
        return next(iter(kind)).value
    if kind is bool:
        return False
    if issubclass(kind, int):
        return 1
    if kind in (float, Decimal):
        return "1" if kind is Decimal else 1.0
    if kind is dt.datetime:
        return "2030-01-07T10:00:00Z"
    if kind is dt.date:
        return "2030-01-07"
    if kind is dt.time:
        return "10:00"
    if kind is str:
        return "walker@example.com" if "email" in name else "walker"
    if dataclasses.is_dataclass(kind) or hasattr(kind, "__struct_fields__"):
        return _plausible_object(kind, ids)
    if typing.is_typeddict(kind):
        return _plausible_object(kind, ids)
    return None


def _plausible_object(kind: type, ids: dict[str, uuid.UUID]) -> dict[str, Any]:
    hints = typing.get_type_hints(kind, include_extras=True)
    return {field: plausible(hint, field, ids) for field, hint in hints.items()}


def candidate_bodies(annotation: Any, ids: dict[str, uuid.UUID]) -> list[Any]:
    """Return the JSON bodies to try for a ``data`` parameter of this type."""
    body = plausible(annotation, "data", ids)
    if body is None:
        return [{}, []]  # an untyped body: an object or a list
    return [body]


def request_parts(
    handler: Any, path: str, ids: dict[str, uuid.UUID]
) -> tuple[dict[str, Any], dict[str, str], list[Any]]:
    """Return the required query parameters, headers and candidate JSON bodies.

    The body list is ``[None]`` (send none) for a handler without ``data``.
    """
    path_params = {name for name, _ in PATH_PARAM.findall(path)}
    dependencies = set(handler.resolve_dependencies())
    query: dict[str, Any] = {}
    headers: dict[str, str] = {}
    bodies: list[Any] = [None]
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name == "data":
            bodies = candidate_bodies(field.annotation, ids)
            continue
        if name in path_params or name in dependencies or name in RESERVED:
            continue
        if field.has_default or field.is_optional:
            continue
        kwarg = field.kwarg_definition
        key = getattr(kwarg, "name", None) or name
        value = plausible(field.annotation, name, ids)
        if getattr(kwarg, "header", None) or type(kwarg).__name__ == (
            "HeaderParameter"
        ):
            headers[getattr(kwarg, "header", None) or key] = str(value)
        else:
            query[key] = value
    return query, headers, bodies


def walked_calls(app: Any) -> list[tuple[str, str, Any]]:
    """Return (path, method, handler) for every HTTP route with an id parameter."""
    calls = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        params = PATH_PARAM.findall(route.path)
        if not any(is_id_param(name, kind) for name, kind in params):
            continue
        for handler in route.route_handlers:
            if handler.handler_name == "options_handler":
                continue
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                calls.append((route.path, method, handler))
    return calls


def fill_path(path: str, slug: str, ids: dict[str, uuid.UUID]) -> str:
    """Put tenant A's slug and tenant B's ids into a route path."""

    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if name == "slug":
            return slug
        if is_id_param(name, kind):
            return str(id_for(name, ids) or uuid.uuid4())
        return {"int": "1", "date": "2030-01-07"}.get(kind, "walker")

    return PATH_PARAM.sub(value, path)


# The tests.


def test_other_tenants_ids_answer_404(client) -> None:
    tenant_a = make_tenant(client)
    tenant_b = make_tenant(client)
    ids = seed_every_kind(tenant_b)
    calls = walked_calls(client.app)
    walked_paths = {path for path, _, _ in calls}
    assert EXPECTED_ROUTES <= walked_paths, EXPECTED_ROUTES - walked_paths

    failures = []
    for path, method, handler in calls:
        url = fill_path(path, tenant_a.slug, ids)
        query, headers, bodies = request_parts(handler, path, ids)
        answers = []
        for body in bodies:
            options: dict[str, Any] = {
                "params": query,
                "headers": {
                    **tenant_a.headers,
                    **headers,
                    "Accept": "application/json",
                    "Idempotency-Key": secrets.token_hex(8),
                },
            }
            if body is not None:
                options["json"] = body
            response = client.request(method, url, follow_redirects=False, **options)
            answers.append(f"{response.status_code} {response.text[:160]}")
            if response.status_code < 400:
                break
        statuses = [int(answer[:3]) for answer in answers]
        if 404 not in statuses or any(status < 400 for status in statuses):
            failures.append(f"{method} {path}: " + " | ".join(answers))
    assert failures == [], "look ids up before reading the body:\n" + "\n".join(
        failures
    )


def test_b_rows_still_exist_for_b(client) -> None:
    tenant_a = make_tenant(client)
    tenant_b = make_tenant(client)
    ids = seed_every_kind(tenant_b)

    response = tenant_b.get(f"/clients/{ids['client']}")
    assert response.status_code == 200
    response = tenant_a.get(f"/clients/{ids['client']}")
    assert response.status_code == 404


def test_walker_sees_each_kind_of_id(client) -> None:
    tenant = make_tenant(client)
    ids = seed_every_kind(tenant)
    for kind in ("client", "service", "product", "package_plan", "account"):
        assert kind in ids
    for kind in ("api_token", "staff", "appointment", "ticket"):
        assert kind in ids
    assert id_for("plan_id", ids) == ids["package_plan"]
    assert id_for("token_id", ids) == ids["api_token"]
    assert id_for("appointment_id", ids) == ids["appointment"]


def test_plausible_body_fills_typed_fields() -> None:
    @dataclasses.dataclass
    class Booking:
        client_id: uuid.UUID
        start: dt.datetime
        note: str | None
        seats: int
        tags: list[str]

    ids = {"client": uuid.uuid4()}
    body = plausible(Booking, "data", ids)
    assert body["client_id"] == str(ids["client"])
    assert body["start"] == "2030-01-07T10:00:00Z"
    assert body["note"] == "walker"
    assert body["seats"] == 1
    assert body["tags"] == []


def test_every_route_declares_roles_or_public(client) -> None:
    undeclared = []
    for route in client.app.routes:
        for handler in route.route_handlers:
            if handler.handler_name == "options_handler":
                continue  # litestar's automatic OPTIONS response carries no data
            if not (handler.opt.get("roles") or handler.opt.get("public")):
                undeclared.append(f"{route.path} {handler.handler_name}")
    assert undeclared == [], "declare opt roles or public on:\n" + "\n".join(undeclared)


def test_tenant_rows_read_through_scope(client) -> None:
    tenant_a = make_tenant(client)
    tenant_b = make_tenant(client)
    seed_every_kind(tenant_b)

    async def count_clients() -> int:
        return await tenant_a.scope.count(Client)

    async def count_services() -> int:
        return await tenant_a.scope.count(Service)

    assert tenant_a.run(count_clients) == 0
    assert tenant_a.run(count_services) == 0
