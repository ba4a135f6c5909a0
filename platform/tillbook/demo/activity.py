"""The demo spa's week of trade, made through the kernel's own functions.

Gift cards and packages are sold at the till, appointments are booked through
the booking code, and past appointments are checked out with
``close_ticket``. The journal, stock, package balances, client histories,
receipts and the daily report therefore hold what a real week would leave.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from tillbook.demo import data
from tillbook.errors import TillbookError
from tillbook.kernel.catalog.tables import Product
from tillbook.kernel.ledger import checkout
from tillbook.kernel.ledger.checkout import close_ticket
from tillbook.kernel.ledger.tables import Ticket
from tillbook.kernel.ledger.tickets import (
    add_line,
    open_ticket_for_appointment,
    open_walk_in_ticket,
)
from tillbook.kernel.schedule.booking import book_appointment
from tillbook.kernel.schedule.changes import check_in
from tillbook.plugins import TenantHooks
from tillbook.tenancy.plugin_settings import load_tenant_hooks

if TYPE_CHECKING:
    from tillbook.demo.seed import DemoSpa

logger = logging.getLogger("tillbook.demo")


@dataclass(frozen=True)
class Week:
    """How many days before and after today get appointments."""

    past_days: int = 4
    future_days: int = 3


DEMO_WEEK = Week()
# Share of each provider's free half-hours that get a booking.
BOOKED_SHARE = 0.6
GIFT_CARD_AMOUNTS = (5000, 7500, 10000)
TIPS = (0, 0, 0, 300, 500, 1000)
FEATURED_NOTE = "Prefer lavender scent, please."


@dataclass
class Booking:
    """An appointment the demo booked, with what checkout needs to know."""

    appointment_id: str
    service: data.ServiceSpec
    staff_id: uuid.UUID
    client_id: uuid.UUID
    start: datetime
    end: datetime


@dataclass
class Till:
    """Gift cards and packages the demo has sold, which later sales pay with."""

    hooks: TenantHooks
    desk_id: uuid.UUID | None
    gift_cards: dict[str, int] = field(default_factory=dict)
    # Client id -> name of the service a package they hold pays for.
    packages: dict[uuid.UUID, str] = field(default_factory=dict)


async def seed_kernel_activity(
    spa: DemoSpa, rng: random.Random, now: datetime, week: Week = DEMO_WEEK
) -> None:
    """Sell, book and check out the days around ``spa.today`` up to ``now``."""
    till = Till(
        hooks=await load_tenant_hooks(spa.scope), desk_id=spa.accounts.get("desk")
    )
    first_day = spa.today - timedelta(days=week.past_days)
    await seed_gift_cards(spa, rng, till, first_day)
    await seed_package_sales(spa, till, first_day)
    bookings = await seed_appointments(spa, rng, now, week)
    await seed_past_checkouts(spa, rng, till, bookings, now)
    await check_in_arrived(spa, bookings, now)


def local_instant(spa: DemoSpa, day: date, minute: int) -> datetime:
    """Return the UTC instant of ``minute`` after local midnight on ``day``."""
    clock = time(minute // 60, minute % 60)
    return datetime.combine(day, clock, tzinfo=spa.scope.tenant.zone).astimezone(UTC)


@contextmanager
def ledger_clock(at: datetime) -> Iterator[None]:
    """Stamp tickets closed inside the block, and their journal entries, at ``at``.

    The checkout module reads the time from its module-level ``utcnow``; the
    demo replaces it while it closes the tickets of past days.
    """
    # TODO: pass the close time to close_ticket once it accepts one.
    original = checkout.utcnow
    setattr(checkout, "utcnow", lambda: at)  # noqa: B010
    try:
        yield
    finally:
        setattr(checkout, "utcnow", original)  # noqa: B010


async def seed_gift_cards(
    spa: DemoSpa, rng: random.Random, till: Till, day: date
) -> None:
    """Sell four gift cards at the till on ``day``."""
    for number in range(4):
        sold_at = local_instant(spa, day, 10 * 60 + 20 * number)
        client_id = rng.choice(spa.clients[1:])
        amount = rng.choice(GIFT_CARD_AMOUNTS)
        ticket_id = await open_walk_in_ticket(
            spa.scope, client_id=client_id, actor_id=till.desk_id
        )
        await add_line(
            spa.scope,
            ticket_id,
            {"kind": "gift_card", "amount": amount},
            till.desk_id,
        )
        tender = rng.choice(("cash", "external_card"))
        result = await _close(spa, till, ticket_id, [_pay(tender, amount)], [], sold_at)
        for card in result["gift_cards"]:
            till.gift_cards[card["code"]] = card["balance"]


async def seed_package_sales(spa: DemoSpa, till: Till, day: date) -> None:
    """Sell each package plan to one client, the featured client first."""
    buyers = [spa.clients[0], spa.clients[5], spa.clients[9]]
    for number, (plan, client_id) in enumerate(
        zip(data.PACKAGE_PLANS, buyers, strict=True)
    ):
        sold_at = local_instant(spa, day, 12 * 60 + 15 * number)
        ticket_id = await open_walk_in_ticket(
            spa.scope, client_id=client_id, actor_id=till.desk_id
        )
        await add_line(
            spa.scope,
            ticket_id,
            {"kind": "package", "plan_id": str(spa.plans[plan.name])},
            till.desk_id,
        )
        await _close(
            spa, till, ticket_id, [_pay("external_card", plan.price)], [], sold_at
        )
        till.packages[client_id] = plan.service


async def seed_appointments(
    spa: DemoSpa, rng: random.Random, now: datetime, week: Week
) -> list[Booking]:
    """Book the featured visit, then fill each provider's days around today."""
    bookings: list[Booking] = []
    featured = await _book_featured(spa, now)
    if featured is not None:
        bookings.append(featured)
    for offset in range(-week.past_days, week.future_days + 1):
        day = spa.today + timedelta(days=offset)
        for provider in data.PROVIDERS:
            for start, end in provider.hours.get(day.weekday(), ()):
                bookings += await _fill_interval(
                    spa, rng, provider, day, start, end, now
                )
    bookings.sort(key=lambda booking: booking.start)
    logger.info("booked %d demo appointments", len(bookings))
    return bookings


async def _book_featured(spa: DemoSpa, now: datetime) -> Booking | None:
    """Book Eleanor's Signature Facial with Maya at 15:00 on the next Saturday."""
    days_ahead = (5 - spa.today.weekday()) % 7 or 7
    day = spa.today + timedelta(days=days_ahead)
    service = _service("Signature Facial")
    maya = spa.staff["Maya Okafor"]
    return await _book(
        spa, service, maya, spa.clients[0], day, 15 * 60, now, FEATURED_NOTE
    )


async def _fill_interval(
    spa: DemoSpa,
    rng: random.Random,
    provider: data.ProviderSpec,
    day: date,
    start: int,
    end: int,
    now: datetime,
) -> list[Booking]:
    services = [s for s in data.SERVICES if s.category in provider.categories]
    staff_id = spa.staff[provider.name]
    bookings = []
    cursor = start
    while cursor + 30 <= end:
        fitting = [s for s in services if cursor + s.duration_minutes <= end]
        if not fitting or rng.random() > BOOKED_SHARE:
            cursor += 30
            continue
        service = rng.choice(fitting)
        client_id = rng.choice(spa.clients[1:])
        booking = await _book(spa, service, staff_id, client_id, day, cursor, now)
        if booking is not None:
            bookings.append(booking)
        cursor += service.duration_minutes + rng.choice((0, 0, 15))
    return bookings


async def _book(
    spa: DemoSpa,
    service: data.ServiceSpec,
    staff_id: uuid.UUID,
    client_id: uuid.UUID,
    day: date,
    minute: int,
    now: datetime,
    note: str = "",
) -> Booking | None:
    start = local_instant(spa, day, minute)
    # Past visits are booked as if three days before they happened.
    booked_at = min(now, start - timedelta(days=3))
    online = start - booked_at > timedelta(hours=2)
    try:
        result = await book_appointment(
            spa.scope,
            service_id=spa.services[service.name],
            staff_id=staff_id,
            start=start,
            client=client_id,
            note=note,
            source="online" if online else "staff",
            now=booked_at,
        )
    except TillbookError as exc:
        # The featured visit may already hold the slot; the day goes on.
        logger.debug("demo booking at %s skipped: %s", start, exc)
        return None
    return Booking(
        appointment_id=str(result["id"]),
        service=service,
        staff_id=staff_id,
        client_id=client_id,
        start=start,
        end=start + timedelta(minutes=service.duration_minutes),
    )


async def seed_past_checkouts(
    spa: DemoSpa,
    rng: random.Random,
    till: Till,
    bookings: list[Booking],
    now: datetime,
) -> None:
    """Check out every appointment that ended before ``now``, at its end time."""
    closed = 0
    for booking in bookings:
        if booking.end > now:
            continue
        await _check_out(spa, rng, till, booking, now)
        closed += 1
    logger.info("checked out %d past demo appointments", closed)


async def _check_out(
    spa: DemoSpa, rng: random.Random, till: Till, booking: Booking, now: datetime
) -> None:
    ticket_id = await open_ticket_for_appointment(
        spa.scope, booking.appointment_id, till.desk_id
    )
    uses_package = till.packages.get(booking.client_id) == booking.service.name
    if not uses_package and booking.service.recommends and rng.random() < 0.35:
        await _sell_recommended(spa, till, ticket_id, booking)
    ticket = await spa.scope.get(Ticket, ticket_id)
    tip = rng.choice(TIPS)
    tips = [{"staff_id": str(booking.staff_id), "amount": tip}] if tip else []
    if uses_package:
        tenders = [{"kind": "package"}] + ([_pay("cash", tip)] if tip else [])
    else:
        tenders = _choose_tenders(rng, till, ticket["total"] + tip)
    closed_at = min(booking.end + timedelta(minutes=5), now)
    await _close(spa, till, ticket_id, tenders, tips, closed_at)


async def _sell_recommended(
    spa: DemoSpa, till: Till, ticket_id: uuid.UUID, booking: Booking
) -> None:
    """Add the service's recommended product to the ticket while any is in stock."""
    product_id = spa.products[booking.service.recommends[0]]
    product = await spa.scope.get(Product, product_id)
    if product["stock"] < 1:
        return
    await add_line(
        spa.scope,
        ticket_id,
        {
            "kind": "product",
            "product_id": str(product_id),
            "quantity": 1,
            "staff_id": str(booking.staff_id),
        },
        till.desk_id,
    )


def _choose_tenders(rng: random.Random, till: Till, due: int) -> list[dict[str, Any]]:
    """Pay ``due`` by card terminal, by cash with change, or partly by gift card."""
    roll = rng.random()
    usable = [code for code, balance in till.gift_cards.items() if balance > 0]
    if roll < 0.15 and usable:
        code = rng.choice(usable)
        from_card = min(till.gift_cards[code], due)
        till.gift_cards[code] -= from_card
        tenders = [{"kind": "gift_card", "code": code, "amount": from_card}]
        if due > from_card:
            tenders.append(_pay("external_card", due - from_card))
        return tenders
    if roll < 0.4:
        # Cash rounded up to the next five pounds, so the till gives change.
        handed = -(-due // 500) * 500
        return [_pay("cash", handed if handed > due else due)]
    return [_pay("external_card", due)]


def _pay(kind: str, amount: int) -> dict[str, Any]:
    return {"kind": kind, "amount": amount}


async def _close(
    spa: DemoSpa,
    till: Till,
    ticket_id: uuid.UUID,
    tenders: list[dict[str, Any]],
    tips: list[dict[str, Any]],
    at: datetime,
) -> dict[str, Any]:
    with ledger_clock(at):
        return await close_ticket(
            spa.scope,
            ticket_id,
            tenders=tenders,
            tips=tips,
            actor_id=till.desk_id,
            idempotency_key=f"demo-{ticket_id}",
            hooks=till.hooks,
        )


async def check_in_arrived(
    spa: DemoSpa, bookings: list[Booking], now: datetime
) -> None:
    """Check in the clients whose appointments are under way at ``now``."""
    for booking in bookings:
        if booking.start <= now < booking.end:
            await check_in(spa.scope, booking.appointment_id, spa.accounts.get("desk"))


def _service(name: str) -> data.ServiceSpec:
    return next(spec for spec in data.SERVICES if spec.name == name)
