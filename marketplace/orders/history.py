"""A buyer's orders and each order's status timeline."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent


def buyer_orders(buyer_id, limit=100):
    """The buyer's orders, newest first, with their lines."""
    return db.session.scalars(
        select(Order).where(Order.buyer_id == buyer_id).order_by(Order.created_at.desc(), Order.id.desc())
        .options(selectinload(Order.lines)).limit(limit)
    ).all()


def order_timeline(order_id):
    return db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)).all()
