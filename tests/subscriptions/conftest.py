"""A millet box: a cooperative's millet (5 斤, ¥30, floor ¥20) with lots from two member households,
and buyers who subscribe to it with a saved test card on the local Stripe stand-in."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.ledger.rules.sales import attribute_payment
from marketplace.ledger.verify import verify_ledger
from marketplace.local_time import local_today
from marketplace.orders.models import Order
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment
from marketplace.subscriptions.models import Subscription
from marketplace.subscriptions.services import save_test_card, subscribe
from tests.ledger.builders import District


class Box:
    def __init__(self, stock=10_000):
        self.district = d = District()
        self.h1, self.h2 = d.household(), d.household()
        self.coop = d.cooperative(profit_return_rate="0.30", members=[(self.h1, 1), (self.h2, 1)])
        self.variant = d.variant(self.coop, 3000, floor_price_fen=2000)
        self.variant.stock_available = stock
        d.lot(self.variant, self.h1, 500, received_on=local_today() - timedelta(days=3))
        d.lot(self.variant, self.h2, 500, received_on=local_today() - timedelta(days=2))
        db.session.commit()

    def buyer(self):
        user = self.district.user("buyer")
        db.session.commit()
        return user

    def subscribe(self, buyer, interval="monthly", quantity=1, card=stripe_gateway.TEST_CARD["number"]):
        subscription = subscribe(buyer.id, self.variant.id, quantity, interval, "王女士", "13800000000",
                                 "北京市朝阳区建国路 88 号")
        save_test_card(buyer.id, subscription.id, card)
        return db.session.get(Subscription, subscription.id)


def attribute_all():
    """What the outbox would run after each payment (tests keep OUTBOX_DISPATCH off)."""
    for payment_id in db.session.scalars(select(Payment.id).join(Order).where(Order.paid_at.is_not(None))
                                         .order_by(Payment.id)).all():
        attribute_payment(payment_id)


def assert_ledger_clean():
    report = verify_ledger()
    assert report.ok, [v.message for v in report.violations]
    assert not any(key.startswith("not_rederived") for key in report.counts)


def days_later(days, hours=2):
    return utcnow() + timedelta(days=days, hours=hours)


@pytest.fixture
def box(app_ctx, stripe_server):
    return Box()
