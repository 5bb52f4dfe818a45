"""Packing, shipping and delivering orders one shipment (one seller's lines) at a time.

`open → packed → shipped → delivered → settled`, each shipment on its own: a cooperative
manager moves only the shipments of their cooperative, a village agent those of the households
of their village that sell directly (直供). Each step adds an OrderEvent, tagged with the
shipment, to the buyer's timeline; the order's own status follows its least advanced shipment
(`sync_order_statuses`). Delivered is the buyer's confirmation of receipt (确认收货), the
carrier's delivery recorded by the seller or town staff, or AUTO_CONFIRM_DAYS after shipping
(marketplace/orders/settlement.py). Every move is one conditional UPDATE, so two people
pressing at once move a shipment only once.
"""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _
from sqlalchemy import case, exists, func, insert, select, update

from marketplace.audit.services import record
from marketplace.catalog.models import Seller
from marketplace.coops import scope
from marketplace.coops.models import Cooperative
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.ledger.services import among
from marketplace.orders.models import Order, OrderEvent, OrderLine, Shipment
from marketplace.people.models import Household, Supplier, User
from marketplace.places.models import Village

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
CARRIERS = ("顺丰速运", "中国邮政", "京东物流", "中通快递", "圆通速递", "韵达快递", "申通快递")
# Orders whose shipments a seller works on: paid, possibly partly refunded, not closed.
# `on_terms`: an organisation's order to be paid after acceptance, packed and shipped unpaid
# (organisations/payment_clock.py); no credit exists for it until its transfer arrives.
FULFILLED_ORDER_STATUSES = ("paid", "packed", "shipped", "delivered", "partially_refunded", "on_terms")
# A shipment's progress, in order: the order's status follows its least advanced shipment.
PROGRESS = ("open", "packed", "shipped", "delivered", "settled")
ORDER_STATUS_OF_PROGRESS = {"open": "paid", "packed": "packed", "shipped": "shipped", "delivered": "delivered",
                            "settled": "completed"}


def open_shipments(order):
    """One shipment per seller of the order's lines (added to the session already); joins the
    caller's transaction."""
    db.session.flush()
    ensure_shipments([order.id])


def ensure_shipments(order_ids):
    """Add the shipments missing for these orders (orders made before shipments existed, or by hand)."""
    if not order_ids:
        return
    missing = (select(OrderLine.order_id, OrderLine.seller_id).distinct()
               .where(OrderLine.order_id.in_(order_ids),
                      ~exists().where(Shipment.order_id == OrderLine.order_id, Shipment.seller_id == OrderLine.seller_id)))
    rows = [{"order_id": order_id, "seller_id": seller_id, "status": "open", "carrier": "", "tracking_no": ""}
            for order_id, seller_id in db.session.execute(missing)]
    if rows:
        db.session.execute(insert(Shipment), rows)


def seller_ids_of(actor_id):
    """The sellers whose shipments the actor moves: a manager's cooperative; an agent's direct-selling households."""
    user = scope.acting_user(actor_id)
    if user.role == "agent":
        return list(db.session.scalars(
            select(Seller.id).join(Household, Seller.household_id == Household.id)
            .where(Household.village_id == scope.agent_village_id(actor_id))))
    return [scope.cooperative_seller_id(scope.managed_cooperative_id(actor_id))]


def _shipments_of(seller_ids):
    return (select(Shipment).join(Order, Shipment.order_id == Order.id)
            .where(Shipment.seller_id.in_(seller_ids), Order.status.in_(FULFILLED_ORDER_STATUSES)))


def fulfilment_queue(actor_id):
    """Shipments to pack (open) and to ship (packed) of the actor's sellers, oldest payment first.

    A shipment whose every line was refunded is not listed: there is nothing left to send."""
    unrefunded = exists().where(OrderLine.order_id == Shipment.order_id, OrderLine.seller_id == Shipment.seller_id,
                                OrderLine.refunded_quantity < OrderLine.quantity)
    query = _shipments_of(seller_ids_of(actor_id)).where(Shipment.status.in_(("open", "packed")), unrefunded)
    return db.session.scalars(query.order_by(Order.paid_at, Shipment.id)).all()


def shipments_in_transit(actor_id, limit=50):
    """The actor's shipped shipments waiting for delivery, oldest first (to record the carrier's delivery)."""
    query = _shipments_of(seller_ids_of(actor_id)).where(Shipment.status == "shipped")
    return db.session.scalars(query.order_by(Shipment.shipped_at, Shipment.id).limit(limit)).all()


def sellers_of_town(town_id):
    """The sellers of a town: its cooperatives, the households of its villages, its suppliers."""
    return (select(Seller.id)
            .outerjoin(Cooperative, Seller.cooperative_id == Cooperative.id)
            .outerjoin(Household, Seller.household_id == Household.id)
            .outerjoin(Village, Household.village_id == Village.id)
            .outerjoin(Supplier, Seller.supplier_id == Supplier.id)
            .where(func.coalesce(Cooperative.town_id, Village.town_id, Supplier.town_id) == town_id))


def town_shipments_in_transit(town_id, limit=100):
    """Shipped parcels of the town's sellers still waiting for delivery, longest on the way first."""
    query = (select(Shipment).join(Order, Shipment.order_id == Order.id)
             .where(Shipment.seller_id.in_(sellers_of_town(town_id)), Shipment.status == "shipped",
                    Order.status.in_(FULFILLED_ORDER_STATUSES)))
    return db.session.scalars(query.order_by(Shipment.shipped_at, Shipment.id).limit(limit)).all()


def shipment_for(actor_id, shipment_id):
    """A shipment of one of the actor's sellers, or NotFound."""
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None or shipment.seller_id not in seller_ids_of(actor_id):
        raise NotFound(_("No such order."))
    return shipment


def order_for(actor_id, order_id):
    """An order holding a shipment of the actor's sellers, with that shipment, or NotFound."""
    shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order_id,
                                                        Shipment.seller_id.in_(seller_ids_of(actor_id))))
    if shipment is None:
        raise NotFound(_("No such order."))
    return shipment


def shipments_paid_on(actor_id, day):
    """Shipments still to pack or ship whose order was paid on `day` (China time), for the day's packing list."""
    start = datetime.combine(day, time.min, LOCAL_TIME).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    query = (_shipments_of(seller_ids_of(actor_id))
             .where(Shipment.status.in_(("open", "packed")), Order.paid_at >= start,
                    Order.paid_at < start + timedelta(days=1)))
    return db.session.scalars(query.order_by(Order.paid_at, Shipment.id)).all()


def local_day(moment):
    """The China date of a stored (naive UTC) moment."""
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(LOCAL_TIME).date() if moment else date.today()


def seller_name(seller_id, locale="zh"):
    """The name a buyer knows a seller by: its cooperative, the household's consented label, or the supplier."""
    seller = db.session.get(Seller, seller_id)
    if seller.cooperative is not None:
        return seller.cooperative.name(locale)
    if seller.household is not None:
        household = seller.household
        return household.display_label_en if str(locale).startswith("en") else household.display_label_zh
    return seller.supplier.name(locale)


def _move(shipment, from_statuses, to_status, **values):
    # One conditional UPDATE: two people pressing at once move the shipment only once.
    moved = db.session.execute(
        update(Shipment).where(Shipment.id == shipment.id, Shipment.status.in_(from_statuses))
        .values(status=to_status, **values).execution_options(synchronize_session=False)).rowcount
    if not moved:
        db.session.rollback()
        raise Conflict(_("This order is no longer waiting for that step."))


def _town_of_seller(seller_id):
    seller = db.session.get(Seller, seller_id)
    if seller.cooperative_id:
        return db.session.get(Cooperative, seller.cooperative_id).town_id
    if seller.household_id:
        return db.session.get(Village, db.session.get(Household, seller.household_id).village_id).town_id
    return seller.supplier.town_id


def _step(shipment, actor_id, status, note="", action=None, **details):
    db.session.add(OrderEvent(order_id=shipment.order_id, shipment_id=shipment.id, status=status, note=note,
                              actor_id=actor_id, at=utcnow()))
    sync_order_statuses([shipment.order_id])
    if action:
        record(action, actor_id=actor_id, obj=shipment, town_id=_town_of_seller(shipment.seller_id),
               order_id=shipment.order_id, **details)
    db.session.commit()
    db.session.refresh(shipment)
    return shipment


def mark_packed(shipment_id, actor_id):
    """The seller packed its lines of the order: open → packed, on the buyer's timeline."""
    shipment = shipment_for(actor_id, shipment_id)
    _require_paid(shipment)
    _move(shipment, ("open",), "packed", packed_at=utcnow())
    return _step(shipment, actor_id, "packed", action="shipment.packed")


def mark_shipped(shipment_id, actor_id, carrier, tracking_no):
    """Handed to a carrier: packed → shipped, with the carrier and tracking number the buyer sees."""
    carrier, tracking_no = (carrier or "").strip(), (tracking_no or "").strip()
    if carrier not in CARRIERS:
        raise DomainError(_("Choose a carrier."), field="carrier")
    if not tracking_no or len(tracking_no) > 60 or not tracking_no.replace("-", "").isalnum():
        raise DomainError(_("Enter the tracking number (letters and digits)."), field="tracking_no")
    shipment = shipment_for(actor_id, shipment_id)
    _require_paid(shipment)
    _move(shipment, ("packed",), "shipped", carrier=carrier, tracking_no=tracking_no, shipped_at=utcnow())
    # The order keeps the latest carrier too: the buyer's order list shows one tracking number.
    db.session.execute(update(Order).where(Order.id == shipment.order_id)
                       .values(carrier=carrier, tracking_no=tracking_no).execution_options(synchronize_session=False))
    return _step(shipment, actor_id, "shipped", note=f"{carrier} {tracking_no}", action="shipment.shipped",
                 carrier=carrier, tracking_no=tracking_no)


def _require_paid(shipment):
    if db.session.get(Order, shipment.order_id).status not in FULFILLED_ORDER_STATUSES:
        raise Conflict(_("This order is no longer waiting for that step."))


def confirm_receipt(public_no, shipment_id, buyer_id):
    """The buyer confirms receipt (确认收货) of one shipment of their order: shipped → delivered."""
    order = db.session.scalar(select(Order).where(Order.public_no == public_no))
    if order is None or order.buyer_id != buyer_id:
        raise NotFound(_("No such order."))
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None or shipment.order_id != order.id:
        raise NotFound(_("No such order."))
    _move(shipment, ("shipped",), "delivered", delivered_at=utcnow(), delivery_confirmed_by="buyer")
    return _step(shipment, buyer_id, "delivered", note="buyer", action="shipment.delivered", confirmed_by="buyer")


def deliver_on_acceptance(shipment, actor_id):
    """An organisation's acceptance (验收) of a shipped parcel is its receipt too: shipped → delivered,
    confirmed by the buyer. Joins the caller's transaction (which records the acceptance and commits)."""
    _move(shipment, ("shipped",), "delivered", delivered_at=utcnow(), delivery_confirmed_by="buyer")
    db.session.add(OrderEvent(order_id=shipment.order_id, shipment_id=shipment.id, status="delivered",
                              note="buyer", actor_id=actor_id, at=utcnow()))
    sync_order_statuses([shipment.order_id])


def record_carrier_delivery(shipment_id, actor_id):
    """The seller, or staff of the seller's town, records that the carrier delivered a shipment."""
    user = db.session.get(User, actor_id)
    if user is not None and user.role == "town_staff":
        shipment = db.session.get(Shipment, shipment_id)
        if shipment is None or _town_of_seller(shipment.seller_id) != user.town_id:
            raise NotFound(_("No such order."))
    else:
        shipment = shipment_for(actor_id, shipment_id)
    _move(shipment, ("shipped",), "delivered", delivered_at=utcnow(), delivery_confirmed_by="carrier")
    return _step(shipment, actor_id, "delivered", note="carrier", action="shipment.delivered", confirmed_by="carrier")


def sync_order_statuses(order_ids):
    """Bring each order's status in line with its shipments: the least advanced one that is not
    cancelled; `completed` (and `settled_at`) once all have settled. Cancelled and refunded
    orders, and orders not yet paid, keep their status. A partly refunded order still waiting to
    be packed stays `partially_refunded`."""
    order_ids = sorted(set(order_ids))
    if not order_ids:
        return
    rank = case({status: index for index, status in enumerate(PROGRESS)}, value=Shipment.status)
    least = dict(db.session.execute(
        select(Shipment.order_id, func.min(rank)).where(among(Shipment.order_id, order_ids),
                                                        Shipment.status != "cancelled")
        .group_by(Shipment.order_id)).all())
    now = utcnow()
    by_target = {}
    for order_id, progress in least.items():
        by_target.setdefault(PROGRESS[progress], []).append(order_id)
    for progress, ids in by_target.items():
        status = ORDER_STATUS_OF_PROGRESS[progress]
        movable = Order.status.in_(FULFILLED_ORDER_STATUSES + ("completed",))
        values = {"status": status}
        if progress == "settled":
            values["settled_at"] = func.coalesce(Order.settled_at, now)
        elif progress == "open":
            # Still to pack: a partly refunded order says so rather than "paid"; an unpaid one (on
            # pay-after-acceptance terms, perhaps with lines refunded before payment) stays on terms.
            values["status"] = case((Order.paid_at.is_(None), "on_terms"),
                                    (Order.refunded_fen > 0, "partially_refunded"), else_="paid")
        db.session.execute(update(Order).where(among(Order.id, ids), movable).values(**values)
                           .execution_options(synchronize_session=False))


def complete_settled_orders(order_ids):
    """`sync_order_statuses` for orders some of whose shipments just settled, in one UPDATE: those
    with nothing left unsettled are completed; the others keep the status they had."""
    unsettled = exists().where(Shipment.order_id == Order.id, Shipment.status.not_in(("settled", "cancelled")))
    db.session.execute(update(Order).where(among(Order.id, sorted(set(order_ids))),
                                           Order.status.in_(FULFILLED_ORDER_STATUSES + ("completed",)), ~unsettled)
                       .values(status="completed", settled_at=func.coalesce(Order.settled_at, utcnow()))
                       .execution_options(synchronize_session=False))


def close_refunded_shipments(order_id):
    """Shipments whose every line was refunded before they were shipped are cancelled: nothing to send."""
    fully_refunded = ~exists().where(OrderLine.order_id == Shipment.order_id, OrderLine.seller_id == Shipment.seller_id,
                                     OrderLine.refunded_quantity < OrderLine.quantity)
    db.session.execute(update(Shipment).where(Shipment.order_id == order_id, Shipment.status.in_(("open", "packed")),
                                              fully_refunded)
                       .values(status="cancelled").execution_options(synchronize_session=False))
    sync_order_statuses([order_id])


def reopen_unrefunded_shipments(order_id):
    """A refund failed: the shipments it closed, whose lines are owed to the buyer again, are open
    again (to pack and ship as before), and the order's status follows them."""
    unrefunded = exists().where(OrderLine.order_id == Shipment.order_id, OrderLine.seller_id == Shipment.seller_id,
                                OrderLine.refunded_quantity < OrderLine.quantity)
    db.session.execute(update(Shipment).where(Shipment.order_id == order_id, Shipment.status == "cancelled", unrefunded)
                       .values(status="open").execution_options(synchronize_session=False))
    sync_order_statuses([order_id])
