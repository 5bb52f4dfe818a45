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

Spending it (`store_credit_spent`, Dr store_credit[buyer], Cr sales_pending, key
`credit:order:{order}`): at checkout the buyer may apply min(credit, order total) to the order.
The amount is *held* first (a `StoreCreditSpend` row, under the row lock of the buyer's
store-credit account, so two tabs cannot hold the same credit twice); it is posted together
with the order's attribution, in the same batch as its card payment (`pay:{payment}`, for the
rest) or alone when the credit covers the whole order, and then the ordinary rules take the
whole total out of sales_pending. A held amount goes back when the unpaid order is cancelled
or expires. What the buyer may spend is the posted balance less what is held.
"""
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import Account, Posting
from marketplace.ledger.rules.names import STORE_CREDIT_ISSUED, STORE_CREDIT_SPENT
from marketplace.ledger.services import EntryDraft, account_id, post_entry
from marketplace.orders.models import Order
from marketplace.payments.models import StoreCreditSpend


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


def held_store_credit_fen(buyer_id):
    """Credit held by unpaid (or paid, not yet attributed) orders: not the buyer's to spend again."""
    return int(db.session.scalar(select(func.coalesce(func.sum(StoreCreditSpend.amount_fen), 0)).where(
        StoreCreditSpend.buyer_id == buyer_id, StoreCreditSpend.status == "held")) or 0)


def spendable_store_credit_fen(buyer_id):
    """What the buyer may apply at checkout now: the posted balance less what other orders hold."""
    return max(store_credit_fen(buyer_id) - held_store_credit_fen(buyer_id), 0)


def spend_draft(spend, order):
    """The entry spending `spend` on `order`: Dr store_credit[buyer], Cr sales_pending, by the amount applied."""
    return EntryDraft(
        f"credit:order:{order.id}", STORE_CREDIT_SPENT,
        [(("store_credit", "buyer", spend.buyer_id), spend.amount_fen), (("sales_pending", "", 0), -spend.amount_fen)],
        rule_settings={"amount_fen": spend.amount_fen, "buyer_id": spend.buyer_id, "spend_id": spend.id},
        memo=f"store credit spent on order {order.public_no}", references={"order_id": order.id})


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
