"""HTML rendering for the plugin's staff pages, with the package's templates."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.response import Redirect

from tillbook import TenantScope, render_plugin_page


def render(
    template: str,
    scope: TenantScope,
    actor: Any,
    status_code: int = 200,
    **context: Any,
) -> Response[str]:
    """Render one of the plugin's templates inside the staff layout."""
    return render_plugin_page(
        "tillbook_fitness",
        template,
        scope,
        actor,
        status_code=status_code,
        base=f"/t/{scope.tenant.slug}/staff/plugins/fitness",
        **context,
    )


def back(scope: TenantScope, path: str) -> Redirect:
    """Redirect (303) to one of the plugin's staff pages."""
    return Redirect(
        f"/t/{scope.tenant.slug}/staff/plugins/fitness{path}", status_code=303
    )
