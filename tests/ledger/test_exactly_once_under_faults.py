"""Exactly once under faults, with a real `celery -A worker.celery_app worker` process on
PostgreSQL and Redis: duplicated deliveries, a worker killed mid-attribution, a broker that was
down when the payment committed."""
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import text

from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.services import household_account, owed_to_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import publish
from tests.conftest import TEST_REDIS_URL
from tests.ledger.builders import District
from tests.reliability.processes import QUEUE, ROOT, service_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

def send(app, task_name, **kwargs):
    app.extensions["celery"].send_task(task_name, kwargs=kwargs, queue=QUEUE)


def grain_sale():
    """A direct line (posted first) and a cooperative line that must lock its lot."""
    district = District()
    seller, grower = district.household(), district.household()
    coop = district.cooperative(profit_return_rate="0.30", members=[(grower, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    lot = district.lot(grains, grower, 100)
    eggs = district.variant(seller, price_fen=1_000)
    order, payment = district.paid_order([(eggs, 2), (grains, 100)], shipping_fen=500)
    message = publish("ledger.attribute_payment", payment_id=payment.id)  # dispatch is off in tests
    db.session.commit()
    return {"order": order.id, "payment": payment.id, "lot": lot.id, "grower": grower.id, "seller": seller.id,
            "message": message.id}


def entries_of(order_id):
    return db.session.query(JournalEntry).filter_by(order_id=order_id).count()


def assert_attributed_once(ids):
    assert entries_of(ids["order"]) == 4  # payment, two lines, shipping
    assert owed_to_fen(household_account(ids["grower"])) == 500_00 + 90_00
    assert owed_to_fen(household_account(ids["seller"])) == 2_000
    report = verify_ledger()
    assert report.ok, report.violations
    assert db.session.get(OutboxMessage, ids["message"]).processed_at is not None


def backends_waiting_on_locks():
    with db.engine.connect() as connection:
        return set(connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )).scalars())


def test_the_same_payment_event_delivered_ten_times_at_once_posts_once(app, start_worker, waiter):
    with app.app_context():
        ids = grain_sale()
    worker = start_worker(TEST_REDIS_URL, concurrency=4)
    for _ in range(10):
        send(app, "ledger.attribute_payment", payment_id=ids["payment"], outbox_id=ids["message"])
    waiter.wait_for(lambda: worker.output().count("succeeded in") >= 10, timeout=60)
    assert worker.output().count("succeeded in") == 10, worker.output()
    assert "raised" not in worker.output() and "Retry in" not in worker.output(), worker.output()
    with app.app_context():
        assert_attributed_once(ids)


def test_a_worker_killed_mid_attribution_leaves_nothing_and_the_retry_completes_it(app, start_worker, waiter):
    with app.app_context():
        ids = grain_sale()
    # Hold the lot, so the attribution stops half way: its payment entry written, its lines not.
    with app.app_context():
        holder = db.engine.connect()
        hold = holder.begin()
        holder.execute(text("SELECT id FROM supply_lots WHERE id = :lot FOR UPDATE"), {"lot": ids["lot"]})
    worker = start_worker(TEST_REDIS_URL, concurrency=1)
    send(app, "ledger.attribute_payment", payment_id=ids["payment"], outbox_id=ids["message"])
    with app.app_context():
        first = waiter.wait_for(backends_waiting_on_locks)
        [child] = worker.children()
        os.kill(child, signal.SIGKILL)
        # The message comes back (acks_late, reject_on_worker_lost) and a new child retries it.
        waiter.wait_for(lambda: backends_waiting_on_locks() - first, timeout=60)
        assert "WorkerLostError" in worker.output()
        assert entries_of(ids["order"]) == 0
        hold.rollback()
        holder.close()
        waiter.wait_for(lambda: "succeeded in" in worker.output(), timeout=60)
        assert_attributed_once(ids)


def test_a_payment_committed_while_the_broker_was_down_is_delivered_by_the_outbox_sweep(
        app, database_url, start_worker, waiter):
    with app.app_context():
        ids = grain_sale()
        db.session.query(OutboxMessage).delete()
        db.session.commit()
    # The webhook's transaction commits in a process whose broker is unreachable.
    publisher = subprocess.run(
        [sys.executable, "-c",
         "from marketplace import create_app\n"
         "from marketplace.extensions import db\n"
         "from marketplace.outbox.services import publish\n"
         "app = create_app({'CELERY': {**create_app().config['CELERY'], 'broker_connection_max_retries': 1}})\n"
         "with app.app_context():\n"
         f"    publish('ledger.attribute_payment', payment_id={ids['payment']})\n"
         "    db.session.commit()\n"],
        cwd=ROOT, env=service_env(database_url, "redis://127.0.0.1:1/0"), capture_output=True, text=True, timeout=120)
    assert publisher.returncode == 0, publisher.stderr
    assert "broker unavailable" in publisher.stderr
    with app.app_context():
        [message] = db.session.query(OutboxMessage).all()
        assert message.processed_at is None and entries_of(ids["order"]) == 0
        ids["message"] = message.id

    start_worker(TEST_REDIS_URL, concurrency=1)
    send(app, "outbox.resend_unprocessed")  # what beat sends every 30 s
    waiter.wait_for(lambda: db.session.get(OutboxMessage, ids["message"]).processed_at is not None, timeout=60)
    with app.app_context():
        assert_attributed_once(ids)
