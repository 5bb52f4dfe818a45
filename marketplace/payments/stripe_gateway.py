"""The only module that imports `stripe`. Amounts cross it as integer fen (CNY's minor unit).

The client comes from the app's settings, so tests and `make run` point it at localstripe
(STRIPE_API_BASE) and production at Stripe.
"""
import json
import os
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import stripe
from flask import current_app

SignatureError = stripe.SignatureVerificationError
StripeError = stripe.StripeError
RequestRefused = stripe.InvalidRequestError  # Stripe will not do it, however often asked
TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
# Stripe's test cards whose refunds do not simply succeed (the local stand-in emulates them too,
# see local_stripe_server.py): the refund stays pending, then succeeds; or succeeds, then fails.
REFUND_PENDING_CARD = "4000000000007726"
REFUND_FAILS_CARD = "4000000000005126"


_clients = {}


def _client():
    """One client per process and settings: its keep-alive connection is reused (its session is
    per thread), where a client per call opened a connection, and with Stripe a TLS handshake,
    for every call — a webhook or checkout paid that on each request."""
    config = current_app.config
    key = (os.getpid(), config["STRIPE_SECRET_KEY"], config["STRIPE_API_BASE"])
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = stripe.StripeClient(
            config["STRIPE_SECRET_KEY"], base_addresses={"api": config["STRIPE_API_BASE"]}, max_network_retries=2)
    return client


def uses_local_server():
    return not current_app.config["STRIPE_API_BASE"].startswith("https://api.stripe.com")


WALLETS = ("wechat_pay", "alipay")


def enabled_payment_methods():
    """The payment method types the platform's account has turned on (STRIPE_PAYMENT_METHODS)."""
    return current_app.config["STRIPE_PAYMENT_METHODS"]


def create_payment_intent(amount_fen, idempotency_key, metadata, payment_method=None, customer=None):
    """One PaymentIntent per order, payable by every enabled method (the buyer picks at confirm);
    on Stripe the idempotency key makes a retried create return the same one (localstripe ignores
    idempotency keys, so callers also keep one Payment row per order)."""
    params = {"amount": amount_fen, "currency": "cny", "metadata": metadata,
              "payment_method_types": list(enabled_payment_methods())}
    if payment_method:
        params["payment_method"] = payment_method
    if customer:  # a saved card is charged as its customer's (subscriptions)
        params["customer"] = customer
    return _client().v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})


# --- saved cards (subscriptions): a customer, a SetupIntent, then off-session PaymentIntents ---

# Stripe's test card that saves but declines every charge (the stand-in emulates it as Stripe does).
DECLINES_LATER_CARD = "4000000000000341"


def create_customer(idempotency_key, metadata):
    return _client().v1.customers.create(params={"metadata": metadata}, options={"idempotency_key": idempotency_key})


def create_setup_intent(customer, idempotency_key, metadata):
    """A SetupIntent that saves a card for later payments without the buyer (usage off_session)."""
    return _client().v1.setup_intents.create(
        params={"customer": customer, "usage": "off_session", "payment_method_types": ["card"], "metadata": metadata},
        options={"idempotency_key": idempotency_key})


def confirm_setup_intent(setup_intent_id, payment_method):
    return _client().v1.setup_intents.confirm(setup_intent_id, params={"payment_method": payment_method})


def retrieve_setup_intent(setup_intent_id):
    return _client().v1.setup_intents.retrieve(setup_intent_id)


def retrieve_payment_method(payment_method_id):
    return _client().v1.payment_methods.retrieve(payment_method_id)


def confirm_off_session(payment_intent_id, payment_method):
    """Charge a saved card with nobody present; a decline raises StripeError (CardError)."""
    return _client().v1.payment_intents.confirm(
        payment_intent_id, params={"payment_method": payment_method, "off_session": True})


def set_test_card_charging(payment_method_id, outcome):
    """Local Stripe stand-in only: every later charge on the card is declined (`decline`) or paid
    (`accept`). A control of the stand-in (local_stripe_saved_cards.py), not a Stripe API."""
    if not uses_local_server():
        raise RuntimeError("test-card controls exist only on the local Stripe stand-in")
    base = current_app.config["STRIPE_API_BASE"].rstrip("/")
    request = Request(f"{base}/_config/payment_methods/{payment_method_id}/charging",
                      data=urlencode({"outcome": outcome}).encode(), method="POST")
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def confirm_wallet_payment(payment_intent_id, method, return_url):
    """Confirm with WeChat Pay (next_action: a QR to show) or Alipay (next_action: a page to send the
    buyer to, who comes back to `return_url`)."""
    params = {"payment_method_data": {"type": method}}
    if method == "wechat_pay":
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    else:
        params["return_url"] = return_url
    return _client().v1.payment_intents.confirm(payment_intent_id, params=params)


def simulate_wallet(payment_intent_id, outcome):
    """Local Stripe stand-in only: what the buyer's phone does (`succeed`, `fail` or `expire`).
    A control of the stand-in (see local_stripe_wallets.py), not a Stripe API."""
    if not uses_local_server():
        raise RuntimeError("simulated wallets exist only on the local Stripe stand-in")
    base = current_app.config["STRIPE_API_BASE"].rstrip("/")
    request = Request(f"{base}/_config/payment_intents/{payment_intent_id}/simulate",
                      data=urlencode({"outcome": outcome}).encode(), method="POST")
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def retrieve_payment_intent(payment_intent_id):
    return _client().v1.payment_intents.retrieve(payment_intent_id)


def retrieve_payment_intent_with_charge(payment_intent_id):
    """The PaymentIntent with its latest charge and that charge's balance transaction expanded."""
    return _client().v1.payment_intents.retrieve(
        payment_intent_id, params={"expand": ["latest_charge.balance_transaction"]})


def create_test_card_payment_method(number=TEST_CARD["number"]):
    """localstripe only: a card PaymentMethod for the clearly labelled test checkout (or a test of
    another of Stripe's test card numbers)."""
    return _client().v1.payment_methods.create(params={"type": "card", "card": {**TEST_CARD, "number": number}})


def confirm_payment_intent(payment_intent_id, payment_method=None):
    params = {"payment_method": payment_method} if payment_method else None
    return _client().v1.payment_intents.confirm(payment_intent_id, params=params)


def cancel_payment_intent(payment_intent_id):
    return _client().v1.payment_intents.cancel(payment_intent_id)


def create_refund(payment_intent_id, amount_fen, idempotency_key, metadata=None):
    return _client().v1.refunds.create(
        params={"payment_intent": payment_intent_id, "amount": amount_fen, "metadata": metadata or {}},
        options={"idempotency_key": idempotency_key},
    )


def find_refund(payment_intent_id, metadata_key, metadata_value):
    """The PaymentIntent's refund whose metadata says `metadata_key` = `metadata_value`, or None.

    Stripe forgets an idempotency key after 24 hours and localstripe ignores them, so a retried
    refund first looks for the one an earlier attempt created."""
    refunds = _client().v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
    for refund in refunds.auto_paging_iter():
        if metadata_of(refund).get(metadata_key) == metadata_value:
            return refund
    return None


def metadata_of(stripe_object):
    """A Stripe object's metadata as a plain dict (the library's objects are not dicts)."""
    metadata = getattr(stripe_object, "metadata", None)
    if metadata is None:
        return {}
    return metadata.to_dict() if hasattr(metadata, "to_dict") else dict(metadata)


def retrieve_refund(refund_id):
    return _client().v1.refunds.retrieve(refund_id)


def retrieve_balance_transaction(balance_transaction_id):
    return _client().v1.balance_transactions.retrieve(balance_transaction_id)


def list_balance_transactions(created_after=None, limit=100):
    """Every balance transaction, oldest pages first, streaming through Stripe's pagination."""
    params = {"limit": limit}
    if created_after is not None:
        params["created"] = {"gt": created_after}
    return _client().v1.balance_transactions.list(params=params).auto_paging_iter()


def list_payouts(limit=100):
    return _client().v1.payouts.list(params={"limit": limit}).auto_paging_iter()


class NotAnEvent(ValueError):
    """A correctly signed body that is not a Stripe event (a JSON list, no id or no type)."""


def construct_event(payload, signature_header):
    """Verify the Stripe-Signature over the raw body (300 s tolerance) and parse the event.

    SignatureError for a missing, wrong or stale signature; NotAnEvent for a signed body that is
    not an object with a string `id` and `type` (checked before the library reads it)."""
    text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    stripe.WebhookSignature.verify_header(text, signature_header, current_app.config["STRIPE_WEBHOOK_SECRET"],
                                          tolerance=300)
    try:
        body = json.loads(text)
    except ValueError as error:
        raise NotAnEvent("not JSON") from error
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not isinstance(body.get("type"), str):
        raise NotAnEvent("not an event object with an id and a type")
    return stripe.Event.construct_from(body, current_app.config["STRIPE_SECRET_KEY"])


def sign_payload_for_tests(payload, secret, timestamp):
    """The library's own signature scheme, for tests and the local server: `t=…,v1=…`."""
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return f"t={timestamp},v1={signature}"


def balance_transactions_since(created_from):
    """Balance transactions created at or after `created_from` (Unix seconds), newest first.

    Stripe filters on the server; localstripe has no `created` filter, so the walk also stops
    itself at the first older transaction (lists are newest first on both).
    """
    params = {"limit": 100}
    if created_from and not uses_local_server():
        params["created"] = {"gte": created_from}
    for transaction in _client().v1.balance_transactions.list(params=params).auto_paging_iter():
        if transaction.created < created_from:
            return
        yield transaction


def payouts_since(created_from):
    """Payouts to the platform's bank created at or after `created_from`, newest first."""
    params = {"limit": 100}
    if created_from and not uses_local_server():
        params["created"] = {"gte": created_from}
    for payout in _client().v1.payouts.list(params=params).auto_paging_iter():
        if payout.created < created_from:
            return
        yield payout

