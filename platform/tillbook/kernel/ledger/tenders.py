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
from decimal import Decimal
from typing import Any

from tillbook.db.base import utcnow
from tillbook.errors import Conflict, NotFound, ValidationFailed
from tillbook.kernel.catalog import giftcards, memberships, packages
from tillbook.kernel.catalog.tables import ClientPackage, GiftCard, PackagePlan
from tillbook.kernel.clients.tables import Client
from tillbook.kernel.ledger import loyalty, taxes, wallet
from tillbook.kernel.ledger.cards import (
    ConfiguredProvider,
    configured_provider,
    stored_card_of,
)
from tillbook.kernel.ledger.money import (
    check_amount,
    format_major,
    parse_rate,
    round_to_increment,
    split_by_percent,
)
from tillbook.kernel.ledger.tables import (
    LedgerSettings,
    Tender,
    Ticket,
    TicketDiscount,
    TicketLine,
)
from tillbook.kernel.ledger.tickets import require_lines
from tillbook.kernel.schedule.tables import Appointment, Staff
from tillbook.payments import StoredCard
from tillbook.plugins import TenantHooks
from tillbook.tenancy.scope import TenantScope

TENDER_KINDS = (
    "cash",
    "card",
    "card_present",
    "external_card",
    "gift_card",
    "wallet",
    "package",
    "membership",
    "loyalty",
    "deposit",
)
# Tender kinds that may appear at most once per close. Each gift card may
# appear once, and a package or membership once per line it pays.
SINGLE_KINDS = (
    "cash",
    "card",
    "card_present",
    "external_card",
    "wallet",
    "loyalty",
    "deposit",
)
# Tenders that pay one service line whole, rather than an amount.
LINE_KINDS = ("package", "membership")
# The accounts tenders debit, besides cash and card clearing.
WALLET_ACCOUNT = "wallet_liability"
LOYALTY_ACCOUNT = "loyalty_redemptions"
MEMBERSHIP_ACCOUNT = "membership_benefits"
DEPOSIT_ACCOUNT = "client_deposits"
CASH_ROUNDING_ACCOUNT = "cash_rounding"
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
    points: int | None = None
    membership_id: uuid.UUID | None = None

    def canonical(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "amount": self.amount,
            "code": self.code,
            "client_package_id": str(self.client_package_id or ""),
            "line_id": str(self.line_id or ""),
            "reference": self.reference,
            "points": self.points,
            "membership_id": str(self.membership_id or ""),
        }


@dataclass(frozen=True)
class TipRequest:
    """A tip for one staff member, in minor units (0 or more).

    ``tender`` is the index of the tender that carries it (None: the last
    tender), and ``share`` how it was split (``"60%"``), for the record.
    """

    staff_id: uuid.UUID
    amount: int
    tender: int | None = None
    share: str = ""


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
    points: int = 0
    membership_id: uuid.UUID | None = None
    appointment_id: uuid.UUID | None = None
    tip: int = 0


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
    discounts: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    cash_rounding: int = 0

    @property
    def due(self) -> int:
        return self.lines_total + self.tips_total

    @property
    def card_tender(self) -> PlannedTender | None:
        return next((t for t in self.tenders if t.kind == "card"), None)

    @property
    def card_present_tender(self) -> PlannedTender | None:
        return next((t for t in self.tenders if t.kind == "card_present"), None)


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


def _points(value: object, field_name: str, errors: dict[str, str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        errors[field_name] = f"{value!r} is not a whole number of points above 0"
        return None
    return value


def parse_tenders(raw: object) -> list[TenderRequest]:
    """Check the shape of the ``tenders`` list; raise ValidationFailed per field.

    Each item is ``{"kind", "amount"}`` plus, by kind: ``"code"`` for a gift
    card; optional ``"client_package_id"`` and ``"line_id"`` for a package;
    optional ``"membership_id"`` and ``"line_id"`` for a membership;
    ``"points"`` instead of an amount for loyalty points; an optional
    ``"reference"`` (such as a terminal slip number) for an external card or
    the card reader for a card-present payment. A package or membership
    tender pays its whole line, and a deposit tender without an amount uses
    the appointment's whole remaining deposit. Amounts are integers in minor
    units.
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
        points = None
        optional_amount = kind in (*LINE_KINDS, "deposit")
        if kind == "loyalty":
            points = _points(item.get("points"), f"{prefix}.points", errors)
        elif not optional_amount or item.get("amount") is not None:
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
                points=points,
                membership_id=_uuid(
                    item.get("membership_id"), f"{prefix}.membership_id", errors
                ),
            )
        )
    for kind in SINGLE_KINDS:
        if sum(1 for tender in parsed if tender.kind == kind) > 1:
            errors["tenders"] = f"has more than one {kind} tender: combine them"
    if errors:
        raise ValidationFailed(errors)
    return parsed


def _tender_index(
    value: object, field_name: str, count: int | None, errors: dict[str, str]
) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors[field_name] = f"{value!r} is not the index of a tender, such as 0"
        return None
    if count is not None and value >= count:
        errors[field_name] = f"{value} is past the last tender (index {count - 1})"
        return None
    return value


def _parse_split(
    raw: dict[str, Any], errors: dict[str, str], count: int | None
) -> list[TipRequest]:
    """Split ``{"amount", "split": [...], "tender"?}`` across providers.

    Each split item is ``{"staff_id", "percent"}`` or ``{"staff_id",
    "amount"}``, all of one form. Percentages must add up to 100 and are
    turned into amounts by largest remainder, so the amounts add up to the
    tip exactly; amounts must add up to the tip.
    """
    total = _amount(raw.get("amount"), "tips.amount", errors, allow_zero=True)
    tender = _tender_index(raw.get("tender"), "tips.tender", count, errors)
    items = raw.get("split")
    if not isinstance(items, list) or not items:
        errors["tips.split"] = "must list the providers: [{staff_id, percent}]"
        return []
    by_percent = all(isinstance(i, dict) and "percent" in i for i in items)
    staff: list[uuid.UUID] = []
    percents: list[Decimal] = []
    amounts: list[int] = []
    for index, item in enumerate(items):
        prefix = f"tips.split[{index}]"
        if not isinstance(item, dict):
            errors[prefix] = "must be an object with staff_id and percent or amount"
            continue
        staff_id = _uuid(item.get("staff_id"), f"{prefix}.staff_id", errors)
        if staff_id is None:
            errors.setdefault(f"{prefix}.staff_id", "is required")
            continue
        staff.append(staff_id)
        if by_percent:
            try:
                percents.append(parse_rate(str(item.get("percent"))))
            except ValueError as exc:
                errors[f"{prefix}.percent"] = f"{exc}: enter 0 to 100"
        else:
            share = _amount(
                item.get("amount"), f"{prefix}.amount", errors, allow_zero=True
            )
            amounts.append(share or 0)
    if errors or total is None:
        return []
    if len(set(staff)) != len(staff):
        errors["tips.split"] = "names a provider twice: combine their shares"
        return []
    if by_percent:
        if sum(percents, Decimal(0)) != 100:
            errors["tips.split"] = "the percentages must add up to 100"
            return []
        amounts = split_by_percent(total, percents)
        shares = [f"{p.normalize():f}%" for p in percents]
    else:
        if sum(amounts) != total:
            errors["tips.split"] = (
                f"the amounts add up to {sum(amounts)}, not the tip of {total}"
            )
            return []
        shares = ["" for _ in amounts]
    return [
        TipRequest(staff_id, amount, tender, share)
        for staff_id, amount, share in zip(staff, amounts, shares, strict=True)
        if amount
    ]


def parse_tips(raw: object, tender_count: int | None = None) -> list[TipRequest]:
    """Check the tips; return one ``TipRequest`` per provider and tender.

    ``raw`` is a list of ``{"staff_id", "amount", "tender"?}`` (amounts may be
    0), or a split ``{"amount", "split": [{"staff_id", "percent"}] or
    [{"staff_id", "amount"}], "tender"?}``. ``tender`` is the index of the
    tender that carries the tip; without it the last tender does. Tips for
    the same provider on the same tender are added up and zero tips dropped.
    Raises ValidationFailed naming ``tips[i].staff_id``, ``tips[i].amount``,
    ``tips.split`` and so on.
    """
    if raw is None:
        return []
    errors: dict[str, str] = {}
    if isinstance(raw, dict):
        tips = _parse_split(raw, errors, tender_count)
        if errors:
            raise ValidationFailed(errors)
        return tips
    if not isinstance(raw, list):
        raise ValidationFailed(
            {"tips": "must be a list of {staff_id, amount} or a split"}
        )
    totals: dict[tuple[uuid.UUID, int | None], int] = {}
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
        tender = _tender_index(
            item.get("tender"), f"{prefix}.tender", tender_count, errors
        )
        if staff_id is not None and amount:
            key = (staff_id, tender)
            totals[key] = totals.get(key, 0) + amount
    if errors:
        raise ValidationFailed(errors)
    return [
        TipRequest(staff_id, amount, tender)
        for (staff_id, tender), amount in totals.items()
    ]


def canonical_request(
    ticket_id: uuid.UUID, tenders: list[TenderRequest], tips: list[TipRequest]
) -> dict[str, Any]:
    """Return the parts of a close request its idempotency digest covers."""
    return {
        "ticket_id": str(ticket_id),
        "tenders": [tender.canonical() for tender in tenders],
        "tips": sorted(
            (
                {
                    "staff_id": str(tip.staff_id),
                    "amount": tip.amount,
                    "tender": tip.tender,
                }
                for tip in tips
            ),
            key=lambda tip: (str(tip["staff_id"]), str(tip["tender"])),
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
        self.settings: dict[str, Any] = dict(taxes.SETTINGS_DEFAULTS)
        self.discounts: list[dict[str, Any]] = []

    def money(self, amount: int) -> str:
        tenant = self.scope.tenant
        return f"{tenant.currency} {format_major(amount, tenant.minor_digits)}"

    async def plan(self, index: int, request: TenderRequest) -> PlannedTender | None:
        prefix = f"tenders[{index}]"
        if request.kind == "gift_card":
            return await self.gift_card(index, prefix, request)
        if request.kind == "package":
            return await self.package(index, prefix, request)
        if request.kind == "membership":
            return await self.membership(index, prefix, request)
        if request.kind == "loyalty":
            return await self.loyalty(index, prefix, request)
        if request.kind == "deposit":
            return await self.deposit(index, prefix, request)
        assert request.amount is not None
        if request.kind == "card":
            return self.card(index, prefix, request.amount)
        if request.kind == "card_present":
            return self.card_present(index, prefix, request)
        if request.kind == "wallet":
            return await self.wallet(index, prefix, request.amount)
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

    def card_present(
        self, index: int, prefix: str, request: TenderRequest
    ) -> PlannedTender | None:
        self.provider = configured_provider(self.hooks)
        if self.provider is None or not hasattr(
            self.provider.provider, "charge_card_present"
        ):
            self.errors[f"{prefix}.kind"] = (
                "no payment provider with a card reader is set up: take the "
                "card on an external terminal and record it as external_card"
            )
            return None
        assert request.amount is not None
        return PlannedTender(
            index,
            "card_present",
            request.amount,
            self.provider.account,
            reference=request.reference,
            detail="Card reader",
        )

    def _client_or_error(self, prefix: str, what: str) -> dict[str, Any] | None:
        if self.client is None:
            self.errors[f"{prefix}.kind"] = (
                f"the ticket has no client whose {what} to use: set the client"
            )
        return self.client

    async def wallet(
        self, index: int, prefix: str, amount: int
    ) -> PlannedTender | None:
        client = self._client_or_error(prefix, "store credit")
        if client is None:
            return None
        balance = await wallet.balance_of(self.scope, client["id"])
        if balance < amount:
            self.errors[f"{prefix}.amount"] = (
                f"the client's store credit is {self.money(balance)}, less than "
                f"{self.money(amount)}: take at most the balance"
            )
            return None
        return PlannedTender(
            index, "wallet", amount, WALLET_ACCOUNT, detail="Store credit"
        )

    async def loyalty(
        self, index: int, prefix: str, request: TenderRequest
    ) -> PlannedTender | None:
        client = self._client_or_error(prefix, "points")
        if client is None:
            return None
        assert request.points is not None
        value = self.settings["loyalty_point_value"]
        if value <= 0:
            self.errors[f"{prefix}.kind"] = (
                "loyalty points are not redeemable: the owner sets a point value"
            )
            return None
        balance = (await loyalty.account_of(self.scope, client["id"]))["points"]
        held = sum(row["points"] for row in self.discounts)
        if request.points + held > balance:
            self.errors[f"{prefix}.points"] = (
                f"the client has {balance - held} points to use, fewer than "
                f"{request.points}"
            )
            return None
        return PlannedTender(
            index,
            "loyalty",
            request.points * value,
            LOYALTY_ACCOUNT,
            detail=f"{request.points} points",
            points=request.points,
        )

    async def membership(
        self, index: int, prefix: str, request: TenderRequest
    ) -> PlannedTender | None:
        client = self._client_or_error(prefix, "membership")
        if client is None:
            return None
        for line in self.lines:
            if line["kind"] != "service" or line["id"] in self.covered_lines:
                continue
            if request.line_id is not None and line["id"] != request.line_id:
                continue
            benefit = await memberships.membership_benefit(
                self.scope,
                client_id=client["id"],
                service_id=line["item_id"],
                at=utcnow(),
            )
            if benefit is None or benefit["kind"] == "discount":
                continue
            membership_id = uuid.UUID(benefit["membership_id"])
            if request.membership_id and request.membership_id != membership_id:
                continue
            if line["quantity"] != 1:
                self.errors[f"{prefix}.line_id"] = (
                    "a membership pays one session: set the line's quantity to 1"
                )
                return None
            self.covered_lines.add(line["id"])
            return PlannedTender(
                index,
                "membership",
                line["total"],
                MEMBERSHIP_ACCOUNT,
                reference=str(membership_id),
                detail=f"{benefit['plan_name']}: {line['description']}",
                line_id=line["id"],
                membership_id=membership_id,
            )
        self.errors[f"{prefix}.kind"] = (
            "no membership of the client includes a session of a service on "
            "the ticket that another tender does not already pay"
        )
        return None

    async def deposit(
        self, index: int, prefix: str, request: TenderRequest
    ) -> PlannedTender | None:
        available = await deposits_left(self.scope, self.ticket, self.lines)
        total = sum(available.values())
        if total <= 0:
            self.errors[f"{prefix}.kind"] = (
                "no deposit was taken for this ticket's appointments"
            )
            return None
        amount = request.amount if request.amount is not None else total
        if amount > total:
            self.errors[f"{prefix}.amount"] = (
                f"the deposit left is {self.money(total)}, less than "
                f"{self.money(amount)}"
            )
            return None
        # The deposit is taken from the appointments in start order; the
        # tender names the first one, the journal the whole amount.
        first = next(iter(available))
        return PlannedTender(
            index,
            "deposit",
            amount,
            DEPOSIT_ACCOUNT,
            reference=str(first),
            detail="Deposit paid at booking",
            appointment_id=first,
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
        covered = await packages.covered_services(self.scope, candidates)
        for package in candidates:
            line = self._line_for(package, covered, request.line_id)
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
        self,
        package: dict[str, Any],
        covered: dict[uuid.UUID, set[uuid.UUID]],
        line_id: uuid.UUID | None,
    ) -> dict[str, Any] | None:
        """Return the first service line the package covers and no tender pays."""
        for line in self.lines:
            if line["kind"] != "service":
                continue
            if not packages.package_covers(package, line["item_id"], covered):
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


async def deposits_left(
    scope: TenantScope, ticket: dict[str, Any], lines: list[dict[str, Any]]
) -> dict[uuid.UUID, int]:
    """Return the deposit not yet used per appointment of the ticket, by start.

    A deposit is used by a ``deposit`` tender on any ticket naming one of
    the appointments, so it is never taken twice. Only appointments still
    booked or checked in count: the deposit of a cancelled or no-show
    appointment has been forfeited or refunded by the scheduling code.
    """
    ids = {
        line["appointment_id"]
        for line in lines
        if line.get("appointment_id") and line["kind"] == "service"
    }
    if ticket["appointment_id"] is not None:
        ids.add(ticket["appointment_id"])
    if not ids:
        return {}
    rows = (
        await scope.select(Appointment, Appointment.id, Appointment.deposit)
        .where(Appointment.id.is_in(list(ids)))
        .where(Appointment.deposit > 0)
        .where(Appointment.status.is_in(["booked", "checked_in", "completed"]))
        .order_by(Appointment.start_at)
    )
    if not rows:
        return {}
    used = (
        await scope.select(Tender, Tender.amount)
        .where(Tender.kind == "deposit")
        .where(Tender.reference.is_in([str(row["id"]) for row in rows]))
    )
    left = sum(row["deposit"] for row in rows) - sum(row["amount"] for row in used)
    result: dict[uuid.UUID, int] = {}
    for row in rows:
        share = min(row["deposit"], max(left, 0))
        left -= share
        result[row["id"]] = share
    return {key: value for key, value in result.items() if value > 0}


@dataclass
class CloseContext:
    """The rows a close reads before it moves money."""

    ticket: dict[str, Any]
    lines: list[dict[str, Any]]
    client: dict[str, Any] | None
    appointment: dict[str, Any] | None
    discounts: list[dict[str, Any]]
    settings: dict[str, Any]


async def _load_context(scope: TenantScope, ticket_id: uuid.UUID) -> CloseContext:
    """Read the ticket and everything its close needs.

    Runs inside the close transaction, one query after another on its
    connection. The stored discounts are read only when the ticket has a
    discount, so a promo code that took nothing off is not counted as used.
    """
    ticket = await scope.get(Ticket, ticket_id)
    if ticket["status"] != "open":
        hint = ": resume it first" if ticket["status"] == "held" else ""
        raise Conflict(
            f"ticket {ticket['number']} is {ticket['status']}{hint}",
            ticket_id=str(ticket["id"]),
        )
    lines = list(
        await scope.select(TicketLine)
        .where(TicketLine.ticket_id == ticket["id"])
        .order_by(TicketLine.position)
    )
    require_lines(lines)
    discount_rows: list[dict[str, Any]] = []
    if ticket["discount"]:
        discount_rows = list(
            await scope.select(TicketDiscount).where(
                TicketDiscount.ticket_id == ticket["id"]
            )
        )
    settings = dict(taxes.SETTINGS_DEFAULTS)
    stored = await scope.select(LedgerSettings).first()
    if stored is not None:
        settings.update({k: stored[k] for k in taxes.SETTINGS_DEFAULTS})
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
    return CloseContext(ticket, lines, client, appointment, discount_rows, settings)


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


def _settle(
    planner: _Planner, planned: list[PlannedTender], due: int, increment: int
) -> tuple[int, int]:
    """Check the tenders pay ``due``; return the change and the cash rounding.

    Cash may exceed what the other tenders leave, giving change. When the
    tenant rounds cash (``increment`` above 1), the part left for cash is
    rounded to the increment first and the difference is the cash rounding:
    positive when the client pays more than due, negative when less.
    """
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
        return 0, 0
    cash_due = round_to_increment(due - non_cash, increment)
    if non_cash == due or cash.amount < cash_due or cash_due == 0:
        raise TenderMismatch(
            f"the tenders come to {planner.money(tendered)} but "
            f"{planner.money(non_cash + cash_due)} is due: cash may exceed the "
            "rest due (giving change) but must not fall short of it",
            due=non_cash + cash_due,
            tendered=tendered,
        )
    change = cash.amount - cash_due
    cash.change = change
    cash.amount = cash_due
    return change, cash_due - (due - non_cash)


def _place_tips(planned: list[PlannedTender], tips: list[TipRequest]) -> None:
    """Record on each tender the tips it carries.

    A tip that names its tender must fit within that tender's amount. A tip
    that names none rides on the largest tender, spilling over to the next
    largest when it does not fit.
    """
    by_index = {tender.index: tender for tender in planned}
    errors: dict[str, str] = {}
    for tip in tips:
        if tip.tender is None:
            left = tip.amount
            for tender in sorted(planned, key=lambda t: -t.amount):
                share = min(left, tender.amount - tender.tip)
                tender.tip += share
                left -= share
            continue
        carrier = by_index.get(tip.tender)
        if carrier is None:
            errors[f"tenders[{tip.tender}]"] = "is not a tender that can carry a tip"
            continue
        carrier.tip += tip.amount
        if carrier.tip > carrier.amount:
            errors[f"tenders[{carrier.index}].amount"] = (
                f"carries {carrier.tip} of tips but pays only {carrier.amount}"
            )
    if errors:
        raise ValidationFailed(errors)


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
    context = await _load_context(scope, ticket_id)
    ticket, lines, client = context.ticket, context.lines, context.client
    # A provider already on a line was checked when the line was added, so
    # only tips for anyone else cost a query.
    on_lines = {line["staff_id"] for line in lines}
    if any(tip.staff_id not in on_lines for tip in tips):
        await _check_tips(scope, tips)
    plans = await _sold_plans(scope, lines, client)
    planner = _Planner(scope, hooks, ticket, lines, client)
    planner.settings = context.settings
    planner.discounts = context.discounts
    planned: list[PlannedTender] = []
    for index, request in enumerate(tenders):
        tender = await planner.plan(index, request)
        if tender is not None:
            planned.append(tender)
    if planner.errors:
        raise ValidationFailed(planner.errors)
    lines_total = sum(line["total"] for line in lines)
    tips_total = sum(tip.amount for tip in tips)
    change, rounding = _settle(
        planner, planned, lines_total + tips_total, context.settings["cash_increment"]
    )
    _place_tips(planned, tips)
    return ClosePlan(
        ticket=ticket,
        lines=lines,
        client=client,
        appointment=context.appointment,
        tenders=planned,
        tips=tips,
        lines_total=lines_total,
        tips_total=tips_total,
        change=change,
        provider=planner.provider,
        stored_card=planner.stored_card,
        plans=plans,
        discounts=context.discounts,
        settings=context.settings,
        cash_rounding=rounding,
    )
