"""Attribution by Celery workers on Redis: order lines posted per second, against two ceilings.

Per run, interleaved: A) K no-op tasks (`celery.accumulate`, a Celery builtin that does nothing)
through the same worker and broker; B) K paid orders not yet attributed (clones of seeded orders,
so lots, sharing rules and accounts are real), each with the outbox message its payment webhook
commits, attributed as a deployment at volume runs it: with OUTBOX_BATCHED_TASKS naming
`ledger.attribute_payment`, one beat sweep (`ledger.attribute_pending_payments`) sends the
waiting messages as `ledger.attribute_payments_batch` tasks of 250 payments to the prefork
workers; timed from the sweep's send until every payment is attributed; C) the same number of
journal entries and postings B wrote, bulk-inserted with SQLAlchemy `insert(Model), list_of_dicts`
in one transaction (the deferred balance trigger run, then rolled back).
"""
import os
import statistics
import time

import redis
from sqlalchemy import insert, text

from tests.perf.measure import Row, verdict
from tests.perf.servers import celery_worker

ORDERS_PER_RUN = int(os.environ.get("PERF_ATTRIBUTION_ORDERS", "5000"))
WORKER_CONCURRENCY = 2


def _clone_orders(engine, count):
    """`count` paid orders with lines and succeeded payments, cloned from seeded ones, unattributed."""
    with engine.begin() as connection:
        order_offset = connection.execute(text("SELECT max(id) FROM orders")).scalar()
        line_offset = connection.execute(text("SELECT max(id) FROM order_lines")).scalar()
        payment_offset = connection.execute(text("SELECT max(id) FROM payments")).scalar()
        tag = f"b{order_offset}"

        def columns(table):
            return connection.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t ORDER BY ordinal_position"),
                {"t": table}).scalars().all()

        def clone(table, replace, where):
            names = columns(table)
            select_list = ", ".join(replace.get(name, name) for name in names)
            connection.execute(text(f"INSERT INTO {table} ({', '.join(names)}) SELECT {select_list} FROM {table} {where}"))

        source = f"WHERE id <= {count}"
        clone("orders", {"id": f"id + {order_offset}", "public_no": f"public_no || '{tag}'"}, source)
        clone("order_lines", {"id": f"id + {line_offset}", "order_id": f"order_id + {order_offset}"},
              f"WHERE order_id <= {count}")
        clone("payments", {"id": f"id + {payment_offset}", "order_id": f"order_id + {order_offset}",
                           "stripe_payment_intent_id": f"stripe_payment_intent_id || '{tag}'",
                           "stripe_charge_id": f"stripe_charge_id || '{tag}'",
                           "balance_transaction_id": f"balance_transaction_id || '{tag}'"}, f"WHERE order_id <= {count}")
        for table in ("orders", "order_lines", "payments"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        lines = connection.execute(text(f"SELECT count(*) FROM order_lines WHERE order_id > {order_offset}")).scalar()
        payment_ids = list(range(payment_offset + 1, payment_offset + count + 1))
    return payment_ids, lines


def _drain(store, deadline=600):
    """Wait until the Celery queue and the unacked set of db 7 are empty."""
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        if store.llen("celery") == 0 and store.hlen("unacked") == 0:
            return
        time.sleep(0.02)
    raise RuntimeError("the Celery queue did not drain")


def _run_tasks(celery, store, name, kwargs_list):
    started = time.perf_counter()
    with celery.producer_or_acquire() as producer:
        for kwargs in kwargs_list:
            celery.send_task(name, kwargs=kwargs, producer=producer)
    _drain(store)
    return time.perf_counter() - started


def _publish(engine, payment_ids):
    """The outbox message each payment's webhook commits with it (batched: none was sent one by one)."""
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO outbox_messages (task_name, kwargs, created_at, send_attempts) "
            "SELECT 'ledger.attribute_payment', json_build_object('payment_id', id), now() AT TIME ZONE 'utc', 0 "
            "FROM payments WHERE id = ANY(:ids) ORDER BY id"), {"ids": payment_ids})


def _attribute_waiting(celery, store, engine, payment_ids, deadline=600):
    """Seconds from the beat sweep's send until every payment in `payment_ids` is attributed."""
    _publish(engine, payment_ids)
    started = time.perf_counter()
    celery.send_task("ledger.attribute_pending_payments")
    while time.perf_counter() - started < deadline:
        _drain(store)
        if _count_attributed(engine, payment_ids) == len(payment_ids):
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError("payments were not attributed (see celery.log)")


def _raw_insert(engine, entries, postings_per_entry):
    """Seconds to bulk-insert `entries` entries with their postings, as SQLAlchemy bulk inserts do."""
    from marketplace.ledger.models import JournalEntry, Posting

    with engine.connect() as connection:
        transaction = connection.begin()
        first_entry = connection.execute(text("SELECT max(id) FROM journal_entries")).scalar() + 1
        first_posting = connection.execute(text("SELECT max(id) FROM postings")).scalar() + 1
        started = time.perf_counter()
        chunk = 2000
        for start in range(0, entries, chunk):
            ids = range(first_entry + start, first_entry + min(entries, start + chunk))
            connection.execute(insert(JournalEntry), [
                {"id": i, "idempotency_key": f"raw:{i}", "rule": "raw_insert", "rule_settings": {"n": i}, "memo": ""}
                for i in ids])
            postings = []
            for i in ids:
                amounts = [1000] + [-1000 // (postings_per_entry - 1)] * (postings_per_entry - 1)
                amounts[-1] -= sum(amounts)
                for leg, amount in enumerate(amounts):
                    postings.append({"id": first_posting + (i - first_entry) * postings_per_entry + leg,
                                     "entry_id": i, "account_id": 1 + leg, "amount_fen": amount})
            connection.execute(insert(Posting), postings)
        # Run the deferred balance check now, as a commit would, then throw the rows away.
        connection.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        seconds = time.perf_counter() - started
        transaction.rollback()
    return seconds


def run(context):
    from marketplace import create_app

    engine = context.engine()
    runs = context.options.runs
    store = redis.Redis.from_url(context.options.redis_url)
    store.delete("celery", "unacked", "unacked_index")
    app = create_app({"SQLALCHEMY_DATABASE_URI": context.options.database_url})
    app.config["CELERY"]["broker_url"] = context.options.redis_url
    celery = app.extensions["celery"]
    celery.conf.broker_url = context.options.redis_url
    batches = [_clone_orders(engine, ORDERS_PER_RUN) for _ in range(runs)]
    lines_per_second, versus_noop, versus_raw, noop_rates, raw_rates = [], [], [], [], []
    env = {**context.env, "OUTBOX_BATCHED_TASKS": "ledger.attribute_payment"}
    with celery_worker(env, context.run_dir / "celery.log", concurrency=WORKER_CONCURRENCY):
        _run_tasks(celery, store, "celery.accumulate", [{}] * 50)  # the worker is up and warm
        for payment_ids, lines in batches:
            noop_seconds = _run_tasks(celery, store, "celery.accumulate", [{}] * len(payment_ids))
            first_entry = _max_id(engine, "journal_entries")
            first_posting = _max_id(engine, "postings")
            attribution_seconds = _attribute_waiting(celery, store, engine, payment_ids)
            entries = _max_id(engine, "journal_entries") - first_entry
            postings = _max_id(engine, "postings") - first_posting
            raw_seconds = _raw_insert(engine, entries, max(2, round(postings / max(entries, 1))))
            print(f"    no-op {noop_seconds:.1f} s, attribution {attribution_seconds:.1f} s ({lines} lines), "
                  f"raw insert {raw_seconds:.1f} s", flush=True)
            lines_per_second.append(lines / attribution_seconds)
            noop_rates.append(len(payment_ids) / noop_seconds)
            raw_rates.append(lines / raw_seconds)
            versus_noop.append((len(payment_ids) / attribution_seconds) / noop_rates[-1])
            versus_raw.append(raw_seconds / attribution_seconds)
    engine.dispose()
    store.delete("celery", "unacked", "unacked_index")
    table = context.table
    median_rate = statistics.median(lines_per_second)
    table.add(Row("attribution order lines/s (Celery on Redis)",
                  f"{median_rate:,.0f}/s ({min(lines_per_second):,.0f}–{max(lines_per_second):,.0f})",
                  "≥ 2,000/s", verdict(median_rate, 2000),
                  f"{ORDERS_PER_RUN} orders (~{batches[0][1]} lines) per run, batches of 250, "
                  f"{WORKER_CONCURRENCY} prefork workers"))
    table.add(Row("attribution ÷ no-op task rate", _describe(versus_noop), "", "",
                  f"orders/s ÷ no-op tasks/s; no-op {statistics.median(noop_rates):,.0f} tasks/s"))
    table.add(Row("attribution ÷ raw bulk insert of its postings", _describe(versus_raw), "≥ 0.25",
                  verdict(statistics.median(versus_raw), 0.25),
                  f"raw insert(Model) bulk of the same entries+postings ≈ {statistics.median(raw_rates):,.0f} lines/s"))


def _describe(values):
    return f"{statistics.median(values):.2f}× ({min(values):.2f}–{max(values):.2f})"


def _max_id(engine, table):
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()


def _count_attributed(engine, payment_ids):
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM journal_entries WHERE idempotency_key = ANY(:keys)"),
            {"keys": [f"pay:{pid}" for pid in payment_ids]}).scalar()
