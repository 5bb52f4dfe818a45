"""Signed Stripe webhook (verify, record, queue) requests/s ÷ GET /healthz on the same gunicorn,
its latency at half its saturation, and the worker applying what it received.

Every POST is a distinct `payment_intent.succeeded` event (its own `evt_` id, signed with the
library's scheme within Stripe's 300 s tolerance) for one of a pool of real PaymentIntents
paid on localstripe by the checkout services, so the endpoint does all its work each time:
verifies the signature, checks the PaymentIntent is ours, records the event with its outbox
message in one transaction and hands the task to the broker (Redis). Interleaved A/B/A/B with
/healthz, median of --runs with the spread. Then an open model at half the webhook's saturation
gives p50/p95/p99, and a real Celery worker re-reads Stripe and applies the first event of each
PaymentIntent (all orders paid) — the remaining duplicates' tasks are dropped from the queue.
"""
import json
import statistics
import time

from sqlalchemy import text

from tests.perf.benchmarks import HELLO, _rate
from tests.perf.load import Request, open_model, saturate
from tests.perf.measure import Row, interleave
from tests.perf.servers import celery_worker, gunicorn, localstripe

INTENTS = 20
SECRET = "whsec_perf_benchmark"
EVENTS_PER_SECOND_CEILING = 2_000  # enough distinct events for the fastest endpoint imaginable here


class OnceEach:
    """A request list for the load generator that hands out each request once, whatever index
    a client asks for (the generator cycles a list by index, which would repeat event ids)."""

    def __init__(self, requests):
        self.requests = iter(requests)
        self.total = len(requests)

    def __len__(self):
        return self.total

    def __getitem__(self, _index):
        return next(self.requests)


def _paid_intents(env, engine):
    """INTENTS orders placed and paid with the test card on localstripe, not yet settled here."""
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.orders.cart import add_item, open_cart
    from marketplace.orders.checkout import Delivery, place_order, start_payment
    from marketplace.payments import stripe_gateway

    with engine.begin() as connection:
        variant = connection.execute(text(
            "SELECT v.id FROM variants v JOIN products p ON p.id = v.product_id WHERE p.status = 'active' "
            "AND p.direction = 'uplink' AND v.is_active ORDER BY v.id DESC LIMIT 1")).scalar()
        connection.execute(text("UPDATE variants SET stock_available = stock_available + :n WHERE id = :id"),
                           {"n": INTENTS, "id": variant})
        buyer = connection.execute(text("SELECT id FROM users WHERE role = 'buyer' ORDER BY id DESC LIMIT 1")).scalar()
    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "STRIPE_API_BASE": env["STRIPE_API_BASE"]})
    intents = []
    with app.app_context():
        for _ in range(INTENTS):
            cart = open_cart(user_id=buyer)
            add_item(cart.id, variant, 1)
            order = place_order(cart.id, buyer, Delivery("address", "压测买家", "13800000000", "上海市徐汇区漕溪北路1号"))
            method = stripe_gateway.create_test_card_payment_method()
            _payment, intent = start_payment(order.id, payment_method=method.id)
            stripe_gateway.confirm_payment_intent(intent.id)
            intents.append(intent.id)
            db.session.remove()
    return intents


def _events(intents, count, run_id):
    from marketplace.payments import stripe_gateway

    signed_at = int(time.time())
    requests = []
    for n in range(count):
        payload = json.dumps({"id": f"evt_perf_{run_id}_{n}", "object": "event", "type": "payment_intent.succeeded",
                              "created": signed_at, "livemode": False,
                              "data": {"object": {"id": intents[n % len(intents)], "object": "payment_intent",
                                                  "status": "succeeded"}}})
        header = stripe_gateway.sign_payload_for_tests(payload, SECRET, signed_at)
        requests.append(Request("/stripe/webhook", "POST", payload.encode(),
                                {"Content-Type": "application/json", "Stripe-Signature": header}))
    return requests


def run(context):
    engine = context.engine()
    seconds, runs, connections = context.options.seconds, context.options.runs, context.options.connections
    outcomes = {}
    with localstripe(context.run_dir / "localstripe.log") as stripe_base:
        env = dict(context.env, STRIPE_API_BASE=stripe_base, STRIPE_WEBHOOK_SECRET=SECRET)
        intents = _paid_intents(env, engine)
        with gunicorn(env, context.run_dir / "gunicorn.log") as server:
            round_no = [0]

            def webhook_rate():
                # Signed just before each run, so none is older than Stripe's 300 s tolerance.
                round_no[0] += 1
                events = OnceEach(_events(intents, int(EVENTS_PER_SECOND_CEILING * (seconds + 2)),
                                          f"{int(time.time())}_{round_no[0]}"))
                result = saturate(server.port, events, seconds, connections)
                if result.errors:
                    raise RuntimeError(f"webhook: {result.errors} errors, statuses {result.statuses}")
                return result.rate

            saturate(server.port, HELLO, 1.0, connections)  # warm up
            webhook_rate()
            ratio = interleave(lambda: _rate(server.port, HELLO, context), webhook_rate, runs)
            rss = server.worker_rss_mb()
            half = statistics.median(ratio.b) / 2
            latency_seconds = max(5.0, seconds * 2)
            latency = open_model(server.port, OnceEach(_events(intents, int(half * latency_seconds) + 50,
                                                               f"{int(time.time())}_latency")),
                                 half, seconds=latency_seconds)
        with celery_worker(env, context.run_dir / "webhook-worker.log"):
            started = time.monotonic()
            while time.monotonic() - started < 120 and _orders_paid(engine, intents) < INTENTS:
                time.sleep(0.5)
            applied_seconds = time.monotonic() - started
        _drop_queued_tasks(context.env)
    with engine.connect() as connection:
        outcomes["events recorded"] = connection.execute(text(
            "SELECT count(*) FROM stripe_events WHERE id LIKE 'evt_perf_%'")).scalar()
    outcomes["orders paid"] = _orders_paid(engine, intents)
    engine.dispose()
    context.table.add(Row(
        "signed webhook ÷ hello-world req/s", ratio.describe(), "", "",
        f"hello {statistics.median(ratio.a):.0f} req/s, webhook {statistics.median(ratio.b):.0f} req/s; distinct "
        f"payment_intent.succeeded events for {INTENTS} PaymentIntents, recorded and queued (no Stripe read on "
        f"the request), {outcomes['events recorded']:,} events recorded; {len(rss)} sync workers"))
    context.table.add(Row(
        "signed webhook latency at ½ saturation",
        f"p50 {latency.percentile(50):.1f} / p95 {latency.percentile(95):.1f} / p99 {latency.percentile(99):.1f} ms",
        "", "", f"open model, {half:.0f} events/s fixed arrival for {latency.seconds:.0f} s, {latency.requests} ok, "
                f"{latency.errors} errors; then a Celery worker paid {outcomes['orders paid']}/{INTENTS} orders "
                f"in {applied_seconds:.1f} s (re-reading each PaymentIntent at Stripe)"))


def _orders_paid(engine, intents):
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM payments WHERE stripe_payment_intent_id = ANY(:ids) AND status = 'succeeded'"),
            {"ids": intents}).scalar()


def _drop_queued_tasks(env):
    """The load's duplicate events each left a task in the queue: drop them with the benchmark."""
    import redis

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).delete("celery")
