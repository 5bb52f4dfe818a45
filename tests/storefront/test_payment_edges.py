"""Signed webhooks that can never be applied, and the local test-card pay racing itself or the API:
answered (2xx-ignored or 4xx, and logged) — never a 500 that Stripe or a buyer sees."""
import json
import threading
import time

from marketplace.extensions import db
from marketplace.orders.checkout import start_payment
from marketplace.orders.models import Order
from marketplace.payments import stripe_gateway
from tests.storefront.conftest import send_event


def post_signed(app, client, body):
    payload = json.dumps(body)
    header = stripe_gateway.sign_payload_for_tests(payload, app.config["STRIPE_WEBHOOK_SECRET"], int(time.time()))
    return client.post("/stripe/webhook", data=payload, headers={"Stripe-Signature": header},
                       content_type="application/json")


def test_signed_webhooks_that_are_not_events_are_refused_with_a_400_and_logged(app, client, district, caplog):
    bodies = [[{"id": "evt_1", "type": "payment_intent.succeeded"}], {"type": "payment_intent.succeeded",
              "data": {"object": {"id": "pi_x"}}}, {"id": 7, "type": "payment_intent.succeeded"}, "just text",
              {"id": "evt_2", "type": "payment_intent.succeeded", "data": []}]
    for body in bodies:
        assert post_signed(app, client, body).status_code == 400, body
    assert "signed webhook" in caplog.text


def test_a_signed_event_for_a_payment_intent_we_never_made_is_acknowledged(app, client, district, stripe_server, caplog):
    response = send_event(app, client, "payment_intent.succeeded", "pi_not_ours_123", "evt_unknown_1")
    assert response.status_code == 200 and response.get_json()["outcome"] == "unknown"
    assert "not ours" in caplog.text


def order_status(app, order_id):
    with app.app_context():
        status = db.session.get(Order, order_id).status
        db.session.remove()
    return status


def test_the_test_card_on_an_order_whose_payment_intent_the_api_already_made_answers(app, shopper, client, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    with app.app_context():
        start_payment(order.id)  # what POST /api/v1/orders/<no>/payment does: no payment method yet
        db.session.remove()
    response = client.post(f"/orders/{order.public_no}/pay/test-card?lang=en")
    assert response.status_code == 303
    # The card is attached at confirmation, as Stripe does (the local stand-in too).
    assert order_status(app, order.id) == "paid"


def test_two_test_card_pays_at_once_pay_the_order_once(app, shopper, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    from tests.security.test_authorization_matrix import client_as

    clients = [client_as(app, "buyer@demo.cn") for _ in range(2)]
    statuses = []
    start = threading.Barrier(2)

    def pay(client):
        start.wait()
        statuses.append(client.post(f"/orders/{order.public_no}/pay/test-card").status_code)

    threads = [threading.Thread(target=pay, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [303, 303]
    assert order_status(app, order.id) == "paid"
