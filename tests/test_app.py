import pytest

from marketplace import create_app
from marketplace.config import DEV_SECRET_KEY


def test_home_lists_the_demo_products_in_chinese_by_default(client, demo):
    page = client.get("/").get_data(as_text=True)
    assert "焦氏雪梨" in page
    assert "李里小杂粮" in page
    assert 'lang="zh-CN"' in page


def test_language_switch_sticks_for_the_session(client, demo):
    client.get("/lang/en", headers={"Referer": "/"})
    page = client.get("/").get_data(as_text=True)
    assert "Jiao-family snow pears" in page
    assert "¥39.90" in page


def test_pages_carry_security_headers_and_a_csp_without_inline_script(client, demo):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_language_switch_never_redirects_off_site(client):
    response = client.get("/lang/en", headers={"Referer": "https://evil.example/phish"})
    assert response.headers["Location"] == "/"


def test_production_refuses_the_development_secret_key(monkeypatch):
    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
