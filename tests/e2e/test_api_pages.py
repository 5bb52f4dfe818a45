"""The API token page and the API reference on a phone, in Chinese then English."""
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def _sign_in(phone, live_server, email):
    phone.goto(live_server + "/login")
    phone.fill("input[name=email]", email)
    phone.fill("input[name=password]", "demo1234")
    phone.click("main button[type=submit]")


def test_a_phone_makes_an_api_token_and_sees_it_once(demo, live_server, phone):
    _sign_in(phone, live_server, "coop@demo.cn")
    phone.click(".account-menu summary")
    phone.click("text=接口令牌")
    phone.fill("input[name=name]", "合作社小程序")
    phone.click("text=创建令牌")
    expect(phone.locator(".token-value")).to_have_text(re.compile(r"^mp_[A-Za-z0-9_-]{40,}$"))
    expect(phone.locator(".token-list li", has_text="合作社小程序")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    phone.reload()
    expect(phone.locator(".token-value")).to_have_count(0)


def test_the_api_reference_reads_on_a_phone(demo, live_server, phone):
    phone.goto(live_server + "/api/v1/docs?lang=en")
    expect(phone.locator("h2", has_text="Cart and checkout")).to_be_visible()
    expect(phone.locator("#checkout code", has_text="/api/v1/orders")).to_be_visible()
    expect(phone.locator("#schema-Problem")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"


def test_the_api_reference_renders_its_markdown_in_the_readers_language(demo, live_server, phone):
    phone.goto(live_server + "/api/v1/docs")
    expect(phone.locator("h2", has_text="购物车与结算")).to_be_visible()
    checkout = phone.locator("#checkout .api-description")
    expect(checkout).to_contain_text("令牌角色：任何已登录用户")
    expect(checkout.locator("code", has_text="Idempotency-Key")).to_be_visible()  # Markdown, not backticks
    assert "`" not in phone.locator("article.api-reference").inner_text()
    phone.screenshot(path=str(ARTIFACTS / "api-reference-zh.png"), full_page=False)
