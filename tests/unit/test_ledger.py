"""Journal postings, tender parsing and gift card codes, without a database."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest

from tillbook.errors import ValidationFailed
from tillbook.kernel.catalog.giftcards import (
    ALPHABET,
    format_code,
    new_code,
    normalise_code,
)
from tillbook.kernel.ledger.checkout import provider_key
from tillbook.kernel.ledger.closing import close_postings
from tillbook.kernel.ledger.idempotency import check_key, request_digest
from tillbook.kernel.ledger.journal import PostingDraft, UnbalancedEntry, post_entry
from tillbook.kernel.ledger.tenders import (
    ClosePlan,
    PlannedTender,
    TipRequest,
    parse_tenders,
    parse_tips,
)

STAFF = uuid.uuid4()
FACIAL = uuid.uuid4()
SERUM = uuid.uuid4()


def line(kind: str, **values: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "kind": kind,
        "item_id": values.get("item_id"),
        "description": values.get("description", kind),
        "category": values.get("category", ""),
        "staff_id": values.get("staff_id"),
        "quantity": 1,
        "net": values.get("net", 0),
        "discount": values.get("discount", 0),
        "tax": values.get("tax", 0),
        "total": values["total"],
    }


def test_close_postings_balance_with_every_tender() -> None:
    facial = line(
        "service",
        item_id=FACIAL,
        description="Facial",
        staff_id=STAFF,
        net=4500,
        discount=600,
        tax=900,
        total=5400,
    )
    serum = line(
        "product", item_id=SERUM, description="Serum", net=2083, tax=417, total=2500
    )
    voucher = line("gift_card", description="Gift card", total=2000)
    package_id = uuid.uuid4()
    card_id = uuid.uuid4()
    plan = ClosePlan(
        ticket={"id": uuid.uuid4(), "number": 1},
        lines=[facial, serum, voucher],
        client=None,
        appointment=None,
        tenders=[
            PlannedTender(
                0,
                "package",
                5400,
                "package_liability",
                package_id=package_id,
                sessions=1,
                unit_value=5000,
            ),
            PlannedTender(
                1, "gift_card", 1000, "gift_card_liability", gift_card_id=card_id
            ),
            PlannedTender(2, "card", 2000, "card_clearing:stripe"),
            PlannedTender(3, "cash", 2000, "cash", change=500),
        ],
        tips=[TipRequest(STAFF, 500)],
        lines_total=9900,
        tips_total=500,
        change=500,
    )

    drafts = close_postings(plan, {voucher["id"]: card_id})

    assert sum(draft.amount for draft in drafts) == 0
    totals: Counter[str] = Counter()
    for draft in drafts:
        totals[draft.account] += draft.amount
    assert totals == Counter(
        {
            "service_revenue": -5100,
            "discounts": 600,
            "tax_payable": -1317,
            "retail_revenue": -2083,
            "gift_card_liability": -2000 + 1000,
            "tips_payable": -500,
            "package_liability": 5000,
            "package_variance": 400,
            "card_clearing:stripe": 2000,
            "cash": 2000,
        }
    )
    sold = next(
        d for d in drafts if d.account == "gift_card_liability" and d.amount < 0
    )
    assert sold.item_id == card_id
    tip = next(d for d in drafts if d.account == "tips_payable")
    assert tip.staff_id == STAFF


def test_unbalanced_entry_is_refused_before_writing() -> None:
    class NoDatabase:
        async def insert(self, *rows: Any) -> None:
            raise AssertionError("nothing may be written")

    drafts = [PostingDraft("cash", 100), PostingDraft("retail_revenue", -99)]

    with pytest.raises(UnbalancedEntry):
        asyncio.run(
            post_entry(
                NoDatabase(),  # type: ignore[arg-type]
                kind="sale",
                at=None,  # type: ignore[arg-type]
                drafts=drafts,
            )
        )


def test_parse_tenders_collects_errors_per_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_tenders(
            [
                {"kind": "cash", "amount": -1},
                {"kind": "bitcoin", "amount": 5},
                {"kind": "gift_card", "code": "short", "amount": 5},
                "cash",
            ]
        )
    errors = caught.value.errors
    assert "negative" in errors["tenders[0].amount"]
    assert "not a tender kind" in errors["tenders[1].kind"]
    assert "not a gift card code" in errors["tenders[2].code"]
    assert "must be an object" in errors["tenders[3]"]


def test_parse_tenders_rejects_two_cash_tenders() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_tenders([{"kind": "cash", "amount": 1}, {"kind": "cash", "amount": 2}])
    assert "more than one cash" in caught.value.errors["tenders"]


def test_parse_tenders_normalises_gift_code() -> None:
    [tender] = parse_tenders(
        [{"kind": "gift_card", "code": "abcd-efgh-jkmn-pqrs", "amount": 5}]
    )
    assert tender.code == "ABCDEFGHJKMNPQRS"


def test_parse_tips_merges_and_drops_zero() -> None:
    staff = str(STAFF)
    tips = parse_tips(
        [
            {"staff_id": staff, "amount": 200},
            {"staff_id": staff, "amount": 300},
            {"staff_id": str(uuid.uuid4()), "amount": 0},
        ]
    )
    assert tips == [TipRequest(STAFF, 500)]


def test_parse_tips_names_bad_fields() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_tips([{"staff_id": "nobody", "amount": 100}, {"amount": -5}])
    errors = caught.value.errors
    assert "tips[0].staff_id" in errors
    assert "tips[1].staff_id" in errors
    assert "negative" in errors["tips[1].amount"]


def test_gift_codes_are_unambiguous() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 20
        assert set(code) <= set(ALPHABET)
    assert not set("01OIL") & set(ALPHABET)


def test_gift_code_format_round_trip() -> None:
    code = "ABCDEFGHJKMNPQRS"
    shown = format_code(code)
    assert shown == "ABCD-EFGH-JKMN-PQRS"
    assert normalise_code(shown.lower()) == code
    assert normalise_code(" abcd efgh jkmn pqrs ") == code


@pytest.mark.parametrize("text", ["ABCD-EFGH-JKMN-PQR", "ABCD-EFGH-JKMN-PQRO", ""])
def test_gift_code_rejects(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalise_code(text, "gift_card_code")
    assert "gift_card_code" in caught.value.errors


def test_idempotency_key_checks() -> None:
    assert check_key("  abc  ") == "abc"
    for bad in (None, "", "   ", "x" * 201, "tab\there"):
        with pytest.raises(ValidationFailed) as caught:
            check_key(bad)
        assert "Idempotency-Key" in caught.value.errors


def test_request_digest_ignores_key_order() -> None:
    assert request_digest({"a": 1, "b": [1, 2]}) == request_digest(
        {"b": [1, 2], "a": 1}
    )
    assert request_digest({"a": 1}) != request_digest({"a": 2})


def test_provider_key_is_bounded() -> None:
    ticket = uuid.uuid4()
    key = provider_key(ticket, "k" * 200)
    assert str(ticket) in key
    assert len(key) < 100
    assert provider_key(ticket, "a") != provider_key(ticket, "b")
