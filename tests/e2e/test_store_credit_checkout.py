"""Spending store credit on a phone: a buyer holding ¥20 of credit ticks "use my store credit" at
checkout and sees the amount to pay fall by it; the pay page asks the card only for the rest, the paid order says what the credit paid,
and the store-credit page lists the spend with the order number. The ledger verifies clean."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.verify import verify_ledger
from marketplace.orders import cart
from marketplace.orders.checkout import pay_with_test_card, place_order
from marketplace.orders.models import Order
from marketplace.payments.models import Payment
from marketplace.payments.refunds import refund_claim_uncommitted
from tests.conftest import ARTIFACTS
from tests.e2e.regions import pick_region
from tests.e2e.test_after_sales_claim import DELIVERY, user_id
from tests.e2e.test_two_cooperative_order import signed_in
from tests.storefront.conftest import district  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser
CREDIT_FEN = 2_000


def yuan(fen):
    return f"¥{fen // 100}.{fen % 100:02d}"


def test_a_buyer_pays_part_of_an_order_with_store_credit_on_a_phone(
        app, district, live_server, stripe_server, celery_worker, browser):
    with app.app_context():
        buyer = user_id("buyer@demo.cn")
        basket = cart.open_cart(user_id=buyer)
        pears = db.session.scalar(select(Variant).filter_by(sku="PEAR-5J"))
        cart.add_item(basket.id, pears.id, 1)
        earlier = place_order(basket.id, buyer, DELIVERY)
        pay_with_test_card(earlier.id)
        attribute_payment(db.session.scalar(select(Payment.id).where(Payment.order_id == earlier.id)))
        earlier = db.session.get(Order, earlier.id)
        refund = refund_claim_uncommitted(earlier.id, earlier.lines[0].id, 1, CREDIT_FEN, buyer, method="store_credit")
        db.session.commit()
        attribute_refund(refund.id)
        pear_fen = pears.price_fen
        db.session.remove()

    phone = signed_in(browser, live_server, "buyer@demo.cn")
    phone.goto(f"{live_server}/products/jiao-snow-pears")
    phone.click("button:has-text('加入购物车')")
    phone.goto(f"{live_server}/checkout")
    choice = phone.get_by_test_id("store-credit-choice")
    expect(choice).to_contain_text(f"使用我的购物余额 {yuan(CREDIT_FEN)}")
    phone.fill("input[name=recipient_phone]", "13800000000")
    pick_region(phone)
    totals = phone.get_by_test_id("checkout-totals")
    total = pear_fen + 1_000  # under ¥99: ¥10 delivery
    expect(totals.locator("[data-total=to-pay]")).to_have_text(yuan(total))
    phone.check("input[name=use_store_credit]")
    expect(totals).to_contain_text(f"购物余额−{yuan(CREDIT_FEN)}")  # what the credit takes off, before placing
    expect(totals.locator("[data-total=to-pay]")).to_have_text(yuan(total - CREDIT_FEN))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "store-credit-checkout.png"), full_page=True)
    with phone.expect_navigation():
        phone.click("main button[type=submit]")

    expect(phone.locator("p.total")).to_contain_text(yuan(total - CREDIT_FEN))
    expect(phone.get_by_test_id("credit-applied")).to_contain_text(yuan(CREDIT_FEN))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.click("button:has-text('用测试卡支付')")
    expect(phone.locator(".order-status")).to_contain_text("已付款")
    expect(phone.get_by_test_id("paid-with-credit")).to_have_text(yuan(CREDIT_FEN))
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.buyer_id == user_id("buyer@demo.cn"))
                                  .order_by(Order.id.desc()))
        order_id, public_no = order.id, order.public_no
        assert db.session.scalar(select(Payment.amount_fen).where(Payment.order_id == order_id)) == total - CREDIT_FEN
        db.session.remove()
    celery_worker.wait_for(lambda: db.session.scalar(select(JournalEntry.id).where(
        JournalEntry.idempotency_key == f"credit:order:{order_id}")))
    phone.goto(f"{live_server}/store-credit")
    expect(phone.locator(".store-credit-balance")).to_contain_text("¥0.00")
    expect(phone.locator(".store-credit-history")).to_contain_text(f"用购物余额支付订单 {public_no}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(ARTIFACTS / "store-credit-spent.png"), full_page=True)
    with app.app_context():
        report = verify_ledger()
        assert report.ok, report.violations
        db.session.remove()
