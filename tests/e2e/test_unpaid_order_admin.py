"""The platform admin, on a 390 px phone and on a desktop screen, in Chinese and in English, opens
the demo canteen's order on pay-after-acceptance terms from the transfers page, refunds some of its
items before payment (reviewed, then confirmed: the amount due shrinks) and cancels the rest.
No page scrolls sideways; the screenshots are kept in test-artifacts to look at."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_institutional_buying import sign_in
from tests.e2e.test_phone_fit import _overflow

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


def unpaid_order_on_terms():
    """The demo canteen, now paying after acceptance, with an approved order of grains and millet."""
    from sqlalchemy import select

    from marketplace.catalog.models import Variant
    from marketplace.demo.organisations import CANTEEN, DELIVERY
    from marketplace.extensions import db
    from marketplace.orders.cart import add_item, open_cart
    from marketplace.organisations import requisitions
    from marketplace.organisations.models import Organisation
    from marketplace.people.models import User

    organisation = db.session.scalar(select(Organisation).filter_by(credit_code=CANTEEN["credit_code"]))
    organisation.payment_terms = "after_acceptance"
    db.session.commit()
    buyer, approver = (db.session.scalar(select(User.id).filter_by(email=email))
                       for email in ("org-buyer@demo.cn", "org-approver@demo.cn"))
    cart = open_cart(user_id=buyer)
    for sku, quantity in (("GRAIN-5J", 12), ("MILLET-5KG", 6)):
        add_item(cart.id, db.session.scalar(select(Variant.id).filter_by(sku=sku)), quantity)
    requisition = requisitions.submit_requisition(buyer, *DELIVERY, note="下月食堂杂粮")
    requisition = requisitions.approve_requisition(approver, requisition.id)
    requisition_id = requisition.id
    db.session.remove()
    return requisition_id


def fits(page):
    extra, culprits = _overflow(page)
    assert extra <= 0, f"{page.url} scrolls sideways by {extra}px: {culprits}"


@pytest.fixture(params=[(390, 844, True), (1280, 900, False)], ids=["phone", "desktop"])
def screen(request, browser):
    width, height, mobile = request.param
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  is_mobile=mobile, has_touch=mobile)
    page = context.new_page()
    yield page, request.node.callspec.id
    context.close()


def test_refund_some_items_then_cancel_the_order_before_payment(demo, live_server, screen):
    page, name = screen
    requisition_id = unpaid_order_on_terms()
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server, "admin@demo.cn")
    page.goto(live_server + "/admin/transfers")
    page.locator("#awaiting a").first.click()
    assert page.url.endswith(f"/admin/organisation-orders/{requisition_id}")
    expect(page.locator("h1")).to_contain_text("订单")
    due_before = page.locator("#amount-due").inner_text().strip()
    expect(page.locator("#refund-lines h2")).to_have_text("付款前退回部分商品")
    fits(page)
    page.screenshot(path=str(ARTIFACTS / f"admin-unpaid-order-{name}-zh.png"), full_page=True)
    page.goto(page.url + "?lang=en")
    expect(page.locator("#refund-lines h2")).to_have_text("Refund some items before payment")
    fits(page)
    page.screenshot(path=str(ARTIFACTS / f"admin-unpaid-order-{name}-en.png"), full_page=True)
    page.goto(live_server + f"/admin/organisation-orders/{requisition_id}")

    page.locator("#refund-lines input[type=number]").first.fill("2")
    page.check("#refund-lines input[type=checkbox]")
    page.fill("#refund-lines input[name=refund-reason]", "两袋包装破损")
    page.click("#refund-lines button[type=submit]")
    expect(page.locator("#review h2")).to_have_text("在付款前退回这些商品？")
    expect(page.locator("#review")).to_contain_text(due_before)
    fits(page)
    page.screenshot(path=str(ARTIFACTS / f"admin-unpaid-order-{name}-review-zh.png"), full_page=True)
    page.click("#review button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("付款前退款")
    expect(page.locator("#refunds")).to_contain_text("已从应付金额中扣除")
    assert page.locator("#amount-due").inner_text().strip() != due_before
    fits(page)
    page.screenshot(path=str(ARTIFACTS / f"admin-unpaid-order-{name}-refunded-zh.png"), full_page=True)

    page.fill("#cancel-order input[name=cancel-reason]", "食堂停餐，整单退回")
    page.click("#cancel-order button[type=submit]")
    expect(page.locator("#review h2")).to_have_text("在付款前取消整个订单？")
    expect(page.locator("#due-after")).to_have_text("¥0.00")
    page.click("#review button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("订单已在付款前取消")
    expect(page.locator("#amount-due")).to_have_text("无：订单已取消。")
    expect(page.locator("#cancel-order")).to_have_count(0)
    fits(page)
    page.screenshot(path=str(ARTIFACTS / f"admin-unpaid-order-{name}-cancelled-zh.png"), full_page=True)
