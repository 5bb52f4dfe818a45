"""Rules 10 and 11: paying households and suppliers, and Stripe paying the platform's bank.

These join the caller's transaction (the payout service that approves a batch or records a
confirmation commits them together with its own changes).
"""
from sqlalchemy import and_, insert, or_, select

from marketplace.database import utcnow
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.ledger.balances import (
    available_by_account, household_balance, lock_accounts, lock_household_account, lock_supplier_account,
)
from marketplace.ledger.errors import InsufficientBalance
from marketplace.ledger.models import Account, JournalEntry, Posting
from marketplace.ledger.rules.names import PAYOUT_APPROVED, PAYOUT_FAILED, PAYOUT_PAID, STRIPE_PAYOUT
from marketplace.ledger.services import account_id, entry_for_key, owed_to_fen, post_entry
from marketplace.money import format_fen
from marketplace.payouts.models import PayoutItem


def _item(payout_item_id):
    item = db.session.get(PayoutItem, payout_item_id)
    if item is None:
        raise NotFound("No such payout item.")
    return item


def _payee(item):
    if item.household_id is not None:
        return {"household_id": item.household_id}
    return {"supplier_id": item.supplier_id}


def post_payout_approved(payout_item_id):
    """Rule 10, approval: Dr the payee's payable, Cr payouts_in_transit. Idempotent.

    Locks the payee's account first and refuses with InsufficientBalance when the payout is
    more than the household's available balance (or the supplier's payable).
    """
    item = _item(payout_item_id)
    key = f"payout:{item.id}:approved"
    existing = entry_for_key(key)
    if existing is not None:
        return existing
    if item.household_id is not None:
        account = lock_household_account(item.household_id)
        available = household_balance(item.household_id).available_fen
    else:
        account = lock_supplier_account(item.supplier_id)
        available = owed_to_fen(account)
    if item.amount_fen > available:
        raise InsufficientBalance(
            f"Payout of {format_fen(item.amount_fen)} is more than the {format_fen(max(available, 0))} available.")
    return post_entry(
        key, PAYOUT_APPROVED, [(account, item.amount_fen), (account_id("payouts_in_transit"), -item.amount_fen)],
        rule_settings={**_payee(item), "available_before_fen": available, "batch_id": item.batch_id},
        memo=f"payout item {item.id} approved", payout_item_id=item.id,
    )


class PayeeBalanceTooLow(InsufficientBalance):
    """A batch item pays more than its payee has available; says which item and what is there."""

    def __init__(self, item, available_fen):
        super().__init__(
            f"Payout of {format_fen(item.amount_fen)} is more than the {format_fen(max(available_fen, 0))} available.")
        self.household_id, self.supplier_id, self.available_fen = item.household_id, item.supplier_id, available_fen


def _payee_accounts(items):
    """{(owner_type, owner_id): account id} of the items' payees, in one query."""
    households = {item.household_id for item in items if item.household_id is not None}
    suppliers = {item.supplier_id for item in items if item.supplier_id is not None}
    rows = db.session.execute(select(Account.owner_type, Account.owner_id, Account.id).where(or_(
        and_(Account.kind == "household_payable", Account.owner_type == "household", Account.owner_id.in_(households)),
        and_(Account.kind == "supplier_payable", Account.owner_type == "supplier", Account.owner_id.in_(suppliers)),
    )))
    return {(owner_type, owner_id): account for owner_type, owner_id, account in rows}


def _payee_key(item):
    if item.household_id is not None:
        return "household", item.household_id
    return "supplier", item.supplier_id


def post_payouts_approved(items):
    """Rule 10 approval for many payout items at once (a batch): one entry per item, inserted in bulk.

    Every payee account is locked in one statement in account-id order before any balance is
    read, so two batches sharing payees approved at the same moment queue instead of
    deadlocking, and the second sees what the first took. Refuses with PayeeBalanceTooLow,
    posting nothing, when the items of a payee add up to more than it has available. Items
    already approved (their key exists) are skipped, so a repeat posts nothing twice.
    """
    items = list(items)
    if not items:
        return 0
    # Shared accounts first: creating one on first use after the payee locks could deadlock.
    transit = account_id("payouts_in_transit")
    accounts = _payee_accounts(items)
    lock_accounts(accounts.values())
    available = available_by_account(list(accounts.values()))
    wanted = {}
    for item in items:
        wanted[_payee_key(item)] = wanted.get(_payee_key(item), 0) + item.amount_fen
    for item in items:
        has = available.get(accounts.get(_payee_key(item)), 0)
        if wanted[_payee_key(item)] > has:
            raise PayeeBalanceTooLow(item, has)
    items_of_batches = select(PayoutItem.id).where(PayoutItem.batch_id.in_({item.batch_id for item in items}))
    approved_already = set(db.session.scalars(select(JournalEntry.payout_item_id).where(
        JournalEntry.rule == PAYOUT_APPROVED, JournalEntry.payout_item_id.in_(items_of_batches))))
    items = [item for item in items if item.id not in approved_already]
    if not items:
        return 0
    now = utcnow()
    # Plain executemany, then the ids in one query: RETURNING in order would go row by row on SQLite.
    db.session.execute(insert(JournalEntry), [
        {"idempotency_key": f"payout:{item.id}:approved", "rule": PAYOUT_APPROVED, "created_at": now,
         "payout_item_id": item.id, "memo": f"payout item {item.id} approved",
         "rule_settings": {**_payee(item), "available_before_fen": available[accounts[_payee_key(item)]],
                           "batch_id": item.batch_id}}
        for item in items])
    entry_of_item = dict(db.session.execute(select(JournalEntry.payout_item_id, JournalEntry.id).where(
        JournalEntry.rule == PAYOUT_APPROVED, JournalEntry.payout_item_id.in_(items_of_batches))).all())
    postings = []
    for item in items:
        entry_id = entry_of_item[item.id]
        postings.append({"entry_id": entry_id, "account_id": accounts[_payee_key(item)], "amount_fen": item.amount_fen})
        postings.append({"entry_id": entry_id, "account_id": transit, "amount_fen": -item.amount_fen})
    db.session.execute(insert(Posting), postings)
    return len(items)


def post_payout_paid(payout_item_id):
    """Rule 10, confirmation: the money left the bank. Dr payouts_in_transit, Cr bank. Idempotent."""
    item = _item(payout_item_id)
    if entry_for_key(f"payout:{item.id}:failed") is not None:
        raise Conflict("This payout failed; it cannot be confirmed as paid.")
    if entry_for_key(f"payout:{item.id}:approved") is None:
        raise Conflict("This payout was never approved.")
    return post_entry(
        f"payout:{item.id}:paid", PAYOUT_PAID,
        [(account_id("payouts_in_transit"), item.amount_fen), (account_id("bank"), -item.amount_fen)],
        rule_settings={**_payee(item), "reference": item.reference},
        memo=f"payout item {item.id} paid", payout_item_id=item.id,
    )


def post_payout_failed(payout_item_id):
    """Rule 10, failure: reverse the approval, giving the money back to the payee. Idempotent."""
    item = _item(payout_item_id)
    if entry_for_key(f"payout:{item.id}:paid") is not None:
        raise Conflict("This payout was already confirmed as paid.")
    approved = entry_for_key(f"payout:{item.id}:approved")
    if approved is None:
        return None
    return post_entry(
        f"payout:{item.id}:failed", PAYOUT_FAILED,
        [(posting.account_id, -posting.amount_fen) for posting in approved.postings],
        rule_settings={**_payee(item), "reason": item.failure_reason},
        memo=f"payout item {item.id} failed", payout_item_id=item.id, reverses_entry_id=approved.id,
    )


def post_stripe_payout(stripe_payout_id, amount_fen):
    """Rule 11: Stripe paid the platform's bank. Dr bank, Cr stripe_receivable. Idempotent."""
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise Conflict("A Stripe payout must be a positive amount of fen.")
    return post_entry(
        f"stripe_payout:{stripe_payout_id}", STRIPE_PAYOUT,
        [(account_id("bank"), amount_fen), (account_id("stripe_receivable"), -amount_fen)],
        rule_settings={"stripe_payout_id": stripe_payout_id, "amount_fen": amount_fen},
        memo=f"Stripe payout {stripe_payout_id}",
    )
