"""Refunds as Stripe really runs them: recorded first and sent once, reversed in the ledger only
when Stripe says succeeded, given back to the order (and unreversed) when Stripe fails them; and
a fee Stripe reports after attribution posted once. Against the local Stripe stand-in, which
emulates Stripe's refund test cards (see marketplace/payments/local_stripe_server.py)."""
import json
import time
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from sqlalchemy import func, select

from marketplace.audit.models import AuditLog
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund, post_late_fee
from marketplace.ledger.errors import NotReady
from marketplace.ledger.models import JournalEntry, Posting
from marketplace.ledger.services import account_id, balance_fen
from marketplace.ledger.verify import verify_ledger
from marketplace.orders.checkout import start_payment
from marketplace.orders.models import Order, OrderEvent
from marketplace.outbox.models import OutboxMessage
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment, Refund
from marketplace.payments.refunds import refund_order, send_refund
from marketplace.payments.settlement import settle_payment_intent
from marketplace.reconciliation.models import StripeBalanceRecord
from marketplace.reconciliation.services import sync_with_stripe
from tests.storefront.conftest import post_and_apply


PAYMENT_METHODS = ("card", "wechat_pay", "alipay")


def paid(app, order, card=stripe_gateway.TEST_CARD["number"], method="card"):
    """The order paid with `card` (one of Stripe's test cards), or with WeChat Pay / Alipay (the
    stand-in's simulated scan), and attributed; its PaymentIntent id."""
    with app.app_context():
        if method == "card":
            card_method = stripe_gateway.create_test_card_payment_method(card)
            payment, intent = start_payment(order.id, payment_method=card_method.id)
            stripe_gateway.confirm_payment_intent(intent.id)
        else:
            payment, intent = start_payment(order.id)
            stripe_gateway.confirm_wallet_payment(intent.id, method, "http://127.0.0.1:9/back")
            stripe_gateway.simulate_wallet(intent.id, "succeed")
        assert settle_payment_intent(intent.id) == "paid"
        attribute_payment(db.session.scalar(select(Payment.id).where(Payment.order_id == order.id)))
        db.session.remove()
    return intent.id


def send_event(app, client, event_type, obj, event_id):
    """A Stripe event about `obj`, signed with the library's own scheme, posted to our webhook."""
    payload = json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}})
    header = stripe_gateway.sign_payload_for_tests(payload, app.config["STRIPE_WEBHOOK_SECRET"], int(time.time()))
    response = post_and_apply(app, client, payload, header, event_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["outcome"]


def stripe_config(stripe_server, path, **fields):
    """The stand-in's "some time later" (a refund moves on; a fee becomes known)."""
    data = urlencode(fields).encode() if fields else b""
    return json.loads(urlopen(Request(f"{stripe_server}/_config/{path}", data=data, method="POST"), timeout=5).read())


def the_refund(order):
    return db.session.scalar(select(Refund).where(Refund.order_id == order.id))


def refund_entries(refund_id):
    return db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.refund_id == refund_id))


def household_credits(order):
    """Every recipient of the order's sales (households, cooperatives, shipping…), as one figure the
    buyer's money makes up: what the order's entries left on sales_pending and stripe_receivable."""
    held = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0)).join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.order_id == order.id,
               Posting.account_id.in_([account_id("sales_pending"), account_id("stripe_receivable")])))
    return -int(held)


def stripe_refunds(intent_id):
    return list(stripe_gateway._client().v1.refunds.list(params={"payment_intent": intent_id}).auto_paging_iter())


@pytest.mark.parametrize("method", PAYMENT_METHODS)
def test_a_cancel_records_the_refund_first_and_stripe_refunds_once_however_often_it_is_sent(
        shopper, app, client, stripe_server, method):
    order = shopper.buy("PEAR-5J", 2)
    intent_id = paid(app, order, method=method)
    assert client.post(f"/orders/{order.public_no}/cancel").status_code == 303
    assert client.post(f"/orders/{order.public_no}/cancel").status_code == 303  # the double click
    with app.app_context():
        refund = the_refund(order)
        assert (refund.status, refund.stripe_refund_id) == ("requested", None)  # committed before Stripe is asked
        assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
        assert stripe_refunds(intent_id) == []
        assert send_refund(refund.id) == "succeeded"
        assert send_refund(refund.id) == "unchanged"  # the task delivered twice
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.task_name == "ledger.attribute_refund")) == 1
        # A retry that never learned the first run's answer (it crashed before committing it):
        refund = the_refund(order)
        refund.status, refund.stripe_refund_id = "requested", None
        db.session.commit()
        send_refund(refund.id)
        send_refund(refund.id)
        assert len(stripe_refunds(intent_id)) == 1
        assert the_refund(order).status == "succeeded"
        db.session.remove()


def test_a_pending_refund_posts_nothing_until_stripe_says_it_succeeded(shopper, app, client, stripe_server):
    order = shopper.buy("PEAR-5J", 2)
    paid(app, order, card=stripe_gateway.REFUND_PENDING_CARD)
    client.post(f"/orders/{order.public_no}/cancel")
    with app.app_context():
        refund = the_refund(order)
        assert send_refund(refund.id) == "waiting"
        refund = the_refund(order)
        assert refund.status == "pending"
        with pytest.raises(NotReady):
            attribute_refund(refund.id)
        db.session.rollback()
        assert refund_entries(refund.id) == 0
        assert verify_ledger().ok
        refund_id, stripe_refund_id = refund.id, refund.stripe_refund_id
        db.session.remove()
    stripe_config(stripe_server, f"refunds/{stripe_refund_id}/advance")
    refund_object = {"id": stripe_refund_id, "object": "refund"}
    assert send_event(app, client, "charge.refund.updated", refund_object, "evt_refund_ok") == "succeeded"
    assert send_event(app, client, "refund.updated", refund_object, "evt_refund_ok_2") == "unchanged"
    assert send_event(app, client, "charge.refund.updated", refund_object, "evt_refund_ok") == "duplicate"
    with app.app_context():
        attribute_refund(refund_id)
        assert refund_entries(refund_id) > 0
        assert household_credits(order) == 0  # everything the buyer paid went back
        assert verify_ledger().ok
        db.session.remove()


def test_a_refund_stripe_fails_reverses_nothing_and_gives_the_order_back(shopper, app, client, stripe_server):
    order = shopper.buy("PEAR-5J", 3)
    paid(app, order, card=stripe_gateway.REFUND_FAILS_CARD)
    with app.app_context():
        staff_refund = refund_order(order.id, {db.session.get(Order, order.id).lines[0].id: 1}, None, restock=False)
        assert db.session.get(Order, order.id).status == "partially_refunded"
        assert send_refund(staff_refund.id) == "succeeded"  # Stripe's refund-fail card: succeeded first…
        credits_before = household_credits(order)
        stripe_refund_id, refund_id = the_refund(order).stripe_refund_id, staff_refund.id
        db.session.remove()
    stripe_config(stripe_server, f"refunds/{stripe_refund_id}/advance")  # … then failed
    assert send_event(app, client, "refund.failed", {"id": stripe_refund_id, "object": "refund"}, "evt_f") == "failed"
    with app.app_context():
        attribute_refund(refund_id)  # the task published when it succeeded, delivered late
        attribute_refund(refund_id)  # and the one published when it failed
        current = db.session.get(Order, order.id)
        assert (current.status, current.refunded_fen, current.lines[0].refunded_quantity) == ("paid", 0, 0)
        assert (the_refund(order).status, refund_entries(refund_id)) == ("failed", 0)
        assert household_credits(order) == credits_before
        assert verify_ledger().ok
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "payments.refund_failed"))
        assert audit.details["failure_reason"] == "expired_or_canceled_card"
        db.session.remove()
    page = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    assert "退款失败" in page and "已申请退款" in page
    english = client.get(f"/orders/{order.public_no}?lang=en").get_data(as_text=True)
    assert "The refund to your card failed" in english


def test_a_failed_refund_of_a_whole_unpacked_order_reopens_it_and_takes_its_goods_back_out_of_stock(
        shopper, app, client, stripe_server):
    from marketplace.catalog.models import Variant
    from marketplace.orders.models import Shipment

    order = shopper.buy("PEAR-5J", 3)
    paid(app, order, card=stripe_gateway.REFUND_FAILS_CARD)
    with app.app_context():
        line = db.session.get(Order, order.id).lines[0]
        variant_id, stock_after_sale = line.variant_id, db.session.get(Variant, line.variant_id).stock_available
        refund = refund_order(order.id, {line.id: 3}, None, restock=True)
        assert db.session.get(Variant, variant_id).stock_available == stock_after_sale + 3
        assert {shipment.status for shipment in db.session.get(Order, order.id).shipments} == {"cancelled"}
        assert send_refund(refund.id) == "succeeded"
        stripe_refund_id = the_refund(order).stripe_refund_id
        db.session.remove()
    stripe_config(stripe_server, f"refunds/{stripe_refund_id}/advance")
    assert send_event(app, client, "refund.failed", {"id": stripe_refund_id, "object": "refund"}, "evt_rf") == "failed"
    with app.app_context():
        current = db.session.get(Order, order.id)
        # The buyer still has their money's worth to come: the order is to pack again, its goods reserved.
        assert (current.status, current.refunded_fen) == ("paid", 0)
        assert {shipment.status for shipment in current.shipments} == {"open"}
        assert db.session.get(Variant, variant_id).stock_available == stock_after_sale
        assert db.session.scalar(select(func.count()).select_from(Shipment).where(
            Shipment.order_id == order.id, Shipment.status == "open")) == 1
        db.session.remove()


def test_a_refund_that_fails_after_it_was_reversed_is_unreversed_once(shopper, app, client, stripe_server):
    order = shopper.buy("PEAR-5J", 2, round_up="y")
    paid(app, order, card=stripe_gateway.REFUND_FAILS_CARD)
    with app.app_context():
        credits_paid = household_credits(order)
        db.session.remove()
    client.post(f"/orders/{order.public_no}/cancel")
    with app.app_context():
        refund_id = the_refund(order).id
        send_refund(refund_id)
        attribute_refund(refund_id)
        assert household_credits(order) == 0
        stripe_refund_id = the_refund(order).stripe_refund_id
        db.session.remove()
    stripe_config(stripe_server, f"refunds/{stripe_refund_id}/advance")
    refund_object = {"id": stripe_refund_id, "object": "refund"}
    assert send_event(app, client, "charge.refund.updated", refund_object, "evt_1") == "failed"
    assert send_event(app, client, "refund.failed", refund_object, "evt_2") == "unchanged"
    with app.app_context():
        for _delivery in range(3):
            attribute_refund(refund_id)
        assert household_credits(order) == credits_paid  # everyone has their share of the sale again
        assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.idempotency_key == f"refund:{refund_id}:failed")) == 1
        current = db.session.get(Order, order.id)
        assert (current.status, current.refunded_fen) == ("cancelled", 0)  # the buyer's cancel stands; money owed
        assert verify_ledger().ok, verify_ledger().violations
        assert [event.note for event in db.session.scalars(select(OrderEvent).where(
            OrderEvent.order_id == order.id).order_by(OrderEvent.id))][-2:] == ["refunded", "refund_failed"]
        db.session.remove()
    page = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    assert "退款失败" in page


@pytest.mark.parametrize("method", PAYMENT_METHODS)
def test_a_fee_stripe_reports_after_attribution_posts_once_however_often_reported(shopper, app, client,
                                                                                 stripe_server, method):
    order = shopper.buy("PEAR-5J", 1)
    intent_id = paid(app, order, method=method)
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))
        assert payment.payment_method_type == method  # Stripe's fee differs by method: each is recorded
        payment_id, charge_id = payment.id, payment.stripe_charge_id
        assert (payment.fee_fen, balance_fen(account_id("payment_fees"))) == (0, 0)  # localstripe: no fee yet
        db.session.remove()
    stripe_config(stripe_server, f"charges/{charge_id}/fee", fee=137)
    charge = {"id": charge_id, "object": "charge", "payment_intent": intent_id}
    outcomes = [send_event(app, client, "charge.updated", charge, "evt_fee"),
                send_event(app, client, "charge.updated", charge, "evt_fee"),
                send_event(app, client, "charge.updated", charge, "evt_fee_again"),
                send_event(app, client, "payment_intent.succeeded", {"id": intent_id, "object": "payment_intent"},
                           "evt_replayed")]
    assert outcomes == ["late_fee", "duplicate", "unchanged", "unchanged"]
    with app.app_context():
        for _delivery in range(3):
            post_late_fee(payment_id)
        assert db.session.get(Payment, payment_id).fee_fen == 137
        assert balance_fen(account_id("payment_fees")) == 137
        late = db.session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == f"fee:{payment_id}:late"))
        assert late.rule_settings["borne_by"] == "platform" and late.rule_settings["fee_fen"] == 137
        assert verify_ledger().ok
        # Reconciliation finds Stripe's fee, the payment's and the ledger's (with its late part) in agreement.
        sync_with_stripe()
        charge_record = db.session.scalar(select(StripeBalanceRecord).where(
            StripeBalanceRecord.reporting_category == "charge"))
        assert (charge_record.fee, charge_record.matched) == (137, True)
        db.session.remove()
