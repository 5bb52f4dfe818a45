"""Checkout through the API with what the shop's own checkout offers: an address picked by region
(GB/T 2260 codes, printed in full on the order) and the buyer's store credit."""
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.orders.checkout import pay_with_test_card
from marketplace.orders.models import Order
from marketplace.payments.models import Payment
from marketplace.payments.refunds import refund_claim_uncommitted
from tests.api.conftest import user_id

BUYER = "buyer@demo.cn"
BY_REGION = {"delivery_kind": "address", "recipient_name": "小林", "recipient_phone": "13800000000",
             "province_code": "370000", "city_code": "370300", "region_code": "370302",
             "address_detail": "松龄路 9 号"}


def _fill_cart(api, quantity=2):
    variant_id, _slug = api.first_variant()
    response = api.post("/cart/items", json={"variant_id": variant_id, "quantity": quantity}, as_=BUYER)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _orders():
    count = db.session.scalar(select(func.count(Order.id)))
    db.session.remove()
    return count


def test_an_address_given_by_region_is_printed_in_full_on_the_order(api):
    _fill_cart(api)
    response = api.post("/orders", json=BY_REGION, as_=BUYER)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["region_code"] == "370302"
    assert order["address"].startswith("山东省淄博市淄川区") and order["address"].endswith("松龄路 9 号")


def test_an_unknown_or_mismatched_region_is_refused_and_places_nothing(api):
    _fill_cart(api)
    before = _orders()
    unknown = api.post("/orders", json={**BY_REGION, "region_code": "379999"}, as_=BUYER)
    elsewhere = api.post("/orders", json={**BY_REGION, "city_code": "110100"}, as_=BUYER)
    not_a_code = api.post("/orders", json={**BY_REGION, "region_code": "淄川"}, as_=BUYER)
    assert unknown.status_code == elsewhere.status_code == not_a_code.status_code == 422
    assert not_a_code.get_json()["field"] == "region_code"
    assert _orders() == before
    assert api.get("/cart", as_=BUYER).get_json()["lines"]  # the cart is still there


def _store_credit_for_the_buyer(api):
    """Store credit the real way: an earlier order of the buyer's, paid by card, refunded as credit."""
    cart = _fill_cart(api, quantity=3)
    earlier = api.post("/orders", json=BY_REGION, as_=BUYER).get_json()
    order = db.session.scalar(select(Order).where(Order.public_no == earlier["public_no"]))
    pay_with_test_card(order.id)
    attribute_payment(db.session.scalar(select(Payment.id).where(Payment.order_id == order.id)))
    order = db.session.get(Order, order.id)
    line = order.lines[0]
    refund = refund_claim_uncommitted(order.id, line.id, 3, line.line_total_fen, user_id(BUYER), method="store_credit")
    db.session.commit()
    attribute_refund(refund.id)
    db.session.remove()
    return cart["subtotal_fen"]


def test_store_credit_covering_the_order_pays_it_with_no_card_payment(api, stripe_server):
    credit_fen = _store_credit_for_the_buyer(api)
    cart = _fill_cart(api, quantity=1)
    assert cart["subtotal_fen"] < credit_fen
    response = api.post("/orders", json={**BY_REGION, "use_store_credit": True}, as_=BUYER)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["status"] == "paid" and order["store_credit_fen"] == order["total_fen"]
    payment = api.post(f"/orders/{order['public_no']}/payment", as_=BUYER)
    assert payment.status_code == 409
    assert db.session.scalar(select(func.count(Payment.id)).join(Order, Order.id == Payment.order_id)
                             .where(Order.public_no == order["public_no"])) == 0
    db.session.remove()


def test_without_asking_the_credit_is_left_alone(api, stripe_server):
    _store_credit_for_the_buyer(api)
    _fill_cart(api, quantity=1)
    order = api.post("/orders", json=BY_REGION, as_=BUYER).get_json()
    assert (order["status"], order["store_credit_fen"]) == ("pending_payment", 0)
