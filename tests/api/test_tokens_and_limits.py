"""API tokens from the account page, CSRF on forms but not on bearer calls, and rate limits."""
import re

import pytest

from tests.api.conftest import Api

TOKEN = re.compile(r"mp_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def limited(rate_limited_app, api):
    """A second app on the same database with rate limits on (3 a minute per token, 5 per address)."""
    limited_app = rate_limited_app(API_RATE_LIMIT_PER_TOKEN="3 per minute", API_RATE_LIMIT_PER_IP="5 per minute")
    return Api(limited_app, limited_app.test_client())


def test_a_token_made_on_the_account_page_is_shown_once_and_works_until_revoked(api, auth):
    auth.login_as("buyer@demo.cn")
    made = api.client.post("/account/api-tokens", data={"name": "小程序"}, follow_redirects=True)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    token = TOKEN.search(made.get_data(as_text=True)).group()
    page = api.client.get("/account/api-tokens").get_data(as_text=True)
    assert "小程序" in page and token not in page
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/orders", headers=bearer).status_code == 200
    token_id = re.search(r"/account/api-tokens/(\d+)/revoke", page).group(1)
    api.client.post(f"/account/api-tokens/{token_id}/revoke")
    assert api.client.get("/api/v1/orders", headers=bearer).status_code == 401


def test_only_the_hash_of_a_token_is_stored(api):
    from marketplace.api.models import ApiToken
    from marketplace.extensions import db

    token = api.token_for("buyer@demo.cn")
    with api.app.app_context():
        stored = db.session.scalars(db.select(ApiToken)).all()
        assert all(token not in (row.token_hash, row.prefix) for row in stored)
        db.session.remove()


def test_a_token_stops_working_when_its_users_role_changes(api):
    from marketplace.extensions import db
    from marketplace.people.models import User

    token = api.token_for("coop@demo.cn")
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/coop/listings", headers=bearer).status_code == 200
    with api.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "coop@demo.cn"))
        user.role = "buyer"
        db.session.commit()
        db.session.remove()
    assert api.client.get("/api/v1/orders", headers=bearer).status_code == 401


def test_forms_keep_csrf_while_bearer_api_calls_need_none(api, auth, csrf_on):
    auth.login_as("buyer@demo.cn")
    assert api.client.post("/account/api-tokens", data={"name": "no csrf"}).status_code == 400
    variant_id, _slug = api.first_variant()
    response = api.post("/cart/items", json={"variant_id": variant_id, "quantity": 1}, as_="buyer@demo.cn")
    assert response.status_code == 201


def test_the_session_cookie_alone_does_not_open_the_api(api, auth):
    auth.login_as("buyer@demo.cn")
    assert api.client.get("/api/v1/cart").status_code == 401


def test_too_many_requests_per_token_get_429_with_retry_after(api, limited):
    limited.tokens = api.tokens
    for _ in range(3):
        assert limited.get("/orders", as_="buyer@demo.cn").status_code == 200
    refused = limited.get("/orders", as_="buyer@demo.cn")
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert limited.get("/orders", as_="other-buyer@example.cn").status_code == 200


def test_too_many_requests_from_one_address_get_429(limited):
    statuses = [limited.get("/towns").status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429


def last_mail(app):
    import email
    import email.policy
    from pathlib import Path

    log = Path(app.config["MAIL_LOG_PATH"]).read_text(encoding="utf-8")
    last = re.split(r"(?m)^(?=From: )", log)[-1]
    message = email.message_from_string(last, policy=email.policy.default)
    return message["To"], message.get_content()


def test_a_password_change_ends_every_api_token_and_the_owner_is_told(app, api):
    assert api.get("/orders", as_="buyer@demo.cn").status_code == 200
    browser = app.test_client()
    browser.post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"})
    assert browser.post("/account/password", data={"current": "demo1234", "password": "new-password-1",
                                                   "confirm": "new-password-1"}).status_code in (302, 303)
    assert api.get("/orders", as_="buyer@demo.cn").status_code == 401
    to, body = last_mail(app)
    assert to == "buyer@demo.cn" and "API" in body and "password was changed" in body


def test_a_password_reset_ends_every_api_token(app, api):
    from tests.storefront.test_accounts import reset_link

    assert api.get("/orders", as_="buyer@demo.cn").status_code == 200
    app.test_client().post("/password/forgot", data={"email": "buyer@demo.cn"})
    stranger = app.test_client()
    assert stranger.post(reset_link(app), data={"password": "new-password-1", "confirm": "new-password-1"}).status_code == 303
    assert api.get("/orders", as_="buyer@demo.cn").status_code == 401
    assert "password was reset" in last_mail(app)[1]


def test_a_token_does_not_come_back_when_its_deactivated_owner_is_reactivated(app, api):
    from marketplace.people.directory import set_user_active
    from tests.api.conftest import user_id

    assert api.get("/orders", as_="buyer@demo.cn").status_code == 200
    buyer, admin = user_id("buyer@demo.cn"), user_id("admin@demo.cn")
    set_user_active(buyer, False, admin)
    assert api.get("/orders", as_="buyer@demo.cn").status_code == 401
    set_user_active(buyer, True, admin)
    assert api.get("/orders", as_="buyer@demo.cn").status_code == 401
    assert "deactivated" in last_mail(app)[1]
