"""A guest on a phone (390 px), in Chinese and in English, buys without an account: the sign-in
page of the checkout offers the mobile number, a code is texted (read from the local SMS
stand-in's log), the order is placed and paid, and its page gives the link to come back to it."""
import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS
from tests.guests.test_phone_codes import last_code_texted
from tests.storefront.conftest import district  # noqa: F401  (the fixture)
from tests.e2e.regions import pick_region

pytestmark = pytest.mark.browser

WORDS = {
    "zh": {"add": "加入购物车", "checkout": "去结算", "guest": "用手机号购买", "send": "获取验证码", "confirm": "确认",
           "place": "提交订单", "pay": "用测试卡支付", "paid": "已付款", "back": "以后再查看这笔订单"},
    "en": {"add": "Add to cart", "checkout": "Check out", "guest": "Buy with your mobile number", "send": "Text me a code",
           "confirm": "Confirm", "place": "Place order", "pay": "with the test card", "paid": "Paid",
           "back": "Come back to this order"},
}
NUMBERS = {"zh": "13811112222", "en": "13933334444"}


def fits(phone):
    phone.wait_for_load_state("load")  # a click returns once the page commits, maybe before its stylesheet
    assert phone.evaluate("document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"), \
        "no sideways scrolling on a phone"


@pytest.fixture
def served_links(app, live_server):
    """The order's link names the served app (links start with PUBLIC_BASE_URL)."""
    previous = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = live_server
    yield live_server
    app.config["PUBLIC_BASE_URL"] = previous


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_guest_buys_with_a_mobile_number_on_a_phone(language, app, district, live_server, served_links, stripe_server,
                                                    phone):
    words, number = WORDS[language], NUMBERS[language]
    phone.goto(live_server + "/")
    if language == "en":
        phone.click("text=English")
    phone.goto(live_server + "/products/jiao-snow-pears")
    phone.click(f"button:has-text('{words['add']}')")
    phone.click(f"a:has-text('{words['checkout']}')")
    phone.click(f"a:has-text('{words['guest']}')")
    phone.fill("input[name=phone]", number)
    phone.click(f"button:has-text('{words['send']}')")
    phone.fill("input[name=code]", last_code_texted(app, number))
    fits(phone)
    phone.screenshot(path=str(ARTIFACTS / f"guest-code-{language}.png"), full_page=True)
    phone.click(f"button:has-text('{words['confirm']}')")
    expect(phone.locator("[data-testid=guest-phone]")).to_contain_text(number)
    expect(phone.locator("input[name=recipient_phone]")).to_have_value(number)
    phone.fill("input[name=recipient_name]", "小林")
    pick_region(phone)
    phone.click(f"button:has-text('{words['place']}')")
    phone.click(f"button:has-text('{words['pay']}')")
    expect(phone.locator(".order-status")).to_contain_text(words["paid"])
    expect(phone.locator("#guest-link-heading")).to_have_text(words["back"])
    link = phone.locator("[data-testid=guest-link]").get_attribute("href")
    fits(phone)
    phone.screenshot(path=str(ARTIFACTS / f"guest-order-{language}.png"), full_page=True)

    # Another browser opens the order by its link alone.
    other = phone.context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    other.goto(link)
    expect(other.locator(".order-status")).to_contain_text("已付款")
    other.context.close()
