"""Subscription renewals over simulated months, on the local Stripe stand-in: declined cards retried,
then paused and the buyer told; skips and pauses recorded; no period missed or charged twice."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.errors import DomainError, NotFound
from marketplace.extensions import db
from marketplace.ledger import impact_receipt
from marketplace.local_time import local_day
from marketplace.orders.models import Order
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment
from marketplace.subscriptions import services
from marketplace.subscriptions.models import Subscription, SubscriptionMessage, SubscriptionRenewal
from marketplace.subscriptions.renewals import run_due_renewals
from marketplace.subscriptions.schedule import due_on, periods_due_by
from tests.subscriptions.conftest import assert_ledger_clean, attribute_all, days_later


def renewals(subscription_id):
    return db.session.scalars(select(SubscriptionRenewal).where(SubscriptionRenewal.subscription_id == subscription_id)
                              .order_by(SubscriptionRenewal.period_no)).all()


def kinds(subscription_id):
    return [m.kind for m in db.session.scalars(select(SubscriptionMessage).where(
        SubscriptionMessage.subscription_id == subscription_id).order_by(SubscriptionMessage.id))]


def assert_no_period_missed_or_doubled(subscription, last_day):
    """Periods 1…n (every one due by `last_day`) each have one row; each paid one has one paid order."""
    db.session.expire_all()
    subscription = db.session.get(Subscription, subscription.id)
    rows = renewals(subscription.id)
    due_by = periods_due_by(subscription.first_due_on, subscription.interval, last_day)
    opened = [r.period_no for r in rows if r.due_on <= last_day]
    if subscription.status != "cancelled":
        assert opened == list(range(1, due_by + 1))
    else:
        assert opened == list(range(1, len(opened) + 1))
    for row in rows:
        assert row.due_on == due_on(subscription.first_due_on, subscription.interval, row.period_no)
        assert row.status not in ("charging",)
    paid_orders = db.session.scalars(select(Order).join(SubscriptionRenewal, SubscriptionRenewal.order_id == Order.id)
                                     .where(SubscriptionRenewal.subscription_id == subscription.id,
                                            Order.paid_at.is_not(None))).all()
    assert len(paid_orders) == len({o.id for o in paid_orders}) == sum(r.status == "paid" for r in rows)
    # Every paid order of the buyer is some period's: no stray charge.
    buyer_paid = db.session.scalar(select(func.count(Order.id)).where(Order.buyer_id == subscription.buyer_id,
                                                                      Order.paid_at.is_not(None)))
    assert buyer_paid == len(paid_orders)
    return rows


def assert_credits_are_paid_minus_refunded(buyer_id):
    attribute_all()
    for order in db.session.scalars(select(Order).where(Order.buyer_id == buyer_id, Order.paid_at.is_not(None))):
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))
        receipt = impact_receipt(order.id)
        assert receipt.attributed and receipt.total_fen == payment.amount_fen - order.refunded_fen
    assert_ledger_clean()


def test_a_year_of_monthly_boxes_with_declines_retries_skips_and_pauses(box):
    buyer = box.buyer()
    subscription = box.subscribe(buyer)
    card = subscription.payment_method_id
    assert [r.status for r in renewals(subscription.id)] == ["paid"]  # the first box is charged at once
    stock_before = db.session.get(Variant, box.variant.id).stock_available
    timeline = {}

    for day in range(1, 366):
        now = days_later(day)
        today = local_day(now)
        period = next((n for n in range(2, 15) if due_on(subscription.first_due_on, "monthly", n) == today), None)
        if period is not None:
            timeline[period] = today
        if today == due_on(subscription.first_due_on, "monthly", 3) - timedelta(days=1):  # skips period 3
            services.skip_next(buyer.id, subscription.id, now=now)
        if period == 5:  # the card runs out of money; two attempts fail, the third pays
            stripe_gateway.set_test_card_charging(card, "decline")
        if today == due_on(subscription.first_due_on, "monthly", 5) + timedelta(days=3):
            stripe_gateway.set_test_card_charging(card, "accept")
        if period == 7:  # declined for good: three attempts, then paused and told
            stripe_gateway.set_test_card_charging(card, "decline")
        if today == due_on(subscription.first_due_on, "monthly", 8) + timedelta(days=2):
            stripe_gateway.set_test_card_charging(card, "accept")  # a new card, in effect
            services.resume(buyer.id, subscription.id, now=now)
        if today == due_on(subscription.first_due_on, "monthly", 10) - timedelta(days=1):
            services.pause(buyer.id, subscription.id, now=now)
        if today == due_on(subscription.first_due_on, "monthly", 11) - timedelta(days=5):
            services.resume(buyer.id, subscription.id, now=now)
        run_due_renewals(now=now)
        run_due_renewals(now=now)  # the beat fired twice (a late ack): nothing new

    rows = assert_no_period_missed_or_doubled(subscription, local_day(days_later(365)))
    status = {r.period_no: r.status for r in rows}
    assert status[3] == "skipped" and status[8] == "paused" and status[10] == "paused"
    assert status[5] == "paid" and rows[4].attempts == 3
    assert status[7] == "failed" and rows[6].attempts == 3
    assert all(status[n] == "paid" for n in (1, 2, 4, 6, 9, 11, 12, 13) if n in status)
    told = kinds(subscription.id)
    assert told.count("payment_failed_retrying") == 4  # twice in month 5, twice in month 7
    assert told.count("paused_payment_failed") == 1
    paid = sum(r.status == "paid" for r in rows)
    assert told.count("renewal_paid") == paid
    # The stock of every paid box was taken once; the failed attempts' stock came back.
    assert db.session.get(Variant, box.variant.id).stock_available == stock_before - (paid - 1)
    # Every declined attempt's order was cancelled, not left holding stock.
    assert db.session.scalar(select(func.count(Order.id)).where(Order.buyer_id == buyer.id,
                                                                Order.status == "pending_payment")) == 0
    assert_credits_are_paid_minus_refunded(buyer.id)


def test_fortnightly_box_on_a_card_that_declines_after_saving_is_paused_and_the_buyer_told(box):
    buyer = box.buyer()
    subscription = box.subscribe(buyer, interval="fortnightly", quantity=2, card=stripe_gateway.DECLINES_LATER_CARD)
    for day in range(0, 8):
        run_due_renewals(now=days_later(day))
    db.session.expire_all()
    subscription = db.session.get(Subscription, subscription.id)
    assert subscription.status == "paused" and subscription.pause_reason == "payment_failed"
    [first] = renewals(subscription.id)
    assert first.status == "failed" and first.attempts == 3 and first.failure_code == "card_declined"
    assert kinds(subscription.id)[-1] == "paused_payment_failed"
    # Paused: the next fortnight is recorded as not charged, never silently dropped.
    run_due_renewals(now=days_later(15))
    assert [r.status for r in renewals(subscription.id)] == ["failed", "paused"]
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.status == "succeeded")) == 0


def test_a_renewal_for_a_variant_no_longer_for_sale_pauses_and_charges_nothing(box):
    buyer = box.buyer()
    subscription = box.subscribe(buyer)
    db.session.get(Variant, box.variant.id).is_active = False
    db.session.commit()
    payments_before = db.session.scalar(select(func.count(Payment.id)))
    run_due_renewals(now=days_later(32))
    db.session.expire_all()
    subscription = db.session.get(Subscription, subscription.id)
    assert subscription.status == "paused" and subscription.pause_reason == "variant_unavailable"
    assert [r.status for r in renewals(subscription.id)] == ["paid", "unavailable"]
    assert db.session.scalar(select(func.count(Payment.id))) == payments_before
    assert "paused_unavailable" in kinds(subscription.id)
    with pytest.raises(DomainError):  # it cannot be resumed while the item is not for sale
        services.resume(buyer.id, subscription.id)


def test_cancelled_subscription_renews_no_more(box):
    buyer = box.buyer()
    subscription = box.subscribe(buyer)
    services.cancel(buyer.id, subscription.id)
    run_due_renewals(now=days_later(70))
    assert [r.status for r in renewals(subscription.id)] == ["paid"]


def test_bad_requests_are_refused_and_change_nothing(box):
    buyer, other = box.buyer(), box.buyer()
    subscription = box.subscribe(buyer)
    count = db.session.scalar(select(func.count(Subscription.id)))
    cases = [dict(interval="weekly"), dict(interval="yearly"), dict(quantity=0), dict(quantity=51),
             dict(quantity=-3), dict(quantity="2"), dict(recipient_phone="call me"), dict(address="x")]
    for case in cases:
        args = dict(variant_id=box.variant.id, quantity=1, interval="monthly", recipient_name="王女士",
                    recipient_phone="13800000000", address="北京市朝阳区建国路 88 号") | case
        with pytest.raises(DomainError):
            services.subscribe(buyer.id, **args)
        db.session.rollback()
    with pytest.raises(NotFound):
        services.subscribe(buyer.id, 10**9, 1, "monthly", "王女士", "13800000000", "北京市朝阳区建国路 88 号")
    assert db.session.scalar(select(func.count(Subscription.id))) == count
    # Another buyer's subscription does not exist for them, whatever they try.
    for action in (services.pause, services.resume, services.skip_next, services.cancel,
                   services.subscription_for_buyer, services.start_card_setup):
        with pytest.raises(NotFound):
            action(other.id, subscription.id) if action is not services.subscription_for_buyer \
                else action(subscription.id, other.id)
        db.session.rollback()
    db.session.expire_all()
    mine = db.session.get(Subscription, subscription.id)
    assert mine.status == "active" and mine.next_period_no == 2
    with pytest.raises(DomainError):
        services.resume(buyer.id, subscription.id)  # not paused
    for _ in range(3):
        services.skip_next(buyer.id, subscription.id)
    with pytest.raises(DomainError):
        services.skip_next(buyer.id, subscription.id)  # at most three ahead
    db.session.rollback()
    assert db.session.get(Subscription, subscription.id).next_period_no == 5


def test_the_cooperative_sees_active_subscriptions_as_standing_demand(box):
    from marketplace.subscriptions.pages import subscription_demand

    first, second, third = box.buyer(), box.buyer(), box.buyer()
    box.subscribe(first, quantity=2)  # 2 a month
    box.subscribe(second, interval="fortnightly", quantity=1)  # about 2 a month
    paused = box.subscribe(third, quantity=5)
    services.pause(third.id, paused.id)  # a paused box is not demand
    [(variant, subscribers, per_month)] = subscription_demand(box.coop.id)
    assert (variant.id, subscribers, per_month) == (box.variant.id, 2, 4)
    assert subscription_demand(box.coop.id + 999) == []


def test_a_failed_renewal_leaves_no_debris_releases_its_stock_and_the_retry_makes_one_order(box):
    """A declined renewal: its order is cancelled at once with the stock back, nothing is charged,
    the buyer is told it will retry; the buyer's order list shows no cancelled attempt, only the
    notice; the retry a day later (on the task's clock) makes the period's one paid order."""
    from marketplace.orders.history import buyer_orders

    buyer = box.buyer()
    subscription = box.subscribe(buyer, quantity=2)  # period 1 is charged at once
    [period_1] = renewals(subscription.id)
    stock = db.session.get(Variant, box.variant.id).stock_available
    stripe_gateway.set_test_card_charging(subscription.payment_method_id, "decline")
    day = (due_on(subscription.first_due_on, "monthly", 2) - local_day(days_later(0))).days
    run_due_renewals(now=days_later(day))
    db.session.expire_all()
    second = renewals(subscription.id)[1]
    assert (second.status, second.attempts) == ("due", 1)
    assert db.session.get(Order, second.order_id).status == "cancelled"
    assert db.session.get(Variant, box.variant.id).stock_available == stock  # released
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.status == "succeeded")) == 1
    assert kinds(subscription.id)[-1] == "payment_failed_retrying"
    assert [o.id for o in buyer_orders(buyer.id)] == [period_1.order_id]  # no cancelled attempt listed
    assert [(s.id, r.id) for s, r in services.retrying_renewals(buyer.id)] == [(subscription.id, second.id)]

    run_due_renewals(now=days_later(day, hours=5))  # before the retry is due: nothing happens
    db.session.expire_all()
    assert renewals(subscription.id)[1].attempts == 1

    stripe_gateway.set_test_card_charging(subscription.payment_method_id, "accept")
    run_due_renewals(now=days_later(day + 1, hours=3))
    db.session.expire_all()
    second = renewals(subscription.id)[1]
    assert (second.status, second.attempts) == ("paid", 2)
    listed = buyer_orders(buyer.id)
    assert [o.id for o in listed] == [second.order_id, period_1.order_id]
    assert [o.status for o in listed] == ["paid", "paid"]
    assert db.session.get(Variant, box.variant.id).stock_available == stock - 2
    assert services.retrying_renewals(buyer.id) == []
    run_due_renewals(now=days_later(day + 1, hours=4))  # run again: no second order, no second charge
    assert len(buyer_orders(buyer.id)) == 2
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.status == "succeeded")) == 2
    assert_no_period_missed_or_doubled(subscription, local_day(days_later(day + 1, hours=4)))
    assert_credits_are_paid_minus_refunded(buyer.id)


def test_a_renewal_s_payment_fee_is_recorded_as_for_any_order(box, stripe_server):
    """A renewal is an ordinary order paid through settle_payment_intent: Stripe's fee is on its Payment."""
    from marketplace.payments.settlement import settle_payment_intent
    from tests.payments.test_refund_lifecycle import stripe_config

    buyer = box.buyer()
    subscription = box.subscribe(buyer)  # period 1 is charged at once
    db.session.expire_all()
    [first] = renewals(subscription.id)
    payment = db.session.scalar(select(Payment).where(Payment.order_id == first.order_id))
    assert (payment.status, payment.payment_method_type) == ("succeeded", "card")
    attribute_all()
    stripe_config(stripe_server, f"charges/{payment.stripe_charge_id}/fee", fee=91)
    assert settle_payment_intent(payment.stripe_payment_intent_id) == "late_fee"
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).fee_fen == 91
