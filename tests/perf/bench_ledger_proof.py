"""The ledger that proves itself, at scale: sealing, `ledger verify`, and attribution with the chain on ÷ off.

1. Seal: the scale district is seeded with every entry queued for the sealer (as migration 0015
   queues an existing ledger); `flask ledger seal` chains them all, timed (entries/s).
2. Verify: `flask ledger verify` (every check: re-derivation of every entry and the whole hash
   chain recomputed) in a process of its own under /usr/bin/time: wall time and peak RSS, against
   a ceiling measured in the same run, `SELECT` of every entry and posting once (what any check of
   the whole journal must at least read).
3. Attribution, chain on ÷ off, interleaved: K cloned paid orders attributed by the Celery
   workers (as bench_attribution) with the chain on, a sealer process sealing every second
   beside them; and K more with it off, the queue insert turned into nothing by a rule
   (`ON INSERT TO ledger_unsealed DO INSTEAD NOTHING`) and no sealer. The "on" runs are timed once
   the sealer is up and has caught up. Ratio per pair of order lines/s, median of the pairs.
"""
import statistics
import subprocess
import sys
import time

import redis
from sqlalchemy import text

from tests.perf.bench_attribution import (
    ORDERS_PER_RUN, WORKER_CONCURRENCY, _attribute_waiting, _clone_orders, _describe, _run_tasks,
)
from tests.perf.measure import Row, verdict
from tests.perf.servers import BIN, ROOT, celery_worker

SEALER = ("import time\nfrom marketplace import create_app\nfrom marketplace.ledger.chain import seal_pending\n"
          "app = create_app()\nwith app.app_context():\n    while True:\n        seal_pending()\n        time.sleep(1)\n")


def _flask(context, *args, timed=False):
    command = [str(BIN / "flask"), "--app", "wsgi", *args]
    if timed:
        command = ["/usr/bin/time", "-f", "TIME %e s %M KB", *command]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=context.env, capture_output=True, text=True)
    return time.perf_counter() - started, done


def _read_everything(engine):
    started = time.perf_counter()
    with engine.connect() as connection:
        for statement in ("SELECT id, idempotency_key, rule, rule_settings, order_id, order_line_id, lot_id, "
                          "refund_id FROM journal_entries", "SELECT entry_id, account_id, amount_fen FROM postings"):
            result = connection.execution_options(stream_results=True, max_row_buffer=10_000).execute(text(statement))
            for _rows in result.partitions(10_000):
                pass
    return time.perf_counter() - started


def seal_and_verify(context):
    engine = context.engine()
    with engine.connect() as connection:
        entries = connection.execute(text("SELECT count(*) FROM journal_entries")).scalar()
        queued = connection.execute(text("SELECT count(*) FROM ledger_unsealed")).scalar()
    seal_seconds, sealed = _flask(context, "ledger", "seal")
    print(f"    sealed: {sealed.stdout.strip()} of {queued:,} queued in {seal_seconds:.0f} s", flush=True)
    ceiling = _read_everything(engine)
    verify_seconds, verified = _flask(context, "ledger", "verify", timed=True)
    print(verified.stdout[-3000:], verified.stderr[-1500:], flush=True)
    peak_kb = int(verified.stderr.rsplit("TIME ", 1)[1].split()[2]) if "TIME " in verified.stderr else 0
    engine.dispose()
    table = context.table
    table.add(Row("ledger seal (hash chain of every entry)", f"{queued / seal_seconds:,.0f} entries/s",
                  "", "", f"{queued:,} entries chained in {seal_seconds:.0f} s"))
    table.add(Row("ledger verify (re-derivation + chain)", f"{verify_seconds:.0f} s, peak {peak_kb / 1024:.0f} MB",
                  "< 300 s, < 300 MB",
                  "met" if verify_seconds < 300 and peak_kb < 300 * 1024 and verified.returncode == 0 else "MISSED",
                  f"{entries:,} entries; exit {verified.returncode}; ÷ reading every entry and posting once "
                  f"({ceiling:.0f} s) = {verify_seconds / ceiling:.1f}×"))


def _chain(engine, on):
    with engine.begin() as connection:
        connection.execute(text("DROP RULE IF EXISTS chain_off ON ledger_unsealed"))
        if not on:
            connection.execute(text("CREATE RULE chain_off AS ON INSERT TO ledger_unsealed DO INSTEAD NOTHING"))


def _wait_until_sealed(engine, deadline=600):
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        with engine.connect() as connection:
            if not connection.execute(text("SELECT EXISTS (SELECT 1 FROM ledger_unsealed)")).scalar():
                return
        time.sleep(0.2)
    raise RuntimeError("the sealer did not catch up")


def chain_on_versus_off(context):
    from marketplace import create_app

    engine = context.engine()
    store = redis.Redis.from_url(context.options.redis_url)
    store.delete("celery", "unacked", "unacked_index")
    app = create_app({"SQLALCHEMY_DATABASE_URI": context.options.database_url})
    celery = app.extensions["celery"]
    celery.conf.broker_url = context.options.redis_url
    env = {**context.env, "OUTBOX_BATCHED_TASKS": "ledger.attribute_payment"}
    ratios, on_rates, off_rates = [], [], []
    try:
        with celery_worker(env, context.run_dir / "celery.log", concurrency=WORKER_CONCURRENCY):
            _run_tasks(celery, store, "celery.accumulate", [{}] * 50)
            for _pair in range(context.options.runs):
                rates = {}
                for on in (False, True):
                    payment_ids, lines = _clone_orders(engine, ORDERS_PER_RUN)
                    _chain(engine, on)
                    sealer = subprocess.Popen([sys.executable, "-c", SEALER], cwd=ROOT, env=context.env) if on else None
                    if sealer:  # timed once it is up and has sealed what was queued: its steady state, not its start
                        _wait_until_sealed(engine)
                    try:
                        seconds = _attribute_waiting(celery, store, engine, payment_ids)
                    finally:
                        if sealer:
                            sealer.terminate()
                            sealer.wait()
                    rates[on] = lines / seconds
                    print(f"    chain {'on ' if on else 'off'}: {lines} lines in {seconds:.1f} s", flush=True)
                ratios.append(rates[True] / rates[False])
                on_rates.append(rates[True])
                off_rates.append(rates[False])
    finally:
        _chain(engine, True)
        with engine.begin() as connection:  # what was posted with the chain off waits for the sealer too
            connection.execute(text(
                "INSERT INTO ledger_unsealed (entry_id) SELECT e.id FROM journal_entries e WHERE NOT EXISTS "
                "(SELECT 1 FROM ledger_seals s WHERE s.entry_id = e.id) ON CONFLICT DO NOTHING"))
        engine.dispose()
        store.delete("celery", "unacked", "unacked_index")
    context.table.add(Row("attribution, hash chain on ÷ off", _describe(ratios), "≥ 0.8×",
                          verdict(statistics.median(ratios), 0.8),
                          f"on {statistics.median(on_rates):,.0f} lines/s (sealer beside it), off "
                          f"{statistics.median(off_rates):,.0f} lines/s; {ORDERS_PER_RUN} orders per run, "
                          f"{WORKER_CONCURRENCY} prefork workers, interleaved off/on"))


def run(context):
    seal_and_verify(context)
    chain_on_versus_off(context)
