"""Random subscription histories (hypothesis, bounded): the buyer pauses, skips, resumes and cancels,
the card declines and pays again, time jumps ahead and the beat task runs once or twice. After
every history: each period due has exactly one renewal row, each paid renewal one paid order and
no paid order without one, nothing charged for a skipped, paused, cancelled or failed period, every
failure told to the buyer, every order's credits = paid − refunded and `ledger verify` clean."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.rules.refunds import attribute_refund
from marketplace.local_time import local_day
from marketplace.orders.models import Order
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment
from marketplace.payments.refunds import refund_order, send_refund
from marketplace.subscriptions import services
from marketplace.subscriptions.models import Subscription, SubscriptionMessage, SubscriptionRenewal
from marketplace.subscriptions.renewals import run_due_renewals
from tests.conftest import _clean_tables
from tests.subscriptions.conftest import Box, attribute_all, days_later
from tests.subscriptions.test_renewals import assert_credits_are_paid_minus_refunded, assert_no_period_missed_or_doubled

def refund_latest_box(buyer_id):
    """The buyer's latest paid box refunded whole, as staff would after a complaint (Stripe asked, applied)."""
    attribute_all()
    order = db.session.scalar(select(Order).where(Order.buyer_id == buyer_id, Order.status == "paid")
                              .order_by(Order.id.desc()).limit(1))
    if order is not None:
        refund = refund_order(order.id, {line.id: line.quantity for line in order.lines}, None, restock=True)
        send_refund(refund.id)
        attribute_refund(refund.id)  # what the outbox runs once Stripe says the refund succeeded


STEPS = st.lists(st.tuples(st.sampled_from(("pause", "skip", "resume", "cancel", "decline", "accept", "run",
                                            "run_twice", "refund")),
                           st.integers(0, 20)), min_size=3, max_size=12)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(interval=st.sampled_from(("monthly", "fortnightly")), steps=STEPS)
def test_random_subscription_histories_never_miss_or_double_a_renewal(app_ctx, stripe_server, interval, steps):
    _clean_tables()
    box = Box()
    buyer = box.buyer()
    subscription = box.subscribe(buyer, interval=interval)
    card, day = subscription.payment_method_id, 0
    for action, days in steps:
        day += days
        now = days_later(day)
        try:
            if action == "pause":
                services.pause(buyer.id, subscription.id, now=now)
            elif action == "skip":
                services.skip_next(buyer.id, subscription.id, now=now)
            elif action == "resume":
                services.resume(buyer.id, subscription.id, now=now)
            elif action == "cancel":
                services.cancel(buyer.id, subscription.id, now=now)
            elif action in ("decline", "accept"):
                stripe_gateway.set_test_card_charging(card, action)
            elif action == "refund":
                refund_latest_box(buyer.id)
        except DomainError:
            db.session.rollback()  # refused (paused twice, resumed while active…): nothing changed
        run_due_renewals(now=now)
        if action == "run_twice":
            run_due_renewals(now=now)
    last = days_later(day)
    rows = assert_no_period_missed_or_doubled(subscription, local_day(last))
    for row in rows:
        if row.status == "failed":  # never silently: paused and told
            told = db.session.scalar(select(func.count(SubscriptionMessage.id)).where(
                SubscriptionMessage.subscription_id == subscription.id,
                SubscriptionMessage.kind == "paused_payment_failed", SubscriptionMessage.period_no == row.period_no))
            assert told == 1
        if row.status != "paid" and row.order_id is not None:
            assert db.session.get(Order, row.order_id).status == "cancelled"
    subscription = db.session.get(Subscription, subscription.id)
    if any(r.status == "failed" for r in rows) and subscription.status != "cancelled":
        last_failed = max(r.period_no for r in rows if r.status == "failed")
        later_paid = any(r.status == "paid" and r.period_no > last_failed for r in rows)
        assert subscription.status == "paused" or later_paid  # paused until the buyer resumed
    succeeded = db.session.scalar(select(func.count(Payment.id)).where(Payment.succeeded_at.is_not(None)))
    assert succeeded == sum(r.status == "paid" for r in rows)
    assert not db.session.scalar(select(func.count(SubscriptionRenewal.id)).where(
        SubscriptionRenewal.status == "charging"))
    assert_credits_are_paid_minus_refunded(buyer.id)
