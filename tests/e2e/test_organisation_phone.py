"""On a 390 px phone: the canteen's approver approves the waiting request and sees the transfer
clock (30 days, the extension offered); its finance asks for the paid order's invoices. No page
scrolls sideways."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_institutional_buying import sign_in, sign_out
from tests.e2e.test_phone_fit import _overflow

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def fits(page):
    extra, culprits = _overflow(page)
    assert extra <= 0, f"{page.url} scrolls sideways by {extra}px: {culprits}"


def test_approve_see_the_clock_and_ask_for_invoices_on_a_phone(demo, live_server, phone):
    from marketplace.demo.organisations import seed_demo_organisation_orders
    from marketplace.extensions import db

    seed_demo_organisation_orders()  # the grain order paid by transfer, the pears awaiting approval
    db.session.remove()
    page = phone
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server, "org-approver@demo.cn")
    page.goto(live_server + "/org/")
    fits(page)
    page.locator("tr", has_text="待审批").first.locator("a").click()
    fits(page)
    page.click("button:has-text(\"批准并下单\")")
    expect(page.locator("#transfer")).to_contain_text("剩余 30 天")
    expect(page.locator("#transfer button")).to_contain_text("申请延期 15 天")
    fits(page)
    page.screenshot(path=str(ARTIFACTS / "org-phone-clock.png"), full_page=True)
    page.click("#transfer button")
    expect(page.locator(".flash")).to_contain_text("付款期限已延长")
    expect(page.locator("#transfer")).to_contain_text("剩余 45 天")
    expect(page.locator("#transfer button")).to_have_count(0)
    sign_out(page)

    sign_in(page, live_server, "org-finance@demo.cn")
    page.goto(live_server + "/org/")
    page.locator("tr", has_text="已审批").last.locator("a").click()  # the grain order, paid by transfer
    expect(page.locator("#transfer")).to_contain_text("已付款")
    page.fill("input[name=email]", "caiwu@yzst.cn")
    page.click("#invoices button:has-text(\"申请开票\")")
    expect(page.locator(".flash")).to_contain_text("已申请开票")
    expect(page.locator("#invoices")).to_contain_text("caiwu@yzst.cn")
    expect(page.locator("#deliveries")).to_contain_text("尚未发货")
    fits(page)
    page.screenshot(path=str(ARTIFACTS / "org-phone-invoices.png"), full_page=True)
