"""Payout batches (rule 10): town staff pay households and daily-goods suppliers, maker-checker.

A batch is drafted by one staff member from the households whose available balance reaches a
minimum and the town's suppliers owed at least that much, approved by another (approval posts
rule 10 and freezes the amounts), then each item is recorded as paid (bank reference or cash
receipt number) or failed (the posting reverses and the balance comes back). Approval locks the
batch row and every payee's account (in account-id order, see `post_payouts_approved`), so two
staff approving at the same moment can never pay anyone more than it has available.

Suppliers belong to the town they are based in (`Supplier.town_id`): their payable is one
ledger account, so exactly one town pays it, whichever service points their goods went to.
A supplier with a bank account on file is paid by bank transfer, one without in cash.
"""
from flask_babel import gettext as _
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import joinedload

from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.downlink.scope import supplier_of
from marketplace.crypto import mask
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound, Yuan
from marketplace.extensions import db
from marketplace.imports.households import BANK_ACCOUNT
from marketplace.ledger.attribution import post_payout_failed, post_payout_paid
from marketplace.ledger.balances import available_by_account
from marketplace.ledger.errors import InsufficientBalance
from marketplace.ledger.models import Account
from marketplace.ledger.rules.payouts import post_payouts_approved
from marketplace.payouts.models import PayoutBatch, PayoutItem
from marketplace.people.models import Household, Supplier
from marketplace.places.models import Village
from marketplace.places.scope import staff_town_id

METHODS = ("bank", "cash")


class PayoutExceedsBalance(Conflict):
    code = "payout_exceeds_balance"


def _unsettled(column, town_id):
    """Payees (by `column`) already in a draft or approved batch of the town with an unsettled item."""
    return (select(column).join(PayoutBatch)
            .where(PayoutBatch.town_id == town_id, column.is_not(None),
                   PayoutItem.status.in_(("pending", "approved"))))


def _payable_accounts(owner, kind, owner_type):
    return and_(Account.kind == kind, Account.owner_type == owner_type, Account.owner_id == owner.id)


def eligible_households(town_id, method, min_amount_fen):
    """[(household id, available fen)] for the town's households paid by `method` (by bank only
    with an account on file) whose available balance is at least `min_amount_fen` and who are
    in no unsettled batch, by village and name. Two queries, whatever the number of households."""
    conditions = [Village.town_id == town_id, Household.payout_method == method,
                  Household.id.not_in(_unsettled(PayoutItem.household_id, town_id))]
    if method == "bank":
        conditions.append(Household.bank_account_masked != "")
    accounts = (select(Household.id, Account.id.label("account_id")).join(Village)
                .join(Account, _payable_accounts(Household, "household_payable", "household")).where(*conditions))
    available = available_by_account(select(accounts.subquery().c.account_id))
    ordered = db.session.execute(accounts.order_by(Village.id, Household.head_name, Household.id)).all()
    return _at_least([(household, available.get(account, 0)) for household, account in ordered], min_amount_fen)


def eligible_suppliers(town_id, method, min_amount_fen):
    """[(supplier id, owed fen)] for the suppliers based in the town, paid by `method`, owed at least
    `min_amount_fen` by the ledger (supplier_payable) and in no unsettled batch, by id."""
    has_bank = Supplier.bank_account_masked != ""
    accounts = (select(Supplier.id, Account.id.label("account_id"))
                .join(Account, _payable_accounts(Supplier, "supplier_payable", "supplier"))
                .where(Supplier.town_id == town_id, has_bank if method == "bank" else ~has_bank,
                       Supplier.id.not_in(_unsettled(PayoutItem.supplier_id, town_id))))
    available = available_by_account(select(accounts.subquery().c.account_id))
    ordered = db.session.execute(accounts.order_by(Supplier.id)).all()
    return _at_least([(supplier, available.get(account, 0)) for supplier, account in ordered], min_amount_fen)


def _at_least(owed, min_amount_fen):
    return [(payee, fen) for payee, fen in owed if fen > 0 and fen >= min_amount_fen]


def create_batch(actor_id, method, min_amount_fen):
    """Draft a batch for the actor's town: one item per eligible household and supplier, for all it
    has available. The items are inserted in bulk."""
    town_id = staff_town_id(actor_id)
    if method not in METHODS:
        raise Conflict("Choose bank transfer or cash.", field="method")
    if not isinstance(min_amount_fen, int) or min_amount_fen < 0:
        raise Conflict("The minimum must be zero or more.", field="min_amount")
    households = eligible_households(town_id, method, min_amount_fen)
    suppliers = eligible_suppliers(town_id, method, min_amount_fen)
    if not households and not suppliers:
        raise Conflict("No household has that much available to pay out.")
    batch = PayoutBatch(town_id=town_id, method=method, min_amount_fen=min_amount_fen, created_by_id=actor_id)
    db.session.add(batch)
    db.session.flush()
    db.session.execute(insert(PayoutItem), [
        *({"batch_id": batch.id, "household_id": household, "amount_fen": fen} for household, fen in households),
        *({"batch_id": batch.id, "supplier_id": supplier, "amount_fen": fen} for supplier, fen in suppliers)])
    total = sum(fen for _, fen in households) + sum(fen for _, fen in suppliers)
    record("payout_batch.create", actor_id, batch, town_id=town_id, method=method,
           items=len(households) + len(suppliers), suppliers=len(suppliers), total_fen=total)
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
    """Checker approves a draft batch: rule 10 is posted for every item (in bulk) and the amounts freeze.

    Refused for the batch's maker, for a batch no longer a draft, and when any payee's available
    balance is now below its item (nothing is posted then).
    """
    town_id = staff_town_id(actor_id)
    batch = batch_in_town(batch_id, town_id, lock=True)
    if batch.created_by_id == actor_id:
        raise Forbidden("You drafted this batch: another staff member must approve it.")
    if batch.status != "draft":
        raise Conflict("This batch has already been approved or cancelled.")
    items = db.session.scalars(select(PayoutItem).where(PayoutItem.batch_id == batch.id,
                                                        PayoutItem.status == "pending")).all()
    try:
        post_payouts_approved(items)
    except InsufficientBalance as refusal:
        db.session.rollback()
        raise PayoutExceedsBalance(
            "%(payee)s now has only %(available)s available; cancel this batch and draft a new one.",
            payee=payee_name(refusal.household_id, refusal.supplier_id),
            available=Yuan(max(refusal.available_fen, 0))) from None
    db.session.execute(update(PayoutItem).where(PayoutItem.batch_id == batch.id, PayoutItem.status == "pending")
                       .values(status="approved"), execution_options={"synchronize_session": False})
    batch.status = "approved"
    batch.approved_by_id = actor_id
    batch.approved_at = utcnow()
    record("payout_batch.approve", actor_id, batch, town_id=town_id,
           items=len(items), total_fen=sum(item.amount_fen for item in items))
    db.session.commit()
    return batch


def payee_name(household_id=None, supplier_id=None):
    if household_id is not None:
        return db.session.get(Household, household_id).head_name
    return db.session.get(Supplier, supplier_id).name_zh


def cancel_batch(actor_id, batch_id):
    """A draft batch may be cancelled; nothing was posted for it."""
    town_id = staff_town_id(actor_id)
    batch = batch_in_town(batch_id, town_id, lock=True)
    if batch.status != "draft":
        raise Conflict("Only a draft batch can be cancelled.")
    batch.status = "cancelled"
    db.session.execute(update(PayoutItem).where(PayoutItem.batch_id == batch.id)
                       .values(status="failed", failure_reason="batch cancelled"),
                       execution_options={"synchronize_session": False})
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
           supplier_id=item.supplier_id, amount_fen=item.amount_fen, reference=reference)
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
           supplier_id=item.supplier_id, amount_fen=item.amount_fen, reason=reason)
    _close_if_settled(batch)
    db.session.commit()
    return item


def _close_if_settled(batch):
    db.session.flush()
    unsettled = db.session.scalar(select(func.count()).select_from(PayoutItem).where(
        PayoutItem.batch_id == batch.id, PayoutItem.status.not_in(("paid", "failed"))))
    if unsettled == 0:
        batch.status = "closed"


def town_batches(town_id, limit=50):
    return db.session.scalars(
        select(PayoutBatch).where(PayoutBatch.town_id == town_id).order_by(PayoutBatch.id.desc()).limit(limit)).all()


def batch_totals(batch_ids):
    """{batch id: (items, households, suppliers, fen)} over the items that did not fail, in one query.

    A cancelled batch's items all failed: it totals (0, 0, 0, 0)."""
    rows = db.session.execute(
        select(PayoutItem.batch_id, func.count(), func.count(PayoutItem.household_id), func.count(PayoutItem.supplier_id),
               func.sum(PayoutItem.amount_fen))
        .where(PayoutItem.batch_id.in_(batch_ids), PayoutItem.status != "failed").group_by(PayoutItem.batch_id))
    totals = {batch_id: (0, 0, 0, 0) for batch_id in batch_ids}
    totals.update({batch_id: (items, households, suppliers, int(fen))
                   for batch_id, items, households, suppliers, fen in rows})
    return totals


def batch_payees(batch):
    """The batch's items with their payee (Household or Supplier) and its village, in three queries."""
    items = db.session.scalars(select(PayoutItem).where(PayoutItem.batch_id == batch.id).order_by(PayoutItem.id)).all()
    households = {household.id: household for household in db.session.scalars(
        select(Household).options(joinedload(Household.village))
        .where(Household.id.in_(select(PayoutItem.household_id).where(PayoutItem.batch_id == batch.id))))}
    suppliers = {supplier.id: supplier for supplier in db.session.scalars(
        select(Supplier).where(Supplier.id.in_(select(PayoutItem.supplier_id).where(PayoutItem.batch_id == batch.id))))}
    return [(item, households.get(item.household_id) or suppliers[item.supplier_id]) for item in items]


def supplier_payouts(actor_id, limit=20):
    """What the acting supplier's town has paid it (or is paying): its items of approved batches, newest first."""
    supplier_id = supplier_of(actor_id)
    return db.session.scalars(
        select(PayoutItem).join(PayoutBatch).options(joinedload(PayoutItem.batch))
        .where(PayoutItem.supplier_id == supplier_id, PayoutBatch.status.in_(("approved", "closed")))
        .order_by(PayoutItem.id.desc()).limit(limit)).all()


def set_supplier_bank_account(actor_id, bank_name, account_number):
    """Where the town's payout batches pay the acting supplier: kept encrypted, shown masked.

    Refused while a payout to the supplier is drafted or approved and not settled, so the bank
    file of that batch pays the account the checker approved."""
    supplier_id = supplier_of(actor_id)
    bank_name, number = bank_name.strip(), "".join(account_number.split())
    if not bank_name:
        raise DomainError(_("Enter the name of the bank."), field="bank_name")
    if not BANK_ACCOUNT.match(number):
        raise DomainError(_("Enter the account number: 12 to 30 digits."), field="account")
    supplier = db.session.get(Supplier, supplier_id, with_for_update=True)
    in_payment = db.session.scalar(select(func.count()).select_from(PayoutItem).where(
        PayoutItem.supplier_id == supplier_id, PayoutItem.status.in_(("pending", "approved"))))
    if in_payment:
        raise Conflict(_("A payout to you is under way: change the account once it is settled."))
    supplier.bank_name, supplier.bank_account, supplier.bank_account_masked = bank_name, number, mask(number)
    record("payouts.supplier_bank_account_set", actor_id=actor_id, obj=supplier, town_id=supplier.town_id,
           bank_name=bank_name, account=supplier.bank_account_masked)
    db.session.commit()
    return supplier
