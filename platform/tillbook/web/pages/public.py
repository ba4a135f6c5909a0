"""Public pages: the landing page, sign-up, and staff sign-in and sign-out."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template

from tillbook.errors import NotAuthenticated, ValidationFailed
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signin import TooManyAttempts, safe_next, sign_in
from tillbook.tenancy.signup import (
    COMMON_CURRENCIES,
    COMMON_TIME_ZONES,
    SLUG_PATTERN,
    SignupRequest,
    logo_data_url,
)
from tillbook.web.api.accounts import client_ip, sign_up_limited
from tillbook.web.deps import SESSION_ACCOUNT
from tillbook.web.pages.form_values import FormValues
from tillbook.web.paths import STAFF
from tillbook.web.templating import page

logger = logging.getLogger(__name__)

PUBLIC = {"public": True}
NextQuery = Annotated[
    str,
    QueryParameter(
        name="next", description="Path of this business to open after sign-in"
    ),
]
SIGNUP_TEXT_FIELDS = (
    "business_name",
    "slug",
    "email",
    "owner_name",
    "time_zone",
    "currency",
    "brand_colour",
    "logo_url",
)
SIGNUP_DEFAULTS = {
    "time_zone": "Europe/London",
    "currency": "GBP",
    "brand_colour": "#5b6b5a",
}


@get("/", opt=PUBLIC)
async def landing(business: FromQuery[str] = "") -> Template | Redirect:
    """Show what Tillbook is. ``?business=slug`` redirects to that sign-in page."""
    slug = business.strip().lower()
    if slug and SLUG_PATTERN.match(slug):
        return Redirect(f"/t/{slug}/staff/login")
    return page(
        "public/landing.html",
        None,
        business=business,
        business_error="enter your business's web address, such as lotus-spa"
        if business
        else "",
    )


def _signup_page(
    values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Template:
    return page(
        "public/signup.html",
        None,
        status_code=status_code,
        values=values,
        errors=errors,
        time_zones=COMMON_TIME_ZONES,
        currencies=COMMON_CURRENCIES,
    )


@get("/signup", opt=PUBLIC)
async def signup_form() -> Template:
    """Show the sign-up form."""
    return _signup_page(dict(SIGNUP_DEFAULTS), {})


@post("/signup", opt=PUBLIC)
async def signup_submit(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Open a business from the form, sign the owner in, go to settings.

    On errors the form comes back (422) with a message under each bad field
    and the values entered, except the password.
    """
    form = FormValues(await request.form())
    values = {name: form.raw(name) for name in SIGNUP_TEXT_FIELDS}
    errors: dict[str, str] = {}
    status_code = 422
    logo = values["logo_url"]
    upload = form.upload("logo")
    if upload is not None:
        try:
            logo = logo_data_url(upload.content_type, await upload.read())
        except ValidationFailed as exc:
            errors.update(exc.errors)
    signup_request = SignupRequest(
        business_name=values["business_name"],
        slug=values["slug"],
        email=values["email"],
        password=form.secret("password"),
        owner_name=values["owner_name"],
        time_zone=values["time_zone"] or SIGNUP_DEFAULTS["time_zone"],
        currency=values["currency"] or SIGNUP_DEFAULTS["currency"],
        brand_colour=values["brand_colour"] or SIGNUP_DEFAULTS["brand_colour"],
        logo_url=logo,
    )
    if not errors:
        try:
            scope, account_id = await sign_up_limited(
                signup_request, client_ip(request)
            )
        except ValidationFailed as exc:
            errors.update(exc.errors)
        except TooManyAttempts as exc:
            errors["email"] = exc.message
            status_code = exc.status_code
    if errors:
        return _signup_page(values, errors, status_code=status_code)
    request.set_session({SESSION_ACCOUNT: str(account_id)})
    logger.info("tenant %s signed up", scope.tenant.slug)
    return Redirect(f"/t/{scope.tenant.slug}/staff/settings", status_code=303)


def _login_page(
    scope: TenantScope,
    *,
    email: str = "",
    next_path: str = "",
    error: str = "",
    status_code: int = 200,
) -> Template:
    return page(
        "public/login.html",
        scope,
        status_code=status_code,
        email=email,
        next_path=next_path,
        error=error,
    )


@get(f"{STAFF}/login", opt=PUBLIC)
async def login_form(
    tenant_scope: NamedDependency[TenantScope],
    next_path: NextQuery = "",
) -> Template:
    """Show the staff sign-in form for this business."""
    slug = tenant_scope.tenant.slug
    return _login_page(tenant_scope, next_path=safe_next(slug, next_path))


@post(f"{STAFF}/login", opt=PUBLIC)
async def login_submit(
    request: Request[Any, Any, Any], tenant_scope: NamedDependency[TenantScope]
) -> Template | Redirect:
    """Sign a member in and go to ``next`` (a path of this business) or the calendar.

    A wrong email or password, or an account of another business, shows the
    same message (401). Repeated failures show a wait message (429).
    """
    form = FormValues(await request.form())
    email = form.raw("email")
    password = form.secret("password")
    slug = tenant_scope.tenant.slug
    target = safe_next(slug, form.raw("next"))
    try:
        actor = await sign_in(
            tenant_scope, email, password, client_ip=client_ip(request)
        )
    except NotAuthenticated as exc:
        return _login_page(
            tenant_scope,
            email=email,
            next_path=target,
            error=exc.message,
            status_code=401,
        )
    except TooManyAttempts as exc:
        return _login_page(
            tenant_scope,
            email=email,
            next_path=target,
            error=exc.message,
            status_code=429,
        )
    request.set_session({SESSION_ACCOUNT: str(actor.account_id)})
    return Redirect(target, status_code=303)


@post(f"{STAFF}/logout", opt=PUBLIC)
async def logout(
    request: Request[Any, Any, Any], tenant_scope: NamedDependency[TenantScope]
) -> Redirect:
    """Sign out and go back to the sign-in form."""
    request.clear_session()
    return Redirect(f"/t/{tenant_scope.tenant.slug}/staff/login", status_code=303)


ROUTES: list[Any] = [
    landing,
    signup_form,
    signup_submit,
    login_form,
    login_submit,
    logout,
]
