"""Changing a password while signed in: it takes the current password, ends every other session
of the user (a replayed old cookie is refused) and keeps the one that changed it."""
from sqlalchemy import select

from marketplace.extensions import db, limiter
from marketplace.people.models import User

EMAIL = "buyer2@demo.cn"


def signed_in(app, password="demo1234"):
    client = app.test_client()
    assert client.post("/login", data={"email": EMAIL, "password": password}).status_code == 302
    return client


def account(app):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        state = (user.password_hash, user.session_version)
        db.session.remove()
        return state


def change(client, current, new, confirm=None):
    return client.post("/account/password", data={"current": current, "password": new, "confirm": confirm or new})


def is_signed_in(client):
    return client.get("/orders").status_code == 200


def test_a_password_change_ends_every_other_session_and_keeps_this_one(app, world):
    phone, laptop = signed_in(app), signed_in(app)
    phone_cookie_before = phone.get_cookie("session").value
    laptop_cookie = laptop.get_cookie("session").value
    assert phone.get("/account/password").status_code == 200

    response = change(phone, "demo1234", "a-new-password-1")
    assert response.status_code == 303
    assert is_signed_in(phone), "the session that changed the password carries on"
    assert laptop.get("/orders").headers.get("Location", "").startswith("/login")
    for old_cookie in (laptop_cookie, phone_cookie_before):
        replay = app.test_client()
        replay.set_cookie("session", old_cookie)
        assert replay.get("/orders").status_code == 302, "a replayed old session cookie is refused"
    assert app.test_client().post("/login", data={"email": EMAIL, "password": "demo1234"}).status_code == 401
    assert is_signed_in(signed_in(app, "a-new-password-1"))


def test_a_wrong_current_password_is_refused_and_changes_nothing(app, world):
    phone, laptop = signed_in(app), signed_in(app)
    before = account(app)
    response = change(phone, "not-my-password", "a-new-password-1")
    assert response.status_code == 401
    assert "当前密码不正确" in response.get_data(as_text=True)
    assert account(app) == before
    assert is_signed_in(phone) and is_signed_in(laptop)


def test_new_passwords_that_differ_or_are_short_are_refused_and_change_nothing(app, world):
    phone = signed_in(app)
    before = account(app)
    assert change(phone, "demo1234", "a-new-password-1", "a-new-password-2").status_code == 400
    assert change(phone, "demo1234", "short").status_code == 400
    assert account(app) == before and is_signed_in(phone)


def test_the_password_page_is_for_signed_in_people_only(app, world):
    before = account(app)
    response = app.test_client().post("/account/password", data={"current": "demo1234", "password": "x" * 10,
                                                                 "confirm": "x" * 10})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert account(app) == before


def test_the_password_change_is_rate_limited_like_login(app, world, rate_limited_app):
    client = signed_in(rate_limited_app())
    before = account(app)
    statuses = [change(client, "guess-%d" % n, "a-new-password-1").status_code for n in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert account(app) == before
