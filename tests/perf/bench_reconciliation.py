"""Reconciliation of 1,000,000 Stripe balance transactions against the ledger: seconds and peak memory.

The export is written in Stripe's BalanceTransaction shape, one JSON object a line, from the
scale district's succeeded payments (`ch_scale_{o}` / `txn_scale_{o}`, whose `pay:` and `fee:`
entries seed-scale posted). A district with fewer payments than the count asked for (the
small one) is topped up with further charges on the same payments under fresh transaction ids
(found by charge id, so every line still goes through the whole match). About one line in a
thousand carries a discrepancy of each kind: amount differs, fee differs, missing in the
ledger (a stray charge); and one payment in a thousand is left out (missing at Stripe).

The import runs in a child process (`python -m tests.perf.bench_reconciliation FILE`, the
service behind `flask reconcile import`), which reports its own peak RSS (getrusage
RUSAGE_SELF, the whole interpreter with the app loaded); the wall time counts from the
child's start to its exit. PERF_RECONCILIATION_TRANSACTIONS changes the count.
"""
import json
import os
import resource
import subprocess
import sys
import time

from sqlalchemy import text

from tests.perf.measure import Row
from tests.perf.servers import ROOT

TRANSACTIONS = int(os.environ.get("PERF_RECONCILIATION_TRANSACTIONS", "1000000"))
EVERY = 1000  # one line in EVERY is a discrepancy of each kind
SECONDS_TARGET, MB_TARGET = 60, 300
LINE = ('{{"id": "{id}", "object": "balance_transaction", "amount": {amount}, "available_on": {available}, '
        '"created": {created}, "currency": "cny", "description": "Payment for order {order}", '
        '"exchange_rate": null, "fee": {fee}, "fee_details": [{{"amount": {fee}, "application": null, '
        '"currency": "cny", "description": "Stripe processing fees", "type": "stripe_fee"}}], '
        '"net": {net}, "reporting_category": "charge", "source": "{source}", "status": "available", '
        '"type": "charge"}}\n')


def _clear(connection):
    connection.execute(text("TRUNCATE stripe_balance_records, reconciliation_discrepancies"))
    connection.execute(text("DELETE FROM stripe_sync_cursors"))


def _payments(engine):
    with engine.connect() as connection:
        yield from connection.execution_options(stream_results=True, yield_per=50_000).execute(text(
            # Payments the ledger received (other benchmarks pay orders with no worker to post them).
            "SELECT p.id, p.amount_fen, p.fee_fen, p.stripe_charge_id, p.balance_transaction_id, "
            "CAST(EXTRACT(EPOCH FROM p.succeeded_at) AS BIGINT) FROM payments p "
            "JOIN journal_entries e ON e.idempotency_key = 'pay:' || CAST(p.id AS VARCHAR) "
            "WHERE p.status = 'succeeded' AND p.balance_transaction_id IS NOT NULL ORDER BY p.id"))


def write_export(engine, path, count):
    """Write `count` lines; returns (payments covered, injected discrepancies by kind, lines written)."""
    injected = {"amount_differs": 0, "fee_differs": 0, "missing_in_ledger": 0}
    written = covered = last = 0
    with open(path, "w", encoding="utf-8") as out:
        for pid, amount, fee, charge, txn, created in _payments(engine):
            if written >= count:
                break
            covered, last = covered + 1, pid
            if pid % EVERY == 7:
                continue  # missing at Stripe
            if pid % EVERY == 1:
                amount, injected["amount_differs"] = amount - 1, injected["amount_differs"] + 1
            elif pid % EVERY == 2:
                fee, injected["fee_differs"] = fee + 1, injected["fee_differs"] + 1
            elif pid % EVERY == 3:  # a stray charge; its payment is then missing at Stripe too
                charge, txn = f"ch_stray_{pid}", f"txn_stray_{pid}"
                injected["missing_in_ledger"] += 1
            out.write(LINE.format(id=txn, amount=amount, available=created + 7 * 86400, created=created, order=pid,
                                  fee=fee, net=amount - fee, source=charge))
            written += 1
        rounds = 0
        while 0 < written < count:  # top up: more charges on the same (clean) payments
            rounds += 1
            for pid, amount, fee, charge, _txn, created in _payments(engine):
                if written >= count:
                    break
                if pid % EVERY in (1, 2, 3, 7):
                    continue
                out.write(LINE.format(id=f"txn_more{rounds}_{pid}", amount=amount, available=created + 7 * 86400,
                                      created=created, order=pid, fee=fee, net=amount - fee, source=charge))
                written += 1
    return covered, last, injected, written


def run(context):
    engine = context.engine()
    path = context.run_dir / f"stripe-export-{TRANSACTIONS}.jsonl"
    started = time.perf_counter()
    covered, last_payment, injected, written = write_export(engine, path, TRANSACTIONS)
    generated = time.perf_counter() - started
    megabytes = path.stat().st_size / 1e6
    with engine.begin() as connection:
        _clear(connection)
    print(f"  export: {written:,} lines, {megabytes:.0f} MB, from {covered:,} payments, written in {generated:.0f} s; "
          f"injected {injected}", flush=True)
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-m", "tests.perf.bench_reconciliation", str(path)], cwd=ROOT,
                           env=context.env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if child.returncode:
        raise RuntimeError(f"import failed: {child.stderr[-500:]}")
    report = json.loads(child.stdout.strip().splitlines()[-1])
    with engine.connect() as connection:
        found = dict(connection.execute(text(
            "SELECT CASE WHEN kind = 'amount_differs' AND reference LIKE '%\\:fee' THEN 'fee_differs' ELSE kind END, "
            "count(*) FROM reconciliation_discrepancies GROUP BY 1")).all())
        matched = connection.execute(text("SELECT count(*) FROM stripe_balance_records WHERE matched")).scalar()
        # Left out of the export (or a stray took their place), and older than Stripe's newest transaction.
        injected["missing_in_stripe"] = connection.execute(text(
            "SELECT count(*) FROM payments WHERE status = 'succeeded' "
            "AND (id % :every IN (3, 7) OR id > :last OR balance_transaction_id IS NULL "
            "     OR NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.idempotency_key = 'pay:' || CAST(payments.id AS VARCHAR))) "
            "AND succeeded_at <= (SELECT max(stripe_created_at) FROM stripe_balance_records)"),
            {"every": EVERY, "last": last_payment}).scalar()
    with engine.begin() as connection:
        _clear(connection)
    engine.dispose()
    path.unlink()
    exact = (found.get("amount_differs", 0) == injected["amount_differs"]
             and found.get("fee_differs", 0) == injected["fee_differs"]
             and found.get("missing_in_ledger", 0) == injected["missing_in_ledger"]
             and found.get("missing_in_stripe", 0) == injected["missing_in_stripe"])
    peak_mb = report["peak_rss_kb"] / 1024
    ok = wall < SECONDS_TARGET and peak_mb < MB_TARGET and exact
    context.table.add(Row(
        f"reconciliation of {written:,} balance transactions", f"{wall:.1f} s, peak {peak_mb:.0f} MB",
        f"< {SECONDS_TARGET} s, < {MB_TARGET} MB", "met" if ok else "MISSED",
        f"JSON lines export ({megabytes:.0f} MB) from {covered:,} payments; child process: import+match "
        f"{report['seconds']:.1f} s of {wall:.1f} s wall (stage {report['stage_seconds']:.1f} s), CPU "
        f"{report['python_cpu']:.1f} s Python + {report['database_cpu']:.1f} s PostgreSQL backend (its own, not parallel workers); "
        f"load average {os.getloadavg()[0]:.1f}; "
        f"{matched:,} matched; discrepancies found {found} vs injected {injected}"
        + ("" if exact else " — NOT EXACT")))


def _cpu_seconds(pid):
    """User + system CPU of a process on this machine (the database backend is one)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _import(path):
    """The child: import the export as `flask reconcile import` does; print seconds, CPU and peak RSS."""
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.reconciliation import matching, services

    staged = {}
    stage = matching.stage

    def timed_stage(rows):
        begun = time.perf_counter()
        count = stage(rows)
        staged["seconds"] = time.perf_counter() - begun
        return count

    matching.stage = timed_stage
    app = create_app({"OUTBOX_DISPATCH": False})
    with app.app_context(), open(path, encoding="utf-8") as export:
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.rollback()
        backend_cpu, own = _cpu_seconds(backend), resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        read, new = services.import_export(export)
        seconds = time.perf_counter() - started
        backend_cpu = _cpu_seconds(backend) - backend_cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"read": read, "new": new, "seconds": seconds, "stage_seconds": staged["seconds"],
                      "python_cpu": usage.ru_utime + usage.ru_stime - own.ru_utime - own.ru_stime,
                      "database_cpu": backend_cpu, "peak_rss_kb": usage.ru_maxrss}))


if __name__ == "__main__":
    _import(sys.argv[1])
