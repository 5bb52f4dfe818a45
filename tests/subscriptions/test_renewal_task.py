"""The beat task on the real worker, on a clock the test sets: on the beat schedule, and a due
box renewed exactly once when the beat fires twice at the same moment (two worker threads)."""
import time

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.subscriptions import renewals
from marketplace.subscriptions.models import SubscriptionRenewal
from tests.subscriptions.conftest import Box, days_later


def test_the_renewal_run_is_on_the_beat_schedule(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert any(entry["task"] == "subscriptions.run_due_renewals" for entry in schedule.values())


def test_the_worker_renews_a_due_box_once_on_the_test_clock(app, celery_worker, stripe_server, monkeypatch):
    with app.app_context():
        box = Box()
        buyer = box.buyer()
        subscription = box.subscribe(buyer)
        subscription_id, buyer_id = subscription.id, buyer.id
        month_later = days_later(31)
        db.session.remove()
    monkeypatch.setattr(renewals, "utcnow", lambda: month_later)  # the clock the beat task reads

    for _ in range(2):  # the beat fires twice, both runs at once on the worker's two threads
        celery_worker.celery.send_task("subscriptions.run_due_renewals")
    celery_worker.wait_for(lambda: db.session.scalar(select(SubscriptionRenewal.status).where(
        SubscriptionRenewal.subscription_id == subscription_id, SubscriptionRenewal.period_no == 2)) == "paid")
    time.sleep(1)  # the other run finishes
    with app.app_context():
        rows = db.session.execute(select(SubscriptionRenewal.period_no, SubscriptionRenewal.status).where(
            SubscriptionRenewal.subscription_id == subscription_id).order_by(SubscriptionRenewal.period_no)).all()
        assert [tuple(r) for r in rows] == [(1, "paid"), (2, "paid")]
        assert db.session.scalar(select(func.count(Order.id)).where(Order.buyer_id == buyer_id)) == 2
