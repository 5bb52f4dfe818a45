"""Rules 10 and 11: paying households and suppliers, and Stripe paying the platform's bank.

These join the caller's transaction (the payout service that approves a batch or records a
confirmation commits them together with its own changes).
"""
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance, lock_household_account, lock_supplier_account
from marketplace.ledger.errors import InsufficientBalance
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
