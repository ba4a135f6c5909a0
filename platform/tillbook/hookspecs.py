"""Every hook a Tillbook plugin may implement.

A plugin is a module registered in the ``tillbook`` entry-point group under
its plugin name (``salon = "tillbook_salon.plugin"``). It implements hooks by
decorating functions with ``tillbook.hookimpl``; an implementation may accept
fewer arguments than the spec names, but never other names. An implementation
may be a plain function or ``async def`` (it needs ``async`` to query tables
through ``scope``); the host awaits a returned coroutine.

Kernel code calls every hook with keyword arguments and awaits the call:
``prompts = await hooks.tillbook_checkout_prompts(scope=..., client=...,
appointment=..., ticket=...)``. Iterating a call without awaiting it
(``for provider in hooks.tillbook_payment_provider()``) still works for call
sites written before hooks became async, but an ``async def``
implementation then counts as a failure, so new call sites always await.

A plugin's hooks run for a tenant only while the plugin is enabled for it:
each request calls hooks through ``tillbook.plugins.TenantHooks``, a pluggy
subset caller that leaves the tenant's other plugins out. The process-level
hooks (``tillbook_tables``, ``tillbook_routes``, ``tillbook_settings_schema``,
``tillbook_migrations``) are called once per installed plugin instead.

Combining results: unless a spec says "first result", every enabled
implementation is called and the non-``None`` results are returned as a list
in call order, which is pluggy's order: the most recently registered plugin
first, with ``tryfirst`` and ``trylast`` implementations moved to the front
and the back. Entry points register in the order ``importlib.metadata``
lists the installed distributions, so a plugin that needs to run before
another marks its implementation ``tryfirst`` rather than relying on names.
For a first-result hook the calls stop at the first non-``None`` result.

Failures: a plugin that raises is logged with its name and the hook. Hooks in
``OPTIONAL_HOOKS`` (display-only additions) then skip that plugin's result
and the request goes on. For every other hook the request fails with
``tillbook.plugins.PluginFailed``: HTTP 500, code ``plugin_failed``, and the
message ``plugin salon failed in tillbook_checkout_prompts``. A
``tillbook.errors.TillbookError`` that a plugin raises on purpose in a
non-optional hook (``invalid(...)`` is one) is not a failure: it reaches the
client as that error, so ``invalid("salon.length", "...")`` becomes a 422.

Row arguments (``client``, ``appointment``, ``ticket``, ``line``,
``service``) are plain dictionaries of the row's columns with ids as strings
and money as integers in minor units. ``scope`` is the request's
``TenantScope``; plugins read and write their own tables only through it,
and read their settings (stored values over the schema's defaults) with
``await tillbook.plugin_settings(scope, "salon")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from datetime import date

    from piccolo.table import Table

    from tillbook.payments import PaymentProvider
    from tillbook.tenancy.scope import TenantScope

hookspec = pluggy.HookspecMarker("tillbook")

# Hooks whose failing plugin is skipped (and logged) instead of failing the
# request: each only adds something to a page, a receipt or a report.
OPTIONAL_HOOKS = frozenset(
    {
        "tillbook_checkout_prompts",
        "tillbook_upsell_suggestions",
        "tillbook_receipt_sections",
        "tillbook_client_panels",
        "tillbook_report_sections",
        "tillbook_branding",
        "tillbook_notification_template",
        "tillbook_staff_links",
    }
)


# Process-level hooks: tables, migrations, routes and settings.


@hookspec
def tillbook_tables() -> list[type[Table]]:
    """Return the piccolo tables the plugin owns.

    Called once at start-up, for every installed plugin, to bind the tables
    to the configured database. Results from all plugins are concatenated.
    Every table must subclass ``tillbook.TenantTable`` (it carries the
    ``tenant_id`` column) and be read and written through a ``TenantScope``.
    A failure stops start-up.
    """


@hookspec
def tillbook_migrations() -> list[Any]:
    """Return the plugin's migrations as a list of ``tillbook.PluginMigration``.

    Called for one plugin when a tenant enables it, and by ``tb migrate``
    for every installed plugin. Each ``PluginMigration(id, description,
    tables=(...), statements=(...), postgres_statements=(...), run=None)``
    creates frozen copies of its tables (like the kernel's own migrations),
    then runs its SQL statements, then awaits ``run()`` when given. The host
    applies the steps in list order, each once per database, and records
    ``(plugin, id)`` in the ``plugin_migration`` table in the same
    transaction. That transaction first takes a lock, so two enabling
    requests never apply the same step twice. Write steps that can run on a
    database where their tables already exist (``IF NOT EXISTS``), and never
    edit a shipped step: add a new one with a new id. A failure fails the
    enabling request (500 naming the plugin) and leaves the plugin disabled.
    """


@hookspec
def tillbook_routes() -> list[Any]:
    """Return the plugin's litestar route handlers.

    Called once per installed plugin when the app is built. Paths are
    relative to the plugin's mount points: a path starting with ``/api/``
    is mounted as ``/t/{slug}/api/v1/plugins/<plugin>/...`` (and
    ``/api/v1/plugins/<plugin>/...`` on a tenant's own host), and any other
    path as a staff page under ``/t/{slug}/staff/plugins/<plugin>/...``. For
    the salon plugin, ``@get("/api/formulas")`` serves
    ``/t/{slug}/api/v1/plugins/salon/formulas`` and ``@get("/formulas")``
    serves ``/t/{slug}/staff/plugins/salon/formulas``.
    Each handler declares ``opt={"roles": ...}`` (``tillbook.DESK``,
    ``tillbook.MANAGERS``, ...) or ``opt={"public": True}``, like kernel
    routes, and may take the ``tenant_scope``, ``actor`` and ``hooks``
    dependencies. On a tenant that has not enabled the plugin every route
    returns 404, after the role check: a caller who is not signed in gets
    401 first, as on kernel routes.
    """


@hookspec(firstresult=True)
def tillbook_settings_schema() -> dict[str, dict[str, Any]] | None:
    """Return the settings the plugin accepts, or ``None`` for none.

    Called per installed plugin (first result) when the settings page lists
    plugins and before settings are stored. Maps each setting name to
    ``{"type": ..., "description": ..., "default": ...}`` with optional
    ``"label"``, ``"secret": True``, ``"choices": [...]``, ``"minimum"`` and
    ``"maximum"``. Types: ``text``, ``integer``, ``number``, ``boolean``,
    ``minutes`` (an integer of zero or more), ``money`` (minor units, zero or
    more), ``percent`` (0 to 100), ``choice`` (one of ``choices``) and
    ``tiers``. A tiers value is a list of ``{"from": int, "to": int | None,
    "percent": number}`` whose ranges must not overlap, with ``from``
    inclusive and ``to`` exclusive (``None`` for no upper end). The host
    rejects an unknown key, a wrong type, a negative duration or overlapping
    tiers with a 422 naming the setting, before ``tillbook_validate_settings``
    runs. A failure fails the request.
    """


@hookspec
def tillbook_validate_settings(plugin: str, settings: dict[str, Any]) -> dict[str, str]:
    """Check settings an owner submits for ``plugin``.

    Called before the settings are stored, after the schema checks, with the
    merged settings. Only the named plugin is called, enabled or not. Return
    a mapping from setting name to an error message (empty when valid). All
    results are merged, and any error rejects the whole change with a 422
    that names the setting. A failure fails the request.
    """


@hookspec
def tillbook_payment_provider() -> PaymentProvider | None:
    """Return the plugin's payment provider, or ``None``.

    Called when the till lists tenders and when it charges or refunds a card.
    Results from all enabled plugins are collected; the till offers each
    provider whose ``is_configured`` accepts the tenant's plugin settings.
    A failure fails the request.
    """


# Booking hooks.


@hookspec
def tillbook_booking_fields(
    scope: TenantScope, service: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return extra fields the booking forms ask for ``service``.

    Called by the online booking page, the staff booking form and the
    booking API. Each field is a dict: ``name`` prefixed with the plugin
    name (``salon.hair_length``), ``label``, ``type`` (``text``, ``number``,
    ``select``, ``date``), ``required`` (bool), ``choices`` (a list of
    ``{"value", "label"}`` for ``select``) and ``help``. All results are
    concatenated in call order. The submitted values reach the other
    booking hooks as ``fields``, keyed by name. A failure fails the request.
    """


@hookspec
def tillbook_validate_booking(
    scope: TenantScope, booking: dict[str, Any]
) -> dict[str, str]:
    """Check a booking before it is stored.

    Called when an appointment is booked or rescheduled and when a client
    books a class. ``booking`` has ``kind`` (``appointment`` or ``class``),
    ``service``, ``staff_id``, ``client_id``, ``start`` and ``end`` (ISO
    8601 in UTC) and ``fields``. Return a mapping from field name to what is
    wrong (empty when valid). All results are merged; any error rejects the
    booking with a 422 naming the fields. A failure fails the request.
    """


@hookspec(firstresult=True)
def tillbook_service_timing(
    scope: TenantScope,
    service: dict[str, Any],
    staff_id: str | None,
    fields: dict[str, Any],
) -> dict[str, int] | None:
    """Return the duration and price of ``service`` for these booking fields.

    Called by slot search and booking after the kernel has applied the
    provider's own overrides (``staff_id`` may be ``None`` for "any
    provider"). First result: the first plugin that returns a dict decides;
    return ``None`` to leave the kernel's values. The dict may hold any of
    ``duration_minutes``, ``price`` (minor units), ``processing_after_minutes``
    and ``processing_minutes``; the kernel keeps its value for a missing key.
    A failure fails the request.
    """


@hookspec
def tillbook_booking_made(scope: TenantScope, booking: dict[str, Any]) -> None:
    """Act on a booking that was just stored.

    Called inside the booking's write transaction with the booking as
    ``tillbook_validate_booking`` got it plus ``appointment_id``, so rows a
    plugin writes through ``scope`` commit or roll back with it. Results are
    ignored. A failure (or ``invalid(...)``) fails the request and rolls the
    booking back.
    """


@hookspec
def tillbook_class_booking_changed(
    scope: TenantScope,
    booking: dict[str, Any],
    session: dict[str, Any],
    change: str,
) -> None:
    """Act on a class booking that changed.

    Called inside the write transaction with ``change`` one of ``booked``,
    ``cancelled``, ``late_cancelled``, ``no_show``, ``attended`` or
    ``promoted`` (moved up from the waitlist). Raise ``invalid(...)`` to
    reject the change with a 422, for example when the client has no class
    credit left. Results are ignored. A failure fails the request and rolls
    the change back.
    """


# Checkout and receipt hooks.


@hookspec
def tillbook_checkout_prompts(
    scope: TenantScope,
    client: dict[str, Any] | None,
    appointment: dict[str, Any] | None,
    ticket: dict[str, Any] | None,
) -> list[str]:
    """Return reminders shown to staff on the checkout screen.

    Called when the checkout screen or the ticket API shows an open ticket.
    ``client`` and ``appointment`` may be ``None`` for a walk-in sale, and
    ``ticket`` includes its ``lines``. Return plain text: the page escapes
    it. All results are concatenated after the kernel's own prompts (the
    client's note and preferences). Optional: a failing plugin is skipped.
    """


@hookspec
def tillbook_upsell_suggestions(
    scope: TenantScope, ticket: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return products or services to suggest for an open ticket.

    Called with the ticket and its ``lines`` when the checkout screen shows
    it. Each suggestion is ``{"kind": "product" | "service", "item_id": str,
    "reason": str}``. All results are concatenated; the till drops
    suggestions for items already on the ticket or not sold any more.
    Optional: a failing plugin is skipped.
    """


@hookspec
def tillbook_receipt_sections(scope: TenantScope, ticket: dict[str, Any]) -> list[str]:
    """Return extra HTML sections for a receipt.

    Called when a receipt is rendered or mailed, with the closed ticket as a
    dictionary including its ``lines``. The HTML must be escaped by the
    plugin (``markupsafe.escape``). All results are appended, in call order,
    after the kernel's sections. Optional: a failing plugin is skipped.
    """


@hookspec(firstresult=True)
def tillbook_commission(
    scope: TenantScope, line: dict[str, Any], staff_id: str, amount: int
) -> int | None:
    """Return the commission in minor units for one ticket line, or ``None``.

    Called for each line with a staff member when a ticket closes, inside
    the closing transaction. ``line`` has ``id``, ``ticket_id``, ``kind``
    (``service``, ``product``, ...), ``item_id``, ``description``,
    ``quantity``, ``unit_price`` and ``amount``, the line's revenue after
    discounts and before tax. The ``amount`` argument is the commission the
    kernel's own rules computed. First result: the first plugin that returns
    an integer decides; ``None`` keeps the kernel's amount. A failure fails
    the request and the ticket stays open.
    """


# Display hooks: client panels, reports, branding and notifications.


@hookspec
def tillbook_client_panels(scope: TenantScope, client: dict[str, Any]) -> list[str]:
    """Return HTML panels shown on the client page and at check-in.

    Called when staff open a client's page and when they check an
    appointment in. Each panel is escaped HTML, usually a ``<section>`` with
    a heading. All results are shown in call order. Optional: a failing
    plugin is skipped.
    """


@hookspec
def tillbook_report_sections(
    scope: TenantScope, report: str, first_day: date, last_day: date
) -> list[dict[str, Any]]:
    """Return extra tables for a report.

    Called when a report is shown: ``report`` is ``daily`` (the daily report
    page, ``first_day == last_day``) or ``payroll``. Each section is
    ``{"title": str, "columns": [str, ...], "rows": [[value, ...], ...]}``
    with every row as wide as ``columns``; a malformed section is dropped
    and logged. Cells are shown as text, so format money first (with
    ``tillbook.format_major``). All results are shown in call order after
    the kernel's sections. Optional: a failing plugin is skipped.
    """


@hookspec(firstresult=True)
def tillbook_branding(tenant: dict[str, Any]) -> dict[str, str] | None:
    """Return template overrides for the tenant's pages, or ``None``.

    Called when a page is rendered for a tenant, with the tenant's ``slug``,
    ``name``, ``brand_colour`` and ``logo_url``. Recognised keys:
    ``accent_colour`` (``#rrggbb``) and ``tagline`` (plain text); other keys
    and a malformed colour are ignored. Pages call this hook synchronously,
    so the implementation must be a plain function, not ``async def``.
    First result. Optional: a failing plugin is skipped.
    """


@hookspec
def tillbook_staff_links() -> list[dict[str, Any]]:
    """Return links to the plugin's staff pages for the staff navigation.

    Called when a staff page is rendered for a tenant that enabled the
    plugin. Each link is ``{"label": str, "path": str}`` with an optional
    ``"roles"`` (role names such as ``["owner", "manager"]``; everyone when
    missing). ``path`` is relative to the plugin's pages, so ``"/services"``
    links to ``/t/{slug}/staff/plugins/<plugin>/services``. Results are shown
    in call order after the kernel's links. Pages call this hook
    synchronously, so the implementation must be a plain function. Optional:
    a failing plugin is skipped.
    """


@hookspec(firstresult=True)
def tillbook_notification_template(
    name: str, context: dict[str, Any]
) -> dict[str, str] | None:
    """Return a replacement for one notification, or ``None``.

    Called before a mail such as ``appointment_reminder`` or
    ``appointment_cancelled`` is queued, with the context the kernel's own
    template gets. Return ``{"subject": ..., "html": ..., "text": ...}``.
    First result. Optional: a failing plugin is skipped and the kernel's
    template is used.
    """


# Demo data.


@hookspec
def tillbook_seed_demo(scope: TenantScope) -> None:
    """Fill a fresh demo tenant with this vertical's data.

    Called by ``tb demo`` once for the demo tenant made for this plugin (a
    new tenant with only its owner login, ``owner@<slug>.example``), after
    the plugin is enabled and its migrations have run, inside a write
    transaction. The plugin adds the team, menu, clients and its own rows:
    ``tillbook.demo.kit`` (``add_staff``, ``add_service``, ``add_product``,
    ``add_client``) inserts the kernel's rows. Only this plugin is called
    for its tenant: the other plugins are not enabled there. Results are
    ignored. A failure is logged and rolls the seeding back, leaving that
    tenant with its owner login only; the other demo tenants are still made.
    """
