"""Refunds, whole or per line, through Stripe; the ledger reverses what the refunded lines caused.

`refund_order` is the one way money goes back to a buyer for goods. Amounts come from the
order's snapshotted unit prices, never from a form. When nothing of the order is left
unrefunded, its shipping and love-fund donation go back too.
"""
from flask_babel import lazy_gettext as _
from sqlalchemy import select, update

from marketplace.catalog.models import Variant
from marketplace.database import lock_for_update
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.orders.fulfilment import close_refunded_shipments
from marketplace.orders.models import Order, OrderEvent
from marketplace.outbox.services import publish
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment, Refund, RefundLine

REFUNDABLE_STATUSES = ("paid", "packed", "shipped", "delivered", "completed", "partially_refunded")


def refund_order(order_id, lines, actor_id, restock, reason=""):
    """Refund `lines` ({order_line_id: quantity}) of a paid order and publish its attribution.

    Raises NotFound, Conflict (not paid, nothing left to refund) or DomainError (bad quantities).
    """
    refund = refund_lines_uncommitted(order_id, lines, actor_id, restock, reason)
    db.session.commit()
    return refund


def refund_lines_uncommitted(order_id, lines, actor_id, restock, reason="", allowed_statuses=REFUNDABLE_STATUSES):
    """`refund_order` without the commit, for services that refund as part of a larger change.

    The order row is locked first, so its status is checked against `allowed_statuses` as it is now."""
    order = db.session.scalar(lock_for_update(select(Order).where(Order.id == order_id)))
    if order is None:
        raise NotFound(_("No such order."))
    if order.status not in allowed_statuses:
        raise Conflict(_("Only a paid order can be refunded.") if allowed_statuses == REFUNDABLE_STATUSES else
                       _("This order can no longer be cancelled: it is already being packed or was closed."))
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.status == "succeeded"))
    if payment is None:
        raise Conflict(_("This order has no completed payment to refund."))
    by_id = {line.id: line for line in order.lines}
    if not lines:
        raise DomainError(_("Choose at least one item to refund."), field="lines")
    for line_id, quantity in lines.items():
        line = by_id.get(line_id)
        if line is None:
            raise NotFound(_("That item is not part of this order."))
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= line.quantity - line.refunded_quantity:
            raise DomainError(_("Refund between 1 and the units not yet refunded."), field="lines")
    amount = sum(by_id[line_id].unit_price_fen * quantity for line_id, quantity in lines.items())
    everything_back = all(line.refunded_quantity + lines.get(line.id, 0) == line.quantity for line in order.lines)
    if everything_back:
        amount += order.shipping_fen + order.donation_fen
    stripe_refund = stripe_gateway.create_refund(
        payment.stripe_payment_intent_id, amount, f"refund:{order.id}:{order.refunded_fen}:{amount}",
        metadata={"order_no": order.public_no})
    refund = Refund(order_id=order.id, payment_id=payment.id, stripe_refund_id=stripe_refund.id, amount_fen=amount,
                    status=stripe_refund.status, reason=reason[:200], restock=restock, created_by_id=actor_id)
    for line_id, quantity in sorted(lines.items()):
        line = by_id[line_id]
        line_amount = line.unit_price_fen * quantity
        refund.lines.append(RefundLine(order_line_id=line_id, quantity=quantity, amount_fen=line_amount))
        line.refunded_quantity += quantity
        line.refunded_fen += line_amount
        if restock:
            db.session.execute(update(Variant).where(Variant.id == line.variant_id)
                               .values(stock_available=Variant.stock_available + quantity)
                               .execution_options(synchronize_session=False))
    db.session.add(refund)
    order.refunded_fen += amount
    order.status = "refunded" if everything_back else "partially_refunded"
    db.session.add(OrderEvent(order_id=order.id, status=order.status, note="refunded", actor_id=actor_id))
    db.session.flush()
    close_refunded_shipments(order.id)
    publish("ledger.attribute_refund", refund_id=refund.id)
    return refund
