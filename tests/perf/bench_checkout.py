"""Checkout (cart → `place_order` reserving stock → `start_payment` creating a PaymentIntent on
localstripe) on one hot variant ÷ on distinct variants, from CLIENTS processes at once; then a
sell-out of a small stock to prove there is no oversell, and open-model latencies.

The services are called directly (as the checkout view calls them), each client process with
its own buyer, database connection and Stripe client.
"""
import multiprocessing
import os
import statistics
import time

from sqlalchemy import text

from tests.perf.measure import Row, verdict
from tests.perf.servers import localstripe

CLIENTS = 4
SELL_OUT_STOCK = 40
SELL_OUT_ATTEMPTS = 120
_state = {}


def _init(env):
    os.environ.update(env)
    from marketplace import create_app

    _state["app"] = create_app()


def _checkout_once(buyer_id, variant_id):
    from marketplace.errors import DomainError
    from marketplace.extensions import db
    from marketplace.orders.cart import add_item, open_cart
    from marketplace.orders.checkout import Delivery, place_order, start_payment

    with _state["app"].app_context():
        try:
            cart = open_cart(user_id=buyer_id)
            add_item(cart.id, variant_id, 1)
            order = place_order(cart.id, buyer_id, Delivery("address", "压测买家", "13800000000", "上海市徐汇区漕溪北路1号"))
            start_payment(order.id)
            return True
        except DomainError:
            db.session.rollback()
            return False
        finally:
            db.session.remove()


def _closed(args):
    """Check out back to back for `seconds`; returns (successes, failures)."""
    buyer_id, variant_ids, seconds = args
    done = failed = 0
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        if _checkout_once(buyer_id, variant_ids[n % len(variant_ids)]):
            done += 1
        else:
            failed += 1
        n += 1
    return done, failed


def _open(args):
    """Check out at a fixed rate; latency (ms) counts from each due time."""
    buyer_id, variant_ids, rate, seconds, start_at = args
    latencies = []
    for n in range(int(rate * seconds)):
        due = start_at + n / rate
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        if _checkout_once(buyer_id, variant_ids[n % len(variant_ids)]):
            latencies.append((time.time() - due) * 1000)
    return latencies


def _sell_out(args):
    buyer_id, variant_id, attempts = args
    return sum(_checkout_once(buyer_id, variant_id) for _ in range(attempts))


def run(context):
    engine = context.engine()
    with engine.begin() as connection:
        variants = connection.execute(text(
            "SELECT v.id FROM variants v JOIN products p ON p.id = v.product_id WHERE p.status = 'active' "
            "AND p.direction = 'uplink' AND v.is_active ORDER BY v.id LIMIT 2001")).scalars().all()
        hot, distinct = variants[0], variants[1:]
        connection.execute(text("UPDATE variants SET stock_available = 1000000 WHERE id = ANY(:ids)"), {"ids": variants})
        buyers = connection.execute(text("SELECT id FROM users WHERE role = 'buyer' ORDER BY id LIMIT :n"),
                                    {"n": CLIENTS * 2}).scalars().all()
    seconds, runs = context.options.seconds, context.options.runs
    with localstripe(context.run_dir / "localstripe.log") as stripe_base:
        env = dict(context.env, STRIPE_API_BASE=stripe_base)
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(CLIENTS, initializer=_init, initargs=(env,)) as pool:
            pool.map(_closed, [(buyers[i], distinct[i::CLIENTS], 1.0) for i in range(CLIENTS)])  # warm up
            hot_rates, distinct_rates = [], []
            for _ in range(runs):
                for rates, ids in ((hot_rates, None), (distinct_rates, distinct)):
                    results = pool.map(_closed, [(buyers[i], [hot] if ids is None else ids[i::CLIENTS], seconds)
                                                 for i in range(CLIENTS)])
                    failures = sum(f for _, f in results)
                    if failures:
                        raise RuntimeError(f"{failures} checkouts failed with stock to spare")
                    rates.append(sum(d for d, _ in results) / seconds)
            oversell = _check_sell_out(engine, pool, buyers, distinct[-1])
            rate = statistics.median(distinct_rates) / 2
            start_at = time.time() + 1
            latencies = [ms for part in pool.map(_open, [(buyers[i], distinct[i::CLIENTS], rate / CLIENTS,
                                                           max(6.0, seconds * 2), start_at) for i in range(CLIENTS)])
                         for ms in part]
    engine.dispose()
    ratios = [h / d for h, d in zip(hot_rates, distinct_rates)]
    median = statistics.median(ratios)
    context.table.add(Row("checkout hot variant ÷ distinct variants", f"{median:.2f}× ({min(ratios):.2f}–{max(ratios):.2f})",
                          "≥ 0.5×", verdict(median, 0.5),
                          f"{CLIENTS} client processes; hot {statistics.median(hot_rates):.0f}/s, distinct "
                          f"{statistics.median(distinct_rates):.0f}/s (reserve + PaymentIntent on localstripe)"))
    context.table.add(Row("checkout oversell", oversell, "0", "met" if oversell.startswith("0 ") else "MISSED",
                          f"{SELL_OUT_ATTEMPTS} attempts from {CLIENTS} processes at stock {SELL_OUT_STOCK}"))
    ordered = sorted(latencies)
    pick = lambda p: ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]  # noqa: E731
    context.table.add(Row("checkout latency at ½ saturation",
                          f"p50 {pick(50):.0f} / p95 {pick(95):.0f} / p99 {pick(99):.0f} ms", "", "",
                          f"open model, {rate:.1f} checkouts/s fixed arrival from {CLIENTS} client processes, "
                          f"{len(latencies)} done"))


def _check_sell_out(engine, pool, buyers, variant_id):
    with engine.begin() as connection:
        connection.execute(text("UPDATE variants SET stock_available = :s WHERE id = :id"),
                           {"s": SELL_OUT_STOCK, "id": variant_id})
        before = connection.execute(text("SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE variant_id = :id"),
                                    {"id": variant_id}).scalar()
    sold = sum(pool.map(_sell_out, [(buyers[CLIENTS + i], variant_id, SELL_OUT_ATTEMPTS // CLIENTS)
                                    for i in range(CLIENTS)]))
    with engine.begin() as connection:
        left = connection.execute(text("SELECT stock_available FROM variants WHERE id = :id"), {"id": variant_id}).scalar()
        ordered = connection.execute(text("SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE variant_id = :id"),
                                     {"id": variant_id}).scalar() - before
    oversold = max(0, ordered - SELL_OUT_STOCK)
    return f"{oversold} oversold ({sold} sold of {SELL_OUT_STOCK}, {left} left, {ordered} units ordered)"
