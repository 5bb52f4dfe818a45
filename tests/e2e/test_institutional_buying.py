"""On a desktop screen: the canteen's buyer sends the cart for approval, the approver approves it,
the platform's finance imports the bank statement whose line carries the transfer reference, the
order is paid and attributed, and the canteen's quota report shows the households reached."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.spreadsheets import xlsx_bytes

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, live_server, email):
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "demo1234")
    page.click("main button[type=submit]")


def sign_out(page):
    page.click(".account-menu summary")
    page.click("text=退出")


def test_submit_approve_pay_by_statement_and_see_the_households_reached(demo, live_server, desktop, tmp_path):
    page = desktop
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server, "org-buyer@demo.cn")
    expect(page.locator("h1")).to_contain_text("淄川区第一中学食堂")  # their workspace is the organisation
    page.goto(live_server + "/products/lili-minor-grains")
    page.fill("input[name=quantity]", "30")
    page.click("button:has-text(\"加入购物车\")")
    page.goto(live_server + "/org/")
    page.fill("input[name=recipient_name]", "一中食堂 王师傅")
    page.fill("input[name=recipient_phone]", "13800000001")
    page.fill("input[name=address]", "淄川区松龄东路1号 第一中学食堂")
    page.click("button:has-text(\"提交审批\")")
    expect(page.locator(".flash")).to_contain_text("已提交审批")
    expect(page.locator("text=批准并下单")).to_have_count(0)  # a buyer has nothing to approve
    request_url = page.url
    sign_out(page)

    sign_in(page, live_server, "org-approver@demo.cn")
    page.goto(request_url)
    page.click("button:has-text(\"批准并下单\")")
    expect(page.locator(".flash")).to_contain_text("已批准")
    reference = page.locator(".transfer-reference").inner_text().strip()
    assert re.fullmatch(r"XF[0-9A-Z]{7}", reference)
    amount = page.locator("#transfer dd", has_text="¥").first.inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / "org-transfer-instructions.png"), full_page=True)
    sign_out(page)

    yuan = float(amount.replace("¥", "").replace(",", ""))
    statement = tmp_path / "农行流水.xlsx"
    statement.write_bytes(xlsx_bytes("流水", ["交易日期", "流水号", "对方户名", "贷方金额", "摘要"], [
        ["2026-12-07", "ABC0001", "淄川区第一中学", yuan, f"消费帮扶货款 {reference}"],
        ["2026-12-07", "ABC0002", "淄川区第一中学", yuan - 1, f"消费帮扶货款 {reference}"],
    ]))
    sign_in(page, live_server, "admin@demo.cn")
    page.goto(live_server + "/admin/transfers")
    page.set_input_files("input[type=file]", str(statement))
    page.click("button:has-text(\"导入并对账\")")
    expect(page.locator(".flash")).to_contain_text("匹配 1 笔，1 笔列为差异")
    expect(page.locator("#transfers tr.ok")).to_have_count(1)
    expect(page.locator("#transfers tr.discrepancy")).to_contain_text("订单已付款")  # the second line, never applied
    page.screenshot(path=str(ARTIFACTS / "admin-transfers.png"), full_page=True)
    sign_out(page)

    sign_in(page, live_server, "org-finance@demo.cn")
    page.goto(request_url)
    expect(page.locator("#transfer")).to_contain_text("已付款")
    expect(page.locator("#transfer")).to_contain_text("对公转账付款")
    page.goto(live_server + "/org/report")
    expect(page.locator("#bought")).to_have_text(amount)
    reached = int(re.search(r"\d+", page.locator("#households-reached").inner_text()).group())
    assert reached >= 1
    expect(page.locator("td", has_text="李里村 · 省定贫困村")).to_be_visible()
    expect(page.locator("td", has_text="李里村小杂粮专业合作社")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "org-quota-report.png"), full_page=True)
