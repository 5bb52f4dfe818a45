"""No page issues a query per row: the SQL count of each list page is the same for few rows and many.

Each page is requested once with a small catalogue and once with a catalogue several times
larger (more products on the page, more variants, lots and supplying households per product);
the number of SQL statements must not grow with it.
"""
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event

from marketplace.catalog.models import Category, Product, ProductPhoto, Seller, SupplyLot, Variant
from marketplace.coops.models import Cooperative, Membership
from marketplace.crypto import blind_index, mask
from marketplace.extensions import db
from marketplace.people.models import Household
from marketplace.places.models import Town, Village

SMALL, LARGE = 2, 12  # products on the page; LARGE fills a page of the catalogue (PAGE_SIZE 12)


@contextmanager
def counting_queries(app):
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def build_catalogue(products, per_product):
    """`products` cooperative products in one town, each with `per_product` variants and lots
    from `per_product` different member households."""
    town = Town(slug="query-town", name_zh="查询镇", name_en="Query Town")
    db.session.add(town)
    db.session.flush()
    village = Village(town_id=town.id, name_zh="计数村", name_en="Counting Village", is_poor_village=True)
    category = Category(slug="fruit", name_zh="水果", name_en="Fruit", direction="uplink")
    db.session.add_all([village, category])
    db.session.flush()
    coop = Cooperative(town_id=town.id, village_id=village.id, registration_no="Q-1", name_zh="计数合作社",
                       name_en="Counting Cooperative")
    db.session.add(coop)
    db.session.flush()
    seller = Seller(kind="cooperative", cooperative_id=coop.id)
    households = []
    for index in range(per_product):
        registry_no = f"3703{index:08d}"
        households.append(Household(
            village_id=village.id, head_name=f"户主{index}", registry_no=registry_no,
            registry_no_index=blind_index(registry_no), registry_no_masked=mask(registry_no),
            is_verified_poor=True, consent_public=True, display_label_zh=f"农户{index}",
            display_label_en=f"Grower {index}"))
    db.session.add(seller)
    db.session.add_all(households)
    db.session.flush()
    db.session.add_all(Membership(cooperative_id=coop.id, household_id=h.id, joined_on=date(2020, 1, 1))
                       for h in households)
    for number in range(products):
        product = Product(slug=f"pear-{number}", seller_id=seller.id, category_id=category.id,
                          origin_village_id=village.id, title_zh=f"雪梨{number}号", title_en=f"Snow pear {number}",
                          floor_price_fen=300, is_featured=True, label_selenium_rich=number % 2 == 0)
        db.session.add(product)
        db.session.flush()
        db.session.add(ProductPhoto(product_id=product.id, filename=f"p{number}.jpg", thumbnail=f"p{number}-t.jpg"))
        for index, household in enumerate(households):
            db.session.add(Variant(product_id=product.id, sku=f"P{number}-{index}", name_zh=f"{index + 1}斤",
                                   name_en=f"{index + 1} jin", price_fen=1000 + index, stock_available=50))
            db.session.add(SupplyLot(product_id=product.id, cooperative_id=coop.id, household_id=household.id,
                                     quantity=100, quantity_remaining=100, floor_price_fen=300,
                                     received_on=date(2026, 10, 1), idempotency_token=f"q-{number}-{index}"))
    db.session.commit()


def queries_for(app, client, url):
    client.get(url)  # first request warms caches that are not per row (translations, compiled SQL)
    with counting_queries(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


PAGES = ["/", "/products", "/products?q=雪梨", "/products?q=snow+pear", "/products?sort=price_asc",
         "/products?sort=newest", "/products?label=selenium", "/products/pear-0"]
# Cards come with the listing query (village joined, lowest price and thumbnail as columns); the
# product page is the product (seller, village, town, variants and photos joined) and its
# suppliers. The transaction adds one statement of its own (SQLite's BEGIN IMMEDIATE,
# PostgreSQL's check that a read-only request may end with COMMIT).


@pytest.mark.parametrize("url", PAGES)
def test_page_query_count_does_not_grow_with_rows(app, client, url):
    counts = []
    for products, per_product in ((SMALL, 1), (LARGE, 4)):
        with app.app_context():
            from tests.conftest import _clean_tables

            _clean_tables()
            build_catalogue(products, per_product)
            db.session.remove()
        counts.append(queries_for(app, client, url))
    assert counts[0] == counts[1], f"{url}: {counts[0]} queries for {SMALL} products, {counts[1]} for {LARGE}"
    assert counts[1] <= 4, f"{url}: {counts[1]} queries"


DEEP = 40  # products: pages 1–4 of twelve


@pytest.mark.parametrize("listing", ["/products?", "/products?sort=price_asc&", "/products?sort=price_desc&",
                                     "/products?sort=newest&", "/products?q=雪梨&", "/products?q=雪梨&sort=price_asc&",
                                     "/products?label=selenium&"])
def test_a_deep_page_issues_no_more_queries_than_page_one(app, client, listing):
    """Pages after the first seek past the key that ended the page before (catalog/seek.py): the
    listing's page anchors are read once (on the warm-up request), then the last page is one
    query like the first, not an OFFSET walk."""
    with app.app_context():
        from tests.conftest import _clean_tables

        _clean_tables()
        build_catalogue(DEEP, 1)
        db.session.remove()
    last = 2 if "label" in listing else 4  # half the products are selenium-rich
    first, deep = queries_for(app, client, f"{listing}page=1"), queries_for(app, client, f"{listing}page={last}")
    assert deep <= first, f"{listing}: page 1 {first} queries, page {last} {deep}"
