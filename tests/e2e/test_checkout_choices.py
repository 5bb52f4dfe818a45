"""A buyer on a phone chooses pickup and the round-up: the totals follow each choice before the
order is placed (static script, no inline JS), the paid order shows its service point and pickup
code, and cancelling asks first, then says what was refunded and where."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.places.models import ServicePoint
from tests.conftest import ARTIFACTS
from tests.storefront.conftest import district  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

PEAR_5J_FEN = 3990  # the demo's 5斤 box of pears


def yuan(fen):
    return f"¥{fen // 100}.{fen % 100:02d}"


def test_totals_follow_pickup_and_round_up_and_cancel_asks_first(district, live_server, stripe_server, phone):
    ARTIFACTS.mkdir(exist_ok=True)
    phone.goto(live_server + "/login")
    phone.fill("input[name=email]", "buyer@demo.cn")
    phone.fill("input[name=password]", "demo1234")
    phone.click("form button:has-text('登录')")
    phone.goto(live_server + "/products/jiao-snow-pears")
    phone.click("button:has-text('加入购物车')")
    phone.goto(live_server + "/checkout")

    totals = phone.get_by_test_id("checkout-totals")
    to_pay = totals.locator("[data-total=to-pay]")
    shipping = totals.locator("[data-total=shipping]")
    round_up_row = totals.locator("dd.when-round-up")
    # Delivery to an address under ¥99 costs ¥10; no round-up shown while it is not ticked.
    expect(shipping).to_have_text("¥10.00")
    expect(to_pay).to_have_text(yuan(PEAR_5J_FEN + 1000))
    expect(round_up_row).to_be_hidden()

    phone.check("input[name=delivery_kind][value=pickup]")
    expect(shipping).to_have_text("免费")
    expect(to_pay).to_have_text(yuan(PEAR_5J_FEN))
    expect(phone.locator(".when-address")).to_be_hidden()

    phone.check("input[name=round_up]")
    expect(round_up_row).to_be_visible()
    expect(round_up_row).to_have_text(yuan(4000 - PEAR_5J_FEN))
    expect(to_pay).to_have_text("¥40.00")
    phone.screenshot(path=str(ARTIFACTS / "checkout-pickup-round-up-zh.png"), full_page=True)

    phone.check("input[name=delivery_kind][value=address]")
    expect(to_pay).to_have_text(yuan(5000))  # ¥49.90 rounded up to ¥50
    phone.uncheck("input[name=round_up]")
    expect(round_up_row).to_be_hidden()
    expect(to_pay).to_have_text(yuan(PEAR_5J_FEN + 1000))

    phone.check("input[name=delivery_kind][value=pickup]")
    phone.check("input[name=round_up]")
    phone.fill("input[name=recipient_phone]", "13800000000")
    with district.app_context():
        point = db.session.scalars(select(ServicePoint).order_by(ServicePoint.id)).first()
        point_id, point_name = point.id, point.name_zh
        db.session.remove()
    phone.select_option("select[name=service_point_id]", str(point_id))
    phone.click("button:has-text('提交订单')")
    phone.click("button:has-text('用测试卡支付')")

    expect(phone.locator(".order-status")).to_contain_text("已付款")
    pickup = phone.get_by_test_id("pickup")
    expect(pickup).to_contain_text(point_name)
    with district.app_context():
        order = db.session.scalar(select(Order).order_by(Order.id.desc()))
        code, public_no, total = order.pickup_code, order.public_no, order.total_fen
        db.session.remove()
    assert re.fullmatch(r"\d{6}", code) and total == 4000, "pickup is free and the round-up was charged"
    expect(phone.get_by_test_id("pickup-code")).to_have_text(code)
    phone.screenshot(path=str(ARTIFACTS / "order-pickup-code-zh.png"), full_page=True)

    # Cancelling is a link to a confirmation step; going back keeps the order.
    phone.click("a:has-text('取消并退款')")
    expect(phone.get_by_test_id("cancel-consequences")).to_contain_text("¥40.00")
    phone.screenshot(path=str(ARTIFACTS / "order-cancel-confirm-zh.png"), full_page=True)
    phone.click("a:has-text('不取消')")
    expect(phone.locator(".order-status")).to_contain_text("已付款")

    phone.click("a:has-text('取消并退款')")
    phone.click("button:has-text('确认取消并退款')")
    expect(phone.locator(".order-status")).to_contain_text("已取消")
    refunds = phone.get_by_test_id("refunds")
    expect(refunds).to_contain_text("¥40.00")
    expect(refunds).to_contain_text("原支付卡或钱包")
    expect(phone.get_by_test_id("pickup-code")).to_have_count(0)
    phone.screenshot(path=str(ARTIFACTS / "order-cancelled-zh.png"), full_page=True)
    assert phone.evaluate("document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")
    assert public_no in phone.url
