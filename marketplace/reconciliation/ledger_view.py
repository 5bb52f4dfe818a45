"""What the ledger says about a Stripe object, in fen (reads postings; posts only rule 11)."""
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.attribution import post_stripe_payout
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.ledger.services import account_id


def _sum(account_kind, *conditions):
    return db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0)).join(JournalEntry)
        .where(Posting.account_id == account_id(account_kind), *conditions)) or 0


def receipt_fen(order_id):
    """What rule 1 put into stripe_receivable for the order's payment."""
    return _sum("stripe_receivable", JournalEntry.order_id == order_id, JournalEntry.refund_id.is_(None),
                Posting.amount_fen > 0)


def fee_fen(order_id):
    """The payment fee the platform bore for the order (rule 7)."""
    return _sum("payment_fees", JournalEntry.order_id == order_id, JournalEntry.refund_id.is_(None))


def refund_fen(refund_id):
    """What rule 8 took back out of stripe_receivable for the refund."""
    return -_sum("stripe_receivable", JournalEntry.refund_id == refund_id)


def stripe_payout_entry(payout_id, currency, amount):
    """Rule 11 for a payout to the platform's bank. A CNY payout seen for the first time is posted
    here (the pull is where the platform learns of it); another currency needs a person."""
    if currency != "cny":
        return None
    return post_stripe_payout(payout_id, amount)
