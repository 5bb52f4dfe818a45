"""Batched attribution: many payments in one transaction post exactly what they post one by one, once."""
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from marketplace.catalog.models import SupplyLot
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_payments
from marketplace.ledger.errors import NotReady
from marketplace.ledger.models import Account, JournalEntry, LotAllocation, Posting
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.models import Order
from tests.conftest import TEST_DATABASE_URL, _clean_tables
from tests.ledger.test_properties import build_district, build_orders


def ledger_and_lots():
    """Everything attribution wrote, without the ids a database assigns (sequences do not roll back)."""
    accounts = {account.id: (account.kind, account.owner_type, account.owner_id)
                for account in db.session.scalars(select(Account))}
    entries = {}
    for entry in db.session.scalars(select(JournalEntry).where(JournalEntry.rule != "floor_purchase")):
        postings = sorted((accounts[p.account_id], p.amount_fen) for p in entry.postings)
        entries[entry.idempotency_key] = (entry.rule, entry.rule_settings, entry.memo, entry.order_id,
                                          entry.order_line_id, postings)
    allocations = sorted((a.order_line_id, a.lot_id, a.household_id, a.lot_units, a.floor_price_fen)
                         for a in db.session.scalars(select(LotAllocation)))
    lots = sorted(db.session.execute(select(SupplyLot.id, SupplyLot.quantity_remaining)).all())
    return entries, allocations, lots


def attributed_without_committing(monkeypatch, attribute):
    """Run `attribute()` with its commits turned into flushes; what it wrote, then rolled back."""
    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", db.session.flush)
        attribute()
        written = ledger_and_lots()
        db.session.rollback()
    return written


@settings(max_examples=10 if TEST_DATABASE_URL else 25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_batch_posts_exactly_what_its_payments_post_one_by_one(app_ctx, monkeypatch, data):
    _clean_tables()
    district, _households, _coops, variants = build_district(data)
    orders = build_orders(data, district, variants) + build_orders(data, district, variants)
    payment_ids = sorted(payment.id for _order, payment in orders)
    cut = data.draw(st.integers(0, len(payment_ids)), label="first batch")

    one_by_one = attributed_without_committing(
        monkeypatch, lambda: [attribute_payment(payment_id) for payment_id in payment_ids])
    in_batches = attributed_without_committing(
        monkeypatch, lambda: (attribute_payments(payment_ids[:cut]), attribute_payments(payment_ids[cut:])))

    assert in_batches == one_by_one
    assert len(one_by_one[0]) >= 2 * len(payment_ids)  # every payment posted, with at least its lines


def grain_and_eggs(district, orders=3, lot_size=10):
    grower, seller = district.household(), district.household(verified_poor=False)
    coop = district.cooperative(profit_return_rate="0.3", members=[(grower, 1), (seller, 1)])
    grain = district.variant(coop, price_fen=900, floor_price_fen=500)
    district.lot(grain, grower, lot_size)
    district.lot(grain, seller, lot_size)
    eggs = district.variant(seller, price_fen=1_000)
    return [district.paid_order([(grain, 2 + n), (eggs, 1)], shipping_fen=300, donation_fen=50, fee_fen=20)[1]
            for n in range(orders)]


def test_attributing_a_batch_twice_posts_once(district):
    payments = grain_and_eggs(district)
    ids = [payment.id for payment in payments]

    first = attribute_payments(ids)
    written = (db.session.query(JournalEntry).count(), db.session.query(Posting).count(),
               db.session.query(LotAllocation).count())
    again = attribute_payments(ids + ids)

    assert first.posted == ids and again.posted == [] and again.already == ids
    assert (db.session.query(JournalEntry).count(), db.session.query(Posting).count(),
            db.session.query(LotAllocation).count()) == written
    assert attribute_payment(ids[0]).idempotency_key == f"pay:{ids[0]}"
    assert verify_ledger().ok


def test_a_payment_that_cannot_be_attributed_leaves_the_rest_of_its_batch_to_post(district):
    ready, waiting = grain_and_eggs(district, orders=2)
    waiting.status = "processing"
    db.session.commit()

    outcome = attribute_payments([ready.id, waiting.id, 999_999])

    assert outcome.posted == [ready.id]
    assert isinstance(outcome.refused[waiting.id], NotReady)
    assert outcome.refused[999_999].code == "not_found"
    assert outcome.finished() == [ready.id, 999_999]  # the waiting one is tried again later
    assert db.session.scalar(select(JournalEntry.id).where(JournalEntry.idempotency_key == f"pay:{waiting.id}")) is None


def test_a_batch_issues_a_fixed_number_of_statements_whatever_its_size(district):
    ids = [payment.id for payment in grain_and_eggs(district, orders=41, lot_size=1_000)]
    attribute_payment(ids.pop())  # the accounts exist from now on
    statements = []
    def listener(_connection, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        attribute_payments(ids[:5])
        small = len(statements)
        statements.clear()
        attribute_payments(ids[5:])
        large = len(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert large == small, "a statement per order crept in"
    assert large <= 20


@pytest.mark.postgres
def test_overlapping_batches_running_at_once_post_each_payment_once_without_deadlock(app, district):
    payments = grain_and_eggs(district, orders=30)
    ids = [payment.id for payment in payments]
    batches = [ids[:20], ids[10:], list(reversed(ids)), ids[5:25], ids]
    start, failures, threads = threading.Barrier(len(batches)), [], []

    def attribute(batch):
        with app.app_context():
            try:
                start.wait()
                attribute_payments(batch)
            except Exception as error:  # noqa: BLE001 - any failure (a deadlock above all) fails the test
                failures.append(error)
            finally:
                db.session.remove()

    for batch in batches:
        threads.append(threading.Thread(target=attribute, args=(batch,)))
        threads[-1].start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    keys = db.session.scalars(select(JournalEntry.idempotency_key).where(JournalEntry.idempotency_key.like("pay:%")))
    assert sorted(keys) == sorted(f"pay:{pid}" for pid in ids)
    sold = sum(line.quantity for payment in payments for line in db.session.get(Order, payment.order_id).lines
               if line.seller_kind == "cooperative")
    assert sum(a.lot_units for a in db.session.scalars(select(LotAllocation))) == min(sold, 20)
    assert verify_ledger().ok
