"""The whole journey with the Flask client, the real `stripe` library against localstripe and
the real Celery worker: browse → cart → checkout → PaymentIntent → signed webhook → paid →
attribution → an impact receipt that sums to what was paid."""
import re

import pytest

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger import impact_receipt
from marketplace.ledger.models import JournalEntry
from marketplace.orders.models import Order
from marketplace.payments.models import Payment
from tests.storefront.conftest import DELIVERY, PAYMENT_METHODS, send_event
from tests.storefront.test_webhook import payment_intent_for


def attributed(order_id):
    return db.session.scalar(select(func.count()).select_from(JournalEntry)
                             .where(JournalEntry.order_id == order_id, JournalEntry.rule == "payment_received"))


@pytest.mark.parametrize("method", PAYMENT_METHODS)
def test_browse_buy_pay_and_see_where_every_fen_went(shopper, client, app, stripe_server, celery_worker, method):
    results = client.get("/products", query_string={"q": "雪梨"}).get_data(as_text=True)
    assert "/products/jiao-snow-pears" in results
    product_page = client.get("/products/jiao-snow-pears").get_data(as_text=True)
    variant_id = re.search(r'name="variant_id" value="(\d+)"', product_page).group(1)
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": 2})
    shopper.add("GRAIN-1J", 3)
    shopper.add("HONEY-500G", 1)  # a poor household's own honey: no commission
    assert client.post("/checkout", data={**DELIVERY, "round_up": "y"}).status_code == 303
    with app.app_context():
        order = db.session.scalar(select(Order))
        db.session.expunge(order)
    # 2 × 39.90 + 3 × 8.00 + 58.00 = 161.80; free delivery; round-up 8.20 to 170.00
    assert (order.subtotal_fen, order.shipping_fen, order.donation_fen, order.total_fen) == (16180, 0, 820, 17000)
    assert "¥170.00" in client.get(f"/orders/{order.public_no}/pay").get_data(as_text=True)

    intent_id = payment_intent_for(app, order, method=method)
    assert send_event(app, client, "payment_intent.succeeded", intent_id, "evt_flow").status_code == 200
    before = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    assert "已付款" in before
    celery_worker.wait_for(lambda: attributed(order.id) == 1)

    with app.app_context():
        receipt = impact_receipt(order.id)
        paid = db.session.scalar(select(Payment.amount_fen))
        assert receipt.attributed and receipt.total_fen == paid == 17000
        assert {row.kind for row in receipt.rows} >= {"household", "cooperative", "love_fund"}
        db.session.remove()
    page = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    assert "您的钱去了哪里" in page and "太河镇爱心基金" in page and "¥8.20" in page
    assert "正在分配" not in page
    for row in receipt.rows:
        assert row.label_zh in page


def test_before_attribution_the_receipt_says_the_money_is_on_its_way(shopper, client, app, stripe_server):
    order = shopper.buy("PEAR-5J", 1)
    client.post(f"/orders/{order.public_no}/pay/test-card")
    page = client.get(f"/orders/{order.public_no}").get_data(as_text=True)
    assert "已付款" in page and "您的货款正在分配给农户和合作社" in page
