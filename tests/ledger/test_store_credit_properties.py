"""Random histories of store credit: credit issued by refunds to store credit, checkouts that apply
it (covering the order whole or in part), card payments of the rest, cancellations of unpaid
orders, and refunds of paid ones (to the card first, the rest back to credit) — each step through
the real services. After every step the buyer's credit is never below zero, what is held never
exceeds it, and `ledger verify` is clean (store credit = issued − spent, orders = paid − refunded)."""
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace.catalog.models import Product, Variant
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.ledger.rules.store_credit import held_store_credit_fen, store_credit_fen
from marketplace.orders.cancellation import cancel_order
from marketplace.orders.checkout import pay_with_test_card
from marketplace.orders.models import Order
from marketplace.payments.models import Payment, Refund
from marketplace.payments.refunds import apply_stripe_refund, refund_order
from tests.conftest import TEST_DATABASE_URL, _clean_tables
from tests.ledger.builders import number
from tests.ledger.test_claims import assert_ledger_clean
from tests.ledger.test_properties import build_district
from tests.ledger.test_store_credit_spending import checkout, give_credit

STEPS = ("issue", "checkout", "checkout", "pay", "pay", "cancel", "refund", "refund")


def settle_refunds(order_id):
    """Stripe says every card refund of the order succeeded; then rule 8 posts each refund once."""
    for refund in db.session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)).all():
        if refund.method == "original" and refund.status == "requested":
            apply_stripe_refund(SimpleNamespace(id=f"re_{number()}", status="succeeded", metadata={}),
                                refund_id=refund.id)
        attribute_refund(refund.id)


@settings(max_examples=8 if TEST_DATABASE_URL else 15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_store_credit_histories_keep_every_invariant(app_ctx, stripe_server, data):
    _clean_tables()
    district, households, _coops, variants = build_district(data)
    uplink = [v for v in variants if db.session.get(Product, v.product_id).direction == "uplink"]
    uplink = uplink or [district.variant(households[0], price_fen=data.draw(st.integers(1, 3_000)))]
    buyer = district.user("buyer")
    orders = []
    for step in data.draw(st.lists(st.sampled_from(STEPS), min_size=3, max_size=10), label="steps"):
        if step == "issue":
            give_credit(district, buyer, data.draw(st.integers(1, 8_000), label="credit"))
        elif step == "checkout":
            variant = db.session.get(Variant, data.draw(st.sampled_from(uplink)).id)
            orders.append(checkout(buyer, variant, data.draw(st.integers(1, 5), label="units"),
                                   use_store_credit=data.draw(st.booleans(), label="use credit")).id)
        elif orders:
            order = db.session.get(Order, data.draw(st.sampled_from(orders)))
            if step == "pay" and order.status == "pending_payment":
                pay_with_test_card(order.id)
                attribute_payment(db.session.scalar(select(Payment.id).where(Payment.order_id == order.id)))
            elif step == "cancel" and order.status == "pending_payment":
                cancel_order(order.public_no, buyer.id)
            elif step == "refund" and order.paid_at is not None:
                left = {line.id: line.quantity - line.refunded_quantity for line in order.lines
                        if line.quantity > line.refunded_quantity}
                if left:
                    line_id = data.draw(st.sampled_from(sorted(left)))
                    try:
                        refund_order(order.id, {line_id: data.draw(st.integers(1, left[line_id]))}, buyer.id,
                                     restock=data.draw(st.booleans()))
                    except DomainError:
                        db.session.rollback()
                    settle_refunds(order.id)
        balance, held = store_credit_fen(buyer.id), held_store_credit_fen(buyer.id)
        assert balance >= 0 and 0 <= held <= balance, (balance, held)
        card = db.session.scalar(select(func.coalesce(func.sum(Payment.amount_fen), 0)))
        assert card >= 0
        assert_ledger_clean()
