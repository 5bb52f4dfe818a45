"""A buyer on a phone, in Chinese and in English: search, open the pear, add it, pay with the test
card, see the order confirmed and, once the worker has shared the money out, the impact receipt."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from tests.conftest import ARTIFACTS
from tests.storefront.conftest import district  # noqa: F401  (the fixture)
from tests.e2e.regions import pick_region

pytestmark = pytest.mark.browser

WORDS = {
    "zh": {"add": "加入购物车", "checkout": "去结算", "place": "提交订单", "paid": "已付款", "pay": "用测试卡支付",
           "receipt": "您的钱去了哪里", "title": "焦氏雪梨", "sign_in": "登录"},
    "en": {"add": "Add to cart", "checkout": "Check out", "place": "Place order", "paid": "Paid", "pay": "with the test card",
           "receipt": "Where your money went", "title": "Jiao-family snow pears", "sign_in": "Sign in"},
}


def attributed():
    return db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.rule == "payment_received"))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_phone_buyer_finds_the_pear_pays_and_sees_the_receipt(language, district, live_server, stripe_server,
                                                              celery_worker, phone):
    words = WORDS[language]
    ARTIFACTS.mkdir(exist_ok=True)
    phone.goto(live_server + "/")
    if language == "en":
        phone.click("text=English")
    phone.fill(".hero-search input[name=q]", "雪梨")
    phone.click(".hero-search button")
    phone.click(f"h3:has-text('{words['title']}')")
    expect(phone.locator("h1")).to_have_text(words["title"])
    expect(phone.locator("img.qr-code")).to_be_visible()
    # The QR code is an image of its own: the browser fetched it and drew it (the CSP lets it).
    phone.wait_for_function("() => { const qr = document.querySelector('img.qr-code'); "
                            "return qr.complete && qr.naturalWidth > 0; }")
    phone.screenshot(path=str(ARTIFACTS / f"storefront-product-{language}.png"), full_page=True)
    phone.click(f"button:has-text('{words['add']}')")
    phone.click(f"a:has-text('{words['checkout']}')")

    phone.fill("input[name=email]", "buyer@demo.cn")
    phone.fill("input[name=password]", "demo1234")
    phone.click(f"form button:has-text('{words['sign_in']}')")
    phone.fill("input[name=recipient_phone]", "13800000000")
    pick_region(phone)
    phone.check("input[name=round_up]")
    phone.screenshot(path=str(ARTIFACTS / f"storefront-checkout-{language}.png"), full_page=True)
    phone.click(f"button:has-text('{words['place']}')")
    phone.click(f"button:has-text('{words['pay']}')")

    expect(phone.locator(".order-status")).to_contain_text(words["paid"])
    celery_worker.wait_for(attributed)
    phone.reload()
    expect(phone.locator("#receipt-heading")).to_have_text(words["receipt"])
    expect(phone.locator(".receipt-total")).to_contain_text("¥50.00")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    phone.screenshot(path=str(ARTIFACTS / f"storefront-order-{language}.png"), full_page=True)

    phone.goto(live_server + "/towns/taihe/impact")
    expect(phone.locator("svg.chart rect.chart-bar").first).to_be_attached()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
