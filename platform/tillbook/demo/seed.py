"""Seeding the demo day spa, Juniper & Rye, into a database.

The seed runs in two layers. The first inserts plain rows through the tenant
scope: team, working hours, menu, products, package plans, staff logins and
clients. The second makes bookings and sales through the kernel's booking and
checkout functions, so that the calendar, the journal and the reports hold the
same numbers a real week would produce. Everything random comes from
``random.Random(seed)``, so two runs on the same date seed the same spa.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tillbook import db
from tillbook.db.base import utcnow
from tillbook.demo import data
from tillbook.demo.activity import DEMO_WEEK, Week, seed_kernel_activity
from tillbook.kernel.catalog.tables import (
    PackagePlan,
    Product,
    Service,
    ServiceProduct,
    ServiceProvider,
)
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.schedule.tables import Staff, WorkingHours
from tillbook.tenancy.accounts import hash_password
from tillbook.tenancy.roles import Role
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import SignupRequest, sign_up
from tillbook.tenancy.tables import Account, Membership, Tenant
from tillbook.tenancy.tenants import tenant_by_id

logger = logging.getLogger("tillbook.demo")

DEMO_SLUG = "juniper"
DEFAULT_SEED = 2024
CLIENT_COUNT = 50


@dataclass(frozen=True)
class DemoLogin:
    """A staff login the demo prints."""

    email: str
    password: str
    role: Role


def login_email(login: str, slug: str = DEMO_SLUG) -> str:
    """Return the demo email for ``login``, such as ``owner@juniper.example``."""
    return f"{login}@{slug}.example"


def demo_logins(slug: str = DEMO_SLUG) -> list[DemoLogin]:
    """Return every staff login of the demo, owner first."""
    return [
        DemoLogin(login_email(spec.login, slug), spec.password, spec.role)
        for spec in data.ACCOUNTS
    ]


@dataclass
class DemoSpa:
    """Ids of what the first layer created, which the second layer books with."""

    scope: TenantScope
    today: date
    staff: dict[str, uuid.UUID] = field(default_factory=dict)
    services: dict[str, uuid.UUID] = field(default_factory=dict)
    products: dict[str, uuid.UUID] = field(default_factory=dict)
    plans: dict[str, uuid.UUID] = field(default_factory=dict)
    clients: list[uuid.UUID] = field(default_factory=list)
    accounts: dict[str, uuid.UUID] = field(default_factory=dict)

    def providers_of(self, service: data.ServiceSpec) -> list[uuid.UUID]:
        """Return the staff ids that perform ``service``."""
        return [
            self.staff[p.name]
            for p in data.PROVIDERS
            if service.category in p.categories
        ]


async def prepare_demo(database_url: str, *, seed: int = DEFAULT_SEED) -> bool:
    """Migrate the database at ``database_url`` and seed the demo spa once.

    Also seeds one tenant per installed vertical plugin (see
    ``tillbook.demo.verticals``). Returns True when this call seeded the
    spa, False when the demo tenant already existed. Raises RuntimeError
    when a migration fails.
    """
    from tillbook.db.migrate import migrate
    from tillbook.demo.verticals import seed_vertical_demos

    await db.start(database_url)
    try:
        await migrate(database_url)
        spa = await seed_demo(seed=seed)
        await seed_vertical_demos()
    finally:
        await db.stop()
    return spa is not None


async def seed_demo(
    slug: str = DEMO_SLUG,
    *,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    with_activity: bool = True,
    week: Week = DEMO_WEEK,
) -> DemoSpa | None:
    """Create the demo spa under ``slug``; return None if that slug exists.

    Appointments fill the days around ``now`` (default: the current time);
    those that ended before it are checked out, and those under way are
    checked in, and ``week`` sets how many days around it get appointments.
    ``with_activity=False`` stops after the first layer, with no bookings or
    sales. Raises ValidationFailed if ``slug`` is not a valid
    tenant slug.
    """
    if await Tenant.exists().where(Tenant.slug == slug):
        logger.info("demo tenant %s exists; not seeding", slug)
        return None
    rng = random.Random(seed)
    scope = await create_demo_tenant(slug)
    now = now or utcnow()
    spa = DemoSpa(scope=scope, today=now.astimezone(scope.tenant.zone).date())
    async with db.write_transaction():
        await seed_team(spa)
        await seed_catalog(spa)
        await seed_staff_accounts(spa, slug)
        await seed_clients(spa, rng)
    if with_activity:
        await seed_kernel_activity(spa, rng, now, week)
    logger.info(
        "seeded demo tenant %s: %d services, %d staff, %d clients",
        slug,
        len(spa.services),
        len(spa.staff),
        len(spa.clients),
    )
    return spa


async def create_demo_tenant(slug: str) -> TenantScope:
    """Sign the spa up with its owner, then set tax, loyalty and branding."""
    owner = data.ACCOUNTS[0]
    scope, _ = await sign_up(
        SignupRequest(
            business_name=data.BUSINESS_NAME,
            slug=slug,
            email=login_email(owner.login, slug),
            password=owner.password,
            owner_name=owner.name,
            time_zone=data.TIME_ZONE,
            currency=data.CURRENCY,
            brand_colour=data.BRAND_COLOUR,
            logo_url=data.LOGO_URL,
        )
    )
    await Tenant.update(
        {
            Tenant.prices_include_tax: True,
            Tenant.loyalty_min_visits: data.LOYALTY_MIN_VISITS,
            Tenant.loyalty_percent: data.LOYALTY_PERCENT,
        }
    ).where(Tenant.id == scope.tenant_id)
    return TenantScope(await tenant_by_id(scope.tenant_id))


async def seed_team(spa: DemoSpa) -> None:
    """Insert the four providers and their weekly hours, lunch breaks included."""
    for spec in data.PROVIDERS:
        staff = Staff(
            name=spec.name,
            email=login_email(spec.login, spa.scope.tenant.slug),
            title=spec.title,
            colour=spec.colour,
        )
        await spa.scope.insert(staff)
        spa.staff[spec.name] = staff.id
        hours = [
            WorkingHours(
                staff_id=staff.id, weekday=weekday, start_minute=start, end_minute=end
            )
            for weekday, intervals in sorted(spec.hours.items())
            for start, end in intervals
        ]
        await spa.scope.insert(*hours)


async def seed_catalog(spa: DemoSpa) -> None:
    """Insert products, services with their providers and product links, and plans."""
    for product_spec in data.PRODUCTS:
        product = Product(
            name=product_spec.name,
            sku=product_spec.sku,
            price=product_spec.price,
            tax_rate=data.TAX_RATE,
            stock=product_spec.stock,
            low_stock_threshold=product_spec.low_stock_threshold,
            retail=product_spec.retail,
        )
        await spa.scope.insert(product)
        spa.products[product_spec.name] = product.id

    for service_spec in data.SERVICES:
        service = Service(
            name=service_spec.name,
            category=service_spec.category,
            description=service_spec.description,
            duration_minutes=service_spec.duration_minutes,
            price=service_spec.price,
            tax_rate=data.TAX_RATE,
            rebook_interval_days=service_spec.rebook_interval_days,
        )
        await spa.scope.insert(service)
        spa.services[service_spec.name] = service.id
        await spa.scope.insert(
            *[
                ServiceProvider(service_id=service.id, staff_id=staff_id)
                for staff_id in spa.providers_of(service_spec)
            ]
        )
        links = [
            ServiceProduct(
                service_id=service.id,
                product_id=spa.products[name],
                link=link,
                quantity=1,
            )
            for link, names in (
                ("consumes", service_spec.consumes),
                ("recommends", service_spec.recommends),
            )
            for name in names
        ]
        if links:
            await spa.scope.insert(*links)

    for plan_spec in data.PACKAGE_PLANS:
        plan = PackagePlan(
            name=plan_spec.name,
            service_id=spa.services[plan_spec.service],
            sessions=plan_spec.sessions,
            price=plan_spec.price,
            valid_days=plan_spec.valid_days,
        )
        await spa.scope.insert(plan)
        spa.plans[plan_spec.name] = plan.id


async def seed_staff_accounts(spa: DemoSpa, slug: str) -> None:
    """Create logins for the front desk and each provider; sign-up made the owner's.

    A provider's membership links to its Staff row, which is how the staff UI
    finds that provider's own schedule.
    """
    owner_email = login_email(data.ACCOUNTS[0].login, slug)
    owner = await Account.select(Account.id).where(Account.email == owner_email).first()
    if owner is not None:
        spa.accounts[data.ACCOUNTS[0].login] = owner["id"]
    for spec in data.ACCOUNTS[1:]:
        account = Account(
            email=login_email(spec.login, slug),
            name=spec.name,
            password_hash=hash_password(spec.password),
            created_at=utcnow(),
        )
        await account.save()
        spa.accounts[spec.login] = account.id
        staff_id = spa.staff[spec.provider] if spec.provider else None
        await spa.scope.insert(
            Membership(account_id=account.id, role=spec.role.value, staff_id=staff_id)
        )


async def seed_clients(spa: DemoSpa, rng: random.Random) -> None:
    """Insert 50 clients with contact details, and preferences and notes for some."""
    names = rng.sample(
        [(first, last) for first in data.FIRST_NAMES for last in data.LAST_NAMES],
        CLIENT_COUNT,
    )
    # 07700 900000 to 900999 are UK mobile numbers set aside for fiction.
    phone_endings = rng.sample(range(100, 1000), CLIENT_COUNT)
    now = utcnow()
    rows = []
    used_emails: set[str] = set()
    for (first, last), ending in zip(names, phone_endings, strict=True):
        email = _client_email(rng, first, last, used_emails)
        preferences = rng.sample(data.PREFERENCES, rng.choice((0, 1, 1, 2)))
        notes = rng.choice(data.NOTES) if rng.random() < 0.3 else ""
        rows.append(
            Client(
                first_name=first,
                last_name=last,
                email=email,
                phone=f"+44 7700 900{ending:03d}",
                preferences="\n".join(preferences),
                notes=notes,
                # Visits before the demo week; five or more earns loyalty.
                completed_visits=rng.choice((0, 0, 1, 2, 3, 4, 5, 6, 8, 12)),
                created_at=now - timedelta(days=rng.randint(20, 900)),
            )
        )
    rows[0] = _featured_client(now)
    await spa.scope.insert(*rows)
    spa.clients = [row.id for row in rows]


def _featured_client(now: datetime) -> Client:
    """Return the loyal regular with a lavender preference whom the demo features."""
    spec = data.FEATURED_CLIENT
    return Client(
        first_name=spec.first_name,
        last_name=spec.last_name,
        email=spec.email,
        phone=spec.phone,
        preferences=spec.preferences,
        notes=spec.notes,
        completed_visits=spec.completed_visits,
        created_at=now - timedelta(days=400),
    )


def _client_email(rng: random.Random, first: str, last: str, used: set[str]) -> str:
    """Return an unused address in one of the styles people pick."""
    styles = [f"{first}.{last}", f"{first}{last[0]}", f"{first[0]}{last}"]
    domain = rng.choice(data.EMAIL_DOMAINS)
    preferred = styles.pop(rng.randrange(len(styles)))
    for local_part in [preferred, *styles, f"{first}.{last}{rng.randint(2, 99)}"]:
        email = f"{local_part.lower()}@{domain}"
        if email not in used:
            used.add(email)
            return email
    raise RuntimeError(f"no free demo email for {first} {last}")
