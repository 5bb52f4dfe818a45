"""Town work at scale, timed once each (seconds; nothing to divide by):

- a bank-transfer payout batch drafted (`create_batch`) and approved (`approve_batch`, rule 10
  posted per item) for the town of 20,000 households, half of them paid by bank;
- a village's statements PDF (`request_village_statements` + `render_village_statements`).
"""
import time
from datetime import date

from sqlalchemy import text

from tests.perf.measure import Row


def _staff(engine, town_id):
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT id FROM users WHERE role = 'town_staff' AND town_id = :t ORDER BY id LIMIT 2"), {"t": town_id}).scalars().all()


def payout_batch(context):
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.payouts.services import approve_batch, create_batch

    engine = context.engine()
    maker, checker = _staff(engine, 1)
    app = create_app({"SQLALCHEMY_DATABASE_URI": context.options.database_url})
    with app.app_context():
        started = time.perf_counter()
        batch = create_batch(maker, "bank", 0)
        drafted = time.perf_counter() - started
        items = len(batch.items)
        batch_id = batch.id
        db.session.remove()
        started = time.perf_counter()
        approve_batch(checker, batch_id)
        approved = time.perf_counter() - started
        db.session.remove()
    engine.dispose()
    context.table.add(Row(f"payout batch for {items:,} households", f"{drafted + approved:.1f} s", "", "",
                          f"draft {drafted:.1f} s + approve (rule 10 per item) {approved:.1f} s, town 1, bank transfer"))


def village_statements(context):
    from marketplace import create_app
    from marketplace.extensions import db
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
        started = time.perf_counter()
        job = request_village_statements(maker, village_id, date(2025, 12, 1), date(2026, 11, 30))
        job_id = job.id
        db.session.remove()
        render_village_statements(job_id)
        seconds = time.perf_counter() - started
        size = len(db.session.get(StatementJob, job_id).pdf or b"")
        db.session.remove()
    engine.dispose()
    context.table.add(Row(f"a village's statements PDF ({households} households)", f"{seconds:.1f} s", "", "",
                          f"request + render in process, one year, PDF {size / 1e6:.1f} MB"))
