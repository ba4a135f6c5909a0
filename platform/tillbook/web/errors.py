"""Turning domain exceptions into HTTP responses, in one place."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl, quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template

from tillbook.errors import NotAuthenticated, TillbookError, ValidationFailed

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


_NUL_MARKERS = (b"\x00", b"\\u0000", b"%00")
_NUL_FIX = "contains a NUL character (U+0000): remove it and retry"


def _path_to_nul(value: Any, path: str) -> str | None:
    """Return the dotted path of the first string in ``value`` with a NUL."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items: Any = ()
    if isinstance(value, dict):
        items = (
            (f"{path}.{key}" if path else str(key), item) for key, item in value.items()
        )
    elif isinstance(value, list):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    for item_path, item in items:
        if "\x00" in item_path:
            return item_path
        found = _path_to_nul(item, item_path)
        if found is not None:
            return found
    return None


def _field_with_nul(body: bytes) -> str:
    """Return the field that contains the NUL, or ``body`` when none is found."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return "body"
    try:
        return _path_to_nul(json.loads(text), "") or "body"
    except ValueError:
        pass
    for key, value in parse_qsl(text, keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "") or "body"
    return "body"


async def reject_nul_characters(request: Request[Any, Any, Any]) -> None:
    """Reject a request whose query or body carries a NUL character (U+0000).

    PostgreSQL text columns cannot store U+0000, so such a value would fail
    deep inside a write. Rejecting it first gives a 422 naming the field and
    changes nothing, on every route and on both databases.
    """
    query = request.url.query
    if "%00" in query or "\x00" in query:
        raise ValidationFailed({"query": _NUL_FIX})
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.content_type[0] == "multipart/form-data":
        # Uploaded files are binary and may hold NUL bytes; only text
        # fields end up in text columns.
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, str) and "\x00" in value:
                raise ValidationFailed({key: _NUL_FIX})
        return
    body = await request.body()
    if any(marker in body for marker in _NUL_MARKERS):
        raise ValidationFailed({_field_with_nul(body): _NUL_FIX})
