"""长辈模式: the header's switch, kept in a cookie and on the signed-in user's account."""
import re

from marketplace.extensions import db
from marketplace.people.models import User


def html_class(page):
    return re.search(r"<html[^>]*>", page).group(0)


def test_the_switch_turns_elder_mode_on_and_off_and_the_browser_keeps_it(client, demo):
    page = client.get("/products").get_data(as_text=True)
    assert 'class="elder"' not in html_class(page) and "长辈版" in page
    response = client.post("/elder-mode/on", headers={"Referer": "http://localhost/products"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/products")
    assert "elder=1" in response.headers["Set-Cookie"] and "Max-Age" in response.headers["Set-Cookie"]
    page = client.get("/products").get_data(as_text=True)
    assert 'class="elder"' in html_class(page) and "标准版" in page
    client.post("/elder-mode/off")
    assert 'class="elder"' not in html_class(client.get("/").get_data(as_text=True))


def test_a_signed_in_users_choice_follows_them_to_another_device(app, client, auth, demo):
    auth.login()
    client.post("/elder-mode/on")
    assert db.session.scalar(db.select(User.elder_mode).filter_by(email="buyer@demo.cn")) is True
    other_device = app.test_client()
    other_device.post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"})
    assert 'class="elder"' in html_class(other_device.get("/orders").get_data(as_text=True))
    # A choice made on that device wins there.
    other_device.post("/elder-mode/off")
    assert 'class="elder"' not in html_class(other_device.get("/orders").get_data(as_text=True))
    assert db.session.scalar(db.select(User.elder_mode).filter_by(email="buyer@demo.cn")) is False


def test_the_switch_goes_back_only_to_a_page_of_this_site(client, demo):
    response = client.post("/elder-mode/on", headers={"Referer": "https://evil.example/phish"})
    assert response.headers["Location"] == "/"
    assert client.post("/elder-mode/maybe").status_code == 404


def test_the_switch_needs_the_pages_csrf_token(app, client, demo):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/elder-mode/on").status_code == 400
        assert "elder=1" not in client.get("/").headers.get("Set-Cookie", "")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_elder_mode_is_in_english_too(client, demo):
    client.get("/lang/en")
    assert "Elder mode" in client.get("/").get_data(as_text=True)
    client.post("/elder-mode/on")
    assert "Standard mode" in client.get("/").get_data(as_text=True)
