"""Demo data of the salon plugin: a neighbourhood hair studio.

Prices are in pence; durations in minutes.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tillbook import TenantScope, utcnow
from tillbook.demo.kit import add_client, add_product, add_service, add_staff
from tillbook_salon.tables import (
    SalonFormula,
    SalonService,
    SalonStylistCommission,
    SalonVariant,
)

STYLISTS = (
    ("Priya Shah", "Senior stylist", "#8a5a83"),
    ("Tom Okafor", "Stylist", "#4f7a8a"),
    ("Ellie Brandt", "Colourist", "#b0703c"),
)

# name, category, base minutes, base price, variants by length, stylists,
# colour (application, processing) or None, rebook weeks
SERVICES: tuple[tuple[Any, ...], ...] = (
    (
        "Cut and finish",
        "Cutting",
        45,
        4800,
        {
            "short": (30, 3800),
            "medium": (45, 4800),
            "long": (60, 5800),
            "extra_long": (75, 6800),
        },
        (0, 1),
        None,
        6,
    ),
    (
        "Blow-dry",
        "Styling",
        30,
        3000,
        {
            "short": (25, 2500),
            "medium": (30, 3000),
            "long": (45, 3800),
            "extra_long": (55, 4500),
        },
        (0, 1, 2),
        None,
        None,
    ),
    (
        "Full head colour",
        "Colour",
        105,
        8500,
        {
            "short": (90, 7200),
            "medium": (105, 8500),
            "long": (120, 9800),
            "extra_long": (135, 11000),
        },
        (0, 2),
        (30, 35),
        6,
    ),
    ("Root tint", "Colour", 75, 5500, {}, (0, 2), (20, 30), 5),
    (
        "Balayage",
        "Colour",
        180,
        16000,
        {"medium": (165, 14500), "long": (180, 16000), "extra_long": (210, 18500)},
        (2,),
        (60, 40),
        12,
    ),
    ("Beard trim", "Cutting", 20, 1500, {}, (1,), None, 3),
)

PRODUCTS = (
    ("Bond repair shampoo", "SAL-SH1", 2200),
    ("Colour-safe conditioner", "SAL-CO1", 2400),
    ("Heat protect spray", "SAL-HP1", 1800),
    ("Texture paste", "SAL-TP1", 1600),
)

CLIENTS = (
    ("Maya", "Lindqvist", "Fine hair, prefers low-heat styling."),
    ("Josh", "Adeyemi", ""),
    ("Rosa", "Marchetti", "Sensitive scalp: patch test before colour."),
    ("Hannah", "Cole", ""),
    ("Imogen", "Reyes", "Likes a cool-toned blonde."),
    ("Dev", "Patel", ""),
    ("Freya", "Walsh", "Grows her fringe out between visits."),
    ("Sam", "Nakamura", ""),
    ("Lucy", "Bennett", "Runs late on Mondays; book after 10."),
    ("Oscar", "Dlamini", ""),
)

FORMULAS = (
    (0, 2, "7.1 30g + 8.1 15g", "20 vol (6%)", 35, "Toned with 9.12 gloss, 10 min."),
    (
        2,
        2,
        "5.0 40g + 5.3 10g",
        "20 vol (6%)",
        40,
        "Roots only; patch test done 3 days before.",
    ),
    (
        4,
        2,
        "Lightener 40g + bond builder",
        "30 vol (9%)",
        45,
        "Balayage, foils at the crown.",
    ),
    (4, 2, "9.12 60g", "10 vol (3%)", 15, "Gloss after lightening."),
    (6, 0, "6.3 50g", "20 vol (6%)", 35, ""),
)


async def seed(scope: TenantScope) -> None:
    """Insert the studio's team, menu, salon settings, clients and formulas."""
    stylists = [
        await add_staff(
            scope,
            name,
            title=title,
            colour=colour,
            email=f"{name.split()[0].lower()}@{scope.tenant.slug}.example",
        )
        for name, title, colour in STYLISTS
    ]
    for name, category, minutes, price, variants, providers, colour, weeks in SERVICES:
        service_id = await add_service(
            scope,
            name,
            category=category,
            duration_minutes=minutes,
            price=price,
            tax_rate="20",
            providers=[stylists[index] for index in providers],
        )
        await scope.insert(
            SalonService(
                service_id=service_id,
                colour=colour is not None,
                processing_after_minutes=colour[0] if colour else None,
                processing_minutes=colour[1] if colour else None,
                rebook_weeks=weeks,
            )
        )
        rows = [
            SalonVariant(
                service_id=service_id,
                hair_length=length,
                duration_minutes=length_minutes,
                price=length_price,
            )
            for length, (length_minutes, length_price) in variants.items()
        ]
        await scope.insert(*rows)
    for name, sku, price in PRODUCTS:
        await add_product(scope, name, sku=sku, price=price, tax_rate="20")
    clients = [
        await add_client(
            scope,
            first,
            last,
            email=f"{first.lower()}.{last.lower()}@example.com",
            phone=f"+44 7700 900{200 + index:03d}",
            preferences=preferences,
            completed_visits=(index * 3) % 9,
        )
        for index, (first, last, preferences) in enumerate(CLIENTS)
    ]
    now = utcnow()
    await scope.insert(
        *[
            SalonFormula(
                client_id=clients[client],
                staff_id=stylists[stylist],
                formula=formula,
                developer=developer,
                processing_minutes=minutes,
                notes=notes,
                created_at=now - timedelta(days=30 + 7 * position),
                updated_at=now - timedelta(days=30 + 7 * position),
            )
            for position, (
                client,
                stylist,
                formula,
                developer,
                minutes,
                notes,
            ) in enumerate(FORMULAS)
        ]
    )
    # The senior stylist earns more on services; the others use the settings.
    await scope.insert(
        SalonStylistCommission(
            staff_id=stylists[0],
            service_tiers=json.dumps(
                [
                    {"from": 0, "to": 400_000, "percent": 40},
                    {"from": 400_000, "to": None, "percent": 50},
                ]
            ),
            product_percent="15",
        )
    )
