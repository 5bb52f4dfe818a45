"""Rule 9: a household pays for daily goods (花收益) out of what the platform owes it."""
from sqlalchemy import select, update

from marketplace.audit.services import record
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound, Yuan
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance, lock_household_account
from marketplace.ledger.errors import InsufficientBalance
from marketplace.ledger.rules.names import EARNINGS_PAYMENT
from marketplace.ledger.rules.sales import attribute_order
from marketplace.ledger.services import account_id, entry_for_key, post_entry
from marketplace.orders.models import Order, OrderEvent, StockReservation
from marketplace.people.models import Household, User
from marketplace.places.models import ServicePoint, Village


def check_acts_for_household(actor_id, household):
    """Admins anywhere; town staff in the household's town; an agent at a service point of its village."""
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    if actor is None or not actor.is_active_account:
        raise Forbidden("Sign in to act for a household.")
    if actor.role == "admin":
        return actor
    if actor.role == "town_staff" and db.session.get(Village, household.village_id).town_id == actor.town_id:
        return actor
    if actor.role == "agent" and actor.service_point_id is not None:
        point = db.session.get(ServicePoint, actor.service_point_id)
        if point.village_id == household.village_id:
            return actor
    raise Forbidden("You cannot act for this household.")


def pay_order_from_earnings(order_id, actor_id):
    """Rule 9: pay a household's order from its available earnings; commits. Idempotent.

    Locks the household's account, refuses with InsufficientBalance if the available balance
    would go below zero, then Dr household_payable[H], Cr sales_pending, and the lines are
    attributed as any paid order's (the supplier is credited). The order becomes paid.
    """
    order = db.session.execute(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if order is None:
        raise NotFound("No such order.")
    key = f"earn:order:{order.id}"
    existing = entry_for_key(key)
    if existing is not None:
        return existing
    if order.household_id is None:
        raise DomainError("Only an order placed for a household can be paid from its earnings.")
    household = db.session.get(Household, order.household_id)
    check_acts_for_household(actor_id, household)
    if order.status != "pending_payment":
        raise Conflict("This order is not waiting for payment.")
    account = lock_household_account(household.id)
    available = household_balance(household.id).available_fen
    if available < order.total_fen:
        raise InsufficientBalance("Not enough earnings: %(available)s available, the order costs %(total)s.",
                                  available=Yuan(max(available, 0)), total=Yuan(order.total_fen))
    entry = post_entry(
        key, EARNINGS_PAYMENT, [(account, order.total_fen), (account_id("sales_pending"), -order.total_fen)],
        rule_settings={"household_id": household.id, "available_before_fen": available},
        memo=f"order {order.public_no} paid from earnings", order_id=order.id, created_by_id=actor_id,
    )
    now = utcnow()
    attribute_order(order, paid_at=now)
    order.status, order.paid_at, order.payment_method = "paid", now, "earnings"
    db.session.add(OrderEvent(order_id=order.id, status="paid", note="paid from the household's earnings",
                              actor_id=actor_id))
    db.session.execute(update(StockReservation).where(StockReservation.order_id == order.id,
                                                      StockReservation.status == "held").values(status="converted"))
    town_id = db.session.get(Village, household.village_id).town_id
    record("order.paid_from_earnings", actor_id=actor_id, obj=order, town_id=town_id,
           on_behalf_of_household_id=household.id, amount_fen=order.total_fen)
    db.session.commit()
    return entry
