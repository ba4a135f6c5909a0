"""Demo tenants for the vertical plugins: one business per installed plugin
that implements ``tillbook_seed_demo``.

Each tenant is signed up with an owner login, gets its plugin enabled (which
applies the plugin's migrations) and is then filled by the plugin's own
``tillbook_seed_demo`` inside one write transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tillbook import db
from tillbook.plugins import PluginFailed, TenantHooks, get_plugin_manager
from tillbook.tenancy.plugin_settings import configure_plugin
from tillbook.tenancy.scope import TenantScope
from tillbook.tenancy.signup import SignupRequest, sign_up
from tillbook.tenancy.tables import Tenant

logger = logging.getLogger("tillbook.demo")


@dataclass(frozen=True)
class VerticalDemo:
    """The business the demo makes for one plugin."""

    plugin: str
    slug: str
    name: str
    brand_colour: str

    @property
    def owner_email(self) -> str:
        return f"owner@{self.slug}.example"

    @property
    def owner_password(self) -> str:
        return f"{self.slug}-owner"


# The three vertical plugins shipped with Tillbook. Another plugin that
# implements the hook gets a tenant named after it.
KNOWN_VERTICALS = {
    "salon": VerticalDemo("salon", "marlowe", "Marlowe Hair Studio", "#8a5a83"),
    "fitness": VerticalDemo(
        "fitness", "northside", "Northside Yoga & Strength", "#2f6d8c"
    ),
    "petgrooming": VerticalDemo(
        "petgrooming", "scruffs", "Scruffs Dog Grooming", "#a0672d"
    ),
}


def vertical_demos() -> list[VerticalDemo]:
    """Return a demo business for each installed plugin that seeds demo data."""
    manager = get_plugin_manager()
    names = sorted(
        impl.plugin_name for impl in manager.hook.tillbook_seed_demo.get_hookimpls()
    )
    return [
        KNOWN_VERTICALS.get(name)
        or VerticalDemo(name, name.replace("_", "-"), f"{name.title()} demo", "#5b6b5a")
        for name in names
    ]


async def seed_vertical_demo(demo: VerticalDemo) -> TenantScope | None:
    """Create and fill the demo tenant of one plugin.

    Returns ``None`` when the slug already exists. A plugin whose seeding
    fails is logged and leaves its tenant with the owner login only (the
    seeding transaction rolls back), so the other demos still work.
    """
    if await Tenant.exists().where(Tenant.slug == demo.slug):
        logger.info("demo tenant %s exists; not seeding", demo.slug)
        return None
    scope, _ = await sign_up(
        SignupRequest(
            business_name=demo.name,
            slug=demo.slug,
            email=demo.owner_email,
            password=demo.owner_password,
            owner_name="Demo Owner",
            time_zone="Europe/London",
            currency="GBP",
            brand_colour=demo.brand_colour,
        )
    )
    try:
        await configure_plugin(scope, demo.plugin, enabled=True)
        hooks = TenantHooks({demo.plugin}, {})
        async with db.write_transaction():
            await hooks.tillbook_seed_demo(scope=scope)
    except PluginFailed:
        logger.error(
            "demo tenant %s has no %s data: the plugin's seeding failed",
            demo.slug,
            demo.plugin,
        )
        return scope
    logger.info(
        "seeded demo tenant %s (%s) for plugin %s; owner %s / %s",
        demo.slug,
        demo.name,
        demo.plugin,
        demo.owner_email,
        demo.owner_password,
    )
    return scope


async def seed_vertical_demos() -> list[VerticalDemo]:
    """Seed every vertical demo tenant not yet seeded; return those seeded."""
    seeded = []
    for demo in vertical_demos():
        if await seed_vertical_demo(demo) is not None:
            seeded.append(demo)
    return seeded
