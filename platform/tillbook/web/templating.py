"""Jinja2 filters, the helper that renders tenant-branded pages, and the
helpers that gather what plugins add to pages (client panels, report
sections, branding).
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader
from litestar import Response
from litestar.response import Template
from markupsafe import Markup

from tillbook.plugins import TenantHooks
from tillbook.tenancy.accounts import Actor
from tillbook.tenancy.scope import TenantInfo, TenantScope, minor_digits

logger = logging.getLogger(__name__)

KERNEL_TEMPLATES = Path(__file__).parent / "templates"
_plugin_environments: dict[str, Environment] = {}

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_MAX_TAGLINE = 200


def format_money(amount: int | None, currency: str) -> str:
    """Format minor units as a localised amount, such as ``£12.50``."""
    if amount is None:
        return ""
    digits = minor_digits(currency)
    value = Decimal(amount).scaleb(-digits)
    return format_currency(value, currency, locale="en_GB", currency_digits=True)


def to_major(amount: int | None, currency: str) -> str:
    """Format minor units as a plain decimal string for form inputs (``12.50``)."""
    if amount is None:
        return ""
    digits = minor_digits(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"


def local_time(value: datetime | None, zone: str, pattern: str = "%H:%M") -> str:
    """Format an aware datetime in the tenant's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime(pattern)


def configure_environment(env: Environment) -> None:
    """Install the filters every template may use."""
    env.filters["money"] = format_money
    env.filters["major"] = to_major
    env.filters["localtime"] = local_time
    env.autoescape = True


def page(
    template_name: str,
    scope: TenantScope | TenantInfo | None,
    actor: Actor | None = None,
    *,
    status_code: int = 200,
    hooks: TenantHooks | None = None,
    **context: Any,
) -> Template:
    """Render ``template_name`` with the tenant's branding and the actor.

    ``branding`` in the context contains the overrides of the tenant's
    branding plugin (``accent_colour``, ``tagline``) and ``plugin_links`` the
    plugins' staff navigation links. Both come from ``hooks`` when given.
    NOTE: otherwise they come from the tenant's plugins as this process last
    loaded them, so a page rendered before any request of that tenant loaded
    its hooks shows neither.
    """
    tenant = scope.tenant if isinstance(scope, TenantScope) else scope
    branding: dict[str, str] = {}
    links: list[dict[str, str]] = []
    if tenant is not None:
        hooks = hooks or _recent_hooks(tenant)
        branding = tenant_branding(tenant, hooks)
        links = staff_links(tenant, hooks, actor)
    return Template(
        template_name=template_name,
        context={
            "tenant": tenant,
            "actor": actor,
            "branding": branding,
            "plugin_links": links,
            **context,
        },
        status_code=status_code,
    )


def _recent_hooks(tenant: TenantInfo) -> TenantHooks | None:
    from tillbook.tenancy.plugin_settings import cached_tenant_hooks

    return cached_tenant_hooks(tenant.id)


def staff_links(
    tenant: TenantInfo, hooks: TenantHooks | None, actor: Actor | None
) -> list[dict[str, str]]:
    """Return the navigation links of the tenant's plugins that ``actor`` may use.

    A malformed link (no label, or a path not starting with ``/``) is dropped
    and logged.
    """
    if hooks is None or not hooks.enabled or actor is None:
        return []
    links: list[dict[str, str]] = []
    for plugin, result in hooks.tillbook_staff_links().run_sync_by_plugin():
        for link in result or ():
            label = link.get("label") if isinstance(link, dict) else None
            path = link.get("path") if isinstance(link, dict) else None
            if not isinstance(label, str) or not isinstance(path, str):
                logger.warning("dropped malformed staff link %r of %s", link, plugin)
                continue
            if not path.startswith("/"):
                logger.warning(
                    "dropped staff link %r of %s: path must start with /", link, plugin
                )
                continue
            roles = link.get("roles")
            if roles and actor.role.value not in roles:
                continue
            links.append(
                {
                    "label": label,
                    "href": f"/t/{tenant.slug}/staff/plugins/{plugin}{path}",
                }
            )
    return links


def tenant_branding(tenant: TenantInfo, hooks: TenantHooks | None) -> dict[str, str]:
    """Return the checked ``tillbook_branding`` overrides for ``tenant``.

    A bad value (a colour not in ``#rrggbb`` form) is dropped and logged.
    """
    if hooks is None:
        hooks = _recent_hooks(tenant)
    if hooks is None or not hooks.enabled:
        return {}
    offered = hooks.tillbook_branding(
        tenant={
            "slug": tenant.slug,
            "name": tenant.name,
            "brand_colour": tenant.brand_colour,
            "logo_url": tenant.logo_url,
        }
    ).run_sync()
    if not isinstance(offered, dict):
        return {}
    branding: dict[str, str] = {}
    colour = offered.get("accent_colour")
    if isinstance(colour, str) and _COLOUR.match(colour):
        branding["accent_colour"] = colour
    elif colour is not None:
        logger.warning("ignored branding accent_colour %r for %s", colour, tenant.slug)
    tagline = offered.get("tagline")
    if isinstance(tagline, str) and tagline.strip():
        branding["tagline"] = tagline.strip()[:_MAX_TAGLINE]
    return branding


async def client_panels(
    hooks: TenantHooks | None, scope: TenantScope, client: dict[str, Any]
) -> list[Markup]:
    """Return the enabled plugins' ``tillbook_client_panels`` for ``client``.

    For the client page and check-in: ``client`` is the client row (ids may
    be UUIDs; the hook gets them as strings). Each panel is HTML the plugin
    escaped, so it is marked safe for the template.
    """
    if hooks is None:
        return []
    results = await hooks.tillbook_client_panels(scope=scope, client=plain_row(client))
    # The hook's contract makes each plugin escape its own HTML.
    return [
        Markup(panel)  # noqa: S704
        for panels in results
        for panel in panels or ()
    ]


async def report_sections(
    hooks: TenantHooks | None,
    scope: TenantScope,
    report: str,
    first_day: date,
    last_day: date,
) -> list[dict[str, Any]]:
    """Return the enabled plugins' well-formed ``tillbook_report_sections``.

    A section without a title, columns and rows of the same width is
    dropped and logged, so one bad plugin does not break the report.
    """
    if hooks is None:
        return []
    results = await hooks.tillbook_report_sections(
        scope=scope, report=report, first_day=first_day, last_day=last_day
    )
    sections = []
    for result in results:
        for section in result or ():
            if _well_formed_section(section):
                sections.append(section)
            else:
                logger.warning(
                    "dropped malformed %s report section %r", report, section
                )
    return sections


def _well_formed_section(section: Any) -> bool:
    if not isinstance(section, dict) or not isinstance(section.get("title"), str):
        return False
    columns, rows = section.get("columns"), section.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        return False
    return all(
        isinstance(row, list | tuple) and len(row) == len(columns) for row in rows
    )


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """Return a row as hooks get it: UUIDs as strings, other values as they are."""
    return {
        key: str(value) if isinstance(value, uuid.UUID) else value
        for key, value in row.items()
    }


def plugin_environment(package: str) -> Environment:
    """Return the Jinja environment for a plugin package's ``templates`` folder.

    The kernel's templates come second in the search path, so a plugin page
    may ``{% extends "staff_base.html" %}`` and use ``admin/forms.html``.
    """
    environment = _plugin_environments.get(package)
    if environment is None:
        environment = Environment(
            loader=ChoiceLoader(
                [
                    PackageLoader(package, "templates"),
                    FileSystemLoader(KERNEL_TEMPLATES),
                ]
            ),
            autoescape=True,
        )
        configure_environment(environment)
        _plugin_environments[package] = environment
    return environment


def render_plugin_page(
    package: str,
    template_name: str,
    scope: TenantScope,
    actor: Actor | None,
    *,
    status_code: int = 200,
    hooks: TenantHooks | None = None,
    **context: Any,
) -> Response[str]:
    """Render a plugin's page template with the tenant, actor and branding."""
    html = (
        plugin_environment(package)
        .get_template(template_name)
        .render(
            tenant=scope.tenant,
            actor=actor,
            branding=tenant_branding(scope.tenant, hooks),
            plugin_links=staff_links(
                scope.tenant, hooks or _recent_hooks(scope.tenant), actor
            ),
            **context,
        )
    )
    return Response(html, media_type="text/html", status_code=status_code)
