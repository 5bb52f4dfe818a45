"""A buyer on a phone (360 px) picks 山东省 → 淄博市 → 淄川区 at checkout, each list filled by the
static script as the one before is chosen, pays, and reads the full address on the order; the
picker also works with JavaScript off (选择 posts the page back with the next list)."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.models import Order
from tests.conftest import ARTIFACTS
from tests.e2e.regions import pick_region
from tests.storefront.conftest import district  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def _sign_in_and_fill_the_cart(page, live_server):
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "buyer@demo.cn")
    page.fill("input[name=password]", "demo1234")
    page.click("main form button:has-text('登录')")
    page.goto(live_server + "/products/jiao-snow-pears")
    page.click("button:has-text('加入购物车')")
    page.goto(live_server + "/checkout")


def test_pick_shandong_zibo_zichuan_on_a_phone_and_pay(district, live_server, stripe_server, phone):
    ARTIFACTS.mkdir(exist_ok=True)
    phone.set_viewport_size({"width": 360, "height": 740})
    _sign_in_and_fill_the_cart(phone, live_server)
    # The demo buyer's default address (张店区) is preselected.
    expect(phone.locator("select[name=district] option:checked")).to_have_text("张店区")
    expect(phone.locator("input.region-step")).to_be_hidden()  # the script fills the lists itself
    pick_region(phone, "山东省", "淄博市", "淄川区", "松龄东路 1 号 2 单元 301")
    phone.check("input[name=save_address]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling on a phone"
    phone.screenshot(path=str(ARTIFACTS / "checkout-region-picker-zh.png"), full_page=True)
    phone.click("main button[type=submit]")
    phone.click("button:has-text('用测试卡支付')")
    expect(phone.locator(".order-status")).to_contain_text("已付款")
    expect(phone.locator("main")).to_contain_text("山东省淄博市淄川区松龄东路 1 号 2 单元 301")
    with district.app_context():
        order = db.session.scalar(select(Order).order_by(Order.id.desc()))
        assert (order.region_code, order.status) == ("370302", "paid")
        db.session.remove()


def test_the_region_picker_works_without_javascript(district, live_server, browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740},
                                  locale="zh-CN")
    page = context.new_page()
    try:
        _sign_in_and_fill_the_cart(page, live_server)
        page.select_option("select[name=province]", label="山东省")
        page.click("input.region-step")
        page.select_option("select[name=city]", label="淄博市")
        page.click("input.region-step")
        page.select_option("select[name=district]", label="淄川区")
        expect(page.locator("select[name=district] option:checked")).to_have_text("淄川区")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()
