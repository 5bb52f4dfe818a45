"""Payout batches (rule 10): town staff pay households by bank transfer or cash, maker-checker.

A batch is drafted by one staff member from the households whose available balance reaches a
minimum, approved by another (approval posts rule 10 and freezes the amounts), then each item
is recorded as paid (bank reference or cash receipt number) or failed (the posting reverses and
the balance comes back). Approval locks the batch row and each household's account, so two
staff approving at the same moment can never pay a household more than it has available.
"""
from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.ledger.attribution import post_payout_approved, post_payout_failed, post_payout_paid
from marketplace.ledger.balances import household_balance, lock_household_account
from marketplace.payouts.models import PayoutBatch, PayoutItem
from marketplace.people.models import Household
from marketplace.places.models import Village
from marketplace.places.scope import staff_town_id

METHODS = ("bank", "cash")


class PayoutExceedsBalance(Conflict):
    code = "payout_exceeds_balance"


def open_household_ids(town_id):
    """Households already in a draft or approved batch with an item not yet settled."""
    return set(db.session.scalars(
        select(PayoutItem.household_id).join(PayoutBatch)
        .where(PayoutBatch.town_id == town_id, PayoutItem.household_id.is_not(None),
               PayoutItem.status.in_(("pending", "approved")))))


def eligible_households(town_id, method, min_amount_fen):
    """(household, available fen) for the town's households paid by `method` whose available
    balance is at least `min_amount_fen` and who are in no unsettled batch, by village and name."""
    busy = open_household_ids(town_id)
    households = db.session.scalars(
        select(Household).join(Village)
        .where(Village.town_id == town_id, Household.payout_method == method)
        .order_by(Village.id, Household.head_name, Household.id)).all()
    chosen = []
    for household in households:
        if household.id in busy:
            continue
        available = household_balance(household.id).available_fen
        if available > 0 and available >= min_amount_fen:
            chosen.append((household, available))
    return chosen


def create_batch(actor_id, method, min_amount_fen):
    """Draft a batch for the actor's town: one item per eligible household, for its available balance."""
    town_id = staff_town_id(actor_id)
    if method not in METHODS:
        raise Conflict("Choose bank transfer or cash.", field="method")
    if not isinstance(min_amount_fen, int) or min_amount_fen < 0:
        raise Conflict("The minimum must be zero or more.", field="min_amount")
    chosen = eligible_households(town_id, method, min_amount_fen)
    if not chosen:
        raise Conflict("No household has that much available to pay out.")
    batch = PayoutBatch(town_id=town_id, method=method, min_amount_fen=min_amount_fen, created_by_id=actor_id)
    batch.items = [PayoutItem(household_id=household.id, amount_fen=amount) for household, amount in chosen]
    db.session.add(batch)
    db.session.flush()
    record("payout_batch.create", actor_id, batch, town_id=town_id, method=method,
           items=len(chosen), total_fen=sum(amount for _, amount in chosen))
    db.session.commit()
    return batch


def batch_in_town(batch_id, town_id, lock=False):
    query = select(PayoutBatch).where(PayoutBatch.id == batch_id)
    if lock:
        query = query.with_for_update()
    batch = db.session.scalar(query)
    if batch is None or batch.town_id != town_id:
        raise NotFound("No such payout batch in your town.")
    return batch


def approve_batch(actor_id, batch_id):
    """Checker approves a draft batch: rule 10 is posted for every item and the amounts freeze.

    Refused for the batch's maker, for a batch no longer a draft, and when any household's
    available balance is now below its item (nothing is posted then).
    """
    town_id = staff_town_id(actor_id)
    batch = batch_in_town(batch_id, town_id, lock=True)
    if batch.created_by_id == actor_id:
        raise Forbidden("You drafted this batch: another staff member must approve it.")
    if batch.status != "draft":
        raise Conflict("This batch has already been approved or cancelled.")
    items = sorted((item for item in batch.items if item.status == "pending"), key=lambda item: item.household_id)
    for item in items:
        lock_household_account(item.household_id)
        available = household_balance(item.household_id).available_fen
        if item.amount_fen > available:
            db.session.rollback()
            household = db.session.get(Household, item.household_id)
            raise PayoutExceedsBalance(
                f"{household.head_name} now has only ¥{available / 100:,.2f} available; "
                f"cancel this batch and draft a new one.")
        item.status = "approved"
        db.session.flush()
        post_payout_approved(item.id)
    batch.status = "approved"
    batch.approved_by_id = actor_id
    batch.approved_at = utcnow()
    record("payout_batch.approve", actor_id, batch, town_id=town_id,
           items=len(items), total_fen=sum(item.amount_fen for item in items))
    db.session.commit()
    return batch


def cancel_batch(actor_id, batch_id):
    """A draft batch may be cancelled; nothing was posted for it."""
    town_id = staff_town_id(actor_id)
    batch = batch_in_town(batch_id, town_id, lock=True)
    if batch.status != "draft":
        raise Conflict("Only a draft batch can be cancelled.")
    batch.status = "cancelled"
    for item in batch.items:
        item.status = "failed"
        item.failure_reason = "batch cancelled"
    record("payout_batch.cancel", actor_id, batch, town_id=town_id)
    db.session.commit()
    return batch


def _approved_item(actor_id, item_id):
    town_id = staff_town_id(actor_id)
    item = db.session.scalar(select(PayoutItem).where(PayoutItem.id == item_id).with_for_update())
    if item is None:
        raise NotFound("No such payout item.")
    batch = batch_in_town(item.batch_id, town_id)
    if item.status != "approved":
        raise Conflict("This payment has already been recorded as paid or failed.")
    return town_id, batch, item


def mark_item_paid(actor_id, item_id, reference):
    """Record a payment as made: the bank's reference or the cash receipt number; rule 10 clears."""
    reference = (reference or "").strip()
    if not reference or len(reference) > 80:
        raise Conflict("Enter the bank reference or cash receipt number (at most 80 characters).", field="reference")
    town_id, batch, item = _approved_item(actor_id, item_id)
    item.status = "paid"
    item.reference = reference
    item.settled_at = utcnow()
    db.session.flush()
    post_payout_paid(item.id)
    record("payout_item.paid", actor_id, item, town_id=town_id, household_id=item.household_id,
           amount_fen=item.amount_fen, reference=reference)
    _close_if_settled(batch)
    db.session.commit()
    return item


def mark_item_failed(actor_id, item_id, reason):
    """Record a payment that did not go through: rule 10 reverses and the balance is available again."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise Conflict("Say why the payment failed (at most 200 characters).", field="reason")
    town_id, batch, item = _approved_item(actor_id, item_id)
    item.status = "failed"
    item.failure_reason = reason
    item.settled_at = utcnow()
    db.session.flush()
    post_payout_failed(item.id)
    record("payout_item.failed", actor_id, item, town_id=town_id, household_id=item.household_id,
           amount_fen=item.amount_fen, reason=reason)
    _close_if_settled(batch)
    db.session.commit()
    return item


def _close_if_settled(batch):
    if all(item.status in ("paid", "failed") for item in batch.items):
        batch.status = "closed"


def town_batches(town_id, limit=50):
    return db.session.scalars(
        select(PayoutBatch).where(PayoutBatch.town_id == town_id).order_by(PayoutBatch.id.desc()).limit(limit)).all()


def batch_total_fen(batch):
    """What the batch pays (or will): every item except those that failed."""
    return sum(item.amount_fen for item in batch.items if item.status != "failed")
