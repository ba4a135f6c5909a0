"""A client's profile as staff see it, and staff edits to it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tillbook.db import write_transaction
from tillbook.db.base import utcnow
from tillbook.kernel.audit.log import record_audit
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard, PackagePlan, Service
from tillbook.kernel.clients.directory import (
    as_utc,
    check_email_free,
    clean_client,
    client_json,
    validate_contact,
)
from tillbook.kernel.clients.history import add_history
from tillbook.kernel.clients.tables import Client, ClientHistory
from tillbook.tenancy.scope import TenantScope

HISTORY_LIMIT = 200
LOCAL_FORMAT = "%d %b %Y %H:%M"


def _instant(value: datetime | None, scope: TenantScope) -> dict[str, str] | None:
    if value is None:
        return None
    utc = as_utc(value)
    return {
        "utc": utc.isoformat(),
        "local": utc.astimezone(scope.tenant.zone).strftime(LOCAL_FORMAT),
    }


async def get_client_profile(
    scope: TenantScope, client_id: uuid.UUID
) -> dict[str, Any]:
    """Return the client's contact, notes, history, packages and gift cards.

    ``history`` is newest first (the latest 200 entries). Each instant is a
    pair of ``utc`` (ISO 8601) and ``local`` (the tenant's time zone). Gift
    card codes are shown by their last four characters only. Raises NotFound
    if the client is not this tenant's.
    """
    row = await scope.get(Client, client_id)
    profile = client_json(row)
    tenant = scope.tenant
    profile.update(
        {
            "preferences": row["preferences"],
            "notes": row["notes"],
            "stored_card": row["payment_method_label"] or None,
            "loyalty_eligible": tenant.loyalty_percent > 0
            and row["completed_visits"] >= tenant.loyalty_min_visits,
            "history": await _history(scope, client_id),
            "packages": await _packages(scope, client_id),
            "gift_cards": await _gift_cards(scope, client_id),
        }
    )
    return profile


async def _history(scope: TenantScope, client_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await (
        scope.select(ClientHistory)
        .where(ClientHistory.client_id == client_id)
        .order_by(ClientHistory.at, ascending=False)
        .limit(HISTORY_LIMIT)
    )
    return [
        {
            "id": str(entry["id"]),
            "at": _instant(entry["at"], scope),
            "kind": entry["kind"],
            "summary": entry["summary"],
            "ref_id": str(entry["ref_id"]) if entry["ref_id"] else None,
        }
        for entry in rows
    ]


async def _packages(scope: TenantScope, client_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await (
        scope.select(ClientPackage)
        .where(ClientPackage.client_id == client_id)
        .order_by(ClientPackage.sold_at, ascending=False)
    )
    plans = await scope.get_many(PackagePlan, [row["plan_id"] for row in rows])
    services = await scope.get_many(Service, [row["service_id"] for row in rows])
    now = utcnow()
    return [
        {
            "id": str(row["id"]),
            "plan_id": str(row["plan_id"]),
            "plan_name": plans.get(row["plan_id"], {}).get("name", ""),
            "service_id": str(row["service_id"]),
            "service_name": services.get(row["service_id"], {}).get("name", ""),
            "sessions_total": row["sessions_total"],
            "sessions_left": row["sessions_left"],
            "unit_value": row["unit_value"],
            "sold_at": _instant(row["sold_at"], scope),
            "expires_at": _instant(row["expires_at"], scope),
            "expired": as_utc(row["expires_at"]) <= now,
        }
        for row in rows
    ]


async def _gift_cards(scope: TenantScope, client_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await (
        scope.select(GiftCard)
        .where(GiftCard.client_id == client_id)
        .order_by(GiftCard.issued_at, ascending=False)
    )
    return [
        {
            "id": str(row["id"]),
            "code_hint": f"…{row['code'][-4:]}",
            "initial_amount": row["initial_amount"],
            "balance": row["balance"],
            "currency": scope.tenant.currency,
            "issued_at": _instant(row["issued_at"], scope),
            "expires_at": _instant(row["expires_at"], scope),
        }
        for row in rows
    ]


async def update_client(
    scope: TenantScope,
    client_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Change a client's contact, preferences or notes, and return the profile.

    Adds a ``client.updated`` history entry and an audit entry with the
    changed fields before and after. Raises NotFound for another tenant's
    client (checked before the body) and ValidationFailed naming each bad
    field.
    """
    await scope.get(Client, client_id)
    cleaned = clean_client(changes, partial=True)
    async with write_transaction():
        before = await scope.get(Client, client_id)
        contact = {
            name: cleaned.get(name, before[name])
            for name in ("first_name", "last_name", "email", "phone")
        }
        validate_contact(**contact)
        if "email" in cleaned:
            await check_email_free(scope, cleaned["email"], client_id)
        changed = {
            name: value for name, value in cleaned.items() if before[name] != value
        }
        if changed:
            await scope.update(
                Client, {getattr(Client, k): v for k, v in changed.items()}
            ).where(Client.id == client_id)
            labels = ", ".join(name.replace("_", " ") for name in sorted(changed))
            await add_history(scope, client_id, "client.updated", f"Updated {labels}")
            await record_audit(
                scope,
                actor_id=actor_id,
                action="client.updated",
                subject_type="client",
                subject_id=client_id,
                before={name: before[name] for name in changed},
                after=changed,
            )
    return await get_client_profile(scope, client_id)
