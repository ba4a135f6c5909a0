"""Reading and checking the tenders and tips of a close request.

``plan_close`` validates everything a close needs before any money moves. It
checks the shape of each tender and tip and the gift cards, packages and
stored card they name. It also checks that the tenders pay exactly what is
due, except that cash may exceed it and gives change. Its result, a
``ClosePlan``, is what the card is charged for and what the close transaction
applies. Balances are checked again there with conditional updates, because
they may change between the two.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, ValidationFailed
from tillbook.kernel.catalog import giftcards
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard, PackagePlan
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger.cards import (
    ConfiguredProvider,
    configured_provider,
    stored_card_of,
)
from tillbook.kernel.ledger.money import check_amount, format_major
from tillbook.kernel.ledger.tables import Ticket, TicketLine
from tillbook.kernel.ledger.tickets import require_lines
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.payments import StoredCard
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

TENDER_KINDS = ("cash", "card", "external_card", "gift_card", "package")
# Tender kinds that may appear at most once per close. Each gift card may
# appear once, and a package as often as it has sessions left.
SINGLE_KINDS = ("cash", "card", "external_card")
MAX_TENDERS = 20
MAX_REFERENCE_LENGTH = 100


@dataclass(frozen=True)
class TenderRequest:
    """One tender as the caller sent it, checked for shape only."""

    kind: str
    amount: int | None = None
    code: str | None = None
    client_package_id: uuid.UUID | None = None
    line_id: uuid.UUID | None = None
    reference: str = ""

    def canonical(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "amount": self.amount,
            "code": self.code,
            "client_package_id": str(self.client_package_id or ""),
            "line_id": str(self.line_id or ""),
            "reference": self.reference,
        }


@dataclass(frozen=True)
class TipRequest:
    """A tip for one staff member, in minor units (0 or more)."""

    staff_id: uuid.UUID
    amount: int


@dataclass
class PlannedTender:
    """A tender resolved against the database, ready to post.

    ``amount`` is what the ticket keeps (for cash, net of change) and
    ``change`` what cash handed back.
    """

    index: int
    kind: str
    amount: int
    account: str
    change: int = 0
    reference: str = ""
    detail: str = ""
    gift_card_id: uuid.UUID | None = None
    package_id: uuid.UUID | None = None
    line_id: uuid.UUID | None = None
    sessions: int = 0
    unit_value: int = 0


@dataclass
class ClosePlan:
    """Everything a close will do, worked out before money moves."""

    ticket: dict[str, Any]
    lines: list[dict[str, Any]]
    client: dict[str, Any] | None
    appointment: dict[str, Any] | None
    tenders: list[PlannedTender]
    tips: list[TipRequest]
    lines_total: int
    tips_total: int
    change: int
    provider: ConfiguredProvider | None = None
    stored_card: StoredCard | None = None
    plans: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)

    @property
    def due(self) -> int:
        return self.lines_total + self.tips_total

    @property
    def card_tender(self) -> PlannedTender | None:
        return next((t for t in self.tenders if t.kind == "card"), None)


class TenderMismatch(ValidationFailed):
    """The tenders do not pay the amount due; carries both amounts."""

    def __init__(self, message: str, *, due: int, tendered: int) -> None:
        super().__init__({"tenders": message})
        self.extra.update(due=due, tendered=tendered)


def _uuid(value: object, field_name: str, errors: dict[str, str]) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        errors[field_name] = f"{value!r} is not an id: send the id as a string"
        return None


def _amount(
    value: object, field_name: str, errors: dict[str, str], *, allow_zero: bool = False
) -> int | None:
    try:
        return check_amount(value, field_name, allow_zero=allow_zero)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        return None


def parse_tenders(raw: object) -> list[TenderRequest]:
    """Check the shape of the ``tenders`` list; raise ValidationFailed per field.

    Each item is ``{"kind", "amount"}`` plus ``"code"`` for a gift card,
    optional ``"client_package_id"`` and ``"line_id"`` for a package, and an
    optional ``"reference"`` (such as a terminal slip number) for an external
    card. Amounts are integers in minor units; a package tender's amount, if
    sent, must equal the line it pays.
    """
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ValidationFailed({"tenders": "must be a list of tenders"})
    if len(raw) > MAX_TENDERS:
        raise ValidationFailed({"tenders": f"has more than {MAX_TENDERS} tenders"})
    errors: dict[str, str] = {}
    parsed: list[TenderRequest] = []
    for index, item in enumerate(raw):
        prefix = f"tenders[{index}]"
        if not isinstance(item, dict):
            errors[prefix] = "must be an object with kind and amount"
            continue
        kind = item.get("kind")
        if kind not in TENDER_KINDS:
            errors[f"{prefix}.kind"] = (
                f"{kind!r} is not a tender kind: use one of {', '.join(TENDER_KINDS)}"
            )
            continue
        amount = None
        if kind != "package" or item.get("amount") is not None:
            amount = _amount(item.get("amount"), f"{prefix}.amount", errors)
        code = item.get("code")
        if kind == "gift_card":
            try:
                code = giftcards.normalise_code(str(code or ""), f"{prefix}.code")
            except ValidationFailed as exc:
                errors.update(exc.errors)
        reference = item.get("reference") or ""
        if not isinstance(reference, str) or len(reference) > MAX_REFERENCE_LENGTH:
            errors[f"{prefix}.reference"] = (
                f"must be text of at most {MAX_REFERENCE_LENGTH} characters"
            )
            reference = ""
        parsed.append(
            TenderRequest(
                kind=kind,
                amount=amount,
                code=code if kind == "gift_card" else None,
                client_package_id=_uuid(
                    item.get("client_package_id"), f"{prefix}.client_package_id", errors
                ),
                line_id=_uuid(item.get("line_id"), f"{prefix}.line_id", errors),
                reference=reference.strip(),
            )
        )
    for kind in SINGLE_KINDS:
        if sum(1 for tender in parsed if tender.kind == kind) > 1:
            errors["tenders"] = f"has more than one {kind} tender: combine them"
    if errors:
        raise ValidationFailed(errors)
    return parsed


def parse_tips(raw: object) -> list[TipRequest]:
    """Check the ``tips`` list of ``{"staff_id", "amount"}``; amounts may be 0.

    Tips for the same staff member are added up and zero tips dropped.
    Raises ValidationFailed naming ``tips[i].staff_id`` or ``tips[i].amount``.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed({"tips": "must be a list of {staff_id, amount}"})
    errors: dict[str, str] = {}
    totals: dict[uuid.UUID, int] = {}
    for index, item in enumerate(raw):
        prefix = f"tips[{index}]"
        if not isinstance(item, dict):
            errors[prefix] = "must be an object with staff_id and amount"
            continue
        staff_id = _uuid(item.get("staff_id"), f"{prefix}.staff_id", errors)
        if staff_id is None and f"{prefix}.staff_id" not in errors:
            errors[f"{prefix}.staff_id"] = "is required: name who the tip is for"
        amount = _amount(
            item.get("amount"), f"{prefix}.amount", errors, allow_zero=True
        )
        if staff_id is not None and amount:
            totals[staff_id] = totals.get(staff_id, 0) + amount
    if errors:
        raise ValidationFailed(errors)
    return [TipRequest(staff_id, amount) for staff_id, amount in totals.items()]


def canonical_request(
    ticket_id: uuid.UUID, tenders: list[TenderRequest], tips: list[TipRequest]
) -> dict[str, Any]:
    """Return the parts of a close request its idempotency digest covers."""
    return {
        "ticket_id": str(ticket_id),
        "tenders": [tender.canonical() for tender in tenders],
        "tips": sorted(
            ({"staff_id": str(tip.staff_id), "amount": tip.amount} for tip in tips),
            key=lambda tip: str(tip["staff_id"]),
        ),
    }


class _Planner:
    """Resolves each tender against the database, collecting errors by field."""

    def __init__(
        self,
        scope: TenantScope,
        hooks: TenantHooks,
        ticket: dict[str, Any],
        lines: list[dict[str, Any]],
        client: dict[str, Any] | None,
    ) -> None:
        self.scope = scope
        self.hooks = hooks
        self.ticket = ticket
        self.lines = lines
        self.client = client
        self.errors: dict[str, str] = {}
        self.covered_lines: set[uuid.UUID] = set()
        self.used_cards: set[uuid.UUID] = set()
        self.used_packages: dict[uuid.UUID, int] = {}
        self.provider: ConfiguredProvider | None = None
        self.stored_card: StoredCard | None = None

    def money(self, amount: int) -> str:
        tenant = self.scope.tenant
        return f"{tenant.currency} {format_major(amount, tenant.minor_digits)}"

    async def plan(self, index: int, request: TenderRequest) -> PlannedTender | None:
        prefix = f"tenders[{index}]"
        if request.kind == "gift_card":
            return await self.gift_card(index, prefix, request)
        if request.kind == "package":
            return await self.package(index, prefix, request)
        assert request.amount is not None
        if request.kind == "card":
            return self.card(index, prefix, request.amount)
        if request.kind == "external_card":
            return PlannedTender(
                index,
                "external_card",
                request.amount,
                "card_clearing:external",
                reference=request.reference,
                detail="External terminal",
            )
        return PlannedTender(index, "cash", request.amount, "cash")

    def card(self, index: int, prefix: str, amount: int) -> PlannedTender | None:
        self.provider = configured_provider(self.hooks)
        self.stored_card = stored_card_of(self.client)
        if self.provider is None:
            self.errors[f"{prefix}.kind"] = (
                "no card payment provider is set up: take the card on an "
                "external terminal and record it as external_card"
            )
            return None
        if self.stored_card is None:
            self.errors[f"{prefix}.kind"] = (
                "the client has no stored card: store one first or use external_card"
            )
            return None
        return PlannedTender(
            index,
            "card",
            amount,
            self.provider.account,
            detail=self.stored_card.label,
        )

    async def gift_card(
        self, index: int, prefix: str, request: TenderRequest
    ) -> PlannedTender | None:
        assert request.code is not None and request.amount is not None
        row = (
            await self.scope.select(GiftCard)
            .where(GiftCard.code == request.code)
            .first()
        )
        shown = giftcards.format_code(request.code)
        if row is None:
            self.errors[f"{prefix}.code"] = (
                f"gift card {shown} not found: check the code"
            )
            return None
        if row["id"] in self.used_cards:
            self.errors[f"{prefix}.code"] = f"gift card {shown} is listed twice"
            return None
        self.used_cards.add(row["id"])
        if giftcards.is_expired(row):
            self.errors[f"{prefix}.code"] = (
                f"gift card {shown} expired on {row['expires_at']:%Y-%m-%d}"
            )
            return None
        if row["balance"] < request.amount:
            self.errors[f"{prefix}.amount"] = (
                f"gift card {shown} has {self.money(row['balance'])} left, less than "
                f"{self.money(request.amount)}: take at most the balance from it"
            )
            return None
        return PlannedTender(
            index,
            "gift_card",
            request.amount,
            "gift_card_liability",
            reference=shown,
            gift_card_id=row["id"],
        )

    async def package(
        self, index: int, prefix: str, request: TenderRequest
    ) -> PlannedTender | None:
        if self.client is None:
            self.errors[f"{prefix}.kind"] = "the ticket has no client to own a package"
            return None
        query = (
            self.scope.select(ClientPackage)
            .where(ClientPackage.client_id == self.client["id"])
            .order_by(ClientPackage.expires_at)
        )
        if request.client_package_id is not None:
            query = query.where(ClientPackage.id == request.client_package_id)
        candidates = list(await query)
        if request.client_package_id is not None and not candidates:
            self.errors[f"{prefix}.client_package_id"] = (
                f"package {request.client_package_id} not found for this client"
            )
            return None
        for package in candidates:
            line = self._line_for(package, request.line_id)
            if line is None:
                continue
            return self._package_tender(index, prefix, package, line, request)
        field_name = (
            f"{prefix}.client_package_id"
            if request.client_package_id
            else f"{prefix}.kind"
        )
        self.errors[field_name] = (
            "no package of the client matches a service on the ticket "
            "that another package does not already pay"
        )
        return None

    def _line_for(
        self, package: dict[str, Any], line_id: uuid.UUID | None
    ) -> dict[str, Any] | None:
        for line in self.lines:
            if line["kind"] != "service" or line["item_id"] != package["service_id"]:
                continue
            if line["id"] in self.covered_lines:
                continue
            if line_id is None or line["id"] == line_id:
                return line
        return None

    def _package_tender(
        self,
        index: int,
        prefix: str,
        package: dict[str, Any],
        line: dict[str, Any],
        request: TenderRequest,
    ) -> PlannedTender | None:
        sessions = line["quantity"]
        already = self.used_packages.get(package["id"], 0)
        if package["expires_at"] <= utcnow():
            self.errors[f"{prefix}.client_package_id"] = (
                f"the package expired on {package['expires_at']:%Y-%m-%d}"
            )
            return None
        if package["sessions_left"] < already + sessions:
            self.errors[f"{prefix}.client_package_id"] = (
                f"the package has {package['sessions_left'] - already} sessions "
                f"left, fewer than the {sessions} this line needs"
            )
            return None
        if request.amount is not None and request.amount != line["total"]:
            self.errors[f"{prefix}.amount"] = (
                f"a package pays its whole line, {self.money(line['total'])}: "
                "leave the amount out or send that amount"
            )
            return None
        self.used_packages[package["id"]] = already + sessions
        self.covered_lines.add(line["id"])
        return PlannedTender(
            index,
            "package",
            line["total"],
            "package_liability",
            reference=str(package["id"]),
            detail=line["description"],
            package_id=package["id"],
            line_id=line["id"],
            sessions=sessions,
            unit_value=package["unit_value"],
        )


async def _load_context(
    scope: TenantScope, ticket_id: uuid.UUID
) -> tuple[
    dict[str, Any], list[dict[str, Any]], dict[str, Any] | None, dict[str, Any] | None
]:
    ticket = await scope.get(Ticket, ticket_id)
    if ticket["status"] != "open":
        raise Conflict(
            f"ticket {ticket['number']} is already {ticket['status']}",
            ticket_id=str(ticket["id"]),
        )
    lines = list(
        await scope.select(TicketLine)
        .where(TicketLine.ticket_id == ticket["id"])
        .order_by(TicketLine.position)
    )
    require_lines(lines)
    client = None
    if ticket["client_id"] is not None:
        client = (
            await scope.select(Client).where(Client.id == ticket["client_id"]).first()
        )
    appointment = None
    if ticket["appointment_id"] is not None:
        appointment = (
            await scope.select(Appointment)
            .where(Appointment.id == ticket["appointment_id"])
            .first()
        )
    return ticket, lines, client, appointment


async def _check_tips(scope: TenantScope, tips: list[TipRequest]) -> None:
    known = await scope.get_many(Staff, [tip.staff_id for tip in tips])
    errors = {
        f"tips[{index}].staff_id": f"staff member {tip.staff_id} not found"
        for index, tip in enumerate(tips)
        if tip.staff_id not in known
    }
    if errors:
        raise ValidationFailed(errors)


async def _sold_plans(
    scope: TenantScope, lines: list[dict[str, Any]], client: dict[str, Any] | None
) -> dict[uuid.UUID, dict[str, Any]]:
    plan_ids = [line["item_id"] for line in lines if line["kind"] == "package"]
    if not plan_ids:
        return {}
    if client is None:
        raise ValidationFailed(
            {"lines": "a package is sold to a client: set the client"}
        )
    plans = await scope.get_many(PackagePlan, plan_ids)
    missing = [str(plan_id) for plan_id in plan_ids if plan_id not in plans]
    if missing:
        raise NotFound("package_plan", ", ".join(missing))
    return plans


def _settle(planner: _Planner, planned: list[PlannedTender], due: int) -> int:
    """Check the tenders pay ``due``; return the change and net the cash tender."""
    cash = next((tender for tender in planned if tender.kind == "cash"), None)
    non_cash = sum(tender.amount for tender in planned if tender.kind != "cash")
    tendered = non_cash + (cash.amount if cash else 0)
    if non_cash > due:
        raise TenderMismatch(
            f"the non-cash tenders come to {planner.money(non_cash)}, more than "
            f"the {planner.money(due)} due: lower them",
            due=due,
            tendered=tendered,
        )
    if cash is None:
        if non_cash != due:
            raise TenderMismatch(
                f"the tenders come to {planner.money(tendered)} but "
                f"{planner.money(due)} is due: make them add up to the amount due",
                due=due,
                tendered=tendered,
            )
        return 0
    if non_cash == due or tendered < due:
        raise TenderMismatch(
            f"the tenders come to {planner.money(tendered)} but "
            f"{planner.money(due)} is due: cash may exceed the rest due "
            "(giving change) but must not fall short of it",
            due=due,
            tendered=tendered,
        )
    change = tendered - due
    cash.change = change
    cash.amount -= change
    return change


async def plan_close(
    scope: TenantScope,
    ticket_id: uuid.UUID,
    tenders: list[TenderRequest],
    tips: list[TipRequest],
    hooks: TenantHooks,
) -> ClosePlan:
    """Validate a close against the database and return what it will do.

    Raises NotFound for an unknown ticket and Conflict when it is not open.
    Raises ValidationFailed naming each bad tender or tip field, such as
    ``tenders[i].amount`` for a gift card with too little balance. Raises
    TenderMismatch, a 422 on ``tenders`` carrying ``due`` and ``tendered``,
    when the amounts do not add up. Nothing is written.
    """
    ticket, lines, client, appointment = await _load_context(scope, ticket_id)
    await _check_tips(scope, tips)
    plans = await _sold_plans(scope, lines, client)
    planner = _Planner(scope, hooks, ticket, lines, client)
    planned: list[PlannedTender] = []
    for index, request in enumerate(tenders):
        tender = await planner.plan(index, request)
        if tender is not None:
            planned.append(tender)
    if planner.errors:
        raise ValidationFailed(planner.errors)
    lines_total = sum(line["total"] for line in lines)
    tips_total = sum(tip.amount for tip in tips)
    change = _settle(planner, planned, lines_total + tips_total)
    return ClosePlan(
        ticket=ticket,
        lines=lines,
        client=client,
        appointment=appointment,
        tenders=planned,
        tips=tips,
        lines_total=lines_total,
        tips_total=tips_total,
        change=change,
        provider=planner.provider,
        stored_card=planner.stored_card,
        plans=plans,
    )
