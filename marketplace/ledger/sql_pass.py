"""The statements of a whole-ledger pass, a few running at once on connections of their own.

`ledger verify` asks PostgreSQL to re-derive and hash millions of entries, a range at a time
(rederive_sql.py, chain.SQL_LINK_DOUBTS); each range is independent of the others, so with more
than one core the database works on the next ranges while this process judges the doubts of the
current one. Results come back in the order the ranges were given. A small ledger (what the
tests build) runs its ranges one after another on the session's own connection, so it also sees
what the session has not committed.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from marketplace.extensions import db

WORKERS = 2            # connections working ahead: the database's share of a two-core machine
IN_PARALLEL_FROM = 3   # ranges: fewer than this run one after another on the session's connection
WORK_MEM = "SET work_mem = '64MB'"  # hash and sort a range's rows in memory


def in_order(jobs):
    """Yield `job(connection)` for each of `jobs`, in order; each job only reads."""
    jobs = list(jobs)
    if len(jobs) < IN_PARALLEL_FROM or WORKERS < 2:
        connection = db.session.connection()
        for job in jobs:
            yield job(connection)
        return
    engine, local, opened, lock = db.engine, threading.local(), [], threading.Lock()

    def run(job):
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = engine.connect()
            connection.execute(text(WORK_MEM))
            with lock:
                opened.append(connection)
        return job(connection)

    ahead = WORKERS * 2  # results waiting to be consumed stay few: memory does not grow with the ledger
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ledger-verify") as pool:
        try:
            futures = [pool.submit(run, job) for job in jobs[:ahead]]
            for position in range(len(jobs)):
                if position + ahead < len(jobs):
                    futures.append(pool.submit(run, jobs[position + ahead]))
                yield futures[position].result()
                futures[position] = None
        finally:
            for future in futures:
                if future is not None:
                    future.cancel()
            pool.shutdown(wait=True)
            for connection in opened:
                connection.close()
