"""A harvest pre-sale on phones, in Chinese: the cooperative opens it, a buyer pre-orders and pays
the deposit with the test card, the harvest lots are recorded, the balance is paid and the order
shipped; a second buyer, whom the short harvest cannot serve, is refunded and told."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.demo_copy import seed_demo
from marketplace.extensions import db
from marketplace.local_time import local_today
from marketplace.people.models import User
from marketplace.presales.models import PreOrder
from tests.conftest import ARTIFACTS
from tests.e2e.regions import pick_region

pytestmark = pytest.mark.browser


def signed_in(browser, live_server, email):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "demo1234")
    page.click("main button[type=submit]")
    return page


def fits(page):
    page.wait_for_load_state("load")  # a click returns once the page commits, maybe before its stylesheet
    assert page.evaluate("document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"), page.url


def pre_order(page, live_server, quantity):
    page.goto(live_server + "/products/lili-minor-grains")
    page.locator(".presale-box", has_text="1斤装").get_by_role("link", name="预订").click()
    fits(page)
    page.fill("input[name=quantity]", str(quantity))
    page.fill("input[name=recipient_phone]", "13800000000")
    pick_region(page, "北京市", "市辖区", "朝阳区", "建国路 1 号")
    page.click("#place-preorder")
    expect(page.locator("h1")).to_have_text("支付定金")
    fits(page)
    page.click("#pay-test-card")
    expect(page.locator(".badge").first).to_have_text("定金已付，等待收获")


def test_pre_order_harvest_balance_ship_and_a_short_harvest_refund_on_a_phone(app, live_server, browser,
                                                                             stripe_server):
    with app.app_context():
        seed_demo()
        second = User(email="buyer-phone@demo.cn", name="第二位买家", role="buyer")
        second.set_password("demo1234")
        db.session.add(second)
        db.session.commit()
        db.session.remove()

    coop = signed_in(browser, live_server, "coop@demo.cn")
    coop.goto(live_server + "/coop/presales/new")
    coop.select_option("select[name=variant_id]", label="李里小杂粮 · 1斤装")
    coop.fill("input[name=expected_quantity]", "10")
    coop.fill("input[name=price]", "8")
    coop.fill("input[name=deposit]", "2")
    coop.fill("input[name=orders_close_on]", (local_today() + timedelta(days=10)).isoformat())
    coop.fill("input[name=ships_from]", (local_today() + timedelta(days=20)).isoformat())
    coop.fill("input[name=ships_until]", (local_today() + timedelta(days=40)).isoformat())
    fits(coop)
    coop.click("form.stacked button[type=submit]")
    expect(coop.locator(".flash")).to_contain_text("预售已开始")
    presale_url = coop.url

    first = signed_in(browser, live_server, "buyer@demo.cn")
    pre_order(first, live_server, 3)
    late = signed_in(browser, live_server, "buyer-phone@demo.cn")
    pre_order(late, live_server, 5)

    coop.goto(presale_url)
    expect(coop.locator("#committed")).to_have_text("8")
    coop.goto(live_server + "/coop/lots/new")
    coop.select_option("select[name=product_id]", label="李里小杂粮")
    coop.fill("input[name=quantity]", "4")  # 4 斤: enough for the first 3, not for the next 5
    coop.click("form.stacked button[type=submit]")
    coop.goto(presale_url)
    expect(coop.locator("#allocated")).to_have_text("3")

    first.goto(live_server + "/preorders")
    first.locator(".order-list a", has_text="1斤装").click()
    expect(first.locator("#balance")).to_have_text("¥18.00")  # 3 × ¥8 − ¥6 deposit
    first.click("#pay-due")
    first.click("#pay-test-card")
    expect(first.locator(".badge").first).to_have_text("已成单")
    fits(first)
    order_link = first.locator("#filled-order")
    order_no = order_link.text_content().split()[-1]

    coop.goto(live_server + "/coop/orders")
    card = coop.locator(".order-card", has_text=order_no)
    card.get_by_role("button").click()  # packed
    card = coop.locator(".order-card", has_text=order_no)
    card.locator("input[name=tracking_no]").fill("SF1234567890")
    card.get_by_role("button").click()  # shipped
    first.goto(live_server + f"/orders/{order_no}")
    expect(first.locator("body")).to_contain_text("SF1234567890")

    coop.goto(presale_url)
    coop.click("#close-short")
    expect(coop.locator(".flash")).to_contain_text("1 笔预订已全额退款")

    late.goto(live_server + "/preorders")
    expect(late.locator(".order-list .badge").first).to_have_text("已退款")
    expect(late.locator(".row-list")).to_contain_text("收成不足，无法满足您的预订。¥10.00 已全额退还给您。")
    fits(late)
    ARTIFACTS.mkdir(exist_ok=True)
    for name, page in (("coop", coop), ("filled", first), ("refunded", late)):
        page.screenshot(path=str(ARTIFACTS / f"presale-phone-{name}.png"), full_page=True)
    with app.app_context():
        assert sorted(db.session.scalars(select(PreOrder.status).where(PreOrder.quantity.in_((3, 5))))) == \
            ["filled", "refunded"]
