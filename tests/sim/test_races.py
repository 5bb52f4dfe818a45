"""Races on PostgreSQL: 200 buyers at once for the last 10 units sell exactly 10."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.demo.seed import seed_demo
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.orders.cart import add_item, open_cart
from marketplace.orders.checkout import Delivery, place_order
from marketplace.orders.models import Order, OrderLine
from marketplace.people.models import User

pytestmark = pytest.mark.postgres
BUYERS = 200
DELIVERY = Delivery(kind="address", recipient_name="抢购", recipient_phone="13800000000", address="某路 1 号")


def test_two_hundred_buyers_for_ten_units_buy_exactly_ten(app):
    with app.app_context():
        seed_demo()
        pear = db.session.scalar(select(Variant).where(Variant.sku == "PEAR-5J"))
        pear.stock_available = 10
        buyers = [User(email=f"race{n}@example.cn", name=f"买家{n}", password_hash="unusable", role="buyer")
                  for n in range(BUYERS)]
        db.session.add_all(buyers)
        db.session.commit()
        carts = []
        for buyer in buyers:
            cart = open_cart(user_id=buyer.id)
            add_item(cart.id, pear.id, 1)
            carts.append((cart.id, buyer.id))
        pear_id = pear.id
        db.session.remove()

    start = threading.Barrier(min(BUYERS, 40))
    outcomes = []

    def buy(cart_and_buyer):
        with app.app_context():
            try:
                start.wait(timeout=5)
            except threading.BrokenBarrierError:
                pass
            try:
                place_order(*cart_and_buyer, DELIVERY)
                outcomes.append("sold")
            except DomainError:
                outcomes.append("sold out")
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(buy, carts))
    with app.app_context():
        stock = db.session.get(Variant, pear_id).stock_available
        sold = db.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0)).join(Order)
                                 .where(OrderLine.variant_id == pear_id, Order.status == "pending_payment"))
        db.session.remove()
    assert outcomes.count("sold") == 10 and outcomes.count("sold out") == BUYERS - 10
    assert sold == 10 and stock == 0
