"""The shared page cache (Redis): catalogue pages are served from it, yet a buyer sees a price or
stock change on the next request, their own CSRF token, their own language and their own cart."""
import re

import pytest
import redis
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event, select, update

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from tests.conftest import TEST_REDIS_URL
from tests.storefront.conftest import Shopper

pytestmark = pytest.mark.redis


@pytest.fixture
def page_cache(app):
    # The demo district without `demo`'s pushed app context: requests here must end their sessions.
    from tests.demo_copy import seed_demo

    with app.app_context():
        seed_demo()
        db.session.remove()
    store = redis.Redis.from_url(TEST_REDIS_URL)
    for key in store.scan_iter("page:*"):
        store.delete(key)
    store.delete("catalogue:version", "catalogue:changes", *store.scan_iter("catalogue:stock:*"))
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
    # The visitor's CSRF token is signed anew with the second it is served in: the rest is the same page.
    assert unsigned(response.get_data(as_text=True)) == unsigned(first)
    assert statements == []


def unsigned(page):
    return re.sub(r'(name="csrf_token"[^>]*value="|content=")[\w.-]+\.[\w-]+\.[\w-]+"', r'\1…"', page)


def test_price_changed_by_an_update_statement_shows_at_once(app, client, page_cache):
    pear = cheapest_pear(app)
    assert "¥39.90" in client.get("/").get_data(as_text=True)
    with app.app_context():
        # One UPDATE, no ORM object (as checkout writes): the flush listener still sees it.
        db.session.execute(update(Variant).where(Variant.id == pear.id).values(price_fen=3550))
        db.session.commit()
    assert "¥35.50" in client.get("/").get_data(as_text=True)


def product_page(client, slug="jiao-snow-pears"):
    return client.get(f"/products/{slug}").get_data(as_text=True)


def stock_shown(page, variant_id):
    return re.search(rf'value="{variant_id}".*?class="stock">([^<]*)<', page, re.S).group(1)


def test_stock_taken_by_checkout_shows_on_the_product_page_at_once(app, client, page_cache):
    from marketplace.orders.checkout import _reserve

    pear = cheapest_pear(app)
    before = stock_shown(product_page(client), pear.id)
    with app.app_context():
        _reserve(db.session.get(Variant, pear.id), 3)  # checkout's conditional UPDATE of stock
        db.session.commit()
    after = stock_shown(product_page(client), pear.id)
    assert before != after and str(pear.stock_available - 3) in after


def test_a_stock_change_keeps_other_pages_in_the_cache(app, client, page_cache):
    from marketplace.orders.checkout import _reserve

    pear = cheapest_pear(app)
    with app.app_context():
        other = db.session.scalar(select(Variant).where(Variant.product_id != pear.product_id, Variant.is_active))
        other_slug = other.product.slug
        db.session.remove()
    product_page(client, other_slug)
    client.get("/")
    with app.app_context():
        _reserve(db.session.get(Variant, pear.id), 1)
        db.session.commit()
    for url in (f"/products/{other_slug}", "/"):  # neither shows the pear's stock
        _response, statements = statements_during(app, lambda url=url: client.get(url))
        assert statements == [], url


def test_a_page_rendered_while_the_catalogue_changed_is_not_kept(app, client, page_cache, monkeypatch):
    from marketplace.web import page_cache as cache

    real_mget = page_cache.mget

    def change_during_render(*keys):
        page_cache.incr(cache.CHANGES_KEY)  # a checkout committed while the page was being rendered
        return real_mget(*keys)

    monkeypatch.setattr(page_cache, "mget", change_during_render)
    client.get("/products")
    assert list(page_cache.scan_iter("page:*")) == []


def test_a_page_lives_no_longer_than_its_backstop(app, client, page_cache, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_SECONDS", 7)
    client.get("/products")
    assert 0 < page_cache.pttl(next(page_cache.scan_iter("page:*"))) <= 7000


def test_a_signed_in_buyers_page_is_never_shared(app, client, auth, page_cache):
    auth.login_as("buyer@demo.cn")
    signed_in = product_page(client)
    assert "/logout" in signed_in
    assert list(page_cache.scan_iter("page:*")) == []
    anonymous = product_page(app.test_client())
    assert anonymous != signed_in and "/logout" not in anonymous
    assert "/logout" in product_page(client)  # and the buyer is not handed the anonymous copy


def test_each_language_has_its_own_copy(app, page_cache):
    english = app.test_client()
    english.get("/lang/en")
    chinese = app.test_client()
    for _round in range(2):  # the second round is served from the cache
        assert "Featured" in english.get("/").get_data(as_text=True)
        assert "精选" in chinese.get("/").get_data(as_text=True)
    assert len(list(page_cache.scan_iter("page:*"))) == 2


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


def test_a_visitors_token_from_a_cached_page_is_accepted_and_kept_only_a_minute(app, page_cache, monkeypatch):
    from marketplace.web import page_cache as cache

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    signed = []
    monkeypatch.setattr(cache, "generate_csrf", lambda: signed.append(1) or generate_csrf())
    visitor = app.test_client()

    def token_on_page():
        page = visitor.get("/products/jiao-snow-pears").get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    tokens = [token_on_page() for _ in range(4)]  # the first rendered, the others from the cache
    assert len(set(tokens)) == 1 and len(signed) == 1  # signed once for this visitor's cached pages
    for key, (token, _until) in cache._signed_tokens.items():
        cache._signed_tokens[key] = (token, 0.0)  # the minute is over
    token_on_page(), token_on_page()
    assert len(signed) == 2  # signed afresh, then reused again
    variant = cheapest_pear(app)
    added = visitor.post("/cart/add", data={"variant_id": variant.id, "quantity": 1, "csrf_token": tokens[-1]})
    assert added.status_code == 303
    assert visitor.post("/cart/add", data={"variant_id": variant.id, "quantity": 1}).status_code == 400


def test_a_buyer_with_a_cart_sees_their_own_cart_not_the_shared_page(app, client, page_cache):
    app.test_client().get("/")  # the anonymous page is in the cache now
    Shopper(app, client).add("PEAR-5J", 2)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'class="badge">\s*2\s*<', page)


def test_a_page_rendered_for_a_user_signed_in_without_the_session_is_not_kept(app, client, page_cache, monkeypatch):
    from flask import g

    from marketplace.people.models import User
    from marketplace.web.storefront import routes

    real_index = routes.index.__wrapped__

    def index_for_a_remembered_user():
        g._login_user = db.session.scalar(select(User).where(User.email == "buyer@demo.cn"))
        return real_index()

    monkeypatch.setitem(app.view_functions, "storefront.index", routes.cached_page(index_for_a_remembered_user))
    client.get("/")
    assert list(page_cache.scan_iter("page:*")) == []


def test_the_impact_page_is_cached_until_its_towns_figures_are_folded(app, client, page_cache):
    """The public impact page is served from the cache, and a fold that changes its town's figures
    (the sealing task's, every few seconds) retires it at once."""
    from datetime import date

    from marketplace.catalog.models import Product, SupplyLot
    from marketplace.coops.services import record_supply_lot
    from marketplace.ledger.chain import seal_pending
    from marketplace.ledger.figures import fold_sealed_entries, town_figures
    from marketplace.people.models import Household
    from marketplace.places.models import Town, Village

    def fold():
        with app.app_context():
            seal_pending()
            fold_sealed_entries()
            taihe = db.session.scalar(select(Town).filter_by(slug="taihe"))
            reached = town_figures(taihe.id).by_mechanism["floor_purchase"]
            db.session.remove()
            return reached

    before = fold()
    first = client.get("/towns/taihe/impact").get_data(as_text=True)
    response, statements = statements_during(app, lambda: client.get("/towns/taihe/impact"))
    assert response.get_data(as_text=True) == first and statements == []
    with app.app_context():  # a new lot for a demo grower of Taihe: a floor purchase posted
        lot = db.session.scalars(select(SupplyLot).join(Household, Household.id == SupplyLot.household_id)
                                 .join(Village, Village.id == Household.village_id)
                                 .join(Town, Town.id == Village.town_id).where(Town.slug == "taihe")).first()
        product = db.session.get(Product, lot.product_id)
        record_supply_lot(cooperative_id=product.seller.cooperative_id, product_id=product.id,
                          household_id=lot.household_id, quantity=3, idempotency_token="impact-cache-1",
                          received_on=date(2026, 1, 1))
        db.session.commit()
        db.session.remove()
    after = fold()
    assert after > before
    from marketplace.money import format_fen

    assert format_fen(after) in client.get("/towns/taihe/impact").get_data(as_text=True)

