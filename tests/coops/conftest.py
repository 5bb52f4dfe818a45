"""Fixtures of the cooperative portal: the demo's Lili grains cooperative and paid orders for it."""
import secrets
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from marketplace.catalog.models import Product, Variant
from marketplace.coops.models import Cooperative, Membership
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderLine
from marketplace.people.models import User


@dataclass
class Coop:
    cooperative_id: int
    manager_id: int
    product_id: int
    product_slug: str
    variant_id: int
    household_id: int


@pytest.fixture
def lili(app):
    """The demo district seeded; the Lili minor-grains cooperative, its manager (coop@demo.cn), product, a member.

    No app context stays pushed: each request of the test client then gets its own session,
    as in production (tests read the database inside `with app.app_context():`).
    """
    from tests.demo_copy import seed_demo

    with app.app_context():
        seed_demo()
        db.session.remove()
        return _lili()


def _lili():
    cooperative = db.session.scalar(select(Cooperative).filter_by(registration_no="DEMO-lili-grains"))
    product = db.session.scalar(select(Product).filter_by(slug="lili-minor-grains"))
    variant = db.session.scalar(select(Variant).filter_by(sku="GRAIN-1J"))
    member = db.session.scalar(select(Membership).filter_by(cooperative_id=cooperative.id).order_by(Membership.id))
    manager = db.session.scalar(select(User).filter_by(email="coop@demo.cn"))
    found = Coop(cooperative.id, manager.id, product.id, product.slug, variant.id, member.household_id)
    db.session.remove()
    return found


def make_paid_order(variant_sku, quantity=1, paid_at=None, recipient="王女士", extra_skus=()):
    """A paid order built straight from the models (checkout lives on another branch)."""
    order = Order(public_no=f"T{secrets.token_hex(5).upper()}", status="paid", recipient_name=recipient,
                  recipient_phone="13800000000", address="上海市徐汇区漕溪北路1号", paid_at=paid_at or utcnow())
    subtotal = 0
    for sku in (variant_sku, *extra_skus):
        variant = db.session.scalar(select(Variant).filter_by(sku=sku))
        product = variant.product
        line_total = variant.price_fen * quantity
        subtotal += line_total
        order.lines.append(OrderLine(
            variant_id=variant.id, product_id=product.id, seller_id=product.seller_id, seller_kind=product.seller.kind,
            title_zh=f"{product.title_zh} {variant.name_zh}", title_en=f"{product.title_en} {variant.name_en}",
            unit=variant.unit, lot_units=variant.lot_units, unit_price_fen=variant.price_fen, quantity=quantity,
            line_total_fen=line_total))
    order.subtotal_fen = order.total_fen = subtotal
    db.session.add(order)
    open_shipments_of(order)
    db.session.commit()
    return order.id


def open_shipments_of(order):
    from marketplace.orders.fulfilment import open_shipments

    open_shipments(order)


@pytest.fixture
def paid_order(app, lili):
    """A paid order of two 1-jin bags of Lili minor grains; its id."""
    with app.app_context():
        order_id = make_paid_order("GRAIN-1J", quantity=2)
        db.session.remove()
    return order_id


def pay_and_attribute(order_id, paid_at=None):
    """Record the order's payment as succeeded and run the ledger's attribution; the line's entry."""
    from marketplace.ledger.attribution import attribute_payment
    from marketplace.ledger.models import JournalEntry
    from marketplace.payments.models import Payment

    order = db.session.get(Order, order_id)
    order.paid_at = paid_at or utcnow()
    payment = Payment(order_id=order.id, stripe_payment_intent_id=f"pi_{order.public_no}", amount_fen=order.total_fen,
                      status="succeeded", succeeded_at=order.paid_at)
    db.session.add(payment)
    db.session.commit()
    attribute_payment(payment.id)
    line_id = db.session.scalar(select(OrderLine.id).where(OrderLine.order_id == order_id).order_by(OrderLine.id))
    return db.session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == f"attr:line:{line_id}"))
