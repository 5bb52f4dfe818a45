import json
import time

import pytest

from marketplace.payments import stripe_gateway


def test_a_test_card_payment_succeeds_against_localstripe(app_ctx, stripe_server):
    method = stripe_gateway.create_test_card_payment_method()
    intent = stripe_gateway.create_payment_intent(3990, "order:1:pi", {"order_id": "1"}, payment_method=method.id)
    confirmed = stripe_gateway.confirm_payment_intent(intent.id)
    assert confirmed.status == "succeeded"
    charge = confirmed.to_dict()["charges"]["data"][0]
    transaction = stripe_gateway.retrieve_balance_transaction(charge["balance_transaction"])
    assert (transaction.amount, transaction.currency, transaction.reporting_category) == (3990, "cny", "charge")


def test_signed_payloads_verify_and_tampered_ones_do_not(app_ctx):
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {}}})
    header = stripe_gateway.sign_payload_for_tests(payload, app_ctx.config["STRIPE_WEBHOOK_SECRET"], int(time.time()))
    assert stripe_gateway.construct_event(payload, header).id == "evt_1"
    with pytest.raises(stripe_gateway.SignatureError):
        stripe_gateway.construct_event(payload.replace("evt_1", "evt_2"), header)
    stale = stripe_gateway.sign_payload_for_tests(payload, app_ctx.config["STRIPE_WEBHOOK_SECRET"], int(time.time()) - 301)
    with pytest.raises(stripe_gateway.SignatureError):
        stripe_gateway.construct_event(payload, stale)
