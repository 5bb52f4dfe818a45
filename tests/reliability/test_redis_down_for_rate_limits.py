"""A Redis outage while Redis holds the rate-limit counters: sign-in and the API keep answering.

The app counts on a private redis-server, which is SIGKILLed: every request still gets its page
(no 500), the limits still hold (counted in this process's memory meanwhile), and the switch is
logged. When Redis is back the limiter goes back to it.
"""
import logging

import pytest

from marketplace.api.tokens import create_token
from tests.demo_copy import seed_demo
from marketplace.extensions import db
from tests.api.conftest import user_id

pytestmark = [pytest.mark.redis]


@pytest.fixture
def limited_on_redis(app, rate_limited_app, private_redis):
    with app.app_context():
        seed_demo()
        _token, plaintext = create_token(user_id("buyer@demo.cn"), "script")
        db.session.remove()
    return rate_limited_app(RATELIMIT_STORAGE_URI=private_redis.url), plaintext


def sign_in(client, password="demo1234"):
    return client.post("/login", data={"email": "buyer@demo.cn", "password": password}).status_code


def test_sign_in_and_the_api_survive_redis_dying_and_limits_still_hold(limited_on_redis, private_redis, caplog):
    limited, token = limited_on_redis
    client = limited.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert sign_in(client) == 302
    assert client.get("/api/v1/orders", headers=bearer).status_code == 200

    private_redis.kill()
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        assert sign_in(limited.test_client()) == 302
        assert client.get("/api/v1/orders", headers=bearer).status_code == 200
        assert client.get("/api/v1/towns").status_code == 200
    assert "falling back to in-memory storage" in caplog.text

    # Ten sign-ins a minute from one address, counted in memory while Redis is away.
    statuses = [sign_in(limited.test_client(), password="wrong-password") for _ in range(10)]
    assert 500 not in statuses and statuses[-1] == 429
