"""A buyer on a phone, in Chinese and in English, pays with WeChat Pay (the QR shown, scanned on the
"phone" — the local Stripe stand-in's simulated scan — the page moving on by itself once Stripe's
signed webhook says paid, then the impact receipt) and with Alipay (sent to the Alipay page,
approved there, back to the paid order)."""
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.orders.models import Order
from marketplace.payments import stripe_gateway
from marketplace.payments.local_stripe import register_webhook
from marketplace.payments.models import Payment
from tests.conftest import ARTIFACTS
from tests.storefront.conftest import district  # noqa: F401  (the fixture)
from tests.e2e.regions import pick_region

pytestmark = pytest.mark.browser

WORDS = {
    "zh": {"wechat": "微信支付", "alipay": "支付宝", "scan": "微信扫码付款", "paid": "已付款",
           "receipt": "您的钱去了哪里", "paid_wechat": "已用微信支付付款", "paid_alipay": "已用支付宝付款"},
    "en": {"wechat": "WeChat Pay", "alipay": "Alipay", "scan": "Scan with WeChat to pay", "paid": "Paid",
           "receipt": "Where your money went", "paid_wechat": "Paid with WeChat Pay", "paid_alipay": "Paid with Alipay"},
}
STEPS = {
    "zh": {"add": "加入购物车", "checkout": "去结算", "place": "提交订单", "sign_in": "登录"},
    "en": {"add": "Add to cart", "checkout": "Check out", "place": "Place order", "sign_in": "Sign in"},
}
WEBHOOK_NAME = "e2e-wallets"


def attributed():
    return db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.rule == "payment_received"))


@pytest.fixture
def shop_online(app, live_server, stripe_server):
    """The stand-in sends its signed events to the served app, and sends the buyer back to it."""
    previous = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = live_server
    register_webhook(stripe_server, live_server, app.config["STRIPE_WEBHOOK_SECRET"], name=WEBHOOK_NAME)
    yield live_server
    app.config["PUBLIC_BASE_URL"] = previous
    # localstripe cannot forget a webhook: keep this one for an event type that is never sent.
    data = urlencode({"url": live_server + "/gone", "secret": "whsec_gone", "events[0]": "never.sent"}).encode()
    urlopen(Request(f"{stripe_server}/_config/webhooks/{WEBHOOK_NAME}", data=data, method="POST"), timeout=5).read()


def sign_in_and_place_order(phone, live_server, language):
    """The storefront's own steps (as in test_storefront_checkout): the pear in the cart, signed in,
    an address, the round-up to ¥50.00, the order placed; the pay page is open."""
    words = STEPS[language]
    phone.goto(live_server + "/")
    if language == "en":
        phone.click("text=English")
    phone.goto(live_server + "/products/jiao-snow-pears")
    phone.click(f"button:has-text('{words['add']}')")
    phone.click(f"a:has-text('{words['checkout']}')")
    phone.fill("input[name=email]", "buyer@demo.cn")
    phone.fill("input[name=password]", "demo1234")
    phone.click(f"form button:has-text('{words['sign_in']}')")
    phone.fill("input[name=recipient_phone]", "13800000000")
    pick_region(phone)
    phone.check("input[name=round_up]")
    phone.click(f"button:has-text('{words['place']}')")
    expect(phone.locator("#pay-test-card")).to_be_visible()


def order_intent(app):
    with app.app_context():
        intent_id = db.session.scalar(select(Payment.stripe_payment_intent_id).order_by(Payment.id.desc()))
        intent = stripe_gateway.retrieve_payment_intent(intent_id)
        db.session.remove()
    return intent


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_phone_buyer_pays_by_wechat_pay_and_sees_the_receipt(language, app, district, shop_online, celery_worker,
                                                              phone):
    words = WORDS[language]
    sign_in_and_place_order(phone, shop_online, language)
    phone.click(f"#pay-wechat:has-text('{words['wechat']}')")
    expect(phone.locator("#wechat-heading")).to_have_text(words["scan"])
    expect(phone.locator(".wallet-qr .qr svg")).to_be_visible()
    # Measured once the page and its stylesheet have loaded (on a loaded machine the first layout
    # can come before the stylesheet, with the SVG at its intrinsic size).
    phone.wait_for_load_state("load")
    phone.wait_for_function("document.querySelector('.wallet-qr .qr svg').getBoundingClientRect().width >= 150",
                            timeout=10_000)
    box = phone.locator(".wallet-qr .qr svg").bounding_box()
    assert box["width"] >= 150 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    intent = order_intent(app)
    assert phone.locator("#open-in-wechat").get_attribute("href") == intent.next_action.wechat_pay_display_qr_code.data
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / f"wallet-wechat-qr-{language}.png"), full_page=True)

    # The buyer's phone scans the code: the stand-in's hosted page plays the phone.
    scanner = phone.context.new_page()
    scanner.goto(intent.next_action.wechat_pay_display_qr_code.hosted_instructions_url)
    scanner.click("#simulate-succeed")
    expect(scanner.locator("#result")).to_contain_text("succeeded")
    scanner.close()

    # Stripe's signed webhook marks the order paid; the page's poll notices and moves on by itself.
    expect(phone.locator(".order-status")).to_contain_text(words["paid"], timeout=20000)
    expect(phone.locator("#paid-with")).to_have_text(words["paid_wechat"])
    celery_worker.wait_for(attributed)
    phone.reload()
    expect(phone.locator("#receipt-heading")).to_have_text(words["receipt"])
    expect(phone.locator(".receipt-total")).to_contain_text("¥50.00")
    phone.screenshot(path=str(ARTIFACTS / f"wallet-wechat-paid-{language}.png"), full_page=True)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_phone_buyer_pays_by_alipay_and_comes_back_to_the_paid_order(language, app, district, shop_online,
                                                                      celery_worker, phone):
    words = WORDS[language]
    sign_in_and_place_order(phone, shop_online, language)
    phone.click(f"#pay-alipay:has-text('{words['alipay']}')")
    expect(phone.locator("h1")).to_have_text("Alipay")  # the stand-in's Alipay page, clearly labelled
    expect(phone.locator(".label")).to_contain_text("simulated")
    phone.screenshot(path=str(ARTIFACTS / f"wallet-alipay-page-{language}.png"), full_page=True)
    phone.click("#simulate-succeed")

    expect(phone.locator(".order-status")).to_contain_text(words["paid"])
    assert phone.url.startswith(shop_online + "/orders/") and "redirect_status=succeeded" in phone.url
    expect(phone.locator("#paid-with")).to_have_text(words["paid_alipay"])
    with app.app_context():
        assert db.session.scalar(select(Order.status)) == "paid"
        db.session.remove()
    celery_worker.wait_for(attributed)
    phone.reload()
    expect(phone.locator("#receipt-heading")).to_have_text(words["receipt"])
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(ARTIFACTS / f"wallet-alipay-paid-{language}.png"), full_page=True)
