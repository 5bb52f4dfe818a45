from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order, StockReservation
from marketplace.outbox.models import OutboxMessage
from marketplace.payments.models import Payment
from tests.storefront.conftest import stock_of


def count(app, model, *where):
    with app.app_context():
        found = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
        return found


def test_checkout_reserves_stock_and_computes_the_amount_on_the_server(shopper, app, client):
    order = shopper.buy("PEAR-5J", 2, total_fen="1", amount="0.01", subtotal_fen="1")
    assert (order.subtotal_fen, order.shipping_fen, order.donation_fen, order.total_fen) == (7980, 1000, 0, 8980)
    assert order.status == "pending_payment"
    assert stock_of(app, "PEAR-5J") == 118
    assert count(app, StockReservation, StockReservation.status == "held") == 1
    assert "去逛逛" in client.get("/cart").get_data(as_text=True)  # the cart is empty now


def test_round_up_goes_to_the_love_fund_of_the_goods_town(shopper, app):
    order = shopper.buy("PEAR-5J", 1, round_up="y")
    assert (order.subtotal_fen, order.shipping_fen, order.donation_fen, order.total_fen) == (3990, 1000, 10, 5000)
    with app.app_context():
        from marketplace.places.models import Town

        assert db.session.get(Town, order.donation_town_id).slug == "taihe"


def test_pickup_is_free_of_shipping(shopper, app):
    from marketplace.places.models import ServicePoint

    with app.app_context():
        point_id = db.session.scalar(select(ServicePoint.id).limit(1))
    order = shopper.buy("GRAIN-1J", 1, delivery_kind="pickup", address_detail="", service_point_id=point_id)
    assert (order.shipping_fen, order.total_fen, order.service_point_id) == (0, 800, point_id)


def test_checkout_of_an_empty_cart_is_refused(shopper, app, client):
    response = client.post("/checkout", data={"recipient_name": "x"}, follow_redirects=True)
    assert "购物车是空的" in response.get_data(as_text=True)
    assert count(app, Order) == 0


@pytest.mark.parametrize("field, value, message", [
    ("recipient_phone", "call me", "手机号码"),
    ("address_detail", "", "详细地址"),
    ("district", "999999", "区县"),
    ("delivery_kind", "drone", "不是有效的选择"),
])
def test_bad_delivery_details_are_refused_and_nothing_is_reserved(shopper, app, field, value, message):
    shopper.add("PEAR-5J", 1)
    response = shopper.checkout(**{field: value})
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    assert stock_of(app, "PEAR-5J") == 120 and count(app, Order) == 0


def test_checkout_needs_sign_in_and_keeps_the_cart(anonymous_shopper, client, app):
    anonymous_shopper.add("PEAR-5J", 1)
    response = client.get("/checkout")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_variant_sold_out_since_it_was_put_in_the_cart_is_refused_whole(shopper, app):
    shopper.add("PEAR-5J", 1)
    shopper.add("HONEY-500G", 5)
    with app.app_context():
        from tests.storefront.conftest import variant

        variant("HONEY-500G").stock_available = 4
        db.session.commit()
    response = shopper.checkout()
    assert response.status_code == 409
    assert "已售罄或库存不足，没有扣款" in response.get_data(as_text=True)
    assert stock_of(app, "PEAR-5J") == 120 and stock_of(app, "HONEY-500G") == 4  # nothing taken
    assert count(app, Order) == 0


def test_expired_reservations_are_released_by_the_beat_task(shopper, app, stripe_server, client):
    order = shopper.buy("PEAR-5J", 3)
    client.get(f"/orders/{order.public_no}/pay")
    with app.app_context():
        db.session.get(Order, order.id).reservation_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        from worker.tasks.orders import release_expired_reservations

        assert release_expired_reservations.apply().get() == 1
        assert release_expired_reservations.apply().get() == 0  # twice is harmless
        db.session.remove()
    assert stock_of(app, "PEAR-5J") == 120
    page = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    assert "已取消" in page and "未在规定时间内付款" in page


def test_the_test_card_pays_and_a_second_payment_is_refused(shopper, app, stripe_server, client):
    order = shopper.buy("PEAR-5J", 1)
    page = client.post(f"/orders/{order.public_no}/pay/test-card", follow_redirects=True).get_data(as_text=True)
    assert "付款成功" in page and "已付款" in page
    again = client.post(f"/orders/{order.public_no}/pay/test-card", follow_redirects=True).get_data(as_text=True)
    assert "该订单已经付过款，没有重复扣款" in again
    assert count(app, Payment) == 1
    assert count(app, OutboxMessage, OutboxMessage.task_name == "ledger.attribute_payment") == 1
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert (payment.status, payment.amount_fen, payment.fee_fen, payment.settlement_currency) == (
            "succeeded", 4990, 0, "cny")
        assert payment.stripe_charge_id and payment.balance_transaction_id
        db.session.remove()


def test_another_buyers_order_is_not_found(shopper, app, client, auth):
    order = shopper.buy("PEAR-5J", 1)
    with app.app_context():
        from marketplace.people.registration import sign_up

        sign_up("other@example.cn", "Other", "password123")
    auth.login_as("other@example.cn")
    assert client.get(f"/orders/{order.public_no}").status_code == 404
    assert client.post(f"/orders/{order.public_no}/pay/test-card").status_code == 404
    assert client.post(f"/orders/{order.public_no}/cancel").status_code == 404


def test_with_real_stripe_keys_the_pay_page_mounts_the_payment_element(shopper, app, stripe_server, client,
                                                                        monkeypatch):
    """Only the page is told it talks to Stripe (the one stub here: the page's `uses_local_server`);
    the PaymentIntent behind it is still created on localstripe through the real `stripe` library."""
    from marketplace.web import payment_page

    monkeypatch.setattr(payment_page, "uses_local_server", lambda: False)
    order = shopper.buy("PEAR-5J", 1)
    for _visit in range(2):
        response = client.get(f"/orders/{order.public_no}/pay")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="payment-element"' in page and 'data-client-secret="pi_' in page
    assert '<script src="https://js.stripe.com/v3/">' in page and "pay-test-card" not in page
    assert "script-src 'self' https://js.stripe.com" in response.headers["Content-Security-Policy"]
    assert count(app, Payment) == 1, "a reloaded pay page reuses the order's one PaymentIntent"
    home = client.get("/")
    assert "js.stripe.com" not in home.headers["Content-Security-Policy"], "only the pay page widens the CSP"
