"""The shared page cache (Redis): catalogue pages are served from it, yet a buyer sees a price
change within a second, their own CSRF token and their own cart."""
import re
import time

import pytest
import redis
from sqlalchemy import event, select, update

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from tests.conftest import TEST_REDIS_URL
from tests.storefront.conftest import Shopper

pytestmark = pytest.mark.redis


@pytest.fixture
def page_cache(app):
    # The demo district without `demo`'s pushed app context: requests here must end their sessions.
    from marketplace.demo.seed import seed_demo

    with app.app_context():
        seed_demo()
        db.session.remove()
    store = redis.Redis.from_url(TEST_REDIS_URL)
    for key in store.scan_iter("page:*"):
        store.delete(key)
    store.delete("catalogue:version")
    app.extensions["page_cache"] = store
    yield store
    app.extensions["page_cache"] = None


def cheapest_pear(app):
    with app.app_context():
        found = db.session.scalar(select(Variant).where(Variant.sku == "PEAR-5J"))
        db.session.remove()
        return found


def statements_during(app, request):
    seen = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = request()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return response, seen


def test_second_visit_to_the_catalogue_is_served_without_the_database(app, client, page_cache):
    first = client.get("/products").get_data(as_text=True)
    response, statements = statements_during(app, lambda: client.get("/products"))
    assert response.get_data(as_text=True) == first
    assert statements == []


def test_price_changed_by_a_plain_update_shows_once_the_second_is_up(app, client, page_cache):
    pear = cheapest_pear(app)
    assert "¥39.90" in client.get("/").get_data(as_text=True)
    # The shared copy lives one second at most...
    assert 0 < page_cache.pttl(next(page_cache.scan_iter("page:*"))) <= 1000
    with app.app_context():
        # ...so a change made as checkout makes it (one UPDATE, no ORM object, no version bump) shows then.
        db.session.execute(update(Variant).where(Variant.id == pear.id).values(price_fen=3550))
        db.session.commit()
    changed = time.monotonic()
    while "¥35.50" not in client.get("/").get_data(as_text=True):
        assert time.monotonic() - changed < 5, "the new price never showed"


def test_price_edited_through_the_models_shows_at_once(app, client, page_cache):
    assert "¥39.90" in client.get("/").get_data(as_text=True)
    with app.app_context():
        db.session.scalar(select(Variant).where(Variant.sku == "PEAR-5J")).price_fen = 3450
        db.session.commit()
    assert "¥34.50" in client.get("/").get_data(as_text=True)


def test_each_visitor_gets_a_csrf_token_of_their_own_from_a_cached_page(app, page_cache, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    tokens = []
    for _visitor in range(2):
        page = app.test_client().get("/products/jiao-snow-pears").get_data(as_text=True)
        assert "\x00" not in page
        tokens.append(re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1))
    assert tokens[0] != tokens[1]


def test_a_buyer_with_a_cart_sees_their_own_cart_not_the_shared_page(app, client, page_cache):
    app.test_client().get("/")  # the anonymous page is in the cache now
    Shopper(app, client).add("PEAR-5J", 2)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'class="badge">\s*2\s*<', page)
