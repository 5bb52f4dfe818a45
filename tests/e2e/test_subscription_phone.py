"""A subscription box on a phone, in Chinese: the buyer subscribes to the Zhaili organic millet (2 斤 a month) from its
product page, saves the test card (the saved-card step), sees the subscription with its first box
paid and ordered, skips the next delivery, then pauses."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.demo_copy import seed_demo
from marketplace.extensions import db
from marketplace.subscriptions.models import Subscription, SubscriptionRenewal
from tests.e2e.test_presale_phone import fits, signed_in
from tests.e2e.regions import pick_region

pytestmark = pytest.mark.browser


def test_subscribe_save_a_card_skip_and_pause_on_a_phone(app, live_server, browser, stripe_server):
    with app.app_context():
        seed_demo()
        db.session.remove()
    page = signed_in(browser, live_server, "buyer@demo.cn")
    page.goto(live_server + "/products/zhaili-organic-millet")
    box = page.locator(".subscription-box")
    expect(box.locator("h2")).to_have_text("订阅：每月或每两周一箱")
    box.get_by_role("link", name="订阅 2斤装").click()
    expect(page.locator("h1")).to_contain_text("订阅：")
    fits(page)
    page.select_option("select[name=interval]", "monthly")
    page.fill("input[name=quantity]", "1")
    page.fill("input[name=recipient_phone]", "13800000000")
    pick_region(page, "北京市", "市辖区", "朝阳区", "建国路 1 号")
    page.click("#subscribe")

    expect(page.locator("h1")).to_have_text("为订阅保存银行卡")  # the saved-card step
    fits(page)
    page.click("#save-test-card")
    expect(page.locator("#subscription-status")).to_have_text("进行中")
    expect(page.get_by_text("银行卡已保存。每箱在到期时从此卡扣款。")).to_be_visible()
    expect(page.locator(".deliveries li").first).to_contain_text("已付款并下单")
    expect(page.locator("dd", has_text="尾号 4242")).to_be_visible()
    fits(page)
    next_day = page.locator("#next-delivery").inner_text()

    page.click("#skip-next")
    expect(page.get_by_text("已跳过下次配送，不会为此扣款。")).to_be_visible()
    expect(page.locator(".deliveries li").first).to_contain_text("您已跳过，未扣款")
    expect(page.locator(".deliveries li").first).to_contain_text(next_day)
    assert page.locator("#next-delivery").inner_text() != next_day

    page.click("#pause")
    expect(page.locator("#subscription-status")).to_have_text("已暂停")
    expect(page.locator("#resume")).to_be_visible()
    fits(page)
    page.goto(live_server + "/account/subscriptions")
    expect(page.locator(".order-list li").first).to_contain_text("已暂停")
    fits(page)
    with app.app_context():
        subscription = db.session.scalar(select(Subscription).order_by(Subscription.id.desc()).limit(1))  # not the demo's
        assert subscription.status == "paused" and subscription.pause_reason == "buyer"
        assert [r.status for r in db.session.scalars(select(SubscriptionRenewal).where(
            SubscriptionRenewal.subscription_id == subscription.id).order_by(SubscriptionRenewal.period_no))] \
            == ["paid", "skipped"]
    page.context.close()
