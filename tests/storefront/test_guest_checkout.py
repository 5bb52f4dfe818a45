"""A guest buys with a mobile number and a texted code, pays, and finds the order again by the
number or by the order's signed link; an account made later claims the number's orders."""
import re

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.models import Order
from tests.conftest import AuthActions
from tests.guests.test_phone_codes import age_codes, last_code_texted
from tests.storefront.conftest import DELIVERY, latest_order

PHONE = "13812345678"


def prove_number(client, app, url, phone=PHONE):
    sent = client.post(url, data={"step": "send", "phone": f"+86 {phone}"})
    if sent.status_code == 429:
        return sent
    assert sent.status_code == 200 and "验证码" in sent.get_data(as_text=True)
    return client.post(url, data={"step": "verify", "phone": phone, "code": last_code_texted(app, phone)})


def guest_buys(anonymous_shopper, client, app, phone=PHONE):
    anonymous_shopper.add("GRAIN-1J", 2)
    sign_in = client.get("/checkout", follow_redirects=True).get_data(as_text=True)
    assert "/checkout/guest" in sign_in  # the sign-in page offers to buy with a mobile number
    assert prove_number(client, app, "/checkout/guest", phone).headers["Location"].endswith("/checkout")
    form = client.get("/checkout").get_data(as_text=True)
    assert f'value="{phone}"' in form  # the proven number is the recipient's phone to start with
    response = client.post("/checkout", data={**DELIVERY, "recipient_phone": phone})
    assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    return latest_order(app)


def test_a_guest_buys_with_a_mobile_number_and_pays(anonymous_shopper, client, app, stripe_server):
    order = guest_buys(anonymous_shopper, client, app)
    assert order.buyer_id is None and order.guest_phone == PHONE and order.total_fen == 1600 + 1000
    assert "¥26.00" in client.get(f"/orders/{order.public_no}/pay").get_data(as_text=True)
    assert client.post(f"/orders/{order.public_no}/pay/test-card").status_code == 303
    page = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    assert "已付款" in page and 'data-testid="guest-link"' in page
    assert "取消订单" not in page and "申请退款" not in page  # cancelling and claims need an account


def test_a_wrong_code_places_nothing_and_keeps_the_visitor_a_stranger(anonymous_shopper, client, app):
    anonymous_shopper.add("GRAIN-1J", 1)
    client.post("/checkout/guest", data={"step": "send", "phone": PHONE})
    wrong = f"{(int(last_code_texted(app, PHONE)) + 1) % 1_000_000:06d}"
    refused = client.post("/checkout/guest", data={"step": "verify", "phone": PHONE, "code": wrong})
    assert refused.status_code == 422 and "验证码不正确" in refused.get_data(as_text=True)
    assert client.get("/checkout").headers["Location"].split("?")[0].endswith("/login")
    assert client.post("/checkout", data=DELIVERY).headers["Location"].split("?")[0].endswith("/login")
    with app.app_context():
        assert db.session.scalar(select(Order)) is None


def test_a_foreign_number_is_refused_with_a_message(anonymous_shopper, client):
    refused = client.post("/checkout/guest?lang=en", data={"step": "send", "phone": "+1 415 555 0100"})
    assert refused.status_code == 422
    assert "mainland China mobile number" in refused.get_data(as_text=True)


def test_the_guest_finds_the_order_again_by_number_and_code(anonymous_shopper, client, app, stripe_server):
    order = guest_buys(anonymous_shopper, client, app)
    stranger = app.test_client()
    assert stranger.get(f"/orders/{order.public_no}").status_code in (302, 303)  # sent to sign in
    assert stranger.get("/guest/orders").headers["Location"].endswith("/guest/orders/find")
    with app.app_context():
        age_codes(PHONE, 61)  # one code a minute per number: the checkout's was sent a minute ago
    assert prove_number(stranger, app, "/guest/orders/find").headers["Location"].endswith("/guest/orders")
    listing = stranger.get("/guest/orders").get_data(as_text=True)
    assert order.public_no in listing
    assert stranger.get(f"/orders/{order.public_no}").status_code == 200


def test_the_signed_link_opens_that_order_and_a_tampered_one_nothing(anonymous_shopper, client, app, stripe_server):
    order = guest_buys(anonymous_shopper, client, app)
    page = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    link = re.search(r'href="http://localhost(/guest/orders/[^"]+)" data-testid="guest-link"', page).group(1)
    other = app.test_client()
    assert other.get(link[:-2] + ("AA" if not link.endswith("AA") else "BB")).status_code == 404
    assert other.get(f"/orders/{order.public_no}").status_code in (302, 303)
    assert other.get(link).headers["Location"].endswith(f"/orders/{order.public_no}")
    assert other.get(f"/orders/{order.public_no}").status_code == 200


def test_another_guests_number_does_not_open_the_order(anonymous_shopper, client, app, stripe_server):
    order = guest_buys(anonymous_shopper, client, app)
    other = app.test_client()
    prove_number(other, app, "/guest/orders/find", phone="13987654321")
    assert order.public_no not in other.get("/guest/orders").get_data(as_text=True)
    assert other.get(f"/orders/{order.public_no}").status_code == 404


def test_an_account_claims_the_orders_of_its_number(anonymous_shopper, client, app, stripe_server):
    order = guest_buys(anonymous_shopper, client, app)
    buyer = app.test_client()
    AuthActions(app, buyer).login_as("buyer@demo.cn")
    assert prove_number(buyer, app, "/account/phone").status_code == 429  # the number was texted a moment ago
    with app.app_context():
        age_codes(PHONE, 61)
    claimed = prove_number(buyer, app, "/account/phone")
    assert claimed.headers["Location"].endswith("/orders")
    assert order.public_no in buyer.get("/orders").get_data(as_text=True)
    with app.app_context():
        claimed_order = db.session.get(Order, order.id)
        assert claimed_order.buyer_id is not None
    # The guest's session no longer opens it: it belongs to the account now.
    assert client.get(f"/orders/{order.public_no}").status_code == 404
