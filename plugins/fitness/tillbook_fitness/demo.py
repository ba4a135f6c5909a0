"""Demo data for a yoga studio: instructors, classes, a fortnight's timetable,
members with class packs and memberships, and a full Tuesday class.

Prices are in pence and durations in minutes. The timetable and the
bookings go through the kernel's class functions, so instructors' holds,
capacity, the waitlist and the plugin's credit rules apply as in use.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from tillbook import TenantScope, utcnow
from tillbook.demo.kit import add_client, add_service, add_staff
from tillbook_fitness.passes import balance, clean_pass
from tillbook_fitness.tables import ClassPass

# Monday to Saturday, 06:30 to 21:00.
STUDIO_HOURS = {weekday: [(6 * 60 + 30, 21 * 60)] for weekday in range(6)}

INSTRUCTORS = (
    ("Iris Cole", "Yoga teacher", "#2f6d8c"),
    ("Dan Okafor", "Strength coach", "#8c4f2f"),
    ("Maya Berg", "Pilates teacher", "#5b8c2f"),
)

# name, minutes, drop-in price, capacity
CLASSES = (
    ("Vinyasa Flow", 60, 1500, 12),
    ("Yin Yoga", 75, 1500, 12),
    ("Strength Circuit", 45, 1200, 10),
    ("Mat Pilates", 50, 1400, 10),
)

# weekday (0 is Monday), start, class index, instructor index
TIMETABLE = (
    (0, time(7, 0), 0, 0),
    (1, time(12, 30), 2, 1),
    (1, time(18, 30), 0, 0),
    (2, time(7, 0), 0, 0),
    (3, time(12, 30), 2, 1),
    (3, time(19, 0), 1, 0),
    (4, time(7, 0), 0, 0),
    (5, time(9, 30), 3, 2),
)

MEMBERS = (
    ("Mira", "Stone", "Knee injury: no deep lunges"),
    ("Noor", "Hale", ""),
    ("Lena", "Fischer", "Pregnant, second trimester"),
    ("Sam", "Achebe", ""),
    ("Chloe", "Martin", "Prefers a spot by the window"),
    ("Arjun", "Mehta", ""),
    ("Beth", "Lawson", "Lower back pain"),
    ("Tomas", "Novak", ""),
    ("Yuki", "Tanaka", ""),
    ("Isla", "Grant", "Beginner"),
    ("Leo", "Russo", ""),
    ("Hana", "Kim", ""),
    ("Ruth", "Adler", ""),
    ("Omar", "Farouk", "Drop-in visitor"),
)

# The pass of each member, in order. None leaves the member without a pass,
# so staff can see a booking rejected for lack of credit.
PASSES: tuple[dict[str, Any] | None, ...] = (
    {"kind": "membership", "name": "Unlimited monthly", "period": "month",
     "price": 11900},
    {"kind": "pack", "name": "10-class pack", "credits": 10, "valid_days": 180,
     "price": 13000},
    {"kind": "pack", "name": "5-class pack", "credits": 5, "valid_days": 90,
     "price": 7000},
    {"kind": "membership", "name": "Twice a week", "period": "week",
     "classes_per_period": 2, "price": 7900},
    {"kind": "pack", "name": "Intro offer: 3 classes", "credits": 3,
     "valid_days": 30, "price": 3000},
    {"kind": "pack", "name": "10-class pack", "credits": 10, "valid_days": 180,
     "price": 13000},
    {"kind": "membership", "name": "Unlimited monthly", "period": "month",
     "price": 11900},
    {"kind": "membership", "name": "Four a month", "period": "month",
     "classes_per_period": 4, "price": 5500},
    {"kind": "pack", "name": "10-class pack", "credits": 10, "valid_days": 180,
     "price": 13000},
    {"kind": "pack", "name": "5-class pack", "credits": 5, "valid_days": 90,
     "price": 7000},
    {"kind": "membership", "name": "Unlimited monthly", "period": "month",
     "price": 11900},
    {"kind": "pack", "name": "10-class pack", "credits": 10, "valid_days": 180,
     "price": 13000},
    {"kind": "pack", "name": "5-class pack", "credits": 5, "valid_days": 90,
     "price": 7000},
    None,
)  # fmt: skip


async def _timetable(
    scope: TenantScope, classes: list[str], instructors: list[str]
) -> list[tuple[datetime, str]]:
    """Schedule the next fortnight of classes; return each start and session id."""
    from tillbook.kernel.schedule.classes import create_session

    zone = scope.tenant.zone
    today = datetime.now(zone).date()
    sessions = []
    for offset in range(1, 15):
        day = today + timedelta(days=offset)
        for weekday, start, class_index, instructor_index in TIMETABLE:
            if day.weekday() != weekday:
                continue
            begins = datetime.combine(day, start, tzinfo=zone)
            created = await create_session(
                scope,
                {
                    "service_id": classes[class_index],
                    "staff_id": instructors[instructor_index],
                    "start": begins,
                },
            )
            sessions.append((begins, str(created["id"])))
    return sessions


async def _passes(scope: TenantScope, members: list[str]) -> None:
    today = date.today()
    for index, client_id in enumerate(members):
        values = PASSES[index]
        if values is None:
            continue
        starts = today - timedelta(days=3 * index)
        cleaned = clean_pass({**values, "starts_on": starts.isoformat()}, today)
        if cleaned["kind"] == "pack" and cleaned["credits_total"] > 3:
            cleaned["credits_left"] = cleaned["credits_total"] - index % 4
        await scope.insert(
            ClassPass(client_id=uuid.UUID(client_id), created_at=utcnow(), **cleaned)
        )


async def seed_demo(scope: TenantScope) -> None:
    """Add instructors, classes, the timetable, members with passes, bookings.

    The first Tuesday evening Vinyasa Flow is full, with two members on its
    waitlist, as a studio's most popular class usually is.
    """
    from tillbook.kernel.schedule.class_roster import book_place
    from tillbook.plugins import TenantHooks

    instructors = [
        await add_staff(scope, name, title=title, colour=colour, hours=STUDIO_HOURS)
        for name, title, colour in INSTRUCTORS
    ]
    classes = [
        await add_service(
            scope,
            name,
            category="Classes",
            duration_minutes=minutes,
            price=price,
            providers=instructors,
            kind="class",
            capacity=capacity,
        )
        for name, minutes, price, capacity in CLASSES
    ]
    members = [
        await add_client(
            scope,
            first,
            last,
            email=f"{first.lower()}.{last.lower()}@example.com",
            notes=notes,
            client_for_days=20 + 15 * index,
        )
        for index, (first, last, notes) in enumerate(MEMBERS)
    ]
    await _passes(scope, members)
    sessions = await _timetable(scope, classes, instructors)

    hooks = TenantHooks({"fitness"}, {})
    plan: list[tuple[datetime, str, str]] = []
    tuesday_evening = [
        (begins, session_id)
        for begins, session_id in sessions
        if begins.weekday() == 1 and begins.hour == 18
    ]
    for begins, session_id in tuesday_evening[:1]:
        plan.extend((begins, session_id, client_id) for client_id in members)
    for number, (begins, session_id) in enumerate(sessions[:6]):
        plan.extend(
            (begins, session_id, client_id)
            for client_id in members[number : number + 5]
        )

    booked: set[tuple[str, str]] = set()
    for begins, session_id, client_id in plan:
        if (session_id, client_id) in booked:
            continue
        # Book only members whose pass pays for the class, because a booking
        # the plugin rejects would raise inside the demo's one transaction.
        summary = await balance(scope, client_id, begins.date())
        if not summary["unlimited"] and summary["credits"] == 0:
            continue
        await book_place(scope, session_id, client=uuid.UUID(client_id), hooks=hooks)
        booked.add((session_id, client_id))
