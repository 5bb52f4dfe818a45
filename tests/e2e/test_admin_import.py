from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.admin.conftest import district  # noqa: F401
from tests.conftest import ARTIFACTS
from tests.imports.conftest import make_registry

pytestmark = pytest.mark.browser


def snap(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-import-{name}.png"), full_page=True)


def test_an_admin_on_a_phone_imports_a_registry_and_finds_a_household(district, live_server, celery_worker, phone,
                                                                      tmp_path):
    registry = make_registry(50, bad_every=9)
    upload = Path(tmp_path / "淄川区建档立卡名册.xlsx")
    upload.write_bytes(registry.xlsx())

    phone.goto(live_server + "/login")
    phone.fill("input[name=email]", "admin@demo.cn")
    phone.fill("input[name=password]", "demo1234")
    phone.click("main button[type=submit]")
    expect(phone.locator("h1", has_text="平台管理")).to_be_visible()

    phone.click("nav.admin-nav >> text=导入")
    expect(phone.locator("a", has_text="建档立卡户名册模板（.xlsx）")).to_be_visible()
    snap(phone, "upload-form")
    phone.set_input_files("input[type=file]", str(upload))
    phone.click("text=检查文件（试运行）")
    expect(phone.locator(".stat-grid")).to_contain_text(str(len(registry.good)))
    expect(phone.locator("#import-status")).to_contain_text("试运行：尚未写入任何数据。")
    phone.click("nav.filters-inline >> text=被拒绝")
    rejected = phone.locator(".report-row.outcome-reject")
    expect(rejected).to_have_count(len(registry.bad))
    expect(rejected.first).to_contain_text("第 9 行")
    expect(phone.locator(".report")).to_contain_text("缺少村")
    expect(phone.locator(".report")).to_contain_text("建档立卡编号格式错误")
    snap(phone, "dry-run")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"

    phone.click(f"text=执行导入：新建 {len(registry.good)} 户")
    expect(phone.locator("#import-status")).to_contain_text("完成：所有合格行均已写入。", timeout=30_000)
    expect(phone.locator("#import-progress")).to_have_attribute("value", "100")
    snap(phone, "applied")

    name = registry.good[next(iter(registry.good))][1]
    phone.click("nav.admin-nav >> text=农户")
    phone.fill("input[name=q]", name)
    phone.click("form.search >> text=搜索")
    phone.click(f".card >> text={name}")
    expect(phone.locator("h1")).to_have_text(name)
    expect(phone.locator(".facts")).to_contain_text("*" * 10)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"

    phone.click("text=English")
    expect(phone.locator(".facts")).to_contain_text("Registry number")
    expect(phone.locator(".facts")).to_contain_text("a household in")
