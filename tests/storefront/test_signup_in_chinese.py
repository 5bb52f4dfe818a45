"""A guest reads the sign-up refusals and the sign-in prompt in Chinese (no WTForms English, no
「无效的 Email 地址」)."""
import re


def test_signup_refusals_are_in_chinese(app, client):
    page = client.post("/signup", data={"email": "not-an-address", "password": "short", "confirm": "other"})
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "这不是电子邮箱地址" in text and "密码需要 8 到 200 个字符" in text
    assert not re.search(r"Invalid|Field must|This field is required|无效的 Email", text)


def test_a_guest_sent_to_sign_in_is_told_why_in_chinese(app, client):
    page = client.get("/orders", follow_redirects=True).get_data(as_text=True)
    assert "请先登录再打开此页面。" in page and "Please log in" not in page
