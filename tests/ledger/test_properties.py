"""Random districts, lots, orders, partial refunds, duplicated and reordered events, settlements,
cooperative deposits, payouts and period closes: after every step `ledger verify` passes (no
household, supplier or love fund below zero available, no floor money paid beyond funding) and
each order credits exactly paid − refunded.

Refunds live as at Stripe: each follows a random course (succeeded at once, pending then
succeeded or failed, succeeded then failed, failed outright), each move applied by the real
service (`apply_stripe_refund`) at a random point of the history, with its ledger task delivered
again after it; and fees Stripe reports late are posted once. After every step each order's
refunded figures agree with its refunds that did not fail, and no fee is posted twice.
"""
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.coops.models import CooperativePeriod
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger import impact_receipt
from marketplace.ledger.attribution import (
    attribute_payment, attribute_refund, post_dividends, post_late_fee, post_payout_approved,
)
from marketplace.ledger.errors import InsufficientBalance, NotReady
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.chain import seal_pending
from marketplace.ledger.figures import fold_sealed_entries, verify_town_figures
from marketplace.ledger.services import account_id, balance_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.models import Order
from marketplace.payments.models import Payment, Refund
from marketplace.payments.refunds import apply_stripe_refund
from tests.conftest import TEST_DATABASE_URL, _clean_tables
from tests.ledger.builders import District

RATES = ("0", "0.05", "0.3", "0.3333", "1")
# What Stripe says of a refund, move by move (the first is its status when created).
REFUND_COURSES = (("succeeded",), ("pending", "succeeded"), ("pending", "failed"), ("succeeded", "failed"),
                  ("failed",))


def build_district(data):
    district = District()
    households = [district.household(verified_poor=data.draw(st.booleans(), label="poor"))
                  for _ in range(data.draw(st.integers(2, 4), label="households"))]
    coops = [district.cooperative(profit_return_rate=data.draw(st.sampled_from(RATES)),
                                  dividend_rate=data.draw(st.sampled_from(RATES)),
                                  members=[(h, data.draw(st.integers(1, 3))) for h in households])
             for _ in range(data.draw(st.integers(1, 2), label="coops"))]
    owners = coops + households + [district.supplier()]
    variants = []
    for _ in range(data.draw(st.integers(1, 4), label="products")):
        owner = data.draw(st.sampled_from(owners))
        price = data.draw(st.integers(1, 3_000), label="price")
        coop_owned = owner in coops
        variant = district.variant(owner, price_fen=price, lot_units=data.draw(st.integers(1, 3)),
                                   floor_price_fen=data.draw(st.integers(0, 2 * price)) if coop_owned else None)
        variants.append(variant)
        if coop_owned:
            for _lot in range(data.draw(st.integers(0, 3), label="lots")):
                district.lot(variant, data.draw(st.sampled_from(households)), data.draw(st.integers(1, 40)))
    return district, households, coops, variants


def build_orders(data, district, variants):
    orders = []
    for _ in range(data.draw(st.integers(1, 4), label="orders")):
        chosen = data.draw(st.lists(st.sampled_from(variants), min_size=1, max_size=3, unique_by=lambda v: v.id))
        order, payment = district.paid_order(
            [(variant, data.draw(st.integers(1, 15))) for variant in chosen],
            shipping_fen=data.draw(st.integers(0, 1_000)), donation_fen=data.draw(st.integers(0, 300)))
        payment.fee_fen = data.draw(st.integers(0, min(200, order.total_fen)))
        db.session.commit()
        orders.append((order, payment))
    return orders


def build_refunds(data, district, orders):
    refunds = []
    for order, _payment in orders:
        for _ in range(data.draw(st.integers(0, 2), label="refunds")):
            quantities = {}
            for line in order.lines:
                left = line.quantity - line.refunded_quantity
                quantity = data.draw(st.integers(0, left))
                if quantity:
                    quantities[line] = quantity
            extras_left = order.shipping_fen + order.donation_fen - (
                order.refunded_fen - sum(line.refunded_fen for line in order.lines))
            extra = data.draw(st.integers(0, extras_left))
            if quantities or extra:
                refund = district.refund(order, quantities, extra_fen=extra)
                # Decided after the window (if the order has settled by then): someone bears it.
                refund.borne_by = data.draw(st.sampled_from(("", "platform", "cooperative", "supplier", "carrier")))
                db.session.commit()
                refunds.append(refund)
    return refunds


def plan_refund_courses(data, refunds):
    """Each refund starts `requested` (Stripe not asked yet): {refund id: [Stripe's statuses, in order]}."""
    courses = {}
    for refund in refunds:
        courses[refund.id] = list(data.draw(st.sampled_from(REFUND_COURSES), label="refund course"))
        refund.status = "requested"
    db.session.commit()
    return courses


def plan_late_fees(data, orders):
    """{payment id: the fee Stripe reports after the payment (on top of the one it reported with it)}."""
    late = {}
    for _order, payment in data.draw(st.lists(st.sampled_from(orders), unique_by=lambda o: o[1].id, max_size=3),
                                     label="late fees"):
        late[payment.id] = data.draw(st.integers(1, 300), label="late fee")
    return late


def stripe_moves(refund_id, courses, queue):
    """Stripe's next word on the refund, applied as a webhook would; its ledger task is sent again after it."""
    status = courses[refund_id].pop(0)
    apply_stripe_refund(SimpleNamespace(id=f"re_test_{refund_id}", status=status, metadata={},
                                        failure_reason="expired_or_canceled_card" if status == "failed" else None),
                        refund_id=refund_id)
    if status in ("succeeded", "failed"):
        queue.append(("refund", refund_id))  # published with the status change
    if courses[refund_id]:
        queue.append(("stripe", refund_id))


def run(event, district, courses=None, late_fees=None, queue=None):
    """Deliver one event the way the worker would; False if it must be retried later."""
    kind, identifier = event
    try:
        if kind == "pay":
            attribute_payment(identifier)
        elif kind == "settle":
            district.settle(db.session.get(Order, identifier))
        elif kind == "deposit":
            coop, amount_fen = identifier
            district.fund(coop, amount_fen)
        elif kind == "refund":
            attribute_refund(identifier)
        elif kind == "stripe":
            if courses[identifier]:
                stripe_moves(identifier, courses, queue)
        elif kind == "fee":
            payment = db.session.get(Payment, identifier)
            if identifier in late_fees:  # Stripe reports the fee once; the task may run many times
                payment.fee_fen += late_fees.pop(identifier)
                db.session.commit()
            post_late_fee(identifier)
        elif kind == "close":
            post_dividends(identifier)
        else:
            post_payout_approved(identifier)
            db.session.commit()
    except NotReady:
        db.session.rollback()
        return False
    except InsufficientBalance:
        db.session.rollback()
    return True


def assert_ledger_holds(orders):
    seal_pending()  # the beat's sealer: every entry chained, so verify recomputes the whole chain
    fold_sealed_entries()  # the same task then folds them into the towns' public figures
    assert verify_town_figures() == []  # kept figures equal the postings summed anew, after any history
    report = verify_ledger()
    assert report.ok, report.violations
    assert report.counts["entries_awaiting_seal"] == 0 and report.counts["chain_links"] == report.counts["entries"]
    assert not any(name.startswith("not_rederived") for name in report.counts)
    for order, payment in orders:
        db.session.refresh(order)
        receipt = impact_receipt(order.id)
        if receipt.attributed:
            refunded = sum(r.amount_fen for r in db.session.query(Refund).filter_by(order_id=order.id)
                           if db.session.query(JournalEntry).filter_by(refund_id=r.id, rule="refund_paid").count()
                           - db.session.query(JournalEntry).filter_by(refund_id=r.id, rule="refund_failed").count())
            assert receipt.total_fen == payment.amount_fen - refunded
        live = [r for r in db.session.query(Refund).filter_by(order_id=order.id)
                if r.status not in ("failed", "canceled")]
        assert order.refunded_fen == sum(r.amount_fen for r in live)
        for line in order.lines:
            assert line.refunded_quantity == sum(rl.quantity for r in live for rl in r.lines
                                                 if rl.order_line_id == line.id)
        if order.refunded_fen == order.total_fen:
            assert order.status == "refunded"
        elif order.settled_at is not None:  # its shipments settled: completed, or reopened by a failed refund
            assert order.status in ("completed", "partially_refunded", "paid")
        else:
            assert order.status == ("partially_refunded" if order.refunded_fen else "paid")
        for refund in db.session.query(Refund).filter_by(order_id=order.id):
            posted = db.session.query(JournalEntry).filter_by(refund_id=refund.id, rule="refund_paid").count()
            unposted = db.session.query(JournalEntry).filter_by(refund_id=refund.id, rule="refund_failed").count()
            assert posted - unposted in (0, 1)  # reversed at most once, and unreversed at most once
            # Nothing reversed before Stripe said succeeded (a failed one may wait for its task to unreverse it).
            assert not (posted and refund.status not in ("succeeded", "failed", "canceled"))
    attributed_fees = sum(payment.fee_fen for _order, payment in orders
                          if db.session.query(JournalEntry).filter_by(idempotency_key=f"pay:{payment.id}").count())
    assert balance_fen(account_id("payment_fees")) <= attributed_fees  # a late fee may still be on its way, never twice


# Fewer examples on PostgreSQL, where each history starts with a TRUNCATE of every table.
@settings(max_examples=15 if TEST_DATABASE_URL else 30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_every_random_history_keeps_every_invariant(app_ctx, data):
    _clean_tables()
    district, households, coops, variants = build_district(data)
    orders = build_orders(data, district, variants)
    refunds = build_refunds(data, district, orders)
    courses = plan_refund_courses(data, refunds)
    late_fees = plan_late_fees(data, orders)
    events = [("pay", payment.id) for _order, payment in orders] + [("refund", refund.id) for refund in refunds]
    events += [("stripe", refund.id) for refund in refunds] + [("fee", payment_id) for payment_id in late_fees]
    today = utcnow().date()
    for coop in data.draw(st.lists(st.sampled_from(coops), unique_by=lambda c: c.id), label="closing"):
        period = district.add(CooperativePeriod(cooperative_id=coop.id, period_start=date(2020, 1, 1),
                                                period_end=today, dividend_rate=Decimal("0.5")))
        events.append(("close", period.id))
    for household in data.draw(st.lists(st.sampled_from(households), max_size=3), label="payouts"):
        events.append(("payout", district.payout_item(household, amount_fen=data.draw(st.integers(1, 60_000))).id))
    supplier = district.supplier_of_district
    for _payout in range(data.draw(st.integers(0, 2), label="supplier payouts")):
        events.append(("payout", district.payout_item(supplier=supplier,
                                                      amount_fen=data.draw(st.integers(1, 20_000))).id))
    for order, _payment in data.draw(st.lists(st.sampled_from(orders), unique_by=lambda o: o[0].id), label="settle"):
        events.append(("settle", order.id))
    for coop in data.draw(st.lists(st.sampled_from(coops), max_size=2), label="deposits"):
        events.append(("deposit", (coop, data.draw(st.integers(1, 40_000)))))
    db.session.commit()
    events += data.draw(st.lists(st.sampled_from(events), max_size=6), label="duplicates")
    queue = list(data.draw(st.permutations(events), label="delivery order"))

    for _attempt in range(8 * len(queue) + 1):
        if not queue:
            break
        event = queue.pop(0)
        if not run(event, district, courses, late_fees, queue):
            queue.append(event)  # redelivered later, as a retry would
        assert_ledger_holds(orders)
    assert not queue
    attributed = {o.id for o, _ in orders if impact_receipt(o.id).attributed}
    assert attributed == {o.id for o, _ in orders}
    # Every refund ended as Stripe said, every fee Stripe reported is posted exactly once.
    for refund in db.session.query(Refund):
        posted = db.session.query(JournalEntry).filter_by(refund_id=refund.id, rule="refund_paid").count()
        unposted = db.session.query(JournalEntry).filter_by(refund_id=refund.id, rule="refund_failed").count()
        assert posted - unposted == (1 if refund.status == "succeeded" else 0)
    assert balance_fen(account_id("payment_fees")) == sum(payment.fee_fen for payment in db.session.query(Payment))
