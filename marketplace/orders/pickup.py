"""Uplink orders picked up at a village service point: the buyer shows the order's pickup code,
the service point's agent checks it and hands over the parcels that have arrived, which are then
delivered (the after-sales window starts, as with 确认收货)."""
import hmac
import secrets

from flask_babel import lazy_gettext as _
from sqlalchemy import exists, select, update

from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.downlink.scope import agent_point
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.orders.fulfilment import FULFILLED_ORDER_STATUSES, sync_order_statuses
from marketplace.orders.models import Order, OrderEvent, Shipment


def new_pickup_code():
    """Six digits the buyer shows at hand-over; not guessable from the order number."""
    return f"{secrets.randbelow(1_000_000):06d}"


def _at_point(point_id):
    return (Order.direction == "uplink", Order.delivery_kind == "pickup", Order.service_point_id == point_id,
            Order.status.in_(FULFILLED_ORDER_STATUSES))


def parcels_waiting(actor_id, limit=50):
    """Uplink orders with a parcel shipped to the agent's service point and not yet handed over."""
    point = agent_point(actor_id)
    shipped = exists().where(Shipment.order_id == Order.id, Shipment.status == "shipped")
    return db.session.scalars(select(Order).where(*_at_point(point.id), shipped)
                              .order_by(Order.paid_at, Order.id).limit(limit)).all()


def waiting_order(actor_id, public_no):
    """An order of the agent's point with a parcel waiting to be handed over, or NotFound."""
    point = agent_point(actor_id)
    shipped = exists().where(Shipment.order_id == Order.id, Shipment.status == "shipped")
    order = db.session.scalar(select(Order).where(Order.public_no == public_no, *_at_point(point.id), shipped))
    if order is None:
        raise NotFound(_("No such order at your service point."))
    return order


def hand_over_parcels(actor_id, public_no, code):
    """Check the buyer's pickup code and hand over the order's parcels that have arrived
    (shipped → delivered, confirmed by pickup). A wrong code, another point's order or nothing
    arrived: refused, nothing changed. Returns how many parcels were handed over."""
    point = agent_point(actor_id)
    order = db.session.scalar(select(Order).where(Order.public_no == (public_no or "").strip(), *_at_point(point.id)))
    if order is None:
        raise NotFound(_("No such order at your service point."))
    if not hmac.compare_digest((code or "").strip().encode(), (order.pickup_code or "").encode()):
        raise DomainError(_("The pickup code is wrong. Nothing was handed over."), code="wrong_pickup_code",
                          field="code")
    now = utcnow()
    # One conditional UPDATE: two agents handing over at once hand each parcel over once.
    moved = db.session.execute(
        update(Shipment).where(Shipment.order_id == order.id, Shipment.status == "shipped")
        .values(status="delivered", delivered_at=now, delivery_confirmed_by="pickup")
        .returning(Shipment.id)).scalars().all()
    if not moved:
        db.session.rollback()
        raise Conflict(_("Nothing of this order has arrived at the service point yet, or it was already handed over."))
    for shipment_id in moved:
        db.session.add(OrderEvent(order_id=order.id, shipment_id=shipment_id, status="delivered", note="pickup",
                                  actor_id=actor_id, at=now))
    sync_order_statuses([order.id])
    record("shipment.picked_up", actor_id=actor_id, obj=order, town_id=point.village.town_id, parcels=len(moved))
    db.session.commit()
    return len(moved)
