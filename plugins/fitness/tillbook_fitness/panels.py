"""The client page's panel: passes, class balance, visits and fees owed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from markupsafe import Markup

from tillbook import TenantScope, format_major
from tillbook_fitness.passes import balance, describe_balance, owed_fees
from tillbook_fitness.roster import visit_counts


async def client_panel(scope: TenantScope, client: dict[str, Any]) -> str:
    """Return the client's class passes and balance as an escaped HTML panel."""
    tenant = scope.tenant
    today = datetime.now(tenant.zone).date()
    summary = await balance(scope, client["id"], today)
    client_id = uuid.UUID(str(client["id"]))
    visits = (await visit_counts(scope, [client_id]))[client_id]
    fees = await owed_fees(scope, client_id)

    items = []
    for item in summary["passes"]:
        if item["kind"] == "pack":
            detail = f"{item['credits_left']} of {item['credits_total']} classes left"
        elif item["credits_total"] is None:
            detail = f"unlimited classes, per {item['period']}"
        else:
            detail = f"{item['credits_total']} classes a {item['period']}"
        until = f", until {item['expires_on']}" if item["expires_on"] else ""
        items.append(Markup("<li>{}: {}{}</li>").format(item["name"], detail, until))

    owed = sum(fee["amount"] for fee in fees)
    fee_line = (
        Markup('<p class="warning">Fees owed: {} {}</p>').format(
            format_major(owed, tenant.minor_digits), tenant.currency
        )
        if owed
        else Markup("")
    )

    return str(
        Markup(
            '<section class="plugin-panel fitness-passes"><h2>Classes</h2>'
            "<p>{} · {} class{} attended</p><ul>{}</ul>{}</section>"
        ).format(
            describe_balance(summary),
            visits,
            "" if visits == 1 else "es",
            Markup("").join(items) if items else Markup("<li>No pass.</li>"),
            fee_line,
        )
    )
