"""Rule 8: a refund, whole or partial, reverses pro rata what the refunded lines credited.

The floor purchase stays with the household: it earned that at intake. Each line is reversed
so that, after all of its refunds, every recipient has given back exactly its largest-remainder
share of the refunded amount — so refunds in any order, or a line refunded in pieces, end
where one whole refund would.

A refund of goods whose sale has settled (an after-sales decision beyond the window) may have
been paid out already: it never takes a household's, supplier's or love fund's available
balance below zero. What such a payee can no longer give back is borne by the party at fault
named on the refund (`Refund.borne_by`): the platform's loss (`refund_losses`), or a claim on
the cooperative, the supplier or the carrier (`claims_receivable`), posted in the same entry
and recorded in its settings (`shortfall_by_account`), so later refunds of the line add up.

Only a refund Stripe reports `succeeded` is reversed; one still pending waits. A refund owed to an
organisation that paid by company transfer is reversed when recorded (ledger/rules/transfer_refunds.py). A refund that
fails reverses nothing — or, if it had already succeeded and been reversed, its reversal is
itself reversed (`reverse_failed_refund`), entry by entry, so what later refunds of the same
lines compute as "taken back so far" (and any shortfall a bearer took) no longer counts it.
"""
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.errors import DomainError, NotFound, Yuan
from marketplace.extensions import db
from marketplace.ledger.errors import NotReady
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.aftersales.models import Claim
from marketplace.ledger.rules.claims import release_claim_hold, reverse_claim_line
from marketplace.ledger.rules.lots import return_units_to_lots
from marketplace.ledger.rules.names import CLAIM, REFUND, REFUND_FAILED, REFUND_PAID
from marketplace.ledger.rules.store_credit import issue_store_credit
from marketplace.ledger.rules.transfer_refunds import deduct_from_transfer, owe_organisation, refund_deducted
from marketplace.ledger.rules.sales import lock_payment
from marketplace.ledger.services import account_id, entry_for_key, post_entry
from marketplace.money import split_largest_remainder
from marketplace.catalog.models import Seller
from marketplace.ledger.balances import available_by_account, lock_accounts
from marketplace.ledger.models import Account
from marketplace.orders.models import Order, OrderLine, Shipment
from marketplace.payments.models import Refund

NOT_REFUNDED_STATUSES = ("failed", "canceled", "cancelled")


def attribute_refund(refund_id):
    """Rule 8 for one refund, as its status at Stripe now says; commits. Idempotent.

    Succeeded: the refund is reversed; returns the entry paying the buyer back. Failed or
    canceled: nothing is reversed, or a reversal already posted is reversed (returns None).
    Raises NotReady while the refund is not yet succeeded at Stripe, or the order's payment has
    not been attributed yet (events out of order).
    """
    found = db.session.execute(select(Refund.payment_id, Refund.order_id).where(Refund.id == refund_id)).first()
    if found is None:
        raise NotFound("No such refund.")
    payment_id, order_id = found
    if payment_id is not None:
        lock_payment(payment_id)
    else:  # an order paid wholly with store credit has no payment: its row stands in for the lock
        lock_order(order_id)
    # Read after the lock: a status change commits under the same lock, so this is the status now.
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id)
                               .execution_options(populate_existing=True))
    existing = entry_for_key(f"refund:{refund.id}")
    claim = db.session.scalar(select(Claim).where(Claim.refund_id == refund.id))
    if refund.status in NOT_REFUNDED_STATUSES:
        if existing is not None:
            reverse_failed_refund(refund)
        if claim is not None:
            release_claim_hold(claim)
        db.session.commit()
        return None
    if existing is not None:
        db.session.commit()
        return existing
    to_organisation = refund.method == "transfer"
    if refund.status != "succeeded" and not (to_organisation and refund.status in ("owed", "deducted")):
        raise NotReady("The refund is not yet done at Stripe: it is reversed once it succeeds.")
    paid_key = f"pay:{refund.payment_id}" if refund.payment_id is not None else \
        f"transfer:order:{refund.order_id}" if to_organisation else f"credit:order:{refund.order_id}"
    if entry_for_key(paid_key) is None:
        raise NotReady("The refund waits for its payment to be attributed.")
    order = db.session.get(Order, refund.order_id)
    lines_fen = 0
    for refund_line in sorted(refund.lines, key=lambda rl: rl.id):
        line = db.session.get(OrderLine, refund_line.order_line_id)
        if line is None or line.order_id != order.id:
            raise DomainError("The refund names a line that is not in order %(order)s.", order=order.public_no)
        if claim is not None:
            reverse_claim_line(refund, claim, line, refund_line.amount_fen,
                               _reversed_so_far(order.id, _credited_accounts(line), line.id),
                               _shortfalls_so_far(order.id, line.id))
        else:
            reverse_line(refund, line, refund_line.amount_fen)
        lines_fen += refund_line.amount_fen
        if refund.restock and refund_line.quantity:
            return_units_to_lots(line.id, refund_line.quantity * line.lot_units)
    rest = refund.amount_fen - lines_fen
    if rest < 0:
        raise DomainError("The refund's lines add up to more than the refund.")
    rest = reverse_order_extra(refund, order, "shipping", account_id("shipping"), rest)
    if rest:
        donation = entry_for_key(f"attr:order:{order.id}:donation")
        fund = next((p.account_id for p in donation.postings if p.amount_fen < 0), None) if donation else None
        rest = reverse_order_extra(refund, order, "donation", fund, rest) if fund else rest
    if rest:
        raise DomainError("The refund is %(amount)s more than what is left to refund on the order.", amount=Yuan(rest))
    if refund.method == "store_credit":
        entry = issue_store_credit(refund, order)
    elif to_organisation:
        entry = owe_organisation(refund, order, _organisation_of(order.id))
        if refund_deducted(refund, order):
            deduct_from_transfer(refund, order, _organisation_of(order.id))
    else:
        entry = post_entry(
            f"refund:{refund.id}", REFUND_PAID,
            [(account_id("sales_pending"), refund.amount_fen), (account_id("stripe_receivable"), -refund.amount_fen)],
            rule_settings={"amount_fen": refund.amount_fen, "stripe_refund_id": refund.stripe_refund_id},
            memo=f"refund {refund.id} to the buyer of order {order.public_no}", order_id=order.id,
            refund_id=refund.id,
        )
    if claim is not None:
        release_claim_hold(claim)
    db.session.commit()
    return entry


def _organisation_of(order_id):
    from marketplace.organisations.models import Requisition  # organisations build on the ledger

    organisation_id = db.session.scalar(select(Requisition.organisation_id).where(Requisition.order_id == order_id))
    if organisation_id is None:
        raise DomainError("Order %(order)s was paid by transfer but no organisation placed it.", order=order_id)
    return organisation_id


def lock_order(order_id):
    return db.session.execute(select(Order.id).where(Order.id == order_id).with_for_update()).scalar_one_or_none()


def _credited_accounts(line):
    pending = account_id("sales_pending")
    return [p.account_id for p in entry_for_key(f"attr:line:{line.id}").postings if p.account_id != pending]


def _reversed_so_far(order_id, accounts, order_line_id=None):
    """Per account, what refund (and after-sales claim) entries of this order (or line) have already taken back."""
    query = (select(Posting.account_id, func.sum(Posting.amount_fen))
             .join(JournalEntry, Posting.entry_id == JournalEntry.id)
             .where(JournalEntry.rule.in_(REVERSING_RULES), JournalEntry.order_id == order_id,
                    JournalEntry.order_line_id.is_(None) if order_line_id is None
                    else JournalEntry.order_line_id == order_line_id,
                    Posting.account_id.in_(accounts))
             .group_by(Posting.account_id))
    return {account: int(total) for account, total in db.session.execute(query).all()}


PROTECTED_KINDS = ("household_payable", "supplier_payable", "love_fund")
# Entries that take back part of a line: what each recipient gave back, or a bearer for it, adds up across them.
REVERSING_RULES = (REFUND, CLAIM)
BEARERS = ("platform", "cooperative", "supplier", "carrier")


def _shortfalls_so_far(order_id, order_line_id, what=None):
    """Per account, what earlier refunds (and claims) of this line (or extra) had a bearer give back instead of it."""
    query = select(JournalEntry.rule_settings).where(JournalEntry.rule.in_(REVERSING_RULES),
                                                     JournalEntry.order_id == order_id)
    key = JournalEntry.idempotency_key
    query = query.where(JournalEntry.order_line_id == order_line_id) if order_line_id else \
        query.where(JournalEntry.order_line_id.is_(None), key.like(f"%:{what}") | key.like(f"%:{what}:failed"))
    totals = {}
    for settings in db.session.scalars(query):
        sign = -1 if (settings or {}).get("refund_failed") else 1  # a failed refund's mirror gives it back
        for account, fen in (settings or {}).get("shortfall_by_account", {}).items():
            totals[int(account)] = totals.get(int(account), 0) + sign * int(fen)
    return totals


def _bearer_account(refund, line):
    """The account that bears what a settled sale's payees cannot give back."""
    bearer = refund.borne_by if refund.borne_by in BEARERS else "platform"
    seller = db.session.get(Seller, line.seller_id) if line is not None else None
    if bearer == "cooperative" and seller is not None and seller.cooperative_id:
        return bearer, account_id("claims_receivable", "cooperative", seller.cooperative_id)
    if bearer == "supplier" and seller is not None and seller.supplier_id:
        return bearer, account_id("claims_receivable", "supplier", seller.supplier_id)
    if bearer == "carrier":
        return bearer, account_id("claims_receivable")
    return "platform", account_id("refund_losses")


def _cap_at_available(refund, line, legs):
    """Take back from protected payees at most what they have available; the rest goes to the bearer.

    Returns (legs, {account: shortfall}, bearer)."""
    kinds = dict(db.session.execute(select(Account.id, Account.kind).where(
        Account.id.in_([account for account, _fen in legs]))).all())
    protected = [account for account, fen in legs if fen > 0 and kinds[account] in PROTECTED_KINDS]
    if not protected:
        return legs, {}, None
    lock_accounts(protected)
    available = available_by_account(protected)
    capped, shortfall = [], {}
    for account, fen in legs:
        if account in protected and fen > max(available.get(account, 0), 0):
            shortfall[account] = fen - max(available.get(account, 0), 0)
            fen -= shortfall[account]
        capped.append((account, fen))
    if not shortfall:
        return legs, {}, None
    bearer, bearer_account = _bearer_account(refund, line)
    return capped + [(bearer_account, sum(shortfall.values()))], shortfall, bearer


def _settled(order_id, seller_id=None):
    if seller_id is None:
        return db.session.get(Order, order_id).settled_at is not None
    return db.session.scalar(select(Shipment.settled_at).where(Shipment.order_id == order_id,
                                                               Shipment.seller_id == seller_id,
                                                               Shipment.replaces_claim_id.is_(None))) is not None


def reverse_line(refund, line, amount_fen):
    """Take back `amount_fen` of one line from its recipients, pro rata to what they were credited
    (capped at what they have available once the line's sale has settled)."""
    original = entry_for_key(f"attr:line:{line.id}")
    pending = account_id("sales_pending")
    credits = sorted((p.account_id, -p.amount_fen) for p in original.postings if p.account_id != pending)
    done = _reversed_so_far(line.order_id, [account for account, _ in credits], line.id)
    for account, fen in _shortfalls_so_far(line.order_id, line.id).items():
        done[account] = done.get(account, 0) + fen
    refunded_before = sum(done.values())
    if refunded_before + amount_fen > line.line_total_fen:
        raise DomainError("The refund would refund %(item)s beyond its total.", item=line.title_zh)
    target = split_largest_remainder(refunded_before + amount_fen, credits)
    legs = [(account, target[account] - done.get(account, 0)) for account, _ in credits]
    shortfall, bearer = {}, None
    if _settled(line.order_id, line.seller_id):
        legs, shortfall, bearer = _cap_at_available(refund, line, legs)
    return post_entry(
        f"refund:{refund.id}:line:{line.id}", REFUND, legs + [(pending, -amount_fen)],
        rule_settings={"reverses_rule": original.rule, "reverses_entry_id": original.id, "amount_fen": amount_fen,
                       "line_refunded_fen": refunded_before + amount_fen, "line_total_fen": line.line_total_fen,
                       **({"shortfall_by_account": {str(a): fen for a, fen in shortfall.items()}, "borne_by": bearer}
                          if shortfall else {})},
        memo=f"refund {refund.id}: {line.title_zh}", order_id=line.order_id, order_line_id=line.id,
        refund_id=refund.id,
    )


def reverse_order_extra(refund, order, what, account, rest):
    """Refund the part of `rest` that shipping (or the round-up) still holds; returns what is left.

    A settled order's round-up may have been granted as aid already: the fund gives back at most
    what it has available, and the refund's bearer the rest."""
    original = entry_for_key(f"attr:order:{order.id}:{what}")
    credited = -sum(p.amount_fen for p in original.postings if p.account_id == account) if original else 0
    given_back = _reversed_so_far(order.id, [account]).get(account, 0) + \
        _shortfalls_so_far(order.id, None, what).get(account, 0)
    amount = min(credited - given_back, rest)
    if amount > 0:
        legs, shortfall, bearer = [(account, amount)], {}, None
        if what == "donation" and _settled(order.id):
            legs, shortfall, bearer = _cap_at_available(refund, None, legs)
        post_entry(f"refund:{refund.id}:{what}", REFUND,
                   legs + [(account_id("sales_pending"), -amount)],
                   rule_settings={"reverses_rule": original.rule, "reverses_entry_id": original.id,
                                  "amount_fen": amount,
                                  **({"shortfall_by_account": {str(a): fen for a, fen in shortfall.items()},
                                      "borne_by": bearer} if shortfall else {})},
                   memo=f"refund {refund.id}: {what}", order_id=order.id, refund_id=refund.id)
    return rest - amount


def reverse_failed_refund(refund):
    """Undo a posted refund Stripe then failed: each of its entries mirrored, once; joins the caller's transaction.

    The line, shipping and round-up reversals are mirrored under the same rule (REFUND) and
    line, so the recipients get their credits back and later refunds of those lines see them
    as never taken back; the money's return to the buyer is mirrored as REFUND_FAILED
    (`refund:{id}:failed`): the buyer's money stayed with us. Returns that entry.
    """
    done = entry_for_key(f"refund:{refund.id}:failed")
    if done is not None:
        return done
    entries = db.session.scalars(
        select(JournalEntry).where(JournalEntry.refund_id == refund.id,
                                   JournalEntry.rule.in_((REFUND, CLAIM, REFUND_PAID)))
        .options(selectinload(JournalEntry.postings)).order_by(JournalEntry.id)).all()
    paid_back = None
    for entry in entries:
        if entry.rule == REFUND_PAID:
            paid_back = entry
            continue
        post_entry(
            f"{entry.idempotency_key}:failed", entry.rule, [(p.account_id, -p.amount_fen) for p in entry.postings],
            rule_settings={**(entry.rule_settings or {}), "refund_failed": True, "mirrors_entry_id": entry.id},
            memo=f"refund {refund.id} failed at Stripe: {entry.memo}", order_id=entry.order_id,
            order_line_id=entry.order_line_id, refund_id=refund.id, reverses_entry_id=entry.id)
    if paid_back is None:
        return None
    return post_entry(
        f"refund:{refund.id}:failed", REFUND_FAILED, [(p.account_id, -p.amount_fen) for p in paid_back.postings],
        rule_settings={"amount_fen": refund.amount_fen, "stripe_refund_id": refund.stripe_refund_id,
                       "status": refund.status},
        memo=f"refund {refund.id} failed at Stripe: the buyer's money stayed", order_id=paid_back.order_id,
        refund_id=refund.id, reverses_entry_id=paid_back.id)
