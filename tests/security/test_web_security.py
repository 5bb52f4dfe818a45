"""Web security of every route: CSRF, cookies, headers, passwords, sessions, redirects, webhooks."""
import json
import re
import time
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from marketplace.config import load_settings
from marketplace.extensions import db
from marketplace.payments import stripe_gateway
from marketplace.people.models import User
from tests.security.conftest import snapshot
from tests.security.test_authorization_matrix import cells, client_as
from tests.sim.fake_stripe import FakeStripe
from tests.storefront.test_accounts import reset_link

# Not cookie-and-form routes: Stripe signs its webhook, the API takes a bearer token.
CSRF_EXEMPT = {"webhooks.stripe_webhook"}
CSRF_EXEMPT_AREAS = ("api",)


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield app
    app.config["WTF_CSRF_ENABLED"] = False


def test_every_state_changing_route_refuses_a_post_without_a_csrf_token(csrf_on, world):
    refused = 0
    for endpoint, method, url, data, _parametrised in cells(csrf_on, world):
        if method != "POST" or endpoint in CSRF_EXEMPT or endpoint.startswith(CSRF_EXEMPT_AREAS):
            continue
        owner = "supplier@demo.cn" if endpoint.startswith("supplier.") else \
            "agent@demo.cn" if endpoint.startswith("downlink.") else "buyer@demo.cn"
        before = snapshot(csrf_on)
        response = client_as(csrf_on, owner).post(url, data=data)
        assert response.status_code == 400, f"{endpoint} {url} took a POST without a CSRF token"
        assert snapshot(csrf_on) == before, f"{endpoint} changed data on a POST without a CSRF token"
        refused += 1
    assert refused >= 20


def test_a_csrf_token_of_another_session_is_refused_too(csrf_on, world):
    victim = client_as(csrf_on, "buyer@demo.cn")
    attacker = client_as(csrf_on, "buyer2@demo.cn")
    page = attacker.get("/cart").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the cart page carries a CSRF token"
    before = snapshot(csrf_on)
    response = victim.post(f"/orders/{world.order_no}/cancel", data={"csrf_token": token.group(1)})
    assert response.status_code == 400 and snapshot(csrf_on) == before


def test_the_session_cookie_is_httponly_and_samesite_and_secure_in_production(app, world, monkeypatch):
    response = app.test_client().post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    production = load_settings()
    assert production["SESSION_COOKIE_SECURE"] and production["SESSION_COOKIE_HTTPONLY"]
    assert production["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")


def test_production_refuses_to_start_on_development_secrets(monkeypatch):
    from marketplace import create_app

    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_every_page_carries_the_security_headers_and_no_inline_script(app, world):
    pages = 0
    for endpoint, method, url, _data, _parametrised in cells(app, world):
        if method != "GET" or endpoint == "static":
            continue
        owner = "supplier@demo.cn" if endpoint.startswith("supplier.") else \
            "agent@demo.cn" if endpoint.startswith("downlink.") else "buyer@demo.cn"
        for client in (app.test_client(), client_as(app, owner)):
            response = client.get(url)
            csp = response.headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, f"{url}: {csp!r}"
            assert "object-src 'none'" in csp and response.headers["X-Frame-Options"] == "DENY", url
            assert response.headers["X-Content-Type-Options"] == "nosniff", url
            assert response.headers["Referrer-Policy"], url
            if response.mimetype == "text/html":
                body = response.get_data(as_text=True)
                assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), f"{url} has an inline <script>"
                assert not re.search(r"\son[a-z]+\s*=\s*[\"']", body), f"{url} has an inline event handler"
            pages += 1
    assert pages > 30


def test_passwords_are_hashed_with_a_modern_salted_algorithm(app_ctx):
    user = User(email="hash@example.cn", name="hash", role="buyer")
    user.set_password("correct horse battery")
    other = User(email="hash2@example.cn", name="hash2", role="buyer")
    other.set_password("correct horse battery")
    method = user.password_hash.split("$")[0]
    assert method.startswith(("scrypt", "pbkdf2:sha256")), method
    if method.startswith("pbkdf2"):
        assert int(method.split(":")[2]) >= 600_000
    assert user.password_hash != other.password_hash, "salted: one password, two hashes"
    assert "correct horse" not in user.password_hash


def test_a_password_reset_ends_every_session_and_its_link_works_once(app, world):
    phone, laptop = app.test_client(), app.test_client()
    for client in (phone, laptop):
        assert client.post("/login", data={"email": "buyer2@demo.cn", "password": "demo1234"}).status_code == 302
    old_cookie = laptop.get_cookie("session").value
    assert laptop.get("/orders").status_code == 200
    app.test_client().post("/password/forgot", data={"email": "buyer2@demo.cn"})
    link = reset_link(app)
    stranger = app.test_client()
    assert stranger.post(link, data={"password": "new-password-1", "confirm": "new-password-1"}).status_code == 303
    for client in (phone, laptop):
        assert client.get("/orders").headers.get("Location", "").startswith("/login")
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/orders").status_code == 302, "a replayed old session cookie is refused"
    again = stranger.post(link, data={"password": "new-password-2", "confirm": "new-password-2"})
    assert again.status_code == 400


def test_a_reset_link_expires(app, world, monkeypatch):
    from marketplace.people import registration

    app.test_client().post("/password/forgot", data={"email": "buyer2@demo.cn"})
    link = reset_link(app)
    monkeypatch.setattr(registration, "RESET_TOKEN_SECONDS", -1)
    assert app.test_client().get(link).status_code == 400


def test_logout_refuses_the_replayed_cookie_of_every_session(app, world):
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        client.post("/login", data={"email": "buyer@demo.cn", "password": "demo1234"})
    kept = first.get_cookie("session").value
    first.post("/logout")
    replay = app.test_client()
    replay.set_cookie("session", kept)
    assert replay.get(f"/orders/{world.order_no}").status_code == 302
    assert second.get(f"/orders/{world.order_no}").status_code == 302


OFF_SITE = ["https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "https:evil.example",
            "javascript:alert(1)", "%2F%2Fevil.example", "/%09/evil.example", " //evil.example", "http:/evil.example",
            "data:text/html,<script>alert(1)</script>", "//%65vil.example"]


def test_next_never_leads_off_site(app, world):
    for target in OFF_SITE:
        _assert_stays_on_site(app, target)


def _assert_stays_on_site(app, target):
    login = app.test_client().post("/login", query_string={"next": target},
                                   data={"email": "buyer@demo.cn", "password": "demo1234"})
    signup = app.test_client().post("/signup", query_string={"next": target},
                                    data={"email": f"n{abs(hash(target))}@example.cn", "name": "n",
                                          "password": "long-enough-1", "confirm": "long-enough-1"})
    for response in (login, signup):
        location = response.headers["Location"]
        parsed = urlparse(location)
        assert response.status_code in (302, 303)
        assert parsed.scheme in ("", "http") and parsed.netloc in ("", "localhost"), location
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location


def _signed(app, event, timestamp=None, secret=None):
    payload = json.dumps(event)
    header = stripe_gateway.sign_payload_for_tests(payload, secret or app.config["STRIPE_WEBHOOK_SECRET"],
                                                   timestamp or int(time.time()))
    return payload, header


def _paid_intent(app, world, monkeypatch):
    from marketplace.orders.checkout import start_payment
    from marketplace.orders.models import Order

    stripe = FakeStripe().install(monkeypatch)
    with app.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.public_no == world.order_no))
        payment, intent = start_payment(order_id)
        db.session.remove()
    stripe.succeed(intent.id)
    return intent.id


def test_webhook_signature_timestamp_and_replay(app, world, monkeypatch):
    intent_id = _paid_intent(app, world, monkeypatch)
    event = {"id": "evt_sec_1", "object": "event", "type": "payment_intent.succeeded",
             "data": {"object": {"id": intent_id, "object": "payment_intent"}}}
    client = app.test_client()

    def post(payload, header):
        return client.post("/stripe/webhook", data=payload, headers={"Stripe-Signature": header},
                           content_type="application/json")

    before = snapshot(app)
    payload, _header = _signed(app, event)
    assert client.post("/stripe/webhook", data=payload, content_type="application/json").status_code == 400
    assert post(*_signed(app, event, secret="whsec_attacker")).status_code == 400
    assert post(*_signed(app, event, timestamp=int(time.time()) - 301)).status_code == 400, "stale: beyond 300 s"
    tampered, header = _signed(app, event)
    assert post(tampered.replace("evt_sec_1", "evt_sec_2"), header).status_code == 400
    assert snapshot(app) == before, "refused webhooks change nothing"

    first = post(*_signed(app, event))
    assert first.get_json()["outcome"] == "queued"  # recorded; the worker applies it
    from marketplace.payments.webhooks import apply_event

    with app.app_context():
        assert apply_event("evt_sec_1") == "paid"
        assert apply_event("evt_sec_1") == "duplicate"  # the task delivered twice
        db.session.remove()
    after_first = snapshot(app)
    replayed = post(*_signed(app, event))
    assert replayed.status_code == 200 and replayed.get_json()["outcome"] == "duplicate"
    assert snapshot(app) == after_first, "a replayed event changes nothing"
