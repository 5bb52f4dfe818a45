"""The demo's subscription box: the demo buyer has chosen 寨里有机小米 (2 斤 a month) and has yet
to save a card, so the demo shows the saved-card step (with `make run`, the local Stripe
stand-in's test cards) and, once saved, the first box charged and ordered at once. The box goes
to the buyer's address picked by region (demo/buyer_address.py), as the subscription form sends it."""
from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.demo import buyer_address
from marketplace.extensions import db
from marketplace.people.models import User
from marketplace.subscriptions.models import Subscription
from marketplace.subscriptions.services import subscribe


def seed_demo_subscriptions():
    buyer = db.session.scalar(select(User).where(User.email == "buyer@demo.cn"))
    variant = db.session.scalar(select(Variant).where(Variant.sku == "MILLET-2J"))
    if buyer is None or variant is None or db.session.scalar(
            select(Subscription.id).where(Subscription.buyer_id == buyer.id)) is not None:
        return
    subscribe(buyer.id, variant.id, 1, "monthly", buyer_address.RECIPIENT_NAME, buyer_address.RECIPIENT_PHONE,
              region=buyer_address.buyer_region())
