"""Demo data for a grooming shop: groomers, the grooming menu, clients and pets.

Prices are in pence and durations in minutes. Each service's own duration
and price are for a small, short-coated dog; the plugin's size and coat
settings add to them.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from tillbook import TenantScope
from tillbook.demo.kit import add_client, add_service, add_staff
from tillbook_petgrooming.pets import clean_pet, insert_pet

GROOMERS = (
    ("Gina Marsh", "Senior groomer", "#a0672d"),
    ("Tom Reilly", "Groomer", "#4f7a8a"),
    ("Priya Das", "Bather and groomer", "#6b8a4f"),
)

# name, category, minutes, price, groomers (indexes into GROOMERS)
SERVICES = (
    ("Full groom", "Grooming", 75, 4000, (0, 1)),
    ("Bath and brush", "Grooming", 45, 2800, (0, 1, 2)),
    ("Hand strip", "Grooming", 90, 5500, (0,)),
    ("Puppy introduction", "Grooming", 40, 2500, (0, 2)),
    ("De-shedding treatment", "Grooming", 60, 3800, (1, 2)),
    ("Cat groom", "Grooming", 60, 4500, (0,)),
    ("Nail trim", "Extras", 15, 1000, (0, 1, 2)),
    ("Teeth brushing", "Extras", 10, 800, (1, 2)),
)

# client first and last name, phone, notes, then the client's pets as
# (name, species, breed, size, coat, temperament, notes)
CLIENTS: tuple[tuple[str, str, str, str, tuple[tuple[str, ...], ...]], ...] = (
    ("Hannah", "Reed", "07700 900101", "Two dogs, books them together", (
        ("Biscuit", "dog", "Cockapoo", "small", "curly", "Friendly, wriggly", ""),
        ("Crumpet", "dog", "Cockapoo", "medium", "curly", "Bouncy",
         "Sister of Biscuit"),
    )),
    ("Owen", "Lloyd", "07700 900102", "", (
        ("Maple", "dog", "Bernese Mountain Dog", "giant", "double", "Gentle",
         "Stiff hips: lift into the bath"),
    )),
    ("Fatima", "Khan", "07700 900103", "Pays by card", (
        ("Pepper", "dog", "Miniature Schnauzer", "small", "wire",
         "Nervous of dryers", ""),
    )),
    ("Clara", "Whitfield", "07700 900104", "", (
        ("Luna", "cat", "Persian", "small", "long", "Hisses at clippers",
         "Groom in the quiet room"),
    )),
    ("Marcus", "Bell", "07700 900105", "", (
        ("Otis", "dog", "Labrador Retriever", "large", "double", "Calm", ""),
    )),
    ("Sophie", "Turner", "07700 900106", "Collects after 5pm", (
        ("Pip", "dog", "Yorkshire Terrier", "toy", "long", "Barks at other dogs", ""),
    )),
    ("Daniel", "Okoro", "07700 900107", "", (
        ("Juno", "dog", "Standard Poodle", "large", "curly", "Very calm", "Show trim"),
    )),
    ("Eleanor", "Price", "07700 900108", "", (
        ("Bramble", "dog", "Border Terrier", "small", "wire", "Friendly",
         "Hand strip only"),
    )),
    ("Ravi", "Patel", "07700 900109", "", (
        ("Hazel", "dog", "Cavapoo", "small", "curly", "Anxious at first", ""),
    )),
    ("Grace", "Holloway", "07700 900110", "", (
        ("Ziggy", "dog", "Shih Tzu", "toy", "long", "Sleepy", "Teddy-bear face"),
        ("Mochi", "rabbit", "Lionhead", "toy", "long", "Skittish", "Nails only"),
    )),
    ("Jack", "Moreno", "07700 900111", "", (
        ("Rolo", "dog", "Golden Retriever", "large", "long", "Loves everyone", ""),
    )),
    ("Amelia", "Frost", "07700 900112", "New client", (
        ("Nova", "dog", "Siberian Husky", "large", "double", "Vocal", "Sheds heavily"),
    )),
)  # fmt: skip


def _vaccinations(name: str, species: str, index: int) -> list[dict[str, Any]]:
    """Return a pet's vaccination records: most valid, two with a problem.

    Pepper's Rabies vaccination has expired, so booking Pepper is rejected;
    Otis's DHPP runs out in ten days, so a booking after that is rejected.
    """
    today = date.today()
    rabies = today + timedelta(days=120 + 25 * index)
    if name == "Pepper":
        rabies = today - timedelta(days=12)
    records = [{"name": "Rabies", "expires_on": rabies.isoformat()}]
    if species == "dog":
        dhpp = today + timedelta(days=10 if name == "Otis" else 300 - 7 * index)
        bordetella = today + timedelta(days=150 + 5 * index)
        records.append({"name": "DHPP", "expires_on": dhpp.isoformat()})
        records.append({"name": "Bordetella", "expires_on": bordetella.isoformat()})
    elif species == "cat":
        fvrcp = today + timedelta(days=400)
        records.append({"name": "FVRCP", "expires_on": fvrcp.isoformat()})
    return records


async def seed_demo(scope: TenantScope) -> None:
    """Add groomers, the grooming menu and clients with their pets."""
    groomers = [
        await add_staff(scope, name, title=title, colour=colour)
        for name, title, colour in GROOMERS
    ]
    for name, category, minutes, price, providers in SERVICES:
        await add_service(
            scope,
            name,
            category=category,
            duration_minutes=minutes,
            price=price,
            providers=[groomers[index] for index in providers],
        )

    for index, (first, last, phone, notes, pets) in enumerate(CLIENTS):
        client_id = await add_client(
            scope,
            first,
            last,
            email=f"{first.lower()}.{last.lower()}@example.com",
            phone=phone,
            notes=notes,
            completed_visits=index % 7,
            client_for_days=30 + 40 * index,
        )
        for pet in pets:
            name, species, breed, size, coat, temperament, pet_notes = pet
            cleaned = clean_pet(
                {
                    "name": name,
                    "species": species,
                    "breed": breed,
                    "size": size,
                    "coat": coat,
                    "temperament": temperament,
                    "notes": pet_notes,
                    "vaccinations": _vaccinations(name, species, index),
                },
                partial=False,
            )
            await insert_pet(scope, uuid.UUID(client_id), cleaned)
