"""Store credit: a refund's money going back as the buyer's credit with the platform instead of to the card.

A refund to store credit reverses the refunded lines exactly as a refund to the card does (rule
8, or the claim rule for an after-sales claim: the same household and bearer legs, before or
after settlement); only the money's way back differs. Where a card refund posts `refund_paid`
(Dr sales_pending, Cr stripe_receivable: the money leaves through Stripe), a credit refund posts
`store_credit_issued` under the same key `refund:{refund}`: Dr sales_pending, Cr
`store_credit[buyer]`. The platform keeps the money and owes it to the buyer.

A buyer's store-credit account is a liability of the platform: its balance (credits minus
debits, shown as a positive figure) is what the buyer may still spend, and never below zero
(`ledger verify`: balance = issued − spent, ≥ 0). Nothing is sent to Stripe: the refund is
`succeeded` the moment it is recorded, and it cannot fail afterwards.
"""
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import Account, Posting
from marketplace.ledger.rules.names import STORE_CREDIT_ISSUED
from marketplace.ledger.services import account_id, post_entry
from marketplace.orders.models import Order


def store_credit_account(buyer_id):
    return account_id("store_credit", "buyer", buyer_id)


def issue_store_credit(refund, order):
    """Post the money of `refund` to its buyer's store credit; joins the caller's transaction."""
    return post_entry(
        f"refund:{refund.id}", STORE_CREDIT_ISSUED,
        [(account_id("sales_pending"), refund.amount_fen), (store_credit_account(order.buyer_id), -refund.amount_fen)],
        rule_settings={"amount_fen": refund.amount_fen, "buyer_id": order.buyer_id},
        memo=f"refund {refund.id} to the store credit of the buyer of order {order.public_no}",
        order_id=order.id, refund_id=refund.id,
    )


def store_credit_fen(buyer_id):
    """What the buyer may spend as store credit now, in fen (0 for a buyer never credited)."""
    owed = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0)).join(Account, Account.id == Posting.account_id)
        .where(Account.kind == "store_credit", Account.owner_type == "buyer", Account.owner_id == buyer_id))
    return -int(owed or 0)


def store_credit_history(buyer_id, limit=50):
    """[(entry, fen, order public_no)] of the buyer's store credit, newest first: credits positive."""
    from marketplace.ledger.models import JournalEntry
    rows = db.session.execute(
        select(JournalEntry, Posting.amount_fen, Order.public_no)
        .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Account.id == Posting.account_id)
        .outerjoin(Order, Order.id == JournalEntry.order_id)
        .where(Account.kind == "store_credit", Account.owner_type == "buyer", Account.owner_id == buyer_id)
        .order_by(JournalEntry.id.desc()).limit(limit)).all()
    return [(entry, -int(fen), public_no) for entry, fen, public_no in rows]
