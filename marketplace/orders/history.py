"""A buyer's orders, each order's status timeline and its shipments."""
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.orders.fulfilment import seller_name
from marketplace.orders.models import Order, OrderEvent, Shipment
from marketplace.payments.models import Refund


# The note a subscription renewal's attempt leaves when its saved card was declined (or the attempt
# was interrupted): the attempt's order was cancelled and its stock released at once.
RENEWAL_ATTEMPT_FAILED = "subscription_payment_failed"


def buyer_orders(buyer_id, limit=100, before=None):
    """The buyer's orders, newest first, with their lines; `before` = (created_at, id) of the last
    order already shown, to continue from there (keyset pagination).

    A subscription renewal's attempt whose card was declined is no order of the buyer's: it was
    cancelled, nothing charged, its stock back, and the retry places the period's order afresh. It
    is left out here; the orders page and the subscription's page say that the renewal will retry."""
    failed_attempt = (select(OrderEvent.id).where(OrderEvent.order_id == Order.id, OrderEvent.status == "cancelled",
                                                  OrderEvent.note == RENEWAL_ATTEMPT_FAILED).exists())
    query = select(Order).where(Order.buyer_id == buyer_id, ~(Order.status.in_(("cancelled",)) & failed_attempt))
    if before is not None:
        query = query.where(tuple_(Order.created_at, Order.id) < tuple_(*before))
    return db.session.scalars(
        query.order_by(Order.created_at.desc(), Order.id.desc()).options(selectinload(Order.lines)).limit(limit)
    ).all()


@dataclass(frozen=True)
class SettledStep:
    """A shipment's settlement on the timeline, read from the shipment (settlement writes no event)."""

    shipment_id: int
    at: object
    status: str = "settled"
    note: str = "settled"


def order_timeline(order_id):
    """The order's events, with each settled shipment's settlement after them in time order
    (earlier sweeps wrote a "settled" event of their own: such a shipment is not shown twice)."""
    events = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)).all()
    already = {event.shipment_id for event in events if event.status == "settled"}
    settled = [SettledStep(shipment_id, at) for shipment_id, at in db.session.execute(
        select(Shipment.id, Shipment.settled_at).where(Shipment.order_id == order_id, Shipment.settled_at.is_not(None))
        .order_by(Shipment.settled_at, Shipment.id)) if shipment_id not in already]
    timeline = []
    for event in events:  # events stay in the order they were written; a settlement goes where its time falls
        while settled and settled[0].at < event.at:
            timeline.append(settled.pop(0))
        timeline.append(event)
    return timeline + settled


@dataclass(frozen=True)
class ShipmentView:
    """One seller's part of an order as the buyer follows it."""

    shipment: Shipment
    seller_zh: str
    seller_en: str
    lines: list

    def seller(self, locale="zh"):
        return self.seller_en if str(locale).startswith("en") else self.seller_zh


def order_shipments(order):
    """The order's shipments with who sends each and its lines, in seller order."""
    return [ShipmentView(shipment, seller_name(shipment.seller_id, "zh"), seller_name(shipment.seller_id, "en"),
                         shipment.lines())
            for shipment in sorted(order.shipments, key=lambda shipment: shipment.id)]


def order_refunds(order_id):
    """The order's refunds, oldest first, with their status (requested, succeeded, failed)."""
    return db.session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)).all()
