import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.orders.checkout import start_payment
from marketplace.orders.models import Order
from marketplace.outbox.models import OutboxMessage
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment, StripeEvent
from tests.storefront.conftest import PAYMENT_METHODS, send_event, signed_event, stock_of


def payment_intent_for(app, order, confirm=True, method="card"):
    """What the buyer's browser and phone do: a PaymentIntent made by the server, then confirmed
    by card (Stripe.js), or confirmed with WeChat Pay / Alipay and, with `confirm`, scanned and paid
    on the phone (the local stand-in's simulated scan). Unconfirmed, a wallet's QR stays open."""
    with app.app_context():
        if method == "card":
            card = stripe_gateway.create_test_card_payment_method() if confirm else None
            payment, intent = start_payment(order.id, payment_method=card.id if card else None)
            if confirm:
                stripe_gateway.confirm_payment_intent(intent.id)
        else:
            payment, intent = start_payment(order.id)
            stripe_gateway.confirm_wallet_payment(intent.id, method, "http://127.0.0.1:9/back")
            if confirm:
                stripe_gateway.simulate_wallet(intent.id, "succeed")
        db.session.remove()
        return intent.id


def state(app, order):
    with app.app_context():
        current = db.session.get(Order, order.id)
        found = (current.status,
                 db.session.scalar(select(func.count()).select_from(Payment)),
                 db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.task_name == "ledger.attribute_payment")))
        db.session.remove()
        return found


def test_unsigned_and_mis_signed_webhooks_are_refused_and_change_nothing(shopper, app, client, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    intent_id = payment_intent_for(app, order)
    payload, header = signed_event(app, "payment_intent.succeeded", intent_id, "evt_forged")
    unsigned = client.post("/stripe/webhook", data=payload, content_type="application/json")
    wrong_secret = stripe_gateway.sign_payload_for_tests(payload, "whsec_someone_else", int(__import__("time").time()))
    mis_signed = client.post("/stripe/webhook", data=payload, headers={"Stripe-Signature": wrong_secret},
                             content_type="application/json")
    tampered = client.post("/stripe/webhook", data=payload.replace("evt_forged", "evt_other"),
                           headers={"Stripe-Signature": header}, content_type="application/json")
    assert [unsigned.status_code, mis_signed.status_code, tampered.status_code] == [400, 400, 400]
    assert state(app, order) == ("pending_payment", 1, 0)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0


@pytest.mark.parametrize("method", PAYMENT_METHODS)
def test_webhook_three_times_and_out_of_order_pays_once_and_attributes_once(shopper, app, client, stripe_server,
                                                                            celery_worker, method):
    order = shopper.buy("PEAR-5J", 2)
    intent_id = payment_intent_for(app, order, method=method)
    outcomes = [send_event(app, client, "payment_intent.succeeded", intent_id, "evt_succeeded").get_json()["outcome"]]
    # An older failure event delivered late: Stripe's current state (succeeded) wins.
    outcomes.append(send_event(app, client, "payment_intent.payment_failed", intent_id, "evt_failed_earlier")
                    .get_json()["outcome"])
    outcomes += [send_event(app, client, "payment_intent.succeeded", intent_id, "evt_succeeded").get_json()["outcome"]
                 for _ in range(2)]
    assert outcomes == ["paid", "unchanged", "duplicate", "duplicate"]
    assert state(app, order) == ("paid", 1, 1)
    assert stock_of(app, "PEAR-5J") == 118
    celery_worker.wait_for(lambda: db.session.scalar(
        select(func.count()).select_from(JournalEntry)
        .where(JournalEntry.order_id == order.id, JournalEntry.rule == "payment_received")) == 1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.order_id == order.id, JournalEntry.rule == "payment_received")) == 1
        payment = db.session.scalar(select(Payment))
        assert (payment.status, payment.amount_fen, payment.fee_fen) == ("succeeded", 8980, 0)
        assert payment.payment_method_type == method
        assert payment.balance_transaction_id.startswith("txn_") and payment.settlement_amount == 8980


@pytest.mark.parametrize("method", PAYMENT_METHODS)
def test_a_failed_payment_releases_the_reservation(shopper, app, client, stripe_server, method):
    order = shopper.buy("PEAR-5J", 4)
    assert stock_of(app, "PEAR-5J") == 116
    intent_id = payment_intent_for(app, order, confirm=False, method=method)  # the card was declined: no charge
    if method != "card":
        with app.app_context():  # declined in the wallet app: back to requires_payment_method
            assert stripe_gateway.simulate_wallet(intent_id, "fail")["status"] == "requires_payment_method"
    response = send_event(app, client, "payment_intent.payment_failed", intent_id, "evt_failed")
    assert response.get_json()["outcome"] == "released"
    assert state(app, order) == ("cancelled", 1, 0)
    assert stock_of(app, "PEAR-5J") == 120
    with app.app_context():
        assert stripe_gateway.retrieve_payment_intent(intent_id).status == "canceled"  # can no longer be paid
    page = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    assert "付款失败，商品已重新上架" in page


@pytest.mark.parametrize("method", PAYMENT_METHODS)
def test_a_cancelled_payment_releases_the_reservation_once(shopper, app, client, stripe_server, method):
    order = shopper.buy("PEAR-5J", 4)
    intent_id = payment_intent_for(app, order, confirm=False, method=method)  # a wallet's QR still open
    with app.app_context():
        stripe_gateway.cancel_payment_intent(intent_id)
    send_event(app, client, "payment_intent.canceled", intent_id, "evt_cancel_1")
    send_event(app, client, "payment_intent.canceled", intent_id, "evt_cancel_2")
    assert state(app, order) == ("cancelled", 1, 0)
    assert stock_of(app, "PEAR-5J") == 120
