"""Renewals: the beat task that turns each due period of a subscription into an ordinary paid order.

`run_due_renewals(now)` runs on the clock it is given (the beat passes none: `utcnow()`, which
tests replace), in three steps, each safe to run twice or at the same moment on two workers:

1. **Open the periods that fell due.** Under the subscription's row lock, every period whose day
   has come gets its one `SubscriptionRenewal` row (unique per subscription and period): `due` if
   the subscription is active, `paused` if it is paused (recorded, never charged). A period the
   buyer skipped already has its row. So a period is never missed and never opened twice.
2. **Attempt the due renewals.** An attempt is claimed by a conditional UPDATE (`due` →
   `charging`, attempts + 1) and committed before anything else, so two runs never both charge
   one period. The attempt places an ordinary order with `checkout.place_order` (stock reserved
   as for any order, prices from the variant now), makes its PaymentIntent with `start_payment`
   for the saved card's customer, confirms it off session, and settles it with
   `settle_payment_intent` — the path every order takes, so the order is paid, attributed and
   settled exactly as any order. A decline releases the order (cancelled, stock back) and the
   renewal waits for its next attempt (RETRY_DELAYS); after the last one, or when the variant is
   gone (nothing charged, no order), the subscription is paused and the buyer told.
3. **Recover stuck attempts.** An attempt whose worker died (`charging` for STUCK_AFTER on the
   task's clock) is brought in line from its order: paid stays paid; an unpaid order is
   cancelled at Stripe first and settled from what Stripe says, then counts as a failed attempt.
"""
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from marketplace.catalog.models import Variant
from marketplace.database import utcnow
from marketplace.errors import DomainError, NotFound
from marketplace.extensions import db
from marketplace.local_time import local_day
from marketplace.orders.checkout import Delivery, place_order, start_payment
from marketplace.orders.models import Cart, CartItem, Order
from marketplace.payments import stripe_gateway
from marketplace.places import regions
from marketplace.payments.settlement import cancel_and_settle, settle_payment_intent
from marketplace.subscriptions.models import Subscription, SubscriptionRenewal
from marketplace.subscriptions.services import _advance, mail_messages, tell

# After the first attempt fails: retry a day later, then two days after that; then pause.
RETRY_DELAYS = (timedelta(days=1), timedelta(days=2))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
STUCK_AFTER = timedelta(minutes=30)
BATCH = 200


def open_due_periods(subscription, now):
    """Give every period of `subscription` due by `now` its renewal row (caller holds the row lock)."""
    if subscription.status not in ("active", "paused") or subscription.next_due_on is None:
        return 0
    today, opened = local_day(now), 0
    while subscription.next_due_on <= today:
        exists = db.session.scalar(select(SubscriptionRenewal.id).where(
            SubscriptionRenewal.subscription_id == subscription.id,
            SubscriptionRenewal.period_no == subscription.next_period_no))
        if exists is None:
            active = subscription.status == "active"
            db.session.add(SubscriptionRenewal(
                subscription_id=subscription.id, period_no=subscription.next_period_no,
                due_on=subscription.next_due_on, status="due" if active else "paused",
                next_attempt_at=now if active else None))
            opened += 1
        _advance(subscription)
    db.session.flush()
    return opened


def _open_all(now):
    ids = db.session.scalars(select(Subscription.id).where(
        Subscription.status.in_(("active", "paused")), Subscription.next_due_on <= local_day(now))
        .order_by(Subscription.id).limit(BATCH)).all()
    for subscription_id in ids:
        subscription = db.session.execute(select(Subscription).where(Subscription.id == subscription_id)
                                          .with_for_update().execution_options(populate_existing=True)).scalar_one()
        open_due_periods(subscription, now)
        db.session.commit()
    return len(ids)


def _claim(renewal_id, now):
    claimed = db.session.execute(
        update(SubscriptionRenewal)
        .where(SubscriptionRenewal.id == renewal_id, SubscriptionRenewal.status == "due",
               SubscriptionRenewal.next_attempt_at <= now)
        .values(status="charging", attempts=SubscriptionRenewal.attempts + 1, claimed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(claimed)


def _renewal_and_subscription(renewal_id):
    renewal = db.session.execute(select(SubscriptionRenewal).where(SubscriptionRenewal.id == renewal_id)
                                 .with_for_update().execution_options(populate_existing=True)).scalar_one()
    subscription = db.session.execute(select(Subscription).where(Subscription.id == renewal.subscription_id)
                                      .with_for_update().execution_options(populate_existing=True)).scalar_one()
    return renewal, subscription


def _pause(subscription, reason, now):
    if subscription.status == "active":
        subscription.status, subscription.pause_reason, subscription.paused_at = "paused", reason, now


def _not_charged(renewal_id, now):
    """The subscription is no longer active, or its variant is gone: the renewal ends uncharged.
    Returns the outcome, or None when the attempt may go on."""
    renewal, subscription = _renewal_and_subscription(renewal_id)
    outcome = None
    if subscription.status != "active":
        outcome = "paused" if subscription.status == "paused" else "cancelled"
    else:
        variant = db.session.get(Variant, subscription.variant_id)
        if variant is None or not variant.is_active or variant.product.status != "active" \
                or variant.product.direction != "uplink":
            outcome = "unavailable"
            _pause(subscription, "variant_unavailable", now)
            tell(subscription, "paused_unavailable", renewal)
    if outcome is None:
        db.session.rollback()
        return None
    renewal.status, renewal.attempts = outcome, renewal.attempts - 1  # no attempt was made
    db.session.commit()
    mail_messages(subscription.id)
    return outcome


def _place(renewal_id):
    """The renewal's order, placed through the checkout (stock reserved), or a failure code."""
    renewal = db.session.get(SubscriptionRenewal, renewal_id)
    subscription = db.session.get(Subscription, renewal.subscription_id)
    cart = Cart(token=f"subscription-{renewal.id}-{renewal.attempts}-{secrets.token_hex(8)}")
    db.session.add(cart)
    db.session.flush()
    db.session.add(CartItem(cart_id=cart.id, variant_id=subscription.variant_id, quantity=subscription.quantity))
    db.session.flush()

    def link_renewal(order):
        db.session.flush()
        db.session.execute(update(SubscriptionRenewal).where(SubscriptionRenewal.id == renewal_id)
                           .values(order_id=order.id).execution_options(synchronize_session=False))
        db.session.execute(Cart.__table__.delete().where(Cart.id == cart.id))

    delivery = Delivery(kind="address", recipient_name=subscription.recipient_name,
                        recipient_phone=subscription.recipient_phone, address=subscription.address)
    if subscription.delivery_kind == "pickup":  # at a village service point, as checkout offers
        delivery.kind, delivery.service_point_id = "pickup", subscription.service_point_id
    elif subscription.region_code:  # by region: the order carries the district code, as checkout's
        delivery.province_code, delivery.city_code = regions.parents(subscription.region_code)
        delivery.region_code, delivery.address_detail = subscription.region_code, subscription.address_detail
    try:
        return place_order(cart.id, subscription.buyer_id, delivery, before_commit=link_renewal), None
    except NotFound:
        db.session.rollback()
        return None, "unavailable"
    except DomainError as error:  # sold out, or fewer left than the box holds
        db.session.rollback()
        return None, "sold_out" if error.code == "sold_out" or type(error).__name__ == "SoldOut" else error.code


def _charge(order_id, subscription):
    """Charge the saved card off session and settle the order from what Stripe says; its status."""
    customer, method = subscription.stripe_customer_id, subscription.payment_method_id
    payment, intent = start_payment(order_id, payment_method=method, customer=customer)
    intent_id = payment.stripe_payment_intent_id
    db.session.rollback()
    failure = None
    try:
        stripe_gateway.confirm_off_session(intent_id, method)
    except stripe_gateway.StripeError as error:
        failure = getattr(error, "code", None) or "card_declined"
    settle_payment_intent(intent_id, note="subscription_payment_failed")
    order = db.session.get(Order, order_id)
    if order.status == "pending_payment":  # neither paid nor released: cancel at Stripe, settle from its answer
        cancel_and_settle(order_id, "subscription_payment_failed")
        order = db.session.get(Order, order_id)
    return order.status, failure


def _finish(renewal_id, order_status, failure, now):
    renewal, subscription = _renewal_and_subscription(renewal_id)
    if renewal.status != "charging":
        db.session.rollback()
        return renewal.status
    if order_status not in ("pending_payment", "cancelled", None):
        renewal.status, renewal.failure_code, renewal.next_attempt_at = "paid", None, None
        order = db.session.get(Order, renewal.order_id)
        tell(subscription, "renewal_paid", renewal, amount_fen=order.total_fen)
        outcome = "paid"
    elif failure == "unavailable":
        renewal.status, renewal.failure_code = "unavailable", failure
        _pause(subscription, "variant_unavailable", now)
        tell(subscription, "paused_unavailable", renewal)
        outcome = "unavailable"
    elif renewal.attempts < MAX_ATTEMPTS and subscription.status == "active":
        renewal.status, renewal.failure_code = "due", (failure or "declined")[:60]
        renewal.next_attempt_at = now + RETRY_DELAYS[renewal.attempts - 1]
        tell(subscription, "payment_failed_retrying", renewal)
        outcome = "retrying"
    else:
        renewal.status, renewal.failure_code, renewal.next_attempt_at = "failed", (failure or "declined")[:60], None
        sold_out = failure == "sold_out"
        _pause(subscription, "sold_out" if sold_out else "payment_failed", now)
        tell(subscription, "paused_sold_out" if sold_out else "paused_payment_failed", renewal)
        outcome = "failed"
    db.session.commit()
    mail_messages(subscription.id)
    return outcome


def attempt_renewal(renewal_id, now=None):
    """One attempt at one due renewal (claimed first: a second run returns "taken")."""
    now = now or utcnow()
    if not _claim(renewal_id, now):
        return "taken"
    stopped = _not_charged(renewal_id, now)
    if stopped:
        return stopped
    order, failure = _place(renewal_id)
    if order is None:
        return _finish(renewal_id, None, failure, now)
    subscription = db.session.get(Subscription, db.session.get(SubscriptionRenewal, renewal_id).subscription_id)
    status, failure = _charge(order.id, subscription)
    return _finish(renewal_id, status, failure, now)


def _recover_stuck(now):
    ids = db.session.scalars(select(SubscriptionRenewal.id).where(
        SubscriptionRenewal.status == "charging", SubscriptionRenewal.claimed_at <= now - STUCK_AFTER)
        .order_by(SubscriptionRenewal.id).limit(BATCH)).all()
    for renewal_id in ids:
        renewal = db.session.get(SubscriptionRenewal, renewal_id)
        order = db.session.get(Order, renewal.order_id) if renewal.order_id else None
        if order is not None and order.status == "pending_payment":
            cancel_and_settle(order.id, "subscription_payment_failed")
            order = db.session.get(Order, renewal.order_id)
        _finish(renewal_id, order.status if order is not None else None, "interrupted", now)
    return len(ids)


def run_due_renewals(now=None):
    """Beat task body: open due periods, attempt due renewals, recover stuck ones. Returns counts."""
    now = now or utcnow()
    opened = _open_all(now)
    due = db.session.scalars(select(SubscriptionRenewal.id).where(
        SubscriptionRenewal.status == "due", SubscriptionRenewal.next_attempt_at <= now)
        .order_by(SubscriptionRenewal.id).limit(BATCH)).all()
    db.session.rollback()
    outcomes = [attempt_renewal(renewal_id, now) for renewal_id in due]
    recovered = _recover_stuck(now)
    return {"opened": opened, "attempted": len(outcomes), "paid": outcomes.count("paid"), "recovered": recovered}


def renew_subscription_now(subscription_id, now=None):
    """The first delivery, right after the card is saved: its period opened and attempted now."""
    now = now or utcnow()
    subscription = db.session.execute(select(Subscription).where(Subscription.id == subscription_id)
                                      .with_for_update().execution_options(populate_existing=True)).scalar_one()
    open_due_periods(subscription, now)
    db.session.commit()
    due = db.session.scalars(select(SubscriptionRenewal.id).where(
        SubscriptionRenewal.subscription_id == subscription_id, SubscriptionRenewal.status == "due",
        SubscriptionRenewal.next_attempt_at <= now)).all()
    return [attempt_renewal(renewal_id, now) for renewal_id in due]
