"""A purchase done entirely through the API: cart → PaymentIntent → signed webhook → impact receipt,
on the real Celery worker and the real stripe library against the local Stripe server."""
import stripe

from marketplace.ledger import impact_receipt
from marketplace.orders.models import Order
from marketplace.extensions import db
from tests.api.conftest import DELIVERY
from tests.storefront.conftest import send_event

BUYER = "buyer@demo.cn"


def _pay_as_the_client(stripe_server, app, payment_intent_id):
    """What the mini-program does with Stripe's SDK: confirm the PaymentIntent with a card."""
    stripe_client = stripe.StripeClient(app.config["STRIPE_SECRET_KEY"], base_addresses={"api": stripe_server})
    card = stripe_client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
    stripe_client.v1.payment_intents.update(payment_intent_id, params={"payment_method": card.id})
    confirmed = stripe_client.v1.payment_intents.confirm(payment_intent_id)
    assert confirmed.status == "succeeded"


def _receipt_ready(public_no):
    def attributed():
        order = db.session.query(Order).filter_by(public_no=public_no).one()
        return impact_receipt(order.id).attributed
    return attributed


def test_a_buyer_pays_through_the_api_and_gets_the_impact_receipt(api, stripe_server, celery_worker):
    variant_id, _slug = api.first_variant()
    assert api.post("/cart/items", json={"variant_id": variant_id, "quantity": 2}, as_=BUYER).status_code == 201
    order = api.post("/orders", json={**DELIVERY, "round_up": True}, as_=BUYER,
                     headers={"Idempotency-Key": "purchase-1"}).get_json()
    payment = api.post(f"/orders/{order['public_no']}/payment", as_=BUYER).get_json()
    assert payment["client_secret"].startswith(payment["payment_intent_id"])
    assert payment["amount_fen"] == order["total_fen"] and payment["currency"] == "cny"
    assert api.post(f"/orders/{order['public_no']}/payment", as_=BUYER).get_json() == payment  # one PaymentIntent

    _pay_as_the_client(stripe_server, api.app, payment["payment_intent_id"])
    webhook = send_event(api.app, api.client, "payment_intent.succeeded", payment["payment_intent_id"], "evt_api_1")
    assert webhook.status_code == 200
    celery_worker.wait_for(_receipt_ready(order["public_no"]))

    paid = api.get(f"/orders/{order['public_no']}", as_=BUYER).get_json()
    assert paid["status"] == "paid" and [event["status"] for event in paid["timeline"]][-1] == "paid"
    receipt = api.get(f"/orders/{order['public_no']}/impact", as_=BUYER).get_json()
    assert receipt["attributed"] and receipt["total_fen"] == order["total_fen"]
    assert sum(row["fen"] for row in receipt["rows"]) == order["total_fen"]
    kinds = {row["kind"] for row in receipt["rows"]}
    assert {"love_fund"} <= kinds and kinds & {"household", "cooperative"}
    paid_again = api.post(f"/orders/{order['public_no']}/payment", as_=BUYER)
    assert paid_again.status_code == 409 and paid_again.get_json()["code"] == "already_paid"
