"""A second app on the test database, configured as in production (errors answer 500, the
outbox dispatches after commit), paying orders the way Stripe's webhooks do."""
import json
import time

from sqlalchemy import select

from marketplace import create_app
from marketplace.catalog.models import Product, Variant
from marketplace.config import broker_transport_options, load_settings
from marketplace.extensions import db
from marketplace.orders import cart
from marketplace.orders.checkout import Delivery, place_order, start_payment
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment
from marketplace.people.models import User

DELIVERY = Delivery(kind="address", recipient_name="买家", recipient_phone="13800000000", address="某路 1 号")


def shop_app(database_url, tmp_path, broker_url="memory://", dispatch=False):
    return create_app({
        "SECRET_KEY": "reliability-secret", "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False, "OUTBOX_DISPATCH": dispatch, "UPLOAD_DIR": str(tmp_path / "uploads"),
        "MAIL_LOG_PATH": str(tmp_path / "mail.log"),
        "CELERY": {**load_settings()["CELERY"], "broker_url": broker_url,
                   "broker_transport_options": broker_transport_options(broker_url),
                   "broker_connection_retry_on_startup": False, "broker_connection_max_retries": 1},
    })


def a_variant_in_stock(units=1_000):
    variant = db.session.scalar(select(Variant).join(Product).where(Product.direction == "uplink",
                                                                    Variant.is_active.is_(True)).order_by(Variant.id))
    variant.stock_available = units
    db.session.commit()
    return variant.id


def buyers(count, prefix="buyer"):
    people = [User(email=f"{prefix}{n}@example.cn", name=f"买家{n}", password_hash="unusable", role="buyer")
              for n in range(count)]
    db.session.add_all(people)
    db.session.commit()
    return [person.id for person in people]


def orders_waiting_for_payment(variant_id, count):
    """`count` orders, each with its PaymentIntent created: [(order id, payment intent id)]."""
    placed = []
    for buyer_id in buyers(count):
        basket = cart.open_cart(user_id=buyer_id)
        cart.add_item(basket.id, variant_id, 1)
        order = place_order(basket.id, buyer_id, DELIVERY)
        start_payment(order.id)
        intent_id = db.session.scalar(select(Payment.stripe_payment_intent_id).where(Payment.order_id == order.id))
        placed.append((order.id, intent_id))
    return placed


def payment_succeeded_event(app, intent_id, event_id):
    """The signed body and header Stripe sends for a succeeded PaymentIntent."""
    payload = json.dumps({"id": event_id, "object": "event", "type": "payment_intent.succeeded",
                          "data": {"object": {"id": intent_id, "object": "payment_intent"}}})
    header = stripe_gateway.sign_payload_for_tests(payload, app.config["STRIPE_WEBHOOK_SECRET"], int(time.time()))
    return {"data": payload, "headers": {"Stripe-Signature": header}, "content_type": "application/json"}


def deliver(app, client, intent_id, event_id):
    """Stripe posts the event; the webhook records it and answers ("queued", "duplicate"…)."""
    return client.post("/stripe/webhook", **payment_succeeded_event(app, intent_id, event_id))
