"""WeChat Pay and Alipay on the pay page, with the real `stripe` library against the local Stripe
stand-in (marketplace/payments/local_stripe_wallets.py): the QR shown and scanned, the Alipay
page approved and returned from, and every way it can go wrong changing nothing it should not."""
import html
import re
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener, urlopen

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment
from tests.storefront.conftest import stock_of


def order_and_payment(app, order_id):
    with app.app_context():
        order = db.session.get(Order, order_id)
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
        found = (order.status, payment and payment.payment_method_type, payment and payment.stripe_payment_intent_id)
        db.session.remove()
        return found


def payments_count(app):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Payment))
        db.session.remove()
        return count


class _Stay(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def open_alipay(client, order):
    """Choose Alipay: the pay page then goes on to the Alipay page by itself (no script); its address."""
    response = client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": "alipay"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/pay?go=alipay")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    alipay_page = html.unescape(re.search(r'href="([^"]+)" id="continue-alipay"', page)
                                .group(1))
    assert f'content="0;url={html.escape(alipay_page)}"' in page
    return alipay_page


def press_on_stand_in_page(url, outcome):
    """A button on the stand-in's Alipay page; the redirect it answers with (not followed)."""
    try:
        build_opener(_Stay).open(Request(url, data=urlencode({"outcome": outcome}).encode()), timeout=10)
    except HTTPError as answer:
        assert answer.code == 303
        return answer.headers["Location"]
    raise AssertionError("the stand-in did not send the buyer back")


def test_wechat_pay_shows_a_qr_made_here_and_a_simulated_scan_pays_the_order(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 2)
    page = client.get(f"/orders/{order.public_no}/pay").get_data(as_text=True)
    assert 'value="wechat_pay"' in page and 'value="alipay"' in page and "pay-test-card" in page

    response = client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": "wechat_pay"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order.public_no}/pay")
    status, method, intent_id = order_and_payment(app, order.id)
    assert (status, method) == ("pending_payment", "wechat_pay")
    with app.app_context():
        qr_data = stripe_gateway.retrieve_payment_intent(intent_id).next_action.wechat_pay_display_qr_code.data
    page = client.get(f"/orders/{order.public_no}/pay").get_data(as_text=True)
    assert "微信扫码付款" in page and "<svg" in page and f'href="{qr_data}"' in page
    assert "wallet_status.js" in page and 'http-equiv="refresh"' in page  # polls; reloads without JavaScript
    assert "https://" not in page.split("<body", 1)[1].split("</body>", 1)[0].replace("https://github", "")
    # Asked again (a reload, a second tap), the same QR is shown: no new attempt at Stripe.
    client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": "wechat_pay"})
    with app.app_context():
        assert stripe_gateway.retrieve_payment_intent(intent_id).next_action.wechat_pay_display_qr_code.data == qr_data
    assert client.get(f"/orders/{order.public_no}/payment-status").get_json()["pending"] is True

    response = client.post(f"/orders/{order.public_no}/pay/simulate", data={"outcome": "succeed"})
    assert response.status_code == 303
    assert order_and_payment(app, order.id)[:2] == ("paid", "wechat_pay")
    assert client.get(f"/orders/{order.public_no}/payment-status").get_json()["status"] == "paid"
    assert "已用微信支付付款" in client.get(f"/orders/{order.public_no}").get_data(as_text=True)


def test_a_scan_seen_only_by_stripe_is_picked_up_when_the_pay_page_reloads(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": "wechat_pay"})
    intent_id = order_and_payment(app, order.id)[2]
    with app.app_context():
        stripe_gateway.simulate_wallet(intent_id, "succeed")  # the phone paid; no webhook reached us
    response = client.get(f"/orders/{order.public_no}/pay")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orders/{order.public_no}")
    assert order_and_payment(app, order.id)[0] == "paid"


@pytest.mark.parametrize("outcome", ["expire", "fail"])
def test_a_qr_that_expires_or_is_declined_releases_the_goods_and_cannot_be_paid_later(shopper, client, app,
                                                                                      stripe_server, outcome):
    order = shopper.buy("PEAR-5J", 3)
    assert stock_of(app, "PEAR-5J") == 117
    client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": "wechat_pay"})
    intent_id = order_and_payment(app, order.id)[2]
    with app.app_context():
        stripe_gateway.simulate_wallet(intent_id, outcome)
    client.get(f"/orders/{order.public_no}/pay")  # the page notices on its next reload (or the webhook)
    assert order_and_payment(app, order.id)[0] == "cancelled"
    assert stock_of(app, "PEAR-5J") == 120
    with app.app_context():
        assert stripe_gateway.retrieve_payment_intent(intent_id).status == "canceled"  # no late payment possible
    late = client.post(f"/orders/{order.public_no}/pay/wallet?lang=en", data={"method": "wechat_pay"},
                       follow_redirects=True).get_data(as_text=True)
    assert "cancelled, so it cannot be paid" in late
    assert order_and_payment(app, order.id)[0] == "cancelled" and stock_of(app, "PEAR-5J") == 120


def test_alipay_sends_the_buyer_away_and_only_stripe_says_whether_it_was_paid(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    alipay_page = open_alipay(client, order)
    assert alipay_page.startswith(stripe_server + "/_config/wallets/") and "/alipay?" in alipay_page
    status, method, intent_id = order_and_payment(app, order.id)
    assert (status, method) == ("pending_payment", "alipay")
    assert "Simulate the approval" in urlopen(alipay_page, timeout=10).read().decode()

    # A return forged before paying: a status in the query changes nothing.
    forged = client.get(f"/orders/{order.public_no}",
                        query_string={"payment_intent": intent_id, "redirect_status": "succeeded"})
    assert forged.status_code == 200 and order_and_payment(app, order.id)[0] == "pending_payment"
    other = client.get(f"/orders/{order.public_no}", query_string={"payment_intent": "pi_someone_else",
                                                                  "redirect_status": "succeeded"})
    assert other.status_code == 200 and order_and_payment(app, order.id)[0] == "pending_payment"

    back = press_on_stand_in_page(alipay_page, "succeed")
    parts = urlsplit(back)
    assert parts.path == f"/orders/{order.public_no}"
    query = parse_qs(parts.query)
    assert query["payment_intent"] == [intent_id] and query["redirect_status"] == ["succeeded"]
    page = client.get(f"{parts.path}?{parts.query}").get_data(as_text=True)
    assert order_and_payment(app, order.id)[0] == "paid"
    assert "已用支付宝付款" in page


def test_a_declined_alipay_returns_to_a_released_order(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 2)
    alipay_page = open_alipay(client, order)
    back = press_on_stand_in_page(alipay_page, "fail")
    assert "redirect_status=failed" in back
    parts = urlsplit(back)
    client.get(f"{parts.path}?{parts.query.replace('failed', 'succeeded')}")  # tampered: still Stripe's word
    assert order_and_payment(app, order.id)[0] == "cancelled"
    assert stock_of(app, "PEAR-5J") == 120


def test_the_buyer_can_switch_from_a_qr_to_alipay_or_the_card(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": "wechat_pay"})
    client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": "alipay"})
    assert order_and_payment(app, order.id)[1] == "alipay"
    assert client.post(f"/orders/{order.public_no}/pay/test-card").status_code == 303
    assert order_and_payment(app, order.id)[:2] == ("paid", "card")
    assert payments_count(app) == 1


@pytest.mark.parametrize("method", ["paypal", "", "card", "wechat_pay' OR 1=1"])
def test_a_method_that_is_not_a_wallet_is_refused_and_nothing_happens(shopper, client, app, stripe_server, method):
    order = shopper.buy("PEAR-5J", 1)
    response = client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": method}, follow_redirects=True)
    assert response.status_code == 200
    assert "请选择微信支付或支付宝" in response.get_data(as_text=True)
    assert payments_count(app) == 0 and order_and_payment(app, order.id)[0] == "pending_payment"


def test_a_method_the_account_has_not_turned_on_is_refused_and_not_offered(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    app.config["STRIPE_PAYMENT_METHODS"] = ("card", "alipay")
    try:
        page = client.get(f"/orders/{order.public_no}/pay").get_data(as_text=True)
        assert 'value="wechat_pay"' not in page and 'value="alipay"' in page
        refused = client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": "wechat_pay"},
                              follow_redirects=True).get_data(as_text=True)
        assert "暂不支持这种付款方式" in refused
        assert payments_count(app) == 0
    finally:
        app.config["STRIPE_PAYMENT_METHODS"] = ("card", "wechat_pay", "alipay")


def test_a_simulated_scan_with_no_qr_open_is_refused(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    response = client.post(f"/orders/{order.public_no}/pay/simulate", data={"outcome": "succeed"},
                           follow_redirects=True)
    assert "这笔订单没有等待中的微信支付或支付宝付款" in response.get_data(as_text=True)
    assert order_and_payment(app, order.id)[0] == "pending_payment"


def test_cancelling_an_order_with_an_open_qr_cancels_it_at_stripe(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 2)
    client.post(f"/orders/{order.public_no}/pay/wallet", data={"method": "wechat_pay"})
    intent_id = order_and_payment(app, order.id)[2]
    assert client.post(f"/orders/{order.public_no}/cancel").status_code == 303
    assert order_and_payment(app, order.id)[0] == "cancelled" and stock_of(app, "PEAR-5J") == 120
    with app.app_context():
        assert stripe_gateway.retrieve_payment_intent(intent_id).status == "canceled"


def test_another_users_order_has_no_wallet_routes(shopper, app, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    from tests.security.test_authorization_matrix import client_as

    stranger = client_as(app, "coop@demo.cn")  # signed in, but not this order's buyer
    for method, path, data in (("post", "pay/wallet", {"method": "wechat_pay"}), ("post", "pay/simulate",
                               {"outcome": "succeed"}), ("get", "payment-status", None)):
        response = getattr(stranger, method)(f"/orders/{order.public_no}/{path}", data=data)
        assert response.status_code == 404, path
    assert payments_count(app) == 0
