"""Settlement at scale: a national sales day's shipments settling at once.

Every shipment of the scale district is put back to `delivered` eight days ago (untimed), then,
interleaved A/B: A is the ceiling, one raw `UPDATE shipments SET status = 'settled' …` of the
same rows in one statement; B is `settle_due`, the beat task's service (chunks of conditional
UPDATEs, the buyer's timeline events, the orders' status and settled_at, a commit per chunk).
The ratio is A's time over B's: ≥ 0.25 means settling costs at most four raw UPDATEs.
"""
import time
from datetime import timedelta

from sqlalchemy import text

from tests.perf.measure import Row

RESET = (
    "UPDATE shipments SET status = 'delivered', delivered_at = now() - interval '8 days', settled_at = NULL, "
    "delivery_confirmed_by = 'carrier' WHERE status <> 'cancelled'",
    "UPDATE orders SET settled_at = NULL, status = 'delivered' WHERE status IN ('paid', 'delivered', 'completed')",
    "DELETE FROM order_events WHERE note = 'settled'",
    "VACUUM ANALYZE shipments",
    "VACUUM ANALYZE orders",
)
RAW = ("UPDATE shipments SET status = 'settled', settled_at = now() "
       "WHERE status = 'delivered' AND delivered_at <= now() - interval '7 days' AND claim_opened_at IS NULL")


def _reset(engine):
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for statement in RESET:
            connection.execute(text(statement))


def run(context):
    from marketplace import create_app
    from marketplace.database import utcnow
    from marketplace.extensions import db
    from marketplace.orders.settlement import settle_due

    engine = context.engine()
    with engine.connect() as connection:
        shipments, lines = connection.execute(text(
            "SELECT (SELECT count(*) FROM shipments WHERE status <> 'cancelled'), (SELECT count(*) FROM order_lines)")).one()
    app = create_app({"SQLALCHEMY_DATABASE_URI": context.options.database_url, "OUTBOX_DISPATCH": False})
    raw, service = [], []
    for _pair in range(max(1, min(context.options.runs, 3))):
        _reset(engine)
        with engine.begin() as connection:
            started = time.perf_counter()
            connection.execute(text(RAW))
            raw.append(time.perf_counter() - started)
        _reset(engine)
        with app.app_context():
            started = time.perf_counter()
            settled = settle_due(now=utcnow() + timedelta(minutes=1))
            service.append(time.perf_counter() - started)
            db.session.remove()
        assert settled == shipments, f"settled {settled} of {shipments} shipments"
    engine.dispose()
    median = sorted(service)[len(service) // 2]
    ratios = sorted(a / b for a, b in zip(raw, service))
    ratio = ratios[len(ratios) // 2]
    context.table.add(Row(
        f"settle {lines:,} order lines ({shipments:,} shipments)", f"{median:.1f} s; {ratio:.3f}× raw UPDATE",
        "< 60 s; ≥ 0.25×", "met" if median < 60 and ratio >= 0.25 else "MISSED",
        f"settle_due {', '.join(f'{s:.1f}' for s in service)} s against one raw UPDATE of the same rows "
        f"{', '.join(f'{s:.1f}' for s in raw)} s (interleaved pairs); chunks of 50,000 with the orders' "
        f"status (the timeline reads settlement from the shipments)"))
