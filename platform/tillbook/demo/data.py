"""The menu, team and client names of the demo spa.

Prices are in pence and include 20% VAT, as UK spas quote them. Working hours
are (start, end) in minutes after local midnight; a lunch break is the gap
between two intervals of one day. Weekday 0 is Monday.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from tillbook.tenancy.roles import Role

BUSINESS_NAME = "Juniper & Rye Day Spa"
TIME_ZONE = "Europe/London"
CURRENCY = "GBP"
BRAND_COLOUR = "#3f6b57"
TAX_RATE = "20"
LOYALTY_MIN_VISITS = 5
LOYALTY_PERCENT = 10

# A juniper sprig with three berries beside an ear of rye, on a round badge.
LOGO_SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
<circle cx="32" cy="32" r="31" fill="#3f6b57"/>
<path d="M22 50 C24 38 27 27 33 15" stroke="#e9efe6" stroke-width="2.5"
 fill="none" stroke-linecap="round"/>
<g fill="#e9efe6">
<path d="M24 42 l-8 -3 l8 -1 z"/><path d="M25 36 l-8 -4 l8 0 z"/>
<path d="M27 30 l-7 -5 l8 1 z"/><path d="M25 40 l7 -5 l-6 6 z"/>
<path d="M27 34 l7 -6 l-5 7 z"/><path d="M29 28 l7 -6 l-5 7 z"/>
</g>
<g fill="#8fb3d9"><circle cx="36" cy="39" r="3"/><circle cx="40" cy="34" r="3"/>
<circle cx="35" cy="31" r="2.5"/></g>
<path d="M44 52 C44 40 45 28 46 14" stroke="#e2c489" stroke-width="2"
 fill="none" stroke-linecap="round"/>
<g fill="#e2c489">
<ellipse cx="43" cy="20" rx="2" ry="4" transform="rotate(-25 43 20)"/>
<ellipse cx="49" cy="21" rx="2" ry="4" transform="rotate(25 49 21)"/>
<ellipse cx="43" cy="27" rx="2" ry="4" transform="rotate(-25 43 27)"/>
<ellipse cx="49" cy="28" rx="2" ry="4" transform="rotate(25 49 28)"/>
<ellipse cx="43" cy="34" rx="2" ry="4" transform="rotate(-25 43 34)"/>
<ellipse cx="49" cy="35" rx="2" ry="4" transform="rotate(25 49 35)"/>
<ellipse cx="46" cy="14" rx="2" ry="4"/>
</g>
</svg>"""

LOGO_URL = "data:image/svg+xml;base64," + base64.b64encode(LOGO_SVG.encode()).decode()


@dataclass(frozen=True)
class ProductSpec:
    name: str
    sku: str
    price: int
    stock: int
    low_stock_threshold: int = 5
    retail: bool = True


PRODUCTS = [
    ProductSpec("Lavender Cleansing Oil", "JR-LCO-100", 2800, 40),
    ProductSpec("Hydrating Rose Serum", "JR-HRS-30", 4200, 30),
    ProductSpec("Vitamin C Brightening Mist", "JR-VCM-50", 2400, 15),
    ProductSpec("Juniper Sea Salt Scrub", "JR-JSS-200", 3200, 30),
    ProductSpec("Arnica & Ginger Massage Oil", "JR-AGO-100", 2600, 30),
    ProductSpec("Magnesium Muscle Balm", "JR-MMB-60", 1900, 16),
    ProductSpec("Nourishing Cuticle Oil", "JR-NCO-10", 1200, 4),
    ProductSpec("Rich Hand & Heel Cream", "JR-HHC-75", 1600, 22),
    ProductSpec("Tinted Brow Gel", "JR-TBG-5", 1400, 9),
    ProductSpec("Lash Conditioning Serum", "JR-LCS-5", 3000, 7),
    # Back-bar stock that massages use up, one unit per treatment; not sold
    # over the counter.
    ProductSpec("Professional Massage Oil 1 L", "JR-PMO-1000", 3600, 40, 8, False),
]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    category: str
    duration_minutes: int
    price: int
    description: str
    rebook_interval_days: int | None = None
    consumes: tuple[str, ...] = ()
    recommends: tuple[str, ...] = ()


SERVICES = [
    ServiceSpec(
        "Signature Facial", "Facials", 60, 8500,
        "Double cleanse, gentle exfoliation, massage and a mask chosen for "
        "your skin on the day.",
        rebook_interval_days=28,
        consumes=("Lavender Cleansing Oil",),
        recommends=("Hydrating Rose Serum",),
    ),
    ServiceSpec(
        "Express Glow Facial", "Facials", 30, 5000,
        "A quick cleanse, exfoliation and hydrating finish for busy days.",
        rebook_interval_days=21,
        consumes=("Lavender Cleansing Oil",),
        recommends=("Vitamin C Brightening Mist",),
    ),
    ServiceSpec(
        "Deep Hydration Facial", "Facials", 75, 11000,
        "A longer facial with a hyaluronic mask and LED light for dry or "
        "tired skin.",
        rebook_interval_days=28,
        consumes=("Lavender Cleansing Oil", "Hydrating Rose Serum"),
        recommends=("Hydrating Rose Serum",),
    ),
    ServiceSpec(
        "Swedish Massage", "Massage", 60, 7500,
        "Long, flowing strokes at medium pressure to ease everyday tension.",
        rebook_interval_days=28,
        consumes=("Professional Massage Oil 1 L",),
        recommends=("Arnica & Ginger Massage Oil",),
    ),
    ServiceSpec(
        "Deep Tissue Massage", "Massage", 60, 8500,
        "Firm, focused work on the back, neck and shoulders.",
        rebook_interval_days=21,
        consumes=("Professional Massage Oil 1 L",),
        recommends=("Magnesium Muscle Balm",),
    ),
    ServiceSpec(
        "Hot Stone Massage", "Massage", 90, 11000,
        "Warm basalt stones and slow massage for deep relaxation.",
        rebook_interval_days=35,
        consumes=("Arnica & Ginger Massage Oil",),
    ),
    ServiceSpec(
        "Juniper Salt Scrub", "Body", 45, 6000,
        "A full-body sea salt polish followed by a rich moisturising oil.",
        consumes=("Juniper Sea Salt Scrub",),
        recommends=("Juniper Sea Salt Scrub",),
    ),
    ServiceSpec(
        "Seaweed Body Wrap", "Body", 60, 8000,
        "A mineral-rich wrap with a scalp massage while it works.",
    ),
    ServiceSpec(
        "Classic Manicure", "Nails", 45, 3500,
        "Shape, cuticle care, hand massage and polish.",
        rebook_interval_days=14,
        recommends=("Nourishing Cuticle Oil",),
    ),
    ServiceSpec(
        "Spa Pedicure", "Nails", 60, 4800,
        "Soak, scrub, hard-skin care, foot massage and polish.",
        rebook_interval_days=28,
        recommends=("Rich Hand & Heel Cream",),
    ),
    ServiceSpec(
        "Brow Shape & Tint", "Brows & Lashes", 30, 2800,
        "Wax and tweeze to shape, then a tint matched to your colouring.",
        rebook_interval_days=28,
        recommends=("Tinted Brow Gel",),
    ),
    ServiceSpec(
        "Lash Lift & Tint", "Brows & Lashes", 60, 5500,
        "A keratin lift and tint that lasts six to eight weeks.",
        rebook_interval_days=42,
        recommends=("Lash Conditioning Serum",),
    ),
]  # fmt: skip

Hours = dict[int, tuple[tuple[int, int], ...]]


def _day(*clock: str) -> tuple[tuple[int, int], ...]:
    """Turn ("09:00", "13:00", "14:00", "18:00") into minute intervals."""
    minutes = [int(text[:2]) * 60 + int(text[3:]) for text in clock]
    return tuple(zip(minutes[::2], minutes[1::2], strict=True))


TUE_TO_SAT = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    login: str
    title: str
    colour: str
    categories: tuple[str, ...]
    hours: Hours


PROVIDERS = [
    ProviderSpec(
        "Maya Okafor", "maya", "Senior aesthetician", "#b5657b",
        ("Facials", "Brows & Lashes"),
        {day: _day("09:00", "13:00", "14:00", "18:00") for day in TUE_TO_SAT},
    ),
    ProviderSpec(
        "Callum Reid", "callum", "Massage therapist", "#4d7ea8",
        ("Massage", "Body"),
        {day: _day("10:00", "14:00", "15:00", "19:00") for day in (0, 1, 2, 3, 4)},
    ),
    ProviderSpec(
        "Priya Shah", "priya", "Nail and brow technician", "#c28a2c",
        ("Nails", "Brows & Lashes"),
        {
            **{day: _day("09:00", "13:00", "13:30", "17:30") for day in (2, 3, 4, 5)},
            6: _day("10:00", "16:00"),
        },
    ),
    ProviderSpec(
        "Elena Rossi", "elena", "Spa therapist", "#6b8f3f",
        ("Facials", "Massage", "Body"),
        {day: _day("11:00", "15:00", "15:45", "20:00") for day in TUE_TO_SAT},
    ),
]  # fmt: skip


@dataclass(frozen=True)
class AccountSpec:
    """A staff login of the demo; the email's domain comes from the tenant slug."""

    login: str
    name: str
    role: Role
    password: str
    provider: str | None = None


ACCOUNTS = [
    AccountSpec("owner", "Harriet Lindqvist", Role.OWNER, "juniper-owner"),
    AccountSpec("desk", "Sam Whitaker", Role.FRONT_DESK, "juniper-desk"),
    *[
        AccountSpec(p.login, p.name, Role.PROVIDER, f"juniper-{p.login}", p.name)
        for p in PROVIDERS
    ],
]


@dataclass(frozen=True)
class PlanSpec:
    name: str
    service: str
    sessions: int
    price: int
    valid_days: int = 365


PACKAGE_PLANS = [
    PlanSpec("Five Signature Facials", "Signature Facial", 5, 38000),
    PlanSpec("Six Swedish Massages", "Swedish Massage", 6, 40500),
    PlanSpec("Five Classic Manicures", "Classic Manicure", 5, 15500, 180),
]


@dataclass(frozen=True)
class ClientSpec:
    first_name: str
    last_name: str
    email: str
    phone: str
    preferences: str
    notes: str
    completed_visits: int


# First in the client list; her visits show loyalty, packages and preferences.
FEATURED_CLIENT = ClientSpec(
    "Eleanor",
    "Marsh",
    "eleanor.marsh@example.com",
    "+44 7700 900001",
    "Prefers lavender scent\nAllergic to nuts: no almond or argan oil",
    "Comes every four weeks for the Signature Facial with Maya.",
    6,
)

FIRST_NAMES = [
    "Amelia", "Olivia", "Isla", "Ava", "Mia", "Grace", "Sophie", "Freya",
    "Chloe", "Evie", "Poppy", "Ruby", "Lily", "Ella", "Zara", "Aisha", "Niamh",
    "Harriet", "Imogen", "Martha", "Rosie", "Priyanka", "Mei", "Leah", "Hannah",
    "Oliver", "George", "Harry", "Jack", "Noah", "Arjun", "Tom", "Daniel",
    "Samuel", "Owen", "Kwame", "Luca", "Rory",
]  # fmt: skip

LAST_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans",
    "Thomas", "Roberts", "Walker", "Wright", "Thompson", "Hughes", "Edwards",
    "Green", "Hall", "Wood", "Clarke", "Patel", "Khan", "Campbell", "Murray",
    "Kelly", "Morgan", "Bennett", "Osei", "Nakamura", "Fraser", "Doyle",
    "Mensah", "Kowalski", "Ahmed",
]  # fmt: skip

EMAIL_DOMAINS = ["example.com", "example.org"]

PREFERENCES = [
    "Prefers lavender scent",
    "Firm pressure",
    "Light pressure, please",
    "Allergic to nuts: no almond or argan oil",
    "Sensitive skin: fragrance-free products only",
    "Likes a quiet session, little conversation",
    "Prefers a female therapist",
    "Feels the cold: extra blanket",
    "No hot stones on the lower back",
    "Short square nails, neutral polish",
]

NOTES = [
    "Regular since the spa opened.",
    "Pregnant: second trimester, no deep tissue work.",
    "Birthday in June; likes the gift card offer.",
    "Came through a friend's referral.",
    "Runs marathons; books a massage the week after each race.",
    "Prefers text reminders to email.",
    "Asked about the facial package last visit.",
    "Parking: usually arrives five minutes late.",
]
