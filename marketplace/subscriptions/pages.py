"""What a cooperative's dashboard reads of subscriptions: the standing demand per variant.

Reads only, for the manager's own cooperative (the caller passes its id, as for pre-sales)."""
from sqlalchemy import case, func, select

from marketplace.catalog.models import Product, Seller, Variant
from marketplace.extensions import db
from marketplace.subscriptions.models import Subscription


def subscription_demand(cooperative_id):
    """[(variant, active subscriptions, units a month)] of the cooperative's variants; a fortnightly
    box counts twice a month (about: a month holds 2–3 fortnights)."""
    per_month = func.sum(Subscription.quantity * case((Subscription.interval == "fortnightly", 2), else_=1))
    rows = db.session.execute(
        select(Subscription.variant_id, func.count(Subscription.id), per_month)
        .join(Variant, Variant.id == Subscription.variant_id).join(Product, Product.id == Variant.product_id)
        .join(Seller, Seller.id == Product.seller_id)
        .where(Seller.cooperative_id == cooperative_id, Subscription.status == "active")
        .group_by(Subscription.variant_id).order_by(Subscription.variant_id)).all()
    variants = {v.id: v for v in db.session.scalars(select(Variant).where(Variant.id.in_([r[0] for r in rows] or [0])))}
    return [(variants[variant_id], int(count), int(units)) for variant_id, count, units in rows]
