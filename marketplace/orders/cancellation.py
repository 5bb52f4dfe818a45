"""A buyer cancelling their own order before it is packed: unpaid orders release their stock,
paid ones are refunded in full with the goods put back in stock.

Cancelling is idempotent: a double click or a retried request finds the order cancelled and
refunds nothing more. The refund is recorded in the cancel's transaction (payment, then order
row-locked, the order attribution takes them in) and sent to Stripe after it commits.
"""
from flask_babel import lazy_gettext as _

from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.orders.checkout import order_for_buyer
from marketplace.orders.models import OrderEvent
from marketplace.payments.refunds import refund_lines_uncommitted
from marketplace.payments.settlement import cancel_and_settle

CANCELLABLE = ("pending_payment", "paid")


def _too_late():
    return Conflict(_("This order can no longer be cancelled: it is already being packed or was closed."))


def cancel_order(public_no, buyer_id):
    """Cancel the buyer's order if it is not packed yet; refunds it if it was paid. An order
    already cancelled is returned as it is."""
    order = order_for_buyer(public_no, buyer_id)
    if order.status == "cancelled":
        return order
    if order.status not in CANCELLABLE:
        raise _too_late()
    order_id = order.id
    if order.status == "pending_payment":
        if cancel_and_settle(order_id, note="cancelled_by_buyer", actor_id=buyer_id):
            return order_for_buyer(public_no, buyer_id)
        order = order_for_buyer(public_no, buyer_id)  # Stripe said it was paid after all
        if order.status == "cancelled":
            return order
        if order.status != "paid":
            raise _too_late()
    try:
        refund_lines_uncommitted(order_id, {line.id: line.quantity for line in order.lines}, buyer_id, restock=True,
                                 reason="cancelled by the buyer before packing", allowed_statuses=("paid",))
    except Conflict:
        db.session.rollback()
        order = order_for_buyer(public_no, buyer_id)
        if order.status == "cancelled":  # the other click got there first
            return order
        raise
    order.status = "cancelled"
    db.session.add(OrderEvent(order_id=order_id, status="cancelled", note="cancelled_by_buyer", actor_id=buyer_id))
    db.session.commit()
    return order
