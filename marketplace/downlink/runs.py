"""Consolidation (拼单配送): orders to one service point from one supplier travel in one delivery run.

A run takes every order of that service point and supplier that is ready to go and not in a run
yet: paid orders, and cash-on-pickup orders (paid at hand-over). Runs are made by a Celery beat
task for every pair, or by the supplier's button for their own. Assignment is one conditional
UPDATE (`run_id IS NULL`), so the schedule and the button running at once never put an order
in two runs.
"""
import secrets

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import selectinload

from flask_babel import gettext as _
from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.downlink.models import DeliveryRun, PickupTicket
from marketplace.downlink.scope import agent_point, supplier_of
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderEvent, OrderLine

READY = or_(Order.status == "paid", and_(Order.payment_method == "cash", Order.status == "pending_payment"))


def _ready_tickets(supplier_id=None):
    query = (select(PickupTicket.id, PickupTicket.service_point_id, PickupTicket.supplier_id)
             .join(Order, Order.id == PickupTicket.order_id)
             .where(PickupTicket.run_id.is_(None), READY)
             .order_by(PickupTicket.id))
    if supplier_id is not None:
        query = query.where(PickupTicket.supplier_id == supplier_id)
    return db.session.execute(query).all()


def consolidate(supplier_id=None, actor_id=None):
    """Make one planned run per (service point, supplier) with orders ready to go. Returns the runs.

    Safe to run twice or at the same time as another consolidation: an order already in a run is
    never taken again, and a run that got no orders is not kept.
    """
    groups = {}
    for ticket_id, point_id, ticket_supplier_id in _ready_tickets(supplier_id):
        groups.setdefault((point_id, ticket_supplier_id), []).append(ticket_id)
    runs = []
    for (point_id, group_supplier_id), ticket_ids in sorted(groups.items()):
        run = DeliveryRun(run_no=f"R{utcnow():%y%m%d}{secrets.token_hex(3).upper()}", supplier_id=group_supplier_id,
                          service_point_id=point_id, created_by_id=actor_id)
        db.session.add(run)
        db.session.flush()
        taken = db.session.execute(
            update(PickupTicket).where(PickupTicket.id.in_(ticket_ids), PickupTicket.run_id.is_(None))
            .values(run_id=run.id).execution_options(synchronize_session=False)
        ).rowcount
        if taken == 0:
            db.session.delete(run)
            continue
        record("downlink.run_consolidated", actor_id=actor_id, obj=run, orders=taken,
               supplier_id=group_supplier_id, service_point_id=point_id)
        runs.append(run)
    db.session.commit()
    return runs


def waiting_for_a_run(actor_id):
    """How many of the supplier's orders are ready to go and not in a run yet."""
    return len(_ready_tickets(supplier_of(actor_id)))


def consolidate_for_supplier(actor_id):
    """The supplier's button: consolidate now, only their own orders."""
    return consolidate(supplier_id=supplier_of(actor_id), actor_id=actor_id)


def run_orders(run_id):
    return db.session.scalars(
        select(Order).join(PickupTicket, PickupTicket.order_id == Order.id).where(PickupTicket.run_id == run_id)
        .options(selectinload(Order.lines)).order_by(Order.id)
    ).all()


def supplier_runs(actor_id, limit=50):
    supplier_id = supplier_of(actor_id)
    return db.session.scalars(
        select(DeliveryRun).where(DeliveryRun.supplier_id == supplier_id)
        .options(selectinload(DeliveryRun.service_point), selectinload(DeliveryRun.tickets))
        .order_by(DeliveryRun.id.desc()).limit(limit)
    ).all()


def point_runs(actor_id, limit=50):
    point = agent_point(actor_id)
    return db.session.scalars(
        select(DeliveryRun).where(DeliveryRun.service_point_id == point.id)
        .options(selectinload(DeliveryRun.supplier), selectinload(DeliveryRun.tickets))
        .order_by(DeliveryRun.id.desc()).limit(limit)
    ).all()


def supplier_run(actor_id, run_id):
    run = db.session.get(DeliveryRun, run_id)
    if run is None or run.supplier_id != supplier_of(actor_id):
        raise NotFound(_("No such delivery run of yours."))
    return run


def point_run(actor_id, run_id):
    run = db.session.get(DeliveryRun, run_id)
    if run is None or run.service_point_id != agent_point(actor_id).id:
        raise NotFound(_("No such delivery run for your service point."))
    return run


def pick_list(run):
    """What to load: one row per product line, quantities summed over the run's orders."""
    rows = {}
    lines = db.session.scalars(
        select(OrderLine).join(PickupTicket, PickupTicket.order_id == OrderLine.order_id)
        .where(PickupTicket.run_id == run.id).order_by(OrderLine.variant_id)
    ).all()
    for line in lines:
        row = rows.setdefault(line.variant_id, {"title_zh": line.title_zh, "title_en": line.title_en,
                                                "unit": line.unit, "quantity": 0, "amount_fen": 0})
        row["quantity"] += line.quantity
        row["amount_fen"] += line.line_total_fen
    return list(rows.values())


def _move_orders(run, from_status, to_status, actor_id):
    for order in run_orders(run.id):
        if order.status == from_status:
            order.status = to_status
            db.session.add(OrderEvent(order_id=order.id, status=to_status, actor_id=actor_id, note=run.run_no))


def dispatch_run(actor_id, run_id):
    """The supplier has loaded the run and sent it: its paid orders are shipped."""
    run = supplier_run(actor_id, run_id)
    if run.status != "planned":
        raise Conflict(_("This run has already been dispatched."))
    run.status, run.dispatched_at, run.dispatched_by_id = "dispatched", utcnow(), actor_id
    _move_orders(run, "paid", "shipped", actor_id)
    record("downlink.run_dispatched", actor_id=actor_id, obj=run, supplier_id=run.supplier_id)
    db.session.commit()
    return run


def receive_run(actor_id, run_id):
    """The service point confirms the run arrived: its orders wait for pickup."""
    run = point_run(actor_id, run_id)
    if run.status != "dispatched":
        raise Conflict(_("Only a dispatched run can be received.") if run.status == "planned"
                       else _("This run has already been received."))
    run.status, run.received_at, run.received_by_id = "received", utcnow(), actor_id
    _move_orders(run, "shipped", "delivered", actor_id)
    record("downlink.run_received", actor_id=actor_id, obj=run, town_id=run.service_point.village.town_id)
    db.session.commit()
    return run
