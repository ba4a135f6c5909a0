"""The double-entry journal: balanced entries of postings, never changed later.

A posting's amount is in minor units, positive for a debit and negative for a
credit. The accounts are fixed names that reports group by:

- ``cash``, ``card_clearing:<provider>`` (``card_clearing:external`` for an
  external terminal): money received;
- ``gift_card_liability``, ``package_liability``: value owed to clients,
  credited on sale and debited on redemption. ``package_variance`` takes the
  difference between a redeemed session's unit value and the line it paid;
- ``service_revenue``, ``retail_revenue``, ``fee_revenue`` (late-cancel and
  no-show fees), ``membership_revenue``: credited with the line's revenue
  before discount (``net + discount``). ``discounts`` is debited with the
  discount, so revenue minus discounts is the net revenue of the line;
- ``tax_payable``: credited with each line's tax;
- ``tips_payable``: credited per staff member.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tillbook.kernel.ledger.tables import JournalEntry, Posting
from tillbook.tenancy.scope import TenantScope

REVENUE_ACCOUNTS = {
    "service": "service_revenue",
    "product": "retail_revenue",
    "fee": "fee_revenue",
    "membership": "membership_revenue",
}
LIABILITY_ACCOUNTS = {
    "package": "package_liability",
    "gift_card": "gift_card_liability",
}


class UnbalancedEntry(RuntimeError):
    """A journal entry's postings do not sum to zero; nothing was written."""


@dataclass(frozen=True)
class PostingDraft:
    """A posting before it is written, with the dimensions reports group by."""

    account: str
    amount: int
    item_name: str = ""
    item_id: uuid.UUID | None = None
    category: str = ""
    staff_id: uuid.UUID | None = None


def line_postings(
    kind: str,
    *,
    net: int,
    discount: int,
    tax: int,
    total: int,
    item_id: uuid.UUID | None,
    item_name: str,
    category: str,
    staff_id: uuid.UUID | None,
) -> list[PostingDraft]:
    """Return the credit side of one sold line.

    Services and products credit revenue (before discount), debit discounts
    and credit tax. Packages and gift cards credit their liability with the
    whole line total, because selling them earns nothing until redeemed.
    """
    if kind in LIABILITY_ACCOUNTS:
        accounts = [(LIABILITY_ACCOUNTS[kind], -total)]
    else:
        accounts = [
            (REVENUE_ACCOUNTS[kind], -(net + discount)),
            ("discounts", discount),
            ("tax_payable", -tax),
        ]
    return [
        PostingDraft(
            account,
            amount,
            item_name=item_name,
            item_id=item_id,
            category=category,
            staff_id=staff_id,
        )
        for account, amount in accounts
    ]


async def post_entry(
    scope: TenantScope,
    *,
    kind: str,
    at: datetime,
    drafts: list[PostingDraft],
    ticket_id: uuid.UUID | None = None,
    memo: str = "",
    actor_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Write one journal entry with its postings; return the entry's id.

    Zero-amount drafts are dropped. Raises UnbalancedEntry, before writing
    anything, unless the amounts sum to zero. Call inside the transaction of
    the money move the entry records.
    """
    nonzero = [draft for draft in drafts if draft.amount != 0]
    balance = sum(draft.amount for draft in nonzero)
    if balance != 0:
        raise UnbalancedEntry(
            f"postings of {kind} entry for ticket {ticket_id} sum to {balance}, not 0"
        )
    entry = JournalEntry(
        at=at, kind=kind, ticket_id=ticket_id, memo=memo, actor_id=actor_id
    )
    await scope.insert(entry)
    if nonzero:
        await scope.insert(
            *(
                Posting(
                    entry_id=entry.id,
                    at=at,
                    account=draft.account,
                    amount=draft.amount,
                    staff_id=draft.staff_id,
                    item_id=draft.item_id,
                    item_name=draft.item_name[:200],
                    category=draft.category[:100],
                )
                for draft in nonzero
            )
        )
    return entry.id  # type: ignore[no-any-return]
