"""Turning domain exceptions into HTTP responses, in one place."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template

from tillbook.errors import NotAuthenticated, TillbookError

logger = logging.getLogger(__name__)


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    if "/api/" in request.url.path:
        return False
    return "text/html" in request.headers.get("accept", "")


def handle_domain_error(
    request: Request[Any, Any, Any], exc: TillbookError
) -> Response[Any]:
    """Map a domain exception to JSON for the API and to a page for browsers."""
    if isinstance(exc, NotAuthenticated) and _wants_html(request):
        slug = request.path_params.get("slug", "")
        target = quote(request.url.path)
        return Redirect(f"/t/{slug}/staff/login?next={target}")
    if _wants_html(request):
        return Template(
            template_name="error.html",
            context={"error": exc, "status": exc.status_code},
            status_code=exc.status_code,
        )
    return Response(
        content=exc.to_dict(), status_code=exc.status_code, media_type=MediaType.JSON
    )


def handle_validation_exception(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    """Report malformed request bodies as 422 keyed by field, like domain errors."""
    errors: dict[str, str] = {}
    for item in exc.extra or []:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "body")
            errors[key] = str(item.get("message", "invalid value"))
    if not errors:
        errors["body"] = exc.detail
    first = next(iter(errors.items()))
    return Response(
        content={
            "code": "validation_failed",
            "message": f"{first[0]}: {first[1]}",
            "errors": errors,
        },
        status_code=422,
        media_type=MediaType.JSON,
    )


def handle_http_exception(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[Any]:
    """Keep litestar's own HTTP errors in the API's error shape."""
    return Response(
        content={"code": "http_error", "message": exc.detail},
        status_code=exc.status_code,
        media_type=MediaType.JSON,
        headers=exc.headers,
    )
