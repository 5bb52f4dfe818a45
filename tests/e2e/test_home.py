import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_phone_shows_the_market_in_chinese_then_english(demo, live_server, phone):
    phone.goto(live_server + "/")
    expect(phone.locator("h3", has_text="焦氏雪梨")).to_be_visible()
    phone.click("text=English")
    expect(phone.locator("h3", has_text="Jiao-family snow pears")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
    broken = phone.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
    assert broken == 0
