"""A buyer's orders and each order's status timeline."""
from sqlalchemy import select, tuple_
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent


def buyer_orders(buyer_id, limit=100, before=None):
    """The buyer's orders, newest first, with their lines; `before` = (created_at, id) of the last
    order already shown, to continue from there (keyset pagination)."""
    query = select(Order).where(Order.buyer_id == buyer_id)
    if before is not None:
        query = query.where(tuple_(Order.created_at, Order.id) < tuple_(*before))
    return db.session.scalars(
        query.order_by(Order.created_at.desc(), Order.id.desc()).options(selectinload(Order.lines)).limit(limit)
    ).all()


def order_timeline(order_id):
    return db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)).all()
