"""The database connection dropped (pg_terminate_backend, as a PostgreSQL restart or a network
cut does) while a checkout or a Stripe webhook is half way through its transaction, and between
requests: the request fails cleanly with a 503 "nothing was saved, try again" and leaves nothing
half-written; the next request succeeds on a fresh connection; Stripe's redelivery of the event
pays the order once. A page (a GET) whose connection drops before it committed anything is run
again on a fresh connection and answers as if nothing happened."""
import threading

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from marketplace.catalog.models import Variant
from tests.demo_copy import seed_demo
from marketplace.extensions import db
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.models import CartItem, Order, StockReservation
from marketplace.outbox.models import OutboxMessage
from marketplace.payments.models import Payment, StripeEvent
from tests.reliability.shop import a_variant_in_stock, deliver, orders_waiting_for_payment, shop_app
from tests.sim.fake_stripe import FakeStripe

pytestmark = pytest.mark.postgres
CHECKOUT = {"delivery_kind": "address", "recipient_name": "小林", "recipient_phone": "13800000000",
            "province": "310000", "city": "310100", "district": "310104", "address_detail": "漕溪北路 1 号"}


@pytest.fixture
def shop(app, database_url, tmp_path):
    shop = shop_app(database_url, tmp_path)
    with shop.app_context():
        seed_demo()
        db.session.remove()
    yield shop
    with shop.app_context():
        db.session.remove()
        db.engine.dispose()


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def in_flight(request):
    """Start `request()` in a thread; returns a function that waits for its response."""
    result = {}

    def run():
        try:
            result["response"] = request()
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()

    def response():
        thread.join(timeout=60)
        if "error" in result:
            raise result["error"]
        return result["response"]
    return response


def waiting_backends():
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND wait_event_type = 'Lock'")).scalars().all()


def drop_the_connection_of_the_request_waiting_on(shop, hold_sql, params, request):
    """Hold a row the request will write, wait until it waits for it half way through its
    transaction, terminate its database connection, then let go of the row."""
    with shop.app_context():
        holder = db.engine.connect()
        hold = holder.begin()
        try:
            holder.execute(text(hold_sql), params)
            response = in_flight(request)
            waiting = []
            for _ in range(400):
                waiting = waiting_backends()  # asked afresh: a transaction sees one snapshot of the statistics
                if waiting:
                    break
                threading.Event().wait(0.05)
            assert len(waiting) == 1, "the request waits half way through its transaction"
            with db.engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting[0]})
            return response()
        finally:
            hold.rollback()
            holder.close()


def test_a_checkout_whose_connection_drops_half_way_changes_nothing_and_the_next_one_succeeds(shop):
    with shop.app_context():
        variant_id = a_variant_in_stock(5)
        db.session.remove()
    client = shop.test_client()
    assert client.post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"}).status_code == 302
    assert client.post("/cart/add", data={"variant_id": variant_id, "quantity": 2}).status_code in (302, 303)

    response = drop_the_connection_of_the_request_waiting_on(
        shop, "SELECT id FROM variants WHERE id = :id FOR UPDATE", {"id": variant_id},
        lambda: client.post("/checkout", data=CHECKOUT))
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    with shop.app_context():
        assert (count(Order), count(StockReservation)) == (0, 0), "no order, no reservation half-written"
        assert db.session.get(Variant, variant_id).stock_available == 5
        assert db.session.scalar(select(CartItem.quantity)) == 2, "the cart is kept for another try"
        db.session.remove()

    again = client.post("/checkout", data=CHECKOUT)
    assert again.status_code == 303 and "/pay" in again.headers["Location"]
    with shop.app_context():
        assert count(Order) == 1 and db.session.get(Variant, variant_id).stock_available == 3
        assert verify_ledger().ok
        db.session.remove()


def test_a_webhook_applied_by_a_worker_whose_connection_drops_half_way_applies_nothing_and_the_retry_pays_once(
        shop, monkeypatch):
    from marketplace.payments.webhooks import apply_event

    stripe = FakeStripe().install(monkeypatch)
    with shop.app_context():
        [(order_id, intent_id)] = orders_waiting_for_payment(a_variant_in_stock(), 1)
        db.session.remove()
    stripe.succeed(intent_id)
    client = shop.test_client()

    # The webhook only records the event and its outbox message, and answers.
    received = deliver(shop, client, intent_id, "evt_dropped")
    assert received.status_code == 200 and received.get_json()["outcome"] == "queued"
    assert deliver(shop, client, intent_id, "evt_dropped").get_json()["outcome"] == "duplicate"

    def worker_applies():
        with shop.app_context():
            try:
                return apply_event("evt_dropped")
            finally:
                db.session.remove()

    # The worker claims the event and fills the payment, then waits to move the order to paid.
    with pytest.raises(Exception):  # noqa: B017 - the driver's error for a terminated connection
        drop_the_connection_of_the_request_waiting_on(
            shop, "SELECT id FROM orders WHERE id = :id FOR UPDATE", {"id": order_id}, worker_applies)
    with shop.app_context():
        assert db.session.get(Order, order_id).status == "pending_payment"
        assert db.session.scalar(select(Payment.status).where(Payment.order_id == order_id)) != "succeeded"
        assert db.session.get(StripeEvent, "evt_dropped").applied_at is None, "the event is not marked as applied"
        db.session.remove()

    assert worker_applies() == "paid"  # the task's retry
    assert worker_applies() == "duplicate"  # and a late second delivery of the task
    with shop.app_context():
        assert db.session.get(Order, order_id).status == "paid"
        assert db.session.scalar(select(func.count(OutboxMessage.id))
                                 .where(OutboxMessage.task_name == "ledger.attribute_payment")) == 1
        assert verify_ledger().ok
        db.session.remove()


def test_connections_dropped_between_requests_are_replaced_before_use(shop, database_url):
    """A pooled connection the server has closed is noticed at checkout and replaced, so the next
    request never fails on it (marketplace.database._replace_if_closed_by_server)."""
    client = shop.test_client()
    assert client.get("/").status_code == 200
    with shop.app_context():
        pooled = db.engine.pool.checkedin()
        backends = {record.dbapi_connection.info.backend_pid for record in db.engine.pool._pool.queue}
    assert pooled >= 1
    # Terminated from outside the app's pool, waiting up to 5 s for each backend to end, as a
    # connection dropped between requests has.
    outside = create_engine(database_url, poolclass=NullPool)
    with outside.connect() as admin:
        dropped = admin.execute(text("SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                                     "WHERE pid = ANY(:pids)"), {"pids": list(backends)}).scalar()
    outside.dispose()
    assert dropped == len(backends) == pooled
    for path in ("/", "/products", "/login"):
        assert client.get(path).status_code == 200
    assert client.post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"}).status_code == 302


def test_a_page_whose_connection_drops_before_it_did_anything_is_served_from_a_fresh_one(shop, caplog):
    client = shop.test_client()
    assert client.post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"}).status_code == 302
    with shop.app_context():
        holder = db.engine.connect()
        hold = holder.begin()
        holder.execute(text("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
        response = in_flight(lambda: client.get("/orders?lang=en"))
        waiting = []
        for _ in range(400):
            waiting = waiting_backends()
            if waiting:
                break
            threading.Event().wait(0.05)
        assert len(waiting) == 1, "the page waits for the orders table"
        with db.engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting[0]})
        hold.rollback()  # let the retried request through
        holder.close()
        page = response()
        db.session.remove()
    assert page.status_code == 200
    assert "running it again on a fresh one" in caplog.text


def test_a_form_whose_connection_drops_gets_a_try_again_page(shop):
    with shop.app_context():
        variant_id = a_variant_in_stock(5)
        db.session.remove()
    client = shop.test_client()
    client.post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"})
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": 1})
    response = drop_the_connection_of_the_request_waiting_on(
        shop, "SELECT id FROM variants WHERE id = :id FOR UPDATE", {"id": variant_id},
        lambda: client.post("/checkout?lang=en", data=CHECKOUT))
    assert response.status_code == 503
    assert "nothing was saved" in response.get_data(as_text=True)
