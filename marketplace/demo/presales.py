"""The demo's harvest pre-sales (预售), from the article's seasons: snow pears are picked in
September, minor grains in the autumn.

- 响泉村's cooperative pre-sells next September's Jiao-family snow pears (5 斤 boxes, ¥39.90,
  ¥10 deposit a box; the last orders refunded first if the harvest falls short); the demo buyer
  has committed to 2 boxes and paid the deposit (recorded as if Stripe had reported it,
  `pi_demo_presale_…`, like the demo's orders);
- 李里村's cooperative pre-sells the autumn's new minor grains (5 斤 gift boxes) paid in full up
  front, cut pro rata if short; the demo buyer has pre-ordered 1 box, its payment still to make.

Both deliver to the buyer's address picked by region (demo/buyer_address.py), as the pre-order
form sends it.
"""
from datetime import date, timedelta

from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.database import utcnow
from marketplace.demo import buyer_address
from marketplace.extensions import db
from marketplace.ledger.rules.presales import post_presale_payment
from marketplace.local_time import day_bounds_utc, local_today
from marketplace.people.models import User
from marketplace.presales.models import PreOrder, PreSale, PreSalePayment
from marketplace.presales.services import open_presale, place_preorder, tell_buyer


def _next(month, day, today):
    """The next `month`/`day` at least 60 days away (the coming harvest)."""
    year = today.year if date(today.year, month, day) - today >= timedelta(days=60) else today.year + 1
    return date(year, month, day)


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


def _open(manager_email, sku, expected, deposit_fen, close_on, ships_from, ships_until, **terms):
    variant = db.session.scalar(select(Variant).where(Variant.sku == sku))
    found = db.session.scalar(select(PreSale).where(PreSale.variant_id == variant.id))
    if found is not None:
        return found, False
    close_at = day_bounds_utc(close_on)[1]
    return open_presale(_user(manager_email).id, variant.id, expected, variant.price_fen, deposit_fen, close_at,
                        ships_from, ships_until, **terms), True


def _preorder(buyer, presale, quantity):
    """The buyer's pre-order, delivered to the buyer's address picked by region."""
    return place_preorder(buyer.id, presale.id, quantity, buyer_address.RECIPIENT_NAME, buyer_address.RECIPIENT_PHONE,
                          region=buyer_address.buyer_region())


def _paid_deposit(preorder):
    """The deposit recorded as if Stripe had reported its PaymentIntent succeeded."""
    payment = PreSalePayment(preorder_id=preorder.id, kind="deposit", amount_fen=preorder.deposit_fen,
                             stripe_payment_intent_id=f"pi_demo_presale_{preorder.id}_deposit", status="succeeded",
                             succeeded_at=utcnow())
    db.session.add(payment)
    db.session.flush()
    post_presale_payment(payment, preorder)
    preorder.status = "committed"
    tell_buyer(preorder, "deposit_paid", payment.amount_fen)


def seed_demo_presales():
    """Open the demo's two pre-sales and the buyer's pre-orders; safe to run twice."""
    today = local_today()
    pears_in = _next(9, 10, today)
    buyer = _user("buyer@demo.cn")
    pears, new = _open("coop2@demo.cn", "PEAR-5J", 300, 1000, pears_in - timedelta(days=10), pears_in,
                       pears_in + timedelta(days=20), short_policy="last_first", unpaid_policy="refund", balance_days=3)
    if new:
        preorder = _preorder(buyer, pears, 2)
        _paid_deposit(preorder)
        db.session.commit()
    grains_in = _next(10, 15, today)
    grains, new = _open("coop@demo.cn", "GRAIN-5J", 120, 3800, grains_in - timedelta(days=15), grains_in,
                        grains_in + timedelta(days=30), short_policy="pro_rata", unpaid_policy="forfeit",
                        balance_days=5)
    if new:
        _preorder(buyer, grains, 1)
    return {"presales": db.session.scalar(select(db.func.count(PreSale.id))),
            "preorders": db.session.scalar(select(db.func.count(PreOrder.id)))}

