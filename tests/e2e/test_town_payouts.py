from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


def sign_in(phone, live_server, email):
    phone.goto(live_server + "/login")
    phone.fill("input[name=email]", email)
    phone.fill("input[name=password]", "demo1234")
    phone.click("main button[type=submit]")
    expect(phone.locator("h1")).to_contain_text("镇电商工作台")


def test_one_staff_member_drafts_a_batch_another_approves_and_the_bank_file_downloads(demo, live_server, phone):
    sign_in(phone, live_server, "town@demo.cn")
    phone.click(".town-tabs >> text=收益发放")
    phone.select_option("select[name=method]", "bank")
    phone.fill("input[name=min_amount]", "100")
    phone.click("text=生成批次")
    expect(phone.locator(".flash")).to_contain_text("须由另一位工作人员审批")
    expect(phone.locator(".notice")).to_be_visible()  # the maker is offered no approve button
    batch_url = phone.url
    phone.screenshot(path=str(ARTIFACTS / "town-batch-drafted.png"), full_page=True)
    phone.click(".account-menu summary")
    phone.click("text=退出")

    sign_in(phone, live_server, "town2@demo.cn")
    phone.goto(batch_url)
    phone.click("text=审批并锁定金额")
    expect(phone.locator(".flash")).to_contain_text("批次已审批")
    expect(phone.locator("h1 .badge")).to_have_text("已审批")
    with phone.expect_download() as download_info:
        phone.click("text=银行代发文件（XLSX）")
    download = download_info.value
    assert download.suggested_filename.startswith("代发-岭子镇-") and download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(BytesIO(Path(download.path()).read_bytes())).active
    assert sheet["A1"].value == "序号" and sheet["G1"].value == "用途/附言" and sheet.max_row >= 3
    assert sheet["G2"].value.startswith("岭子镇助农收益")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"


def test_the_household_page_reads_on_a_phone_in_english(demo, live_server, phone):
    sign_in(phone, live_server, "town@demo.cn")
    phone.click(".town-tabs >> text=农户")
    phone.fill("input[name=q]", "李金山")
    phone.click("text=搜索")
    phone.click(".household-table tbody a >> nth=0")
    expect(phone.locator("td", has_text="保底收购")).to_be_visible()
    expect(phone.locator("h2", has_text="这笔钱是怎么来的")).to_be_visible()
    phone.click("text=English")
    expect(phone.locator("h2", has_text="Why was I paid this?")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
