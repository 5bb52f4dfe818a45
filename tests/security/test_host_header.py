"""Host-header poisoning: absolute links come from PUBLIC_BASE_URL, so a request with a forged
Host can put nothing into the page the shared cache serves to other visitors, nor into e-mails."""
import re

import pytest

from marketplace import create_app
from tests.demo_copy import seed_demo
from marketplace.extensions import db
from tests.conftest import TEST_REDIS_URL
from tests.storefront.test_accounts import reset_link

EVIL = "http://evil.example"  # what the Host header says


@pytest.mark.redis
def test_a_forged_host_does_not_reach_the_cached_product_page(app):
    with app.app_context():
        seed_demo()
        db.session.remove()
    cached = create_app({**app.config, "CACHE_REDIS_URL": TEST_REDIS_URL, "PUBLIC_BASE_URL": "https://shop.example.cn"})
    attacker, visitor = cached.test_client(), cached.test_client()
    poisoned = attacker.get("/products/jiao-snow-pears", base_url=EVIL)
    assert poisoned.status_code == 200 and b"evil.example" not in poisoned.data
    page = visitor.get("/products/jiao-snow-pears")
    assert b"evil.example" not in page.data
    assert b"https://shop.example.cn/products/jiao-snow-pears" in page.data
    qr = visitor.get("/products/jiao-snow-pears/qr.svg", base_url=EVIL)
    assert qr.status_code == 200 and b"evil" not in qr.data


def test_a_password_reset_link_ignores_the_host_it_was_asked_from(app, world):
    app.test_client().post("/password/forgot", data={"email": "buyer2@demo.cn"}, base_url=EVIL)
    log = open(app.config["MAIL_LOG_PATH"], encoding="utf-8").read()
    assert "evil.example" not in log
    assert reset_link(app).startswith("/password/reset/")


def test_trusted_hosts_refuse_any_other_host(app):
    strict = create_app({**app.config, "TRUSTED_HOSTS": ["shop.example.cn"]})
    assert strict.test_client().get("/healthz", base_url=EVIL).status_code == 400
    assert strict.test_client().get("/healthz", base_url="http://shop.example.cn").status_code == 200
