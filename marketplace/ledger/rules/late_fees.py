"""Rule 7, late: a Stripe fee reported only after its payment was attributed.

Stripe may know a charge's fee only once its balance transaction exists (it can come later than
the payment, announced by `charge.updated`). The payment's `fee_fen` then holds the fee as
Stripe reports it now; what it adds to the fee already posted (`fee:{payment}`) is posted once,
as `fee:{payment}:late`: Dr payment_fees, Cr stripe_receivable, borne by the platform — never
by a household. However often the fee is reported, it posts once.
"""
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.ledger.errors import NotReady
from marketplace.ledger.rules.names import PAYMENT_FEE
from marketplace.ledger.rules.sales import lock_payment
from marketplace.ledger.services import account_id, entry_for_key, post_entry


def post_late_fee(payment_id):
    """Post what the payment's fee adds to the fee attributed with it; commits. Idempotent.

    Returns the late-fee entry, or None when the fee adds nothing. Raises NotReady while the
    payment is not attributed yet (its attribution will post the whole fee itself).
    """
    payment = lock_payment(payment_id)
    if payment is None:
        raise NotFound("No such payment.")
    existing = entry_for_key(f"fee:{payment.id}:late")
    if existing is not None:
        db.session.commit()
        return existing
    if entry_for_key(f"pay:{payment.id}") is None:
        raise NotReady("The payment is not attributed yet: its fee is posted with it.")
    fees = account_id("payment_fees")
    posted_entry = entry_for_key(f"fee:{payment.id}")
    posted = sum(p.amount_fen for p in posted_entry.postings if p.account_id == fees) if posted_entry else 0
    late = (payment.fee_fen or 0) - posted
    entry = None
    if late > 0:
        entry = post_entry(
            f"fee:{payment.id}:late", PAYMENT_FEE, [(fees, late), (account_id("stripe_receivable"), -late)],
            rule_settings={"fee_fen": late, "fee_total_fen": payment.fee_fen, "fee_posted_before_fen": posted,
                           "balance_transaction": payment.balance_transaction_id, "borne_by": "platform",
                           "reported": "late"},
            memo=f"payment fee on payment {payment.id}, reported by Stripe after attribution",
            order_id=payment.order_id)
    db.session.commit()
    return entry
