"""Helpers for storefront tests: find demo rows, fill the cart and check out through real forms."""
import json
import time

import pytest
from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.payments import stripe_gateway

# Every payment method a buyer can pick (Stripe PaymentIntent payment method types).
PAYMENT_METHODS = ("card", "wechat_pay", "alipay")
# 上海市徐汇区 (GB/T 2260 310104) and the detail line.
DELIVERY = {"delivery_kind": "address", "recipient_name": "小林", "recipient_phone": "13800000000",
            "province": "310000", "city": "310100", "district": "310104", "address_detail": "漕溪北路 1 号"}


def variant(sku):
    return db.session.scalar(select(Variant).where(Variant.sku == sku))


def stock_of(app, sku):
    with app.app_context():
        found = variant(sku).stock_available
        db.session.remove()
        return found


def latest_order(app):
    with app.app_context():
        order = db.session.scalar(select(Order).order_by(Order.id.desc()))
        db.session.expunge_all() if order is None else db.session.expunge(order)
        return order


class Shopper:
    """A buyer driving the storefront with the Flask test client."""

    def __init__(self, app, client):
        self.app = app
        self.client = client

    def variant_id(self, sku):
        with self.app.app_context():
            found = variant(sku).id
            db.session.remove()
            return found

    def add(self, sku, quantity=1, **extra):
        return self.client.post("/cart/add", data={"variant_id": self.variant_id(sku), "quantity": quantity, **extra},
                                follow_redirects=True)

    def checkout(self, **fields):
        return self.client.post("/checkout", data={**DELIVERY, **fields})

    def buy(self, sku, quantity=1, **fields):
        self.add(sku, quantity)
        response = self.checkout(**fields)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        return latest_order(self.app)


@pytest.fixture
def district(app):
    """The demo district, seeded without leaving an app context pushed: every request and every
    worker thread then gets its own session, as in production (the shared `demo` fixture keeps
    one context for the whole test, whose open transaction would lock SQLite for the others)."""
    from tests.demo_copy import seed_demo

    with app.app_context():
        seed_demo()
        db.session.remove()
    return app


@pytest.fixture
def shopper(app, client, district, auth):
    auth.login_as("buyer@demo.cn")
    return Shopper(app, client)


@pytest.fixture
def anonymous_shopper(app, client, district):
    return Shopper(app, client)


def signed_event(app, event_type, intent_id, event_id):
    """A Stripe event body and its Stripe-Signature header, signed with the library's own scheme."""
    payload = json.dumps({"id": event_id, "object": "event", "type": event_type,
                         "data": {"object": {"id": intent_id, "object": "payment_intent"}}})
    header = stripe_gateway.sign_payload_for_tests(payload, app.config["STRIPE_WEBHOOK_SECRET"], int(time.time()))
    return payload, header


def send_event(app, client, event_type, intent_id, event_id):
    payload, header = signed_event(app, event_type, intent_id, event_id)
    return post_and_apply(app, client, payload, header, event_id)


def post_and_apply(app, client, payload, header, event_id):
    """Stripe posts a signed event; the webhook records it and answers "queued"; the worker then
    applies it. Here it is applied at once, as the worker would (if a running worker got there
    first, its recorded outcome is read). The response's `outcome` becomes what applying did."""
    from marketplace.payments.models import StripeEvent
    from marketplace.payments.webhooks import apply_event

    response = client.post("/stripe/webhook", data=payload, headers={"Stripe-Signature": header},
                           content_type="application/json")
    body = json.loads(response.get_data(as_text=True)) if response.is_json else None
    if response.status_code != 200 or not body or body.get("outcome") != "queued":
        return response
    with app.app_context():
        outcome = apply_event(event_id)
        deadline = time.monotonic() + 20
        while outcome == "duplicate" and time.monotonic() < deadline:
            outcome = db.session.scalar(select(StripeEvent.outcome).where(StripeEvent.id == event_id)) or "duplicate"
            db.session.rollback()
            if outcome == "duplicate":
                time.sleep(0.05)
        db.session.remove()
    response.set_data(json.dumps({**body, "outcome": outcome}))
    return response
