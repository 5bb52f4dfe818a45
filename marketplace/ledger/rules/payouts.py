"""Rules 10 and 11: paying households and suppliers, and Stripe paying the platform's bank.

These join the caller's transaction (the payout service that approves a batch or records a
confirmation commits them together with its own changes).
"""
from sqlalchemy import select

from marketplace.errors import Conflict, NotFound, Yuan
from marketplace.extensions import db
from marketplace.ledger.balances import available_by_account, lock_accounts
from marketplace.ledger.errors import InsufficientBalance
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.names import PAYOUT_APPROVED, PAYOUT_FAILED, PAYOUT_PAID, STRIPE_PAYOUT
from marketplace.ledger.services import (
    EntryDraft, account_id, account_ids, among, entry_for_key, post_entries, post_entry,
)
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
    """Rule 10, approval of one item: `post_payouts_approved` of a batch of one. Idempotent."""
    item = _item(payout_item_id)
    post_payouts_approved([item])
    return entry_for_key(f"payout:{item.id}:approved")


class PayeeBalanceTooLow(InsufficientBalance):
    """A batch item pays more than its payee has available; says which item and what is there."""

    def __init__(self, item, available_fen):
        super().__init__("A payout of %(amount)s is more than the %(available)s available.",
                         amount=Yuan(item.amount_fen), available=Yuan(max(available_fen, 0)))
        self.household_id, self.supplier_id, self.available_fen = item.household_id, item.supplier_id, available_fen


def _payee_account(item):
    if item.household_id is not None:
        return "household_payable", "household", item.household_id
    return "supplier_payable", "supplier", item.supplier_id


TRANSIT = ("payouts_in_transit", "", 0)


def post_payouts_approved(items):
    """Rule 10, approval, for many payout items at once (a batch): Dr each payee's payable,
    Cr payouts_in_transit, one entry per item, posted in bulk. Returns how many were posted now.

    Every payee account is locked in one statement in account-id order before any balance is
    read, so two batches sharing payees approved at the same moment queue instead of
    deadlocking, and the second sees what the first took. Refuses with PayeeBalanceTooLow,
    posting nothing, when the items of a payee add up to more than it has available (a
    household's available balance, a supplier's payable). An item already approved keeps its
    entry (its idempotency key) and is not counted again, so a repeat posts nothing twice.
    """
    items = list(items)
    if not items:
        return 0
    payees = {_payee_account(item) for item in items}
    # Every account exists before any lock: creating one after the payee locks could deadlock.
    accounts = account_ids(payees | {TRANSIT})
    lock_accounts(accounts[payee] for payee in payees)
    # Items approved before keep their entry and take nothing more from the balance.
    key_of = {item.id: f"payout:{item.id}:approved" for item in items}
    posted = set(db.session.scalars(select(JournalEntry.idempotency_key)
                                    .where(among(JournalEntry.idempotency_key, key_of.values()))))
    items = [item for item in items if key_of[item.id] not in posted]
    available = available_by_account([accounts[payee] for payee in payees])
    wanted = {}
    for item in items:
        wanted[_payee_account(item)] = wanted.get(_payee_account(item), 0) + item.amount_fen
    for item in items:
        has = available.get(accounts[_payee_account(item)], 0)
        if wanted[_payee_account(item)] > has:
            raise PayeeBalanceTooLow(item, has)
    return len(post_entries([
        EntryDraft(key_of[item.id], PAYOUT_APPROVED,
                   [(_payee_account(item), item.amount_fen), (TRANSIT, -item.amount_fen)],
                   rule_settings={**_payee(item), "batch_id": item.batch_id,
                                  "available_before_fen": available.get(accounts[_payee_account(item)], 0)},
                   memo=f"payout item {item.id} approved", references={"payout_item_id": item.id})
        for item in items]))


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
