"""Cart, checkout with Idempotency-Key, orders and their scope, through the API."""
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.orders.models import Order
from tests.api.conftest import DELIVERY

BUYER, OTHER = "buyer@demo.cn", "other-buyer@example.cn"


def _fill_cart(api, quantity=2, as_=BUYER):
    variant_id, _slug = api.first_variant()
    response = api.post("/cart/items", json={"variant_id": variant_id, "quantity": quantity}, as_=as_)
    assert response.status_code == 201, response.get_json()
    return variant_id, response.get_json()


def _order_count(api):
    with api.app.app_context():
        count = db.session.scalar(select(func.count(Order.id)))
        db.session.remove()
        return count


def test_cart_lines_can_be_added_changed_and_removed(api):
    _variant_id, cart = _fill_cart(api, 2)
    line = cart["lines"][0]
    assert line["quantity"] == 2 and cart["subtotal_fen"] == 2 * line["unit_price_fen"]
    changed = api.patch(f"/cart/items/{line['item_id']}", json={"quantity": 3}, as_=BUYER).get_json()
    assert changed["lines"][0]["quantity"] == 3
    assert api.delete(f"/cart/items/{line['item_id']}", as_=BUYER).get_json()["lines"] == []


def test_a_quantity_as_text_or_above_99_is_refused_and_the_cart_is_unchanged(api):
    variant_id, _slug = api.first_variant()
    as_text = api.post("/cart/items", json={"variant_id": variant_id, "quantity": "2"}, as_=BUYER)
    too_many = api.post("/cart/items", json={"variant_id": variant_id, "quantity": 100}, as_=BUYER)
    assert as_text.status_code == too_many.status_code == 422
    assert as_text.get_json()["field"] == "quantity"
    assert api.get("/cart", as_=BUYER).get_json()["lines"] == []


def test_malformed_json_and_wrong_media_type_are_problems(api):
    broken = api.client.post("/api/v1/cart/items", data="{", content_type="application/json",
                             headers={"Authorization": f"Bearer {api.token_for(BUYER)}"})
    form = api.client.post("/api/v1/cart/items", data={"variant_id": 1},
                           headers={"Authorization": f"Bearer {api.token_for(BUYER)}"})
    assert (broken.status_code, broken.get_json()["code"]) == (400, "malformed_json")
    assert form.status_code == 415


def test_checkout_places_an_order_and_a_replay_with_the_same_key_returns_it(api):
    _fill_cart(api)
    key = {"Idempotency-Key": "checkout-1"}
    first = api.post("/orders", json=DELIVERY, as_=BUYER, headers=key)
    assert first.status_code == 201, first.get_json()
    order = first.get_json()
    assert order["status"] == "pending_payment" and order["timeline"][0]["status"] == "pending_payment"
    again = api.post("/orders", json=DELIVERY, as_=BUYER, headers=key)
    assert again.status_code == 201 and again.get_json() == order
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _order_count(api) == 1


def test_the_same_key_with_another_body_is_refused(api):
    _fill_cart(api)
    key = {"Idempotency-Key": "checkout-2"}
    assert api.post("/orders", json=DELIVERY, as_=BUYER, headers=key).status_code == 201
    different = api.post("/orders", json={**DELIVERY, "recipient_name": "别人"}, as_=BUYER, headers=key)
    assert different.status_code == 422 and different.get_json()["code"] == "idempotency_key_reused"
    assert _order_count(api) == 1


def test_a_refused_checkout_frees_its_key(api):
    key = {"Idempotency-Key": "checkout-3"}
    empty = api.post("/orders", json=DELIVERY, as_=BUYER, headers=key)
    assert empty.status_code == 422 and empty.get_json()["code"] == "empty_cart"
    _fill_cart(api)
    assert api.post("/orders", json=DELIVERY, as_=BUYER, headers=key).status_code == 201


def test_orders_list_pages_with_cursors_and_shows_the_timeline(api):
    numbers = []
    for _ in range(3):
        _fill_cart(api, 1)
        numbers.append(api.post("/orders", json=DELIVERY, as_=BUYER).get_json()["public_no"])
    first = api.get("/orders", query_string={"limit": 2}, as_=BUYER).get_json()
    second = api.get("/orders", query_string={"limit": 2, "cursor": first["next_cursor"]}, as_=BUYER).get_json()
    listed = [order["public_no"] for order in first["items"] + second["items"]]
    assert listed == list(reversed(numbers)) and second["next_cursor"] is None
    detail = api.get(f"/orders/{numbers[0]}", as_=BUYER).get_json()
    assert [event["status"] for event in detail["timeline"]] == ["pending_payment"]


def test_a_buyer_cannot_read_another_buyers_order_or_receipt(api):
    _fill_cart(api)
    number = api.post("/orders", json=DELIVERY, as_=BUYER).get_json()["public_no"]
    for path in (f"/orders/{number}", f"/orders/{number}/impact"):
        response = api.get(path, as_=OTHER)
        assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert api.post(f"/orders/{number}/payment", as_=OTHER).status_code == 404
    assert api.get("/orders", as_=OTHER).get_json()["items"] == []


def test_shopping_needs_a_valid_token(api):
    missing = api.get("/cart")
    wrong = api.get("/cart", headers={"Authorization": "Bearer mp_not-a-token"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
