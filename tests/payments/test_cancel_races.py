"""On PostgreSQL: buyers cancelling right after paying, while the attribution task runs, and
double-clicking cancel. No deadlock reaches the buyer as a 500, Stripe refunds each order exactly
once (counted on the local Stripe server), and every order's status agrees with its refunds."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from marketplace.catalog.models import Variant
from tests.demo_copy import seed_demo
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.cart import add_item, open_cart
from marketplace.orders.checkout import Delivery, place_order
from marketplace.orders.models import Order, OrderLine
from marketplace.outbox.models import OutboxMessage
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment, Refund
from marketplace.payments.refunds import send_refund
from marketplace.payments.settlement import settle_payment_intent
from marketplace.people.models import User

pytestmark = pytest.mark.postgres
RACES = 200
DOUBLE_CLICKS = 50
THREADS = 24
DELIVERY = Delivery(kind="address", recipient_name="退单", recipient_phone="13800000000", address="某路 2 号")


def paid_orders_awaiting_attribution(app, count, prefix):
    """`count` buyers, each with an order of one pear paid at Stripe (localstripe), its attribution
    published but not yet run: [(buyer's session id, order public no, payment id)]."""
    with app.app_context():
        seed_demo()
        pear = db.session.scalar(select(Variant).where(Variant.sku == "PEAR-5J"))
        pear.stock_available = 10 * count
        buyers = [User(email=f"{prefix}{n}@example.cn", name=f"买家{n}", password_hash="unusable", role="buyer")
                  for n in range(count)]
        db.session.add_all(buyers)
        db.session.commit()
        pear_id, buyer_ids = pear.id, [buyer.id for buyer in buyers]
        session_ids = {buyer.id: buyer.get_id() for buyer in buyers}
        method_id = stripe_gateway.create_test_card_payment_method().id
        db.session.remove()

    def buy_and_pay(buyer_id):
        with app.app_context():
            try:
                cart = open_cart(user_id=buyer_id)
                add_item(cart.id, pear_id, 1)
                order = place_order(cart.id, buyer_id, DELIVERY)
                order_id, order_no, total = order.id, order.public_no, order.total_fen
                db.session.commit()
                intent = stripe_gateway.create_payment_intent(total, f"race:{order_id}", {"order_id": str(order_id)},
                                                              payment_method=method_id)
                payment = Payment(order_id=order_id, stripe_payment_intent_id=intent.id, amount_fen=total,
                                  status=intent.status)
                db.session.add(payment)
                db.session.commit()
                payment_id = payment.id
                stripe_gateway.confirm_payment_intent(intent.id)
                assert settle_payment_intent(intent.id) == "paid"
                return session_ids[buyer_id], order_no, payment_id
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(buy_and_pay, buyer_ids))


def signed_in(app, session_user_id):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_user_id
        session["_fresh"] = True
    return client


def race(app, paid, clicks):
    """For each paid order at once: the attribution task and `clicks` cancels by its buyer.

    Returns (cancel response statuses, attribution deadlocks)."""
    statuses, deadlocks = [], []

    def attribute(payment_id, start):
        start.wait(timeout=30)
        with app.app_context():
            try:
                attribute_payment(payment_id)
            except DBAPIError as error:  # the task would retry; a deadlock is what must not happen
                deadlocks.append(str(error.orig))
                db.session.rollback()
            finally:
                db.session.remove()

    def cancel(client, order_no, start):
        start.wait(timeout=30)
        statuses.append(client.post(f"/orders/{order_no}/cancel").status_code)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = []
        for session_user_id, order_no, payment_id in paid:
            start = threading.Barrier(1 + clicks)
            client = signed_in(app, session_user_id)
            futures.append(pool.submit(attribute, payment_id, start))
            futures += [pool.submit(cancel, client, order_no, start) for _ in range(clicks)]
        for future in futures:
            future.result()
    return statuses, deadlocks


def send_every_refund_twice(app):
    """The worker: each `payments.send_refund` message delivered twice (a late ack), many at once."""
    with app.app_context():
        refund_ids = [message.kwargs["refund_id"] for message in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task_name == "payments.send_refund"))]
        db.session.remove()

    return refund_ids, in_threads(app, send_refund, refund_ids + refund_ids)


def in_threads(app, service, ids):
    """`service(id)` for every id, eight at a time, each in its own app context and session."""
    def call(identifier):
        with app.app_context():
            try:
                return service(identifier)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(call, ids))


def stripe_refunds_per_order(payment_intents):
    """What localstripe itself holds: {PaymentIntent id: [refund amounts]}."""
    return {intent: [refund.amount for refund in stripe_gateway._client().v1.refunds.list(
        params={"payment_intent": intent, "limit": 100}).auto_paging_iter()] for intent in payment_intents}


def orders_that_disagree_with_their_refunds():
    """Orders whose status or refunded figures are not what their refunds say."""
    wrong = []
    for order in db.session.scalars(select(Order).where(Order.paid_at.is_not(None))):
        live = db.session.scalars(select(Refund).where(Refund.order_id == order.id,
                                                       Refund.status.not_in(("failed", "canceled")))).all()
        lines_refunded = db.session.scalar(select(func.coalesce(func.sum(OrderLine.refunded_fen), 0))
                                           .where(OrderLine.order_id == order.id))
        agrees = (order.status == "cancelled" and len(live) == 1 and live[0].amount_fen == order.total_fen
                  and order.refunded_fen == order.total_fen and lines_refunded == order.subtotal_fen)
        if not agrees:
            wrong.append((order.public_no, order.status, order.refunded_fen, [r.amount_fen for r in live]))
    return wrong


def check_everything_refunded_once(app, paid, statuses, deadlocks, clicks):
    assert deadlocks == []
    assert statuses.count(500) == 0, f"{statuses.count(500)} cancels answered 500"
    assert sorted(set(statuses)) == [303] and len(statuses) == clicks * len(paid)
    refund_ids, outcomes = send_every_refund_twice(app)
    assert len(refund_ids) == len(paid)
    assert sorted(set(outcomes)) == ["succeeded", "unchanged"]
    with app.app_context():
        intents = {payment.stripe_payment_intent_id: payment.amount_fen
                   for payment in db.session.scalars(select(Payment))}
        at_stripe = stripe_refunds_per_order(intents)
        assert {intent: amounts for intent, amounts in at_stripe.items() if amounts != [intents[intent]]} == {}
        db.session.remove()
    in_threads(app, attribute_refund, refund_ids)  # the ledger tasks
    with app.app_context():
        assert orders_that_disagree_with_their_refunds() == []
        report = verify_ledger()
        assert report.ok, report.violations[:5]
        db.session.remove()
    print(f"\n{len(paid)} orders, {len(statuses)} cancels: {statuses.count(500)} answered 500, "
          f"{len(deadlocks)} attribution deadlocks, {sum(len(a) for a in at_stripe.values())} Stripe refunds")


def test_two_hundred_cancels_right_after_paying_refund_each_order_once(app, stripe_server):
    paid = paid_orders_awaiting_attribution(app, RACES, "paid-then-cancel")
    statuses, deadlocks = race(app, paid, clicks=1)
    check_everything_refunded_once(app, paid, statuses, deadlocks, clicks=1)


def test_fifty_double_clicked_cancels_refund_each_order_once(app, stripe_server):
    paid = paid_orders_awaiting_attribution(app, DOUBLE_CLICKS, "double-click")
    statuses, deadlocks = race(app, paid, clicks=2)
    check_everything_refunded_once(app, paid, statuses, deadlocks, clicks=2)
