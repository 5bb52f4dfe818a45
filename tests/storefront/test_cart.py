import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.models import Cart, CartItem
from tests.storefront.conftest import stock_of, variant


def cart_quantities(app):
    with app.app_context():
        rows = db.session.execute(select(CartItem.variant_id, CartItem.quantity)).all()
        db.session.remove()
        return dict(rows)


def test_an_anonymous_buyer_fills_and_changes_a_cart(anonymous_shopper, client, app):
    page = anonymous_shopper.add("PEAR-5J", 2).get_data(as_text=True)
    assert "已加入购物车" in page and "焦氏雪梨" in page and "¥79.80" in page
    with app.app_context():
        item_id = db.session.scalar(select(CartItem.id))
    client.post(f"/cart/items/{item_id}", data={"quantity": 3})
    assert list(cart_quantities(app).values()) == [3]
    client.post(f"/cart/items/{item_id}/remove")
    assert cart_quantities(app) == {}


@pytest.mark.parametrize("quantity", ["0", "-2", "abc", "", "1.5", "100"])
def test_bad_quantities_are_refused_with_a_message_and_change_nothing(anonymous_shopper, app, quantity):
    page = anonymous_shopper.add("PEAR-5J", quantity).get_data(as_text=True)
    assert "数量请填 1 到 99 之间的整数" in page
    assert cart_quantities(app) == {}


def test_more_than_the_stock_is_refused_with_how_many_are_left(anonymous_shopper, app):
    page = anonymous_shopper.add("HONEY-500G", 31).get_data(as_text=True)
    assert "只剩 30 件" in page
    assert cart_quantities(app) == {}


def test_unknown_or_inactive_variants_cannot_be_added(anonymous_shopper, app, client):
    with app.app_context():
        variant("WALNUT-2J").is_active = False
        fertiliser = variant("FERT-40KG").id  # downlink goods are not sold to city buyers
        db.session.commit()
    for variant_id in (999999, anonymous_shopper.variant_id("WALNUT-2J"), fertiliser):
        page = client.post("/cart/add", data={"variant_id": variant_id, "quantity": 1},
                           follow_redirects=True).get_data(as_text=True)
        assert "这件商品已下架" in page
    assert cart_quantities(app) == {}


def test_a_tampered_price_field_is_ignored(anonymous_shopper, client, app):
    anonymous_shopper.add("PEAR-5J", 1, price_fen=1, price="0.01")
    assert "¥39.90" in client.get("/cart").get_data(as_text=True)


def test_the_anonymous_cart_merges_into_the_buyers_cart_on_sign_in(anonymous_shopper, client, app, auth):
    with app.app_context():
        from marketplace.orders.cart import add_item, open_cart
        from marketplace.people.models import User

        buyer_id = db.session.scalar(select(User.id).filter_by(email="buyer@demo.cn"))
        add_item(open_cart(user_id=buyer_id).id, variant("PEAR-5J").id, 1)
        db.session.remove()
    anonymous_shopper.add("PEAR-5J", 2)
    anonymous_shopper.add("GRAIN-1J", 4)
    auth.login()
    with app.app_context():
        carts = db.session.scalars(select(Cart)).all()
        assert [cart.user_id for cart in carts] == [buyer_id]
        assert {item.variant.sku: item.quantity for item in carts[0].items} == {"PEAR-5J": 3, "GRAIN-1J": 4}
        db.session.remove()


def test_a_cart_line_short_of_stock_says_so(anonymous_shopper, client, app):
    anonymous_shopper.add("HONEY-500G", 5)
    with app.app_context():
        variant("HONEY-500G").stock_available = 2
        db.session.commit()
    page = client.get("/cart").get_data(as_text=True)
    assert "只剩 2 件，请减少数量后再结算" in page
    assert stock_of(app, "HONEY-500G") == 2


def test_a_missing_csrf_token_is_refused(anonymous_shopper, client, app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/cart/add", data={"variant_id": anonymous_shopper.variant_id("PEAR-5J"), "quantity": 1})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert cart_quantities(app) == {}
