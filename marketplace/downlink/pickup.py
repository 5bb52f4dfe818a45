"""Hand-over at the service point: the villager's pickup code (or its QR) is checked first.

A wrong code changes nothing. Cash-on-pickup orders are paid here: the agent records the cash,
and the ledger moves it to what the supplier is owed. Goods not picked up within
DOWNLINK_UNPICKED_DAYS of arriving are flagged for the agent to chase.
"""
import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from flask_babel import gettext as _
from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.downlink.models import DeliveryRun, PickupTicket
from marketplace.downlink.ordering import point_order
from marketplace.downlink.scope import agent_point
from marketplace.errors import Conflict, DomainError
from marketplace.extensions import db
from marketplace.money import format_fen
from marketplace.ledger.rules.names import CASH_PAYMENT
from marketplace.ledger.rules.sales import attribute_order
from marketplace.ledger.services import account_id, post_entry
from marketplace.orders.models import Order, OrderEvent
from marketplace.orders.settlement import deliver_at_pickup



MAX_CHANGE_FEN = 100_00  # one ¥100 note more than needed at most

def ticket_for(order):
    return db.session.scalar(select(PickupTicket).where(PickupTicket.order_id == order.id))


def post_cash_collected(order, town_id, actor_id, paid_at):
    """Cash taken by the agent at pickup: Dr cash_collected[town], Cr sales_pending, once per order;
    then the lines are attributed as any paid order's (the supplier is owed its share)."""
    post_entry(
        f"cash:order:{order.id}", CASH_PAYMENT,
        [(account_id("cash_collected", "town", town_id), order.total_fen),
         (account_id("sales_pending"), -order.total_fen)],
        rule_settings={"amount_fen": order.total_fen, "collected_by_id": actor_id},
        memo=f"cash collected at pickup for order {order.public_no}", order_id=order.id, created_by_id=actor_id,
    )
    attribute_order(order, paid_at=paid_at)


def _claim_ticket(ticket, actor_id, now):
    """Mark the ticket handed over only if no one has: a conditional UPDATE, so of two agent
    sessions handing the same goods over at once, the second waits on the row and then finds it
    taken (a Conflict, with nothing of its own written)."""
    claimed = db.session.execute(
        update(PickupTicket).where(PickupTicket.id == ticket.id, PickupTicket.picked_up_at.is_(None))
        .values(picked_up_at=now, handed_over_by_id=actor_id).execution_options(synchronize_session="evaluate")
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise Conflict(_("These goods were already handed over."))


def _check_cash_tendered(tendered_fen, total_fen):
    """The cash the villager handed over must cover the total; the agent gives the rest back as
    change. More than MAX_CHANGE_FEN of change is a typo (¥1000 for ¥10.00), not a payment."""
    if tendered_fen is None:
        raise DomainError(_("Record the cash the villager gave you."), field="cash")
    if tendered_fen < total_fen:
        raise DomainError(_("%(tendered)s is less than the order's total of %(total)s. Nothing was handed over.",
                            tendered=format_fen(tendered_fen), total=format_fen(total_fen)), field="cash")
    if tendered_fen - total_fen > MAX_CHANGE_FEN:
        raise DomainError(_("That would be %(change)s of change: check the amount. Nothing was handed over.",
                            change=format_fen(tendered_fen - total_fen)), field="cash")


def hand_over(actor_id, public_no, code, cash_received_fen=None):
    """Hand the goods of order `public_no` to the villager who gives its pickup code.

    Refused, with nothing changed, when the code is wrong, the goods have not arrived, they were
    already handed over, or (cash on pickup) the cash tendered does not cover the total. The cash
    kept is the total; what was tendered is recorded, and the difference is the change given back.
    """
    order = point_order(actor_id, public_no)
    ticket = ticket_for(order)
    if ticket.picked_up_at is not None:
        raise Conflict(_("These goods were already handed over."))
    if ticket.run is None or ticket.run.status != "received":
        raise Conflict(_("These goods have not arrived at the service point yet."))
    if not hmac.compare_digest((code or "").strip().encode(), (order.pickup_code or "").encode()):
        raise DomainError(_("The pickup code is wrong. Nothing was handed over."), code="wrong_pickup_code",
                          field="code")
    point = agent_point(actor_id)
    now = utcnow()
    _claim_ticket(ticket, actor_id, now)
    if order.payment_method == "cash" and order.status == "pending_payment":
        _check_cash_tendered(cash_received_fen, order.total_fen)
        post_cash_collected(order, point.village.town_id, actor_id, now)
        ticket.cash_collected_fen, order.paid_at = order.total_fen, now
        ticket.cash_tendered_fen = cash_received_fen
    elif order.status != "delivered":
        raise Conflict(_("This order is not waiting for pickup."))
    # The villager has the goods: the supplier's credit is available from now (DESIGN §3).
    deliver_at_pickup(order.id, settle=True)
    order.status = "completed"
    db.session.add(OrderEvent(order_id=order.id, status="completed", actor_id=actor_id, note="picked up"))
    record("downlink.picked_up", actor_id=actor_id, obj=order, town_id=point.village.town_id,
           on_behalf_of_household_id=order.household_id, cash_collected_fen=ticket.cash_collected_fen,
           cash_tendered_fen=ticket.cash_tendered_fen, change_fen=ticket.change_fen)
    db.session.commit()
    return order


def flag_unpicked(days=None):
    """Flag goods that arrived more than `days` ago and are still at the service point. Returns how many."""
    days = current_app.config["DOWNLINK_UNPICKED_DAYS"] if days is None else days
    cutoff = utcnow() - timedelta(days=days)
    arrived_long_ago = select(DeliveryRun.id).where(DeliveryRun.status == "received", DeliveryRun.received_at <= cutoff)
    flagged = db.session.execute(
        update(PickupTicket)
        .where(PickupTicket.run_id.in_(arrived_long_ago), PickupTicket.picked_up_at.is_(None),
               PickupTicket.flagged_unpicked_at.is_(None))
        .values(flagged_unpicked_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return flagged


def waiting_at_point(actor_id):
    """Orders of the agent's service point that arrived and wait for pickup, flagged ones first."""
    point = agent_point(actor_id)
    return db.session.execute(
        select(Order, PickupTicket).join(PickupTicket, PickupTicket.order_id == Order.id)
        .join(DeliveryRun, DeliveryRun.id == PickupTicket.run_id)
        .where(PickupTicket.service_point_id == point.id, DeliveryRun.status == "received",
               PickupTicket.picked_up_at.is_(None))
        .order_by(PickupTicket.flagged_unpicked_at.is_(None), Order.id)
    ).all()
