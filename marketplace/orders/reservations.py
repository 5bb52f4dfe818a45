"""Giving reserved stock back: when an unpaid order expires, fails to pay or is cancelled.

Every step is a conditional UPDATE on the current state, so two releases of the same order
(the beat task and a webhook, say) put the stock back once.
"""
from sqlalchemy import select, update

from marketplace.catalog.models import Variant
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, StockReservation
from marketplace.payments.models import StoreCreditSpend


def release_order(order_id, note, actor_id=None):
    """Cancel an order still awaiting payment and return its reserved stock; False if it was not
    awaiting payment any more. The caller commits."""
    moved = db.session.execute(
        update(Order).where(Order.id == order_id, Order.status == "pending_payment")
        .values(status="cancelled").execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        return False
    return_reserved_stock(order_id)
    release_store_credit(order_id)
    db.session.add(OrderEvent(order_id=order_id, status="cancelled", note=note, actor_id=actor_id))
    return True


def return_reserved_stock(order_id):
    """Put every still-held reservation of the order back on its variant, in variant order."""
    held = db.session.scalars(
        select(StockReservation).where(StockReservation.order_id == order_id, StockReservation.status == "held")
        .order_by(StockReservation.variant_id)
    ).all()
    for reservation in held:
        released = db.session.execute(
            update(StockReservation).where(StockReservation.id == reservation.id, StockReservation.status == "held")
            .values(status="released", released_at=utcnow()).execution_options(synchronize_session=False)
        ).rowcount
        if released:
            db.session.execute(
                update(Variant).where(Variant.id == reservation.variant_id)
                .values(stock_available=Variant.stock_available + reservation.quantity)
                .execution_options(synchronize_session=False)
            )


def release_store_credit(order_id):
    """The store credit an unpaid order held is the buyer's to spend again."""
    db.session.execute(
        update(StoreCreditSpend).where(StoreCreditSpend.order_id == order_id, StoreCreditSpend.status == "held")
        .values(status="released", closed_at=utcnow()).execution_options(synchronize_session=False))


def convert_reservations(order_id):
    """A paid order keeps its stock for good."""
    db.session.execute(
        update(StockReservation).where(StockReservation.order_id == order_id, StockReservation.status == "held")
        .values(status="converted").execution_options(synchronize_session=False)
    )


def expired_unpaid_order_ids(now=None, limit=500):
    now = now or utcnow()
    return db.session.scalars(
        select(Order.id).where(Order.status == "pending_payment", Order.reservation_expires_at < now)
        .order_by(Order.id).limit(limit)
    ).all()


def release_expired_reservations(now=None):
    """Beat task body: release every order whose reservation ran out unpaid. Returns how many.

    An order with a PaymentIntent is first cancelled at Stripe and then settled from what Stripe
    says, so a payment that did go through just before the deadline makes the order paid instead.
    """
    from marketplace.payments.settlement import cancel_and_settle

    released = 0
    for order_id in expired_unpaid_order_ids(now):
        released += cancel_and_settle(order_id, note="expired")
    return released
