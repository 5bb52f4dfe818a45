"""The buyer takes a claim's refund as store credit through the real claim form, and sees the credit
on the order and on the store-credit page, in Chinese and in English."""
from io import BytesIO

from flask_babel import refresh
from sqlalchemy import func, select

from marketplace.aftersales import services as claims
from marketplace.aftersales.models import Claim
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_refund
from tests.aftersales.builders import claimed_order, jpeg_bytes, user_id


def claim_form(client, order_no, line_id, refund_to):
    data = {"reason": "damaged", "quantity": "1", "remedy": "refund", "refund_to": refund_to, "note": "坏了",
            "photos": (BytesIO(jpeg_bytes()), "pear.jpg")}
    return client.post(f"/orders/{order_no}/lines/{line_id}/claim", data=data, content_type="multipart/form-data")


def test_a_refund_taken_as_store_credit_shows_on_the_order_and_the_credit_page(demo, client, auth):
    made = claimed_order(quantity=3)
    db.session.remove()  # the requests below write: no transaction of the test's left open (SQLite)
    auth.login_as("buyer@demo.cn")
    client.get("/lang/zh_CN")
    page = client.get(f"/orders/{made.order_no}/lines/{made.line_id}/claim").get_data(as_text=True)
    assert "退为购物余额，下次下单抵扣" in page
    assert client.get("/store-credit").get_data(as_text=True).count("¥0.00") == 1
    assert claim_form(client, made.order_no, made.line_id, "store_credit").status_code == 303
    claim = db.session.scalar(select(Claim).order_by(Claim.id.desc()))
    assert claim.refund_to == "store_credit"
    claims.respond(claim.id, user_id("coop@demo.cn"), "accept")
    attribute_refund(db.session.get(Claim, claim.id).refund_id)
    shown = f"¥{db.session.get(Claim, claim.id).refund_fen / 100:,.2f}"
    db.session.commit()
    order_page = client.get(f"/orders/{made.order_no}").get_data(as_text=True)
    assert f"已退 {shown} 至购物余额" in order_page and "款项已退至购物余额" in order_page
    credit_page = client.get("/store-credit").get_data(as_text=True)
    assert "可用余额" in credit_page and shown in credit_page and made.order_no in credit_page
    assert f"购物余额：{shown}" in client.get("/orders").get_data(as_text=True)
    client.get("/lang/en")
    refresh()  # the requests share the test's app context, where Flask-Babel keeps the locale it chose
    credit_page = client.get("/store-credit").get_data(as_text=True)
    assert "Available to spend" in credit_page and f"+{shown}" in credit_page


def test_an_unknown_refund_destination_is_refused_with_nothing_changed(demo, client, auth):
    made = claimed_order(quantity=3)
    before = db.session.scalar(select(func.count(Claim.id)))
    db.session.remove()
    auth.login_as("buyer@demo.cn")
    client.get("/lang/en")
    response = claim_form(client, made.order_no, made.line_id, "cash")
    assert response.status_code == 422
    assert "Not a valid choice." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Claim.id))) == before
    db.session.remove()
