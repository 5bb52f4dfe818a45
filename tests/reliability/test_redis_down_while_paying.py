"""The broker (a private Redis) is killed while orders are being paid and started again: every
payment commits meanwhile, its outbox message waits, and once Redis is back the outbox sweep
delivers it — every paid order attributed exactly once, by a real worker process."""
import time

import pytest
from sqlalchemy import func, select

from tests.demo_copy import seed_demo
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.models import Order
from marketplace.outbox.models import OutboxMessage
from marketplace.payments.models import Payment
from marketplace.payments.webhooks import apply_event
from tests.reliability.processes import send_task
from tests.reliability.shop import a_variant_in_stock, deliver, orders_waiting_for_payment, shop_app
from tests.sim.fake_stripe import FakeStripe

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
BEFORE, DURING = 4, 4  # orders paid before the broker dies, and while it is down


def outbox_of(order_ids):
    payments = select(Payment.id).where(Payment.order_id.in_(order_ids))
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.task_name == "ledger.attribute_payment",
                                                          OutboxMessage.kwargs["payment_id"].as_integer().in_(payments))
                              ).all()


def all_processed(order_ids):
    messages = outbox_of(order_ids)
    return len(messages) == len(order_ids) and all(m.processed_at is not None for m in messages)


def payment_entries(order_id):
    return db.session.scalar(select(func.count(JournalEntry.id)).join(Payment, JournalEntry.idempotency_key ==
                                                                      func.concat("pay:", Payment.id))
                             .where(Payment.order_id == order_id))


def resend_until_processed(broker_url, waiter, order_ids, timeout):
    """Send the outbox sweep as beat does (here every 5 s rather than 30) until every message is
    processed: the worker's reconnection takes as long as it takes, and a sweep sent while it was
    still reconnecting waits in the queue or is simply sent again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        send_task(broker_url, "outbox.resend_unprocessed")
        try:
            waiter.wait_for(lambda: all_processed(order_ids), timeout=5)
            return
        except pytest.fail.Exception:
            continue
    pytest.fail(f"the outbox was not delivered within {timeout}s of the broker's return")


@pytest.fixture
def stripe(monkeypatch):
    return FakeStripe().install(monkeypatch)


def test_payments_while_redis_is_down_are_attributed_once_when_it_is_back(
        app, database_url, tmp_path, stripe, private_redis, start_worker, waiter):
    shop = shop_app(database_url, tmp_path, broker_url=private_redis.url, dispatch=True)
    client = shop.test_client()
    try:
        with shop.app_context():
            seed_demo()
            placed = orders_waiting_for_payment(a_variant_in_stock(), BEFORE + DURING)
            db.session.remove()
        before, during = placed[:BEFORE], placed[BEFORE:]
        start_worker(broker_url=private_redis.url, concurrency=2)

        def pay(orders):
            for order_id, intent_id in orders:
                stripe.succeed(intent_id)
                response = deliver(shop, client, intent_id, f"evt_{intent_id}")
                assert response.status_code == 200 and response.get_json()["outcome"] == "queued", response.get_data()
                with shop.app_context():  # what the worker does with it (here, whatever the broker)
                    assert apply_event(f"evt_{intent_id}") in ("paid", "duplicate")  # or the worker did
                    db.session.remove()

        pay(before)
        waiter.wait_for(lambda: all_processed([o for o, _ in before]), timeout=60)

        private_redis.kill()
        started = time.monotonic()
        pay(during)
        seconds_per_payment = (time.monotonic() - started) / DURING
        with shop.app_context():
            for order_id, _intent in during:
                assert db.session.get(Order, order_id).status == "paid", "the payment committed without the broker"
                assert payment_entries(order_id) == 0
            waiting = outbox_of([o for o, _ in during])
            assert len(waiting) == DURING and all(m.processed_at is None for m in waiting)
            db.session.remove()

        private_redis.start()  # the same port: worker and shop reconnect by themselves
        resend_until_processed(private_redis.url, waiter, [o for o, _ in placed], timeout=180)
        waiter.wait_for(lambda: db.session.scalar(select(func.count(OutboxMessage.id))
                                                  .where(OutboxMessage.processed_at.is_(None))) == 0, timeout=120)

        with shop.app_context():
            for order_id, _intent in placed:
                assert payment_entries(order_id) == 1, f"order {order_id} attributed exactly once"
            assert db.session.scalar(select(func.count(OutboxMessage.id))
                                     .where(OutboxMessage.processed_at.is_(None))) == 0
            report = verify_ledger()
            assert report.ok, report.violations
            db.session.remove()
        print(f"\nbroker down: {DURING} payments committed at {seconds_per_payment:.2f} s each, delivered later")
    finally:
        with shop.app_context():
            db.engine.dispose()
