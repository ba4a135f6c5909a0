"""The settings page: business, loyalty, staff accounts, API tokens, plugins.

Each section posts its own form and redirects back (``?saved=section``) on
success. On errors the whole page is shown again (422) with the messages
under the fields of that section. This module also gathers the catalog and
client pages into ``ROUTES``.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from tillbook.errors import Conflict, NotAllowed, ValidationFailed
from tillbook.kernel.schedule.tables import Staff
from tillbook.tenancy.accounts import Actor, list_api_tokens
from tillbook.tenancy.business import (
    clean_business_settings,
    get_business_settings,
    update_business_settings,
)
from tillbook.tenancy.members import (
    create_account,
    issue_api_token,
    list_accounts,
    remove_account,
    update_account,
    withdraw_api_token,
)
from tillbook.tenancy.plugin_settings import (
    configure_plugin,
    format_form_setting,
    list_plugins,
    parse_form_setting,
    plugin_fields,
)
from tillbook.tenancy.roles import MANAGERS, Role
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signin import TooManyAttempts
from tillbook.tenancy.signup import (
    COMMON_CURRENCIES,
    COMMON_TIME_ZONES,
    logo_data_url,
)
from tillbook.web.pages import catalog, clients
from tillbook.web.pages.form_values import FormValues
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

SETTINGS = f"{STAFF}/settings"
SAVED_MESSAGES = {
    "business": "Business settings saved.",
    "loyalty": "Loyalty rule saved.",
    "accounts": "Staff accounts updated.",
    "tokens": "API token revoked.",
    "plugins": "Plugin settings saved.",
}


async def settings_page(
    scope: TenantScope,
    actor: Actor,
    *,
    section: str = "",
    errors: dict[str, str] | None = None,
    entered: dict[str, Any] | None = None,
    notice: str = "",
    new_token: str = "",
    status_code: int = 200,
) -> Template:
    """Render the settings page, refilling the form of ``section`` with ``entered``."""
    business = await get_business_settings(scope)
    if section in ("business", "loyalty") and entered:
        business = {**business, **entered}
    staff = await scope.select(Staff, Staff.id, Staff.name).order_by(Staff.name)
    token_owner = None if actor.role == Role.OWNER else actor.account_id
    grantable = [
        (role.value, role.value.replace("_", " "))
        for role in Role
        if actor.role == Role.OWNER or role in (Role.FRONT_DESK, Role.PROVIDER)
    ]
    return page(
        "admin/settings.html",
        scope,
        actor,
        status_code=status_code,
        business=business,
        accounts=await list_accounts(scope),
        tokens=await list_api_tokens(scope, token_owner),
        plugins=await _plugins_for_form(scope, section, entered),
        staff_options=[("", "No staff member")]
        + [(str(member["id"]), member["name"]) for member in staff],
        role_options=grantable,
        time_zones=_with_current(COMMON_TIME_ZONES, business["time_zone"]),
        currencies=_with_current(COMMON_CURRENCIES, business["currency"]),
        section=section,
        errors=errors or {},
        entered=entered or {},
        notice=notice,
        new_token=new_token,
    )


async def _plugins_for_form(
    scope: TenantScope, section: str, entered: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """List the plugins with ``form_values``: each setting as the form shows it.

    After a rejected save the plugin's form shows what the owner entered.
    """
    plugins = await list_plugins(scope)
    for plugin in plugins:
        if section == f"plugin-{plugin['name']}" and entered:
            plugin["form_values"] = dict(entered)
            continue
        values = {field["name"]: field["default"] for field in plugin["fields"]}
        values.update(plugin["settings"])
        plugin["form_values"] = {
            field.name: format_form_setting(field, values.get(field.name))
            for field in plugin_fields(plugin["name"]) or ()
        }
    return plugins


def _with_current(options: tuple[str, ...], current: str) -> list[str]:
    return list(options) if current in options else [current, *options]


def _saved(scope: TenantScope, section: str) -> Redirect:
    return Redirect(
        f"/t/{scope.tenant.slug}/staff/settings?saved={section}#{section}",
        status_code=303,
    )


@get(SETTINGS, opt={"roles": MANAGERS})
async def settings_show(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    saved: FromQuery[str] = "",
) -> Template:
    """Show every settings section, with a notice after a save."""
    return await settings_page(
        tenant_scope, actor, notice=SAVED_MESSAGES.get(saved, "")
    )


@post(f"{SETTINGS}/business", opt={"roles": MANAGERS})
async def settings_business(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Save name, branding, host, time zone, currency and tax-inclusive prices."""
    form = FormValues(await request.form())
    for name in ("name", "brand_colour", "host", "time_zone", "currency"):
        form.text(name)
    form.checkbox("prices_include_tax")
    upload = form.upload("logo")
    if upload is not None:
        try:
            form.values["logo_url"] = logo_data_url(
                upload.content_type, await upload.read()
            )
        except ValidationFailed as exc:
            form.errors.update(exc.errors)
    elif "remove_logo" in form.form:
        form.values["logo_url"] = ""
    elif form.raw("logo_url"):
        form.values["logo_url"] = form.raw("logo_url")
    try:
        await form.submit(
            lambda values: clean_business_settings(values, tenant_scope.tenant.slug),
            lambda values: update_business_settings(tenant_scope, values, actor=actor),
        )
    except ValidationFailed as exc:
        return await settings_page(
            tenant_scope,
            actor,
            section="business",
            errors=exc.errors,
            entered=form.values,
            status_code=422,
        )
    return _saved(tenant_scope, "business")


@post(f"{SETTINGS}/loyalty", opt={"roles": MANAGERS})
async def settings_loyalty(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Save the loyalty rule: minimum completed visits and percent off."""
    form = FormValues(await request.form())
    for name in ("loyalty_min_visits", "loyalty_percent"):
        form.integer(name)
        if name not in form.values and name not in form.errors:
            form.errors[name] = "is required: enter a whole number"
    try:
        await form.submit(
            lambda values: clean_business_settings(values, tenant_scope.tenant.slug),
            lambda values: update_business_settings(tenant_scope, values, actor=actor),
        )
    except ValidationFailed as exc:
        return await settings_page(
            tenant_scope,
            actor,
            section="loyalty",
            errors=exc.errors,
            entered={name: form.raw(name) for name in form.form},
            status_code=422,
        )
    return _saved(tenant_scope, "loyalty")


@post(f"{SETTINGS}/accounts", opt={"roles": MANAGERS})
async def settings_add_account(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Add a staff account. Managers may add front_desk and provider only."""
    form = FormValues(await request.form())
    values = {
        "email": form.raw("email"),
        "name": form.raw("name"),
        "role": form.raw("role"),
        "password": form.secret("password"),
        "staff_id": form.raw("staff_id") or None,
    }
    try:
        await create_account(tenant_scope, values, actor=actor)
    except (ValidationFailed, NotAllowed, TooManyAttempts) as exc:
        if isinstance(exc, ValidationFailed):
            errors = exc.errors
        elif isinstance(exc, NotAllowed):
            errors = {"role": exc.message}
        else:
            errors = {"email": exc.message}
        return await settings_page(
            tenant_scope,
            actor,
            section="accounts",
            errors=errors,
            entered={k: v for k, v in values.items() if k != "password"},
            status_code=exc.status_code,
        )
    return _saved(tenant_scope, "accounts")


@post(f"{SETTINGS}/accounts/{{account_id:uuid}}", opt={"roles": MANAGERS})
async def settings_change_account(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    account_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Change a member's role or linked staff member."""
    form = FormValues(await request.form())
    changes: dict[str, Any] = {"staff_id": form.raw("staff_id") or None}
    if form.raw("role"):
        changes["role"] = form.raw("role")
    try:
        await update_account(tenant_scope, account_id, changes, actor=actor)
    except (ValidationFailed, NotAllowed) as exc:
        return await _account_error(tenant_scope, actor, account_id, exc)
    return _saved(tenant_scope, "accounts")


@post(f"{SETTINGS}/accounts/{{account_id:uuid}}/remove", opt={"roles": MANAGERS})
async def settings_remove_account(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    account_id: FromPath[uuid.UUID],
) -> Template | Redirect:
    """Remove a member from the business, unless it is the last owner."""
    try:
        await remove_account(tenant_scope, account_id, actor=actor)
    except (Conflict, NotAllowed) as exc:
        return await _account_error(tenant_scope, actor, account_id, exc)
    return _saved(tenant_scope, "accounts")


async def _account_error(
    scope: TenantScope,
    actor: Actor,
    account_id: uuid.UUID,
    exc: ValidationFailed | NotAllowed | Conflict,
) -> Template:
    message = exc.message
    if isinstance(exc, ValidationFailed):
        message = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    return await settings_page(
        scope,
        actor,
        section="accounts",
        errors={f"account-{account_id}": message},
        status_code=exc.status_code,
    )


@post(f"{SETTINGS}/tokens", opt={"roles": MANAGERS})
async def settings_create_token(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
) -> Template:
    """Create an API token for yourself and show it once on the page."""
    form = FormValues(await request.form())
    try:
        token, _ = await issue_api_token(tenant_scope, actor, form.raw("token_name"))
    except ValidationFailed as exc:
        return await settings_page(
            tenant_scope,
            actor,
            section="tokens",
            errors={"token_name": exc.errors.get("name", exc.message)},
            status_code=422,
        )
    return await settings_page(
        tenant_scope,
        actor,
        section="tokens",
        new_token=token,
        notice="API token created: copy it now, it will not be shown again.",
        status_code=201,
    )


@post(f"{SETTINGS}/tokens/{{token_id:uuid}}/revoke", opt={"roles": MANAGERS})
async def settings_revoke_token(
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    token_id: FromPath[uuid.UUID],
) -> Redirect:
    """Revoke a token: owners any of the business's, managers their own."""
    await withdraw_api_token(tenant_scope, actor, token_id)
    return _saved(tenant_scope, "tokens")


@post(f"{SETTINGS}/plugins/{{name:str}}", opt={"roles": MANAGERS})
async def settings_plugin(
    request: Request[Any, Any, Any],
    tenant_scope: NamedDependency[TenantScope],
    actor: NamedDependency[Actor],
    name: FromPath[str],
) -> Template | Redirect:
    """Enable or disable a plugin and save its settings.

    A secret left blank keeps its stored value.
    """
    form = FormValues(await request.form())
    settings: dict[str, Any] = {}
    entered: dict[str, Any] = {}
    for setting in plugin_fields(name) or ():
        raw = form.raw(setting.name)
        entered[setting.name] = raw
        value = parse_form_setting(setting, raw, setting.name in form.form)
        if value != "" or not setting.secret:
            settings[setting.name] = value
    try:
        await configure_plugin(
            tenant_scope,
            name,
            enabled="enabled" in form.form,
            settings=settings,
            actor_id=actor.account_id,
        )
    except ValidationFailed as exc:
        return await settings_page(
            tenant_scope,
            actor,
            section=f"plugin-{name}",
            errors=exc.errors,
            entered=entered,
            status_code=422,
        )
    return _saved(tenant_scope, "plugins")


ROUTES: list[Any] = [
    settings_show,
    settings_business,
    settings_loyalty,
    settings_add_account,
    settings_change_account,
    settings_remove_account,
    settings_create_token,
    settings_revoke_token,
    settings_plugin,
    *catalog.ROUTES,
    *clients.ROUTES,
]
