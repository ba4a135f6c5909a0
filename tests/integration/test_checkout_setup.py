"""A spa ready for checkout, shared by the checkout, gift card, package,
Stripe and receipt tests.

``seed_checkout`` gives a tenant whose prices include 20% tax and whose
clients get 10% off from their third visit. Ada (five visits, a lavender
preference) is checked in for a facial with Amira, with a booking note. There
are three products: a serum to sell, a cleanser that is sold and that the
facial consumes, and a night serum the facial recommends. Ada has a facial
package with three of five sessions left, and there is a gift card with £30
on it. ``enable_stripe`` turns the Stripe plugin on for a
tenant, pointed at a running ``tests.fakes.stripe_api.FakeStripe``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.fakes.stripe_api import FakeStripe
from tests.support import TenantHandle, make_tenant
from tillbook.db.base import utcnow
from tillbook.kernel.catalog.tables import (
    ClientPackage,
    GiftCard,
    PackagePlan,
    Product,
    Service,
    ServiceProduct,
)
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.tables import PluginSetting, Tenant
from tillbook.tenancy.tenants import tenant_by_id

GIFT_CODE = "GFTCRD2345ABCDEF"


@dataclass
class Checkout:
    """The seeded tenant and the ids of what it sells."""

    tenant: TenantHandle
    staff_id: str
    client_id: str
    facial_id: str
    appointment_id: str
    serum_id: str
    cleanser_id: str
    night_serum_id: str
    plan_id: str
    package_id: str
    gift_card_id: str
    gift_code: str = GIFT_CODE

    @property
    def scope(self) -> TenantScope:
        return self.tenant.scope

    def open_ticket(self) -> dict[str, Any]:
        """Open (or return) the appointment's ticket through the API."""
        response = self.tenant.post(f"/appointments/{self.appointment_id}/ticket")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def add_product(self, ticket_id: str, product_id: str, quantity: int = 1) -> Any:
        return self.tenant.post(
            f"/tickets/{ticket_id}/lines",
            {"kind": "product", "product_id": product_id, "quantity": quantity},
        )

    def close(
        self, ticket_id: str, body: dict[str, Any], key: str | None = None
    ) -> Any:
        headers = {"Idempotency-Key": key or secrets.token_hex(8)}
        return self.tenant.post(f"/tickets/{ticket_id}/close", body, headers=headers)

    def rows(self, table: Any, *conditions: Any) -> list[dict[str, Any]]:
        """Return the tenant's rows of ``table`` matching ``conditions``."""

        async def fetch() -> list[dict[str, Any]]:
            query = self.scope.select(table)
            for condition in conditions:
                query = query.where(condition)
            return list(await query)

        return self.tenant.run(fetch)  # type: ignore[no-any-return]

    def row(self, table: Any, row_id: Any) -> dict[str, Any]:
        return self.tenant.run(self.scope.get, table, row_id)  # type: ignore[no-any-return]


def configure_tenant(tenant: TenantHandle, **values: Any) -> None:
    """Change tenant columns (tax, loyalty, ...) and refresh the handle's scope."""

    async def change() -> TenantScope:
        await Tenant.update({getattr(Tenant, k): v for k, v in values.items()}).where(
            Tenant.id == tenant.scope.tenant_id
        )
        return TenantScope(await tenant_by_id(tenant.scope.tenant_id))

    tenant.scope = tenant.run(change)


def seed_checkout(
    client: Any, *, email: str | None = None, **tenant_overrides: Any
) -> Checkout:
    """Create the spa described in this module's docstring."""
    tenant = make_tenant(client, **tenant_overrides)
    configure_tenant(
        tenant, prices_include_tax=True, loyalty_percent=10, loyalty_min_visits=3
    )
    scope = tenant.scope
    address = email if email is not None else f"ada-{secrets.token_hex(3)}@example.com"

    async def seed() -> Checkout:
        now = utcnow()
        staff = Staff(name="Amira", title="Aesthetician")
        await scope.insert(staff)
        facial = Service(
            name="Signature Facial",
            category="Facials",
            duration_minutes=60,
            price=6000,
            tax_rate="20",
            rebook_interval_days=42,
        )
        await scope.insert(facial)
        ada = Client(
            first_name="Ada",
            last_name="Lovelace",
            email=address,
            preferences="Lavender scent; sensitive skin",
            notes="Allergic to nuts",
            completed_visits=5,
            created_at=now,
        )
        await scope.insert(ada)
        start = now.replace(microsecond=0) - timedelta(minutes=10)
        appointment = Appointment(
            client_id=ada.id,
            service_id=facial.id,
            staff_id=staff.id,
            start_at=start,
            end_at=start + timedelta(minutes=60),
            status="checked_in",
            note="Prefer lavender scent, please.",
            price=6000,
            cancel_token=secrets.token_urlsafe(16),
            created_at=now,
            checked_in_at=now,
        )
        await scope.insert(appointment)
        serum = Product(
            name="Hydrating Serum",
            price=2500,
            tax_rate="20",
            stock=10,
            low_stock_threshold=2,
        )
        cleanser = Product(
            name="Gentle Cleanser",
            price=1800,
            tax_rate="20",
            stock=5,
            low_stock_threshold=3,
        )
        night = Product(
            name="Night Repair Serum",
            price=4200,
            tax_rate="20",
            stock=6,
            low_stock_threshold=1,
        )
        await scope.insert(serum, cleanser, night)
        await scope.insert(
            ServiceProduct(
                service_id=facial.id,
                product_id=cleanser.id,
                link="consumes",
                quantity=1,
            ),
            ServiceProduct(
                service_id=facial.id, product_id=night.id, link="recommends", quantity=1
            ),
        )
        plan = PackagePlan(
            name="Facial five-pack",
            service_id=facial.id,
            sessions=5,
            price=25000,
            valid_days=365,
        )
        await scope.insert(plan)
        package = ClientPackage(
            client_id=ada.id,
            plan_id=plan.id,
            service_id=facial.id,
            sessions_total=5,
            sessions_left=3,
            unit_value=5000,
            expires_at=now + timedelta(days=200),
            sold_at=now - timedelta(days=100),
        )
        await scope.insert(package)
        card = GiftCard(
            code=GIFT_CODE, initial_amount=3000, balance=3000, issued_at=now
        )
        await scope.insert(card)
        return Checkout(
            tenant=tenant,
            staff_id=str(staff.id),
            client_id=str(ada.id),
            facial_id=str(facial.id),
            appointment_id=str(appointment.id),
            serum_id=str(serum.id),
            cleanser_id=str(cleanser.id),
            night_serum_id=str(night.id),
            plan_id=str(plan.id),
            package_id=str(package.id),
            gift_card_id=str(card.id),
        )

    return tenant.run(seed)  # type: ignore[no-any-return]


def enable_stripe(tenant: TenantHandle, stripe: FakeStripe) -> None:
    """Enable the Stripe plugin for ``tenant`` with settings aimed at the fake."""

    async def insert() -> None:
        await tenant.scope.insert(
            PluginSetting(
                plugin="payments_stripe",
                enabled=True,
                settings=json.dumps(stripe.settings()),
            )
        )

    tenant.run(insert)


def store_card(checkout: Checkout, payment_method: str = "pm_card_visa") -> Any:
    """Store a card for the seeded client through the API."""
    return checkout.tenant.post(
        f"/clients/{checkout.client_id}/cards", {"payment_method": payment_method}
    )
