"""A buyer on a phone, in Chinese and in English, pre-orders a box of next September's snow pears
(to the saved address picked by region) and pays its deposit with WeChat Pay (the QR shown, scanned
on the "phone" — the local Stripe stand-in's hosted page — the pay page moving on by itself once
Stripe's signed webhook has been applied) or with Alipay (sent to the Alipay page, approved there,
back to the pre-order while the webhook arrives too). Either way the pre-order then reads "deposit
paid, waiting for the harvest", and the deposit is held in the pre-sale's ledger account once."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.names import PRESALE_PAYMENT
from marketplace.ledger.services import account_id, balance_fen
from marketplace.payments import stripe_gateway
from marketplace.payments.models import StripeEvent
from marketplace.presales.models import PreOrder, PreSale, PreSalePayment
from tests.conftest import ARTIFACTS
from tests.demo_copy import seed_demo
from tests.e2e.test_wallet_checkout import shop_online  # noqa: F401  (the fixture)
from tests.web.test_chinese_everywhere import latin_words

pytestmark = pytest.mark.browser

WORDS = {
    "zh": {"pre_order": "预订", "place": "预订并支付定金", "pay_deposit": "支付定金", "wechat": "微信支付",
           "alipay": "支付宝", "scan": "微信扫码付款", "or_open": "或者直接打开微信。", "committed": "定金已付，等待收获",
           "told": "定金 ¥10.00 已付，为您保管到货物收获。"},
    "en": {"pre_order": "Pre-order", "place": "Pre-order and pay the deposit", "pay_deposit": "Pay the deposit",
           "wechat": "WeChat Pay", "alipay": "Alipay", "scan": "Scan with WeChat to pay", "or_open": "or open WeChat.",
           "committed": "Deposit paid, waiting for the harvest",
           "told": "Your deposit of ¥10.00 is paid. It is held for you until your goods are harvested."},
}
ADDRESS = "城市买家 小林 · 山东省淄博市张店区华光路 188 号 3 号楼 501"  # the demo buyer's saved address
# What a reader should never see: a status or method code, a Stripe id.
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|\b(?:pi|ch|pm|evt)_\w+")


def fits_and_reads_well(phone, language):
    """Nothing wider than the phone; no internal code; no English on the Chinese page."""
    phone.wait_for_load_state("load")  # a click returns once the page commits, maybe before its stylesheet
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, f"sideways scrolling on {phone.url}"
    assert not CODE.findall(phone.locator("main").inner_text()), phone.url
    if language == "zh":
        assert latin_words(phone.content()) == [], phone.url


def pears_presale(app):
    with app.app_context():
        presale_id = db.session.scalar(select(PreSale.id).join(Variant).where(Variant.sku == "PEAR-5J"))
        db.session.remove()
    return presale_id


def held_fen(app, presale_id):
    """The pre-sale's deposits held (a liability: negative) and how many payments were posted to it."""
    with app.app_context():
        held = balance_fen(account_id("presale_deposits", "presale", presale_id))
        postings = db.session.scalar(select(func.count()).select_from(JournalEntry)
                                     .where(JournalEntry.rule == PRESALE_PAYMENT))
        db.session.remove()
    return held, postings


def sign_in_and_pre_order(phone, live_server, language):
    """Signed in as the demo buyer, one box of the pears' pre-sale ordered from the product page to
    the buyer's default address (preselected); the deposit's pay page is open. The pre-order's id."""
    words = WORDS[language]
    phone.goto(live_server + "/")
    if language == "en":
        phone.click("text=English")
    phone.goto(live_server + "/login")
    phone.fill("input[name=email]", "buyer@demo.cn")
    phone.fill("input[name=password]", "demo1234")
    phone.click("main button[type=submit]")
    phone.goto(live_server + "/products/jiao-snow-pears")
    phone.locator(".presale-box").get_by_role("link", name=words["pre_order"], exact=True).click()
    phone.fill("input[name=quantity]", "1")
    phone.click(f"#place-preorder:has-text('{words['place']}')")
    expect(phone.locator("h1")).to_have_text(words["pay_deposit"])
    expect(phone.locator(".total")).to_contain_text("¥10.00")
    return int(re.search(r"/preorders/(\d+)/pay", phone.url).group(1))


def deposit_of(app, preorder_id):
    """The pre-order's payments (there must be one, the deposit) and its status, from the database."""
    with app.app_context():
        payments = db.session.scalars(select(PreSalePayment).where(PreSalePayment.preorder_id == preorder_id)).all()
        status = db.session.get(PreOrder, preorder_id).status
        db.session.expunge_all()
    return payments, status


def applied(app, intent_id):
    """Whether the worker has applied Stripe's `payment_intent.succeeded` for the intent."""
    return db.session.scalar(select(StripeEvent.applied_at).where(
        StripeEvent.object_id == intent_id, StripeEvent.type == "payment_intent.succeeded")) is not None


def shows_the_deposit_paid(phone, live_server, preorder_id, language):
    words = WORDS[language]
    expect(phone.locator(".badge").first).to_have_text(words["committed"], timeout=20_000)
    assert phone.url.split("?")[0] == f"{live_server}/preorders/{preorder_id}"
    figures = phone.locator(".figures")
    expect(figures).to_contain_text("¥10.00")
    expect(figures).to_contain_text(ADDRESS)
    expect(phone.locator(".messages")).to_contain_text(words["told"])
    expect(phone.locator("#pay-due")).to_have_count(0)  # nothing more to pay before the harvest


def paid_once(app, celery_worker, preorder_id, method, presale_id, before):
    """One deposit payment, by `method`, succeeded; Stripe's event applied; the ¥10 held once."""
    payments, status = deposit_of(app, preorder_id)
    assert status == "committed"
    assert [(p.kind, p.status, p.payment_method_type, p.amount_fen) for p in payments] == \
        [("deposit", "succeeded", method, 1000)]
    celery_worker.wait_for(lambda: applied(app, payments[0].stripe_payment_intent_id))
    held, postings = held_fen(app, presale_id)
    assert (held, postings) == (before[0] - 1000, before[1] + 1)


@pytest.fixture
def demo_shop(app, stripe_server):
    with app.app_context():
        seed_demo()
        db.session.remove()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_phone_buyer_pays_a_pre_orders_deposit_by_wechat_pay(language, app, demo_shop, shop_online, celery_worker,
                                                              phone):
    words = WORDS[language]
    presale_id = pears_presale(app)
    before = held_fen(app, presale_id)
    preorder_id = sign_in_and_pre_order(phone, shop_online, language)
    phone.click(f"#pay-wechat:has-text('{words['wechat']}')")
    expect(phone.locator("#wechat-heading")).to_have_text(words["scan"])
    qr = phone.locator(".wallet-qr .qr svg")
    expect(qr).to_be_visible()
    phone.wait_for_load_state("load")  # measured once the stylesheet has sized the SVG
    phone.wait_for_function("document.querySelector('.wallet-qr .qr svg').getBoundingClientRect().width >= 150",
                            timeout=10_000)
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    expect(phone.locator(".total")).to_contain_text("¥10.00")
    (payment,), status = deposit_of(app, preorder_id)
    assert (status, payment.payment_method_type, payment.status) == ("pending_deposit", "wechat_pay", "requires_action")
    with app.app_context():
        intent = stripe_gateway.retrieve_payment_intent(payment.stripe_payment_intent_id)
    assert phone.locator("#open-in-wechat").get_attribute("href") == intent.next_action.wechat_pay_display_qr_code.data
    assert phone.locator(".on-phone").inner_text().endswith(words["or_open"])  # the link inside the sentence
    fits_and_reads_well(phone, language)
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / f"presale-wechat-qr-{language}.png"), full_page=True)

    # The buyer's phone scans the code: the stand-in's hosted page plays the phone.
    scanner = phone.context.new_page()
    scanner.goto(intent.next_action.wechat_pay_display_qr_code.hosted_instructions_url)
    scanner.click("#simulate-succeed")
    expect(scanner.locator("#result")).to_contain_text("succeeded")
    scanner.close()

    # Only Stripe's signed webhook, applied by the worker, commits the pre-order; the pay page's
    # poll notices and goes to the pre-order by itself.
    shows_the_deposit_paid(phone, shop_online, preorder_id, language)
    fits_and_reads_well(phone, language)
    phone.screenshot(path=str(ARTIFACTS / f"presale-wechat-paid-{language}.png"), full_page=True)
    paid_once(app, celery_worker, preorder_id, "wechat_pay", presale_id, before)

    # The pay page again (a back button, a second tab): nothing is due, nothing is paid twice.
    phone.goto(f"{shop_online}/preorders/{preorder_id}/pay")
    shows_the_deposit_paid(phone, shop_online, preorder_id, language)
    paid_once(app, celery_worker, preorder_id, "wechat_pay", presale_id, before)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_phone_buyer_pays_a_pre_orders_deposit_by_alipay(language, app, demo_shop, shop_online, celery_worker,
                                                          phone):
    words = WORDS[language]
    presale_id = pears_presale(app)
    before = held_fen(app, presale_id)
    preorder_id = sign_in_and_pre_order(phone, shop_online, language)
    fits_and_reads_well(phone, language)
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / f"presale-pay-{language}.png"), full_page=True)
    phone.click(f"#pay-alipay:has-text('{words['alipay']}')")
    expect(phone.locator("h1")).to_have_text("Alipay")  # the stand-in's Alipay page, clearly labelled
    expect(phone.locator(".label")).to_contain_text("simulated")
    (payment,), status = deposit_of(app, preorder_id)
    assert (status, payment.payment_method_type, payment.status) == ("pending_deposit", "alipay", "requires_action")
    phone.click("#simulate-succeed")

    # Back on the pre-order (Stripe's redirect), while the signed webhook is applied by the worker:
    # the two meet, and the deposit is still held once.
    shows_the_deposit_paid(phone, shop_online, preorder_id, language)
    assert "redirect_status=succeeded" in phone.url
    fits_and_reads_well(phone, language)
    phone.screenshot(path=str(ARTIFACTS / f"presale-alipay-paid-{language}.png"), full_page=True)
    paid_once(app, celery_worker, preorder_id, "alipay", presale_id, before)
    phone.reload()
    shows_the_deposit_paid(phone, shop_online, preorder_id, language)
    paid_once(app, celery_worker, preorder_id, "alipay", presale_id, before)
