"""On a phone: the agent orders for a household, the supplier dispatches the run, the agent hands it over."""
import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def sign_in(phone, live_server, email):
    phone.goto(live_server + "/login")
    phone.fill("input[name=email]", email)
    phone.fill("input[name=password]", "demo1234")
    phone.click("main form button[type=submit]")


def sign_out(phone):
    phone.click(".account-menu summary")
    phone.click("text=退出")


def snap(phone, name):
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / f"downlink-{name}.png"), full_page=True)


def no_sideways_scrolling(phone):
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_agent_orders_supplier_dispatches_agent_hands_over(demo, live_server, phone):
    # The agent at 北坪村's service point orders two bottles of oil for a household, cash at pickup.
    sign_in(phone, live_server, "agent@demo.cn")
    expect(phone.locator("h1")).to_have_text("北坪村电商服务站")
    no_sideways_scrolling(phone)
    phone.click("text=向惠民农资日用品超市订货")
    household = phone.locator("select[name=customer] option").first.inner_text()
    phone.get_by_label("压榨花生油 5升").fill("2")
    phone.check("input[name=payment_method][value=cash]")
    snap(phone, "1-agent-order")
    no_sideways_scrolling(phone)
    phone.click("text=提交订单")
    expect(phone.locator(".flash")).to_contain_text("已下单")
    code = phone.get_by_test_id("pickup-code").inner_text()
    assert len(code) == 6
    expect(phone.locator(".dl-qr svg")).to_be_visible()
    snap(phone, "2-agent-pickup-code")
    sign_out(phone)

    # The supplier makes the delivery run and dispatches it.
    sign_in(phone, live_server, "supplier@demo.cn")
    phone.click("text=我的商品")
    expect(phone.locator("input[name=price]").first).to_be_visible()
    snap(phone, "3-supplier-goods")
    no_sideways_scrolling(phone)
    phone.click("text=← 供应商")
    phone.click("text=立即合并配送批次")
    expect(phone.locator(".flash")).to_contain_text("1 个配送批次")
    snap(phone, "4-supplier-dashboard")
    phone.locator(".dl-row", has_text="北坪村电商服务站").first.click()
    expect(phone.locator("table")).to_contain_text("压榨花生油")
    snap(phone, "5-supplier-run")
    no_sideways_scrolling(phone)
    phone.click("text=标记已发货")
    expect(phone.locator(".flash")).to_contain_text("已发货")
    sign_out(phone)

    # Back at the service point: receive the run, then hand over against the code and take the cash.
    sign_in(phone, live_server, "agent@demo.cn")
    phone.locator(".dl-row", has_text="配送中").first.click()
    phone.click("text=确认服务站已收货")
    expect(phone.locator(".flash")).to_contain_text("已收货")
    phone.click("text=← 服务站")
    phone.locator(".dl-row", has_text="交货").first.click()
    wrong = "000000" if code != "000000" else "111111"
    phone.fill("input[name=code]", wrong)
    phone.fill("input[name=cash]", "198.00")
    phone.click("text=核对取货码并交货")
    expect(phone.locator(".flash-error")).to_contain_text("取货码不对")
    phone.fill("input[name=code]", code)
    phone.fill("input[name=cash]", "198.00")
    phone.click("text=核对取货码并交货")
    expect(phone.locator(".flash")).to_contain_text("已交货")
    expect(phone.locator(".dl-row", has_text=household.split(" · ")[0]).first).to_contain_text("已取货")
    no_sideways_scrolling(phone)

    # The same screens read in English too.
    phone.click("text=English")
    expect(phone.locator(".dl-row", has_text=household.split(" · ")[0]).first).to_contain_text("Picked up")
    phone.click("text=Two-way at a glance: sold up, bought down")
    expect(phone.locator("table")).to_contain_text("¥198.00")
    snap(phone, "6-agent-two-way-en")
    no_sideways_scrolling(phone)
