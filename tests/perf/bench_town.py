"""Town work at scale, timed once each (seconds; nothing to divide by):

- a bank-transfer payout batch drafted (`create_batch`: one grouped balance query, items
  inserted in bulk) and approved (`approve_batch`: payee accounts locked in one statement,
  rule 10 inserted in bulk) for at least 10,000 households of town 1. Before the clock starts
  the town is topped up, in bulk, with bank-paid households holding earnings until 10,000 are
  eligible (a scale town has ~20,000 households, but only those with an available balance and
  in no open batch are paid; a re-run adds fresh ones, as the last run's are in an open batch);
- a village's statements PDF (`request_village_statements` + `render_village_statements`) for
  the first village of town 1 (the top-up never adds households there).
"""
import time
from datetime import date

from sqlalchemy import insert, text

from tests.perf.measure import Row


def _staff(engine, town_id):
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT id FROM users WHERE role = 'town_staff' AND town_id = :t ORDER BY id LIMIT 2"), {"t": town_id}).scalars().all()


BATCH_HOUSEHOLDS = 10_000


def _top_up_eligible_households(town_id, wanted):
    """Add bank-paid households with earnings (one floor-purchase-like credit each, in bulk SQL) to
    the town's villages other than its first until `wanted` are eligible; returns how many were added."""
    from marketplace.crypto import mask
    from marketplace.extensions import db
    from marketplace.ledger.services import account_id
    from marketplace.payouts.services import eligible_households
    from marketplace.people.models import Household

    missing = wanted - len(eligible_households(town_id, "bank", 0))
    if missing <= 0:
        return 0
    villages = db.session.execute(text("SELECT id FROM villages WHERE town_id = :t ORDER BY id"),
                                  {"t": town_id}).scalars().all()
    villages = villages[1:] or villages
    tag = f"bench-{time.time_ns()}"
    db.session.execute(insert(Household), [
        {"village_id": villages[index % len(villages)], "head_name": f"基准户{index}", "registry_no": f"{tag}-{index}",
         "registry_no_index": f"{tag}-{index}", "registry_no_masked": mask(f"3703{index:010d}"),
         "payout_method": "bank", "bank_name": "淄川农商银行", "bank_account": f"6228{index:015d}",
         "bank_account_masked": mask(f"6228{index:015d}"), "is_verified_poor": True}
        for index in range(missing)])
    inventory = account_id("cooperative_inventory", "cooperative", 1)
    new = "SELECT id FROM households WHERE registry_no_index LIKE :tag"
    for statement in (
        f"INSERT INTO ledger_accounts (kind, owner_type, owner_id) SELECT 'household_payable', 'household', id "
        f"FROM households WHERE id IN ({new}) ON CONFLICT DO NOTHING",
        f"INSERT INTO journal_entries (idempotency_key, rule, rule_settings, memo, created_at) "
        f"SELECT 'bench-earning:' || id, 'floor_purchase', '{{}}', 'benchmark earnings', now() FROM ({new}) AS h",
        "INSERT INTO postings (entry_id, account_id, amount_fen) "
        "SELECT e.id, a.id, -(5000 + (a.owner_id % 100) * 100) FROM journal_entries e "
        "JOIN ledger_accounts a ON a.kind = 'household_payable' AND a.owner_type = 'household' "
        " AND e.idempotency_key = 'bench-earning:' || a.owner_id "
        f"WHERE a.owner_id IN ({new}) "
        "UNION ALL SELECT e.id, :inventory, 5000 + (h.id % 100) * 100 FROM journal_entries e "
        f"JOIN households h ON e.idempotency_key = 'bench-earning:' || h.id WHERE h.id IN ({new})",
    ):
        db.session.execute(text(statement), {"tag": f"{tag}-%", "inventory": inventory})
    db.session.commit()
    return missing


def payout_batch(context):
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.payouts.models import PayoutItem
    from marketplace.payouts.services import approve_batch, create_batch

    engine = context.engine()
    maker, checker = _staff(engine, 1)
    app = create_app({"SQLALCHEMY_DATABASE_URI": context.options.database_url})
    with app.app_context():
        started = time.perf_counter()
        added = _top_up_eligible_households(1, BATCH_HOUSEHOLDS)
        topped_up = time.perf_counter() - started
        db.session.remove()
        started, cpu_started = time.perf_counter(), time.process_time()
        batch = create_batch(maker, "bank", 0)
        drafted, draft_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        batch_id = batch.id
        items = db.session.query(PayoutItem).filter_by(batch_id=batch_id).count()
        db.session.remove()
        started, cpu_started = time.perf_counter(), time.process_time()
        approve_batch(checker, batch_id)
        approved, approve_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        db.session.remove()
    engine.dispose()
    context.table.add(Row(f"payout batch for {items:,} households", f"{drafted + approved:.1f} s", "", "",
                          f"draft {drafted:.1f} s (app CPU {draft_cpu:.1f} s) + approve (rule 10 in bulk) {approved:.1f} s "
                          f"(app CPU {approve_cpu:.1f} s), town 1, bank "
                          f"transfer; {added:,} households with earnings added first ({topped_up:.1f} s, untimed)"))


def village_statements(context):
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.statements.gathering import village_statements
    from marketplace.statements.models import StatementJob
    from marketplace.statements.village import render_village_statements, request_village_statements

    engine = context.engine()
    maker, _checker = _staff(engine, 1)
    with engine.connect() as connection:
        village_id, households = connection.execute(text(
            "SELECT v.id, count(h.id) FROM villages v JOIN households h ON h.village_id = v.id "
            "WHERE v.town_id = 1 GROUP BY v.id ORDER BY v.id LIMIT 1")).one()
    app = create_app({"SQLALCHEMY_DATABASE_URI": context.options.database_url, "OUTBOX_DISPATCH": False})
    with app.app_context():
        started, cpu_started = time.perf_counter(), time.process_time()
        job = request_village_statements(maker, village_id, date(2025, 12, 1), date(2026, 11, 30))
        job_id = job.id
        db.session.remove()
        render_village_statements(job_id)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        size = len(db.session.get(StatementJob, job_id).pdf or b"")
        db.session.remove()
        started = time.perf_counter()
        gathered = village_statements(village_id, date(2025, 12, 1), date(2026, 11, 30))
        gathering = time.perf_counter() - started
        entries = sum(len(statement["entries"]) for statement in gathered)
        db.session.remove()
    engine.dispose()
    context.table.add(Row(f"a village's statements PDF ({households} households)", f"{seconds:.1f} s", "", "",
                          f"request + render in process, one year, PDF {size / 1e6:.1f} MB; this process's CPU {cpu:.1f} s "
                          f"(WeasyPrint is single-threaded: the wall time on a quiet core); gathering "
                          f"{gathering:.2f} s (5 queries, {entries:,} entries), the rest Jinja + WeasyPrint"))
