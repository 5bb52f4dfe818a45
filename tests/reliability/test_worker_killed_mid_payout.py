"""SIGKILL of a real worker inside the transaction that confirms a payout (`ledger.post_payout_paid`):
nothing of it stays, the requeued task completes it, and the household is paid exactly once."""
import os
import signal

import pytest
from sqlalchemy import func, select, text

from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.payouts import post_payout_approved
from marketplace.ledger.services import account_id, balance_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import publish
from tests.reliability.processes import send_task

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def approved_payout(district):
    """A household with 100元 of floor-purchase earnings (funded by its cooperative's deposit) and an
    approved payout of 60元 to confirm."""
    household = district.household()
    coop = district.cooperative(members=[(household, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    district.lot(grains, household, 20)
    district.fund(coop, 10_000)
    item = district.payout_item(household=household, amount_fen=6_000)
    post_payout_approved(item.id)
    message = publish("ledger.post_payout_paid", payout_item_id=item.id)  # dispatch is off in tests
    db.session.commit()
    return {"household": household.id, "item": item.id, "message": message.id}


def paid_entries(item_id):
    return db.session.scalar(select(func.count(JournalEntry.id))
                             .where(JournalEntry.idempotency_key == f"payout:{item_id}:paid"))


def waiting_backends():
    """Backends of this database waiting for a lock, each with the tables it has written to."""
    rows = db.session.execute(text(
        "SELECT a.pid, array_remove(array_agg(c.relname) FILTER (WHERE l.mode = 'RowExclusiveLock'), NULL) "
        "FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND l.granted "
        "LEFT JOIN pg_class c ON c.oid = l.relation "
        "WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' GROUP BY a.pid")).all()
    return {pid: set(tables) for pid, tables in rows}


def test_a_worker_killed_inside_the_payout_confirmation_pays_the_household_once(
        app_ctx, district, private_redis, start_worker, waiter):
    ids = approved_payout(district)
    db.session.remove()
    # Hold the postings table: the confirmation writes its journal entry, then waits to write its postings.
    holder = db.engine.connect()
    hold = holder.begin()
    holder.execute(text("LOCK TABLE postings IN SHARE MODE"))
    worker = start_worker(private_redis.url)
    send_task(private_redis.url, "ledger.post_payout_paid", payout_item_id=ids["item"], outbox_id=ids["message"])
    stalled = waiter.wait_for(waiting_backends, timeout=60)
    [(first, written)] = stalled.items()
    assert "journal_entries" in written, "killed half way: its entry written, its postings not"
    [child] = worker.children()
    os.kill(child, signal.SIGKILL)
    # The message comes back (acks_late, reject_on_worker_lost) and a new child runs it again.
    waiter.wait_for(lambda: set(waiting_backends()) - {first}, timeout=60)
    assert "WorkerLostError" in worker.output()
    hold.rollback()
    holder.close()
    waiter.wait_for(lambda: db.session.get(OutboxMessage, ids["message"]).processed_at is not None, timeout=60)

    assert paid_entries(ids["item"]) == 1
    assert balance_fen(account_id("payouts_in_transit")) == 0
    assert balance_fen(account_id("bank")) == 10_000 - 6_000, "the money left the bank once"
    balance = household_balance(ids["household"])
    assert (balance.posted_fen, balance.paid_to_date_fen) == (4_000, 6_000)
    report = verify_ledger()
    assert report.ok, report.violations
