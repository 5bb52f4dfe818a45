"""Packing and shipping orders: the seller's side of the order state machine.

`paid → packed → shipped`; each step adds an OrderEvent the buyer sees on the order timeline.
A cooperative manager handles only orders holding lines of their cooperative.
"""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _
from sqlalchemy import select, update

from marketplace.audit.services import record
from marketplace.coops import scope
from marketplace.coops.models import Cooperative
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderLine

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
CARRIERS = ("顺丰速运", "中国邮政", "京东物流", "中通快递", "圆通速递", "韵达快递", "申通快递")


def _seller_id(actor_id):
    return scope.cooperative_seller_id(scope.managed_cooperative_id(actor_id))


def _orders_with_lines_of(seller_id):
    return select(Order).where(Order.id.in_(select(OrderLine.order_id).where(OrderLine.seller_id == seller_id)))


def fulfilment_queue(actor_id):
    """Orders to pack (paid) and to ship (packed) that hold this cooperative's lines, oldest first."""
    query = _orders_with_lines_of(_seller_id(actor_id)).where(Order.status.in_(("paid", "packed")))
    return db.session.scalars(query.order_by(Order.paid_at, Order.id)).all()


def order_for(actor_id, order_id):
    """An order holding this cooperative's lines, or NotFound."""
    order = db.session.scalar(_orders_with_lines_of(_seller_id(actor_id)).where(Order.id == order_id))
    if order is None:
        raise NotFound(_("No such order."))
    return order


def cooperative_lines(actor_id, order):
    """The lines of `order` this cooperative packs."""
    seller_id = _seller_id(actor_id)
    return [line for line in order.lines if line.seller_id == seller_id]


def orders_paid_on(actor_id, day):
    """Orders still to pack or ship that were paid on `day` (China time), for the day's packing list."""
    start = datetime.combine(day, time.min, LOCAL_TIME).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    query = (_orders_with_lines_of(_seller_id(actor_id))
             .where(Order.status.in_(("paid", "packed")), Order.paid_at >= start, Order.paid_at < start + timedelta(days=1)))
    return db.session.scalars(query.order_by(Order.paid_at, Order.id)).all()


def local_day(moment):
    """The China date of a stored (naive UTC) moment."""
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(LOCAL_TIME).date() if moment else date.today()


def _move(order, from_status, to_status, **values):
    # One conditional UPDATE: two managers pressing at once move the order only once.
    moved = db.session.execute(update(Order).where(Order.id == order.id, Order.status == from_status)
                               .values(status=to_status, **values)).rowcount
    if not moved:
        db.session.rollback()
        raise Conflict(_("This order is no longer waiting for that step."))


def mark_packed(order_id, actor_id):
    """The cooperative packed the order: paid → packed, shown on the buyer's timeline."""
    order = order_for(actor_id, order_id)
    cooperative = db.session.get(Cooperative, scope.managed_cooperative_id(actor_id))
    _move(order, "paid", "packed")
    db.session.add(OrderEvent(order_id=order.id, status="packed", actor_id=actor_id,
                              note=f"{cooperative.name_zh} 已打包 / packed by {cooperative.name_en}"))
    record("order.packed", actor_id=actor_id, obj=order, town_id=cooperative.town_id)
    db.session.commit()
    db.session.refresh(order)
    return order


def mark_shipped(order_id, actor_id, carrier, tracking_no):
    """Handed to a carrier: packed → shipped, with the carrier and tracking number the buyer sees."""
    carrier, tracking_no = (carrier or "").strip(), (tracking_no or "").strip()
    if carrier not in CARRIERS:
        raise DomainError(_("Choose a carrier."), field="carrier")
    if not tracking_no or len(tracking_no) > 60 or not tracking_no.replace("-", "").isalnum():
        raise DomainError(_("Enter the tracking number (letters and digits)."), field="tracking_no")
    order = order_for(actor_id, order_id)
    cooperative = db.session.get(Cooperative, scope.managed_cooperative_id(actor_id))
    _move(order, "packed", "shipped", carrier=carrier, tracking_no=tracking_no)
    db.session.add(OrderEvent(order_id=order.id, status="shipped", actor_id=actor_id,
                              note=f"{carrier} {tracking_no}", at=utcnow()))
    record("order.shipped", actor_id=actor_id, obj=order, town_id=cooperative.town_id,
           carrier=carrier, tracking_no=tracking_no)
    db.session.commit()
    db.session.refresh(order)
    return order
