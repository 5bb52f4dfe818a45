"""Races on PostgreSQL: 200 buyers at once for the last 10 units sell exactly 10."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from tests.demo_copy import seed_demo
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.orders.cart import add_item, open_cart
from marketplace.orders.checkout import Delivery, place_order
from marketplace.orders.models import Order, OrderLine
from marketplace.people.models import User

pytestmark = pytest.mark.postgres
BUYERS = 200
DELIVERY = Delivery(kind="address", recipient_name="抢购", recipient_phone="13800000000", address="某路 1 号")


def pear_at_ten_units():
    """The demo district with the 5-jin snow pears down to their last 10 units."""
    seed_demo()
    pear = db.session.scalar(select(Variant).where(Variant.sku == "PEAR-5J"))
    pear.stock_available = 10
    return pear


def buyers_with_one_pear_each(pear, count, prefix):
    """`count` committed buyers, each with one pear in a cart: [(cart id, buyer id)]."""
    buyers = [User(email=f"{prefix}{n}@example.cn", name=f"买家{n}", password_hash="unusable", role="buyer")
              for n in range(count)]
    db.session.add_all(buyers)
    db.session.commit()
    carts = []
    for buyer in buyers:
        cart = open_cart(user_id=buyer.id)
        add_item(cart.id, pear.id, 1)
        carts.append((cart.id, buyer.id))
    return carts


def checkout_at_the_start(app, start, outcomes):
    """A buyer's checkout, released with the others by the barrier `start`; notes "sold" or "sold out"."""
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
    return buy


def reserved_units(variant_id):
    return db.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0)).join(Order)
                             .where(OrderLine.variant_id == variant_id, Order.status == "pending_payment"))


def test_two_hundred_buyers_for_ten_units_buy_exactly_ten(app):
    with app.app_context():
        pear = pear_at_ten_units()
        carts = buyers_with_one_pear_each(pear, BUYERS, "race")
        pear_id = pear.id
        db.session.remove()

    outcomes = []
    buy = checkout_at_the_start(app, threading.Barrier(min(BUYERS, 40)), outcomes)
    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(buy, carts))
    with app.app_context():
        stock = db.session.get(Variant, pear_id).stock_available
        sold = reserved_units(pear_id)
        db.session.remove()
    assert outcomes.count("sold") == 10 and outcomes.count("sold out") == BUYERS - 10
    assert sold == 10 and stock == 0


ARRIVED = 20  # units a cooperative's staff member adds while the buyers check out


def variant_form(variant, stock):
    return {"name_zh": variant.name_zh, "name_en": variant.name_en, "unit": variant.unit,
            "price_fen": variant.price_fen, "weight_grams": variant.weight_grams, "lot_units": variant.lot_units,
            "stock_available": stock}


def test_a_stock_edit_during_checkouts_is_never_lost_and_never_oversells(app):
    """The edit's meaning: the listing form shows the stock still available (reservations of
    unpaid orders already taken out) and saves a new figure only if it is still what the form
    showed — a compare-and-set. An order taken meanwhile refuses the save ("the stock changed"),
    and the staff member saves again on the fresh figure. So every unit is either reserved by
    one order or still available: reserved + available = opening stock + what arrived, exactly
    once, and available never goes below zero."""
    from marketplace.catalog.listings import update_variant
    from marketplace.catalog.models import Product, Seller
    from marketplace.errors import Conflict

    with app.app_context():
        pear = pear_at_ten_units()
        coop_id = db.session.get(Seller, db.session.get(Product, pear.product_id).seller_id).cooperative_id
        staff = User(email="stock-staff@example.cn", name="库管", password_hash="unusable", role="coop_manager",
                     cooperative_id=coop_id)
        db.session.add(staff)
        carts = buyers_with_one_pear_each(pear, 60, "edit")
        pear_id, staff_id, stale_form = pear.id, staff.id, variant_form(pear, 10 + ARRIVED)
        db.session.remove()

    start = threading.Barrier(21)
    outcomes, refusals = [], []
    buy = checkout_at_the_start(app, start, outcomes)

    def staff_adds_what_arrived():
        start.wait(timeout=5)
        for _attempt in range(200):
            with app.app_context():
                try:
                    variant = db.session.get(Variant, pear_id)  # the form as the staff member sees it now
                    shown = variant.stock_available
                    update_variant(staff_id, pear_id, variant_form(variant, shown + ARRIVED), stock_seen=shown)
                    return
                except Conflict:
                    refusals.append(shown)
                finally:
                    db.session.remove()
        raise AssertionError("the staff member never got the edit in")

    with ThreadPoolExecutor(max_workers=21) as pool:
        edit = pool.submit(staff_adds_what_arrived)
        list(pool.map(buy, carts))
        edit.result()

    with app.app_context():
        available = db.session.get(Variant, pear_id).stock_available
        reserved = reserved_units(pear_id)
        # A form left open from before the rush is refused and changes nothing.
        try:
            update_variant(staff_id, pear_id, {**stale_form, "price_fen": 1}, stock_seen=10)
            stale_refused = False
        except Conflict:
            stale_refused = True
        db.session.rollback()
        after_stale = db.session.get(Variant, pear_id)
        unchanged = (after_stale.stock_available, after_stale.price_fen != 1)
        db.session.remove()
    print(f"\nstock edit during 60 checkouts: {outcomes.count('sold')} sold, {available} left, "
          f"{len(refusals)} edits refused as stale then saved again")
    assert available >= 0
    assert reserved == outcomes.count("sold") and reserved + available == 10 + ARRIVED, "the edit counted once"
    assert stale_refused and unchanged == (available, True)
