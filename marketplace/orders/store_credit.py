"""Store credit applied at checkout: held for the order, spent when it is paid, given back if not.

`hold_store_credit` runs inside `place_order`'s transaction. It row-locks the buyer's
store-credit account first, so two checkouts of the same buyer (two tabs) take turns: the second
reads the first's hold (committed by then) and can hold only what is left. The order then needs
only `total − credit` from Stripe (`start_payment`); when the credit covers the whole order it is
paid here, in the same transaction, with no PaymentIntent at all, and attributed as any paid order
(see marketplace/ledger/rules/store_credit.py). `release_order` gives a hold back.
"""
from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.database import utcnow
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.balances import lock_account
from marketplace.ledger.rules.sales import AttributionBatch
from marketplace.ledger.rules.store_credit import spendable_store_credit_fen
from marketplace.orders.models import OrderEvent
from marketplace.orders.reservations import convert_reservations
from marketplace.payments.models import StoreCreditSpend


def hold_store_credit(order):
    """Hold min(spendable credit, total) of the buyer's store credit for `order`; joins the caller's
    transaction. Pays the order outright when the credit covers it. Returns the hold, or None when
    the buyer has no credit to spend."""
    if order.buyer_id is None:
        raise DomainError(_("Sign in to use your store credit."), field="use_store_credit")
    lock_account("store_credit", "buyer", order.buyer_id)
    amount = min(spendable_store_credit_fen(order.buyer_id), order.total_fen)
    if amount <= 0:
        return None
    spend = StoreCreditSpend(order_id=order.id, buyer_id=order.buyer_id, amount_fen=amount, status="held")
    db.session.add(spend)
    db.session.flush()
    if amount == order.total_fen:
        _pay_wholly(order, spend)
    return spend


def _pay_wholly(order, spend):
    """The credit covers the order: paid now, its stock kept, its money attributed in this transaction."""
    now = utcnow()
    batch = AttributionBatch([order])
    batch.add_order(order, paid_at=now)
    batch.add_credit(spend, order)
    batch.post()
    order.status, order.paid_at, order.payment_method = "paid", now, "store_credit"
    convert_reservations(order.id)
    db.session.add(OrderEvent(order_id=order.id, status="paid", note="paid_with_store_credit",
                              actor_id=order.buyer_id))


def store_credit_of_order(order_id):
    """Fen of store credit applied to the order (held or spent), 0 if none or given back."""
    return int(db.session.scalar(select(StoreCreditSpend.amount_fen).where(
        StoreCreditSpend.order_id == order_id, StoreCreditSpend.status != "released")) or 0)
