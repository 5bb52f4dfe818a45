"""Each product's lowest_price_fen is the lowest price of its active variants (NULL: not for sale),
kept by the database's triggers however the variants change (marketplace.catalog.lowest_price)."""
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text, update

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from tests.conftest import TEST_DATABASE_URL, _clean_tables
from tests.ledger.builders import District, number

PRICES = st.integers(1, 100_000)
OPERATIONS = st.one_of(
    st.tuples(st.just("add"), PRICES, st.booleans()),
    st.tuples(st.just("reprice"), st.integers(0, 5), PRICES),  # through the ORM
    st.tuples(st.just("reprice_statement"), st.integers(0, 5), PRICES),  # an UPDATE statement, as bulk edits run
    st.tuples(st.just("toggle"), st.integers(0, 5)),
    st.tuples(st.just("delete"), st.integers(0, 5)),
    st.tuples(st.just("plain_sql"), st.integers(0, 5), PRICES),  # outside the app, as an operator might
    st.tuples(st.just("stock"), st.integers(0, 5), st.integers(0, 1000)),
    st.tuples(st.just("move"), st.integers(0, 5)),  # a variant moved to the other product
)


def stored_lowest(product_id):
    return db.session.execute(text("SELECT lowest_price_fen FROM products WHERE id = :id"), {"id": product_id}).scalar()


def true_lowest(product_id):
    prices = [v.price_fen for v in db.session.scalars(db.select(Variant).where(Variant.product_id == product_id))
              if v.is_active]
    return min(prices) if prices else None


def apply(operation, products, variants):
    kind, *args = operation
    if kind == "add":
        price, active = args
        variant = Variant(product_id=products[0], sku=f"added-{number()}", name_zh="规格", name_en="Variant", price_fen=price,
                          is_active=active)
        db.session.add(variant)
        db.session.flush()
        variants.append(variant.id)
        return
    if not variants:
        return
    variant_id = variants[args[0] % len(variants)]
    if kind == "reprice":
        db.session.get(Variant, variant_id).price_fen = args[1]
    elif kind == "reprice_statement":
        db.session.execute(update(Variant).where(Variant.id == variant_id).values(price_fen=args[1]))
    elif kind == "toggle":
        variant = db.session.get(Variant, variant_id)
        variant.is_active = not variant.is_active
    elif kind == "delete":
        db.session.delete(db.session.get(Variant, variant_id))
        variants.remove(variant_id)
    elif kind == "plain_sql":
        db.session.execute(text("UPDATE variants SET price_fen = :p WHERE id = :id"), {"p": args[1], "id": variant_id})
    elif kind == "stock":
        db.session.execute(update(Variant).where(Variant.id == variant_id).values(stock_available=args[1]))
    elif kind == "move":
        variant = db.session.get(Variant, variant_id)
        variant.product_id = products[1] if variant.product_id == products[0] else products[0]


@settings(max_examples=15 if TEST_DATABASE_URL else 40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=st.lists(OPERATIONS, max_size=12))
def test_the_lowest_price_follows_every_change_of_the_variants(app_ctx, operations):
    _clean_tables()
    district = District()
    coop = district.cooperative()
    first = district.variant(coop, price_fen=500)
    second = district.variant(coop, price_fen=800)
    products, variants = [first.product_id, second.product_id], [first.id, second.id]
    assert [stored_lowest(p) for p in products] == [500, 800]
    for operation in operations:
        apply(operation, products, variants)
        db.session.commit()
        db.session.expire_all()
        for product_id in products:
            assert stored_lowest(product_id) == true_lowest(product_id), operation


def test_a_product_without_an_active_variant_is_not_listed_and_price_sorts_use_the_lowest_price(app_ctx):
    from marketplace.catalog.browse import CatalogueQuery, search_cards

    district = District()
    coop = district.cooperative()
    cheap, dear, off_sale = (district.variant(coop, price_fen=price) for price in (300, 900, 100))
    db.session.add(Variant(product_id=dear.product_id, sku="dear-small", name_zh="小份", name_en="Small",
                           price_fen=200, is_active=False))
    db.session.get(Variant, off_sale.id).is_active = False
    db.session.commit()

    def listed(**query):
        return [(card.product_id, card.lowest_price_fen) for card in search_cards(CatalogueQuery(**query)).items]

    assert listed(sort="price_asc") == [(cheap.product_id, 300), (dear.product_id, 900)]
    assert listed(sort="price_desc") == [(dear.product_id, 900), (cheap.product_id, 300)]
    assert listed(min_price_fen=301) == [(dear.product_id, 900)]
    db.session.execute(update(Variant).where(Variant.sku == "dear-small").values(is_active=True))
    db.session.commit()
    assert listed(sort="price_asc") == [(dear.product_id, 200), (cheap.product_id, 300)]
    assert off_sale.product_id not in {product_id for product_id, _ in listed()}


@pytest.mark.postgres
def test_two_variants_of_one_product_repriced_at_once_leave_the_lowest_of_both(app_ctx, database_url):
    """Each transaction's trigger reads the other variant after taking the product's row lock, so the
    one that waited sees what the first committed, not its own snapshot from before."""
    district = District()
    coop = district.cooperative()
    first = district.variant(coop, price_fen=500)
    second = Variant(product_id=first.product_id, sku="second", name_zh="箱", name_en="Box", price_fen=600)
    db.session.add(second)
    db.session.commit()
    product_id, first_id, second_id = first.product_id, first.id, second.id
    db.session.remove()

    engine = create_engine(database_url)
    try:
        with engine.connect() as one, engine.connect() as other:
            one.execute(text("UPDATE variants SET price_fen = 100 WHERE id = :id"), {"id": first_id})
            done = threading.Event()

            def reprice_second():
                other.execute(text("UPDATE variants SET price_fen = 700 WHERE id = :id"), {"id": second_id})
                other.commit()
                done.set()

            waiting = threading.Thread(target=reprice_second)
            waiting.start()
            assert not done.wait(0.5), "the second transaction waits for the product's row"
            one.commit()
            waiting.join(10)
            assert done.is_set()
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT lowest_price_fen FROM products WHERE id = :id"),
                                        {"id": product_id}).scalar()
        assert stored == 100
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_stock_change_leaves_the_product_row_alone(app_ctx):
    """Checkout's stock UPDATE is the busiest write there is: the trigger does not fire on it, so
    buyers of one product never queue on its row."""
    variant = District().variant(District().cooperative(), price_fen=500)
    version = text("SELECT xmin::text FROM products WHERE id = :id")
    before = db.session.execute(version, {"id": variant.product_id}).scalar()
    db.session.execute(update(Variant).where(Variant.id == variant.id).values(stock_available=Variant.stock_available - 1))
    db.session.commit()
    assert db.session.execute(version, {"id": variant.product_id}).scalar() == before
    db.session.get(Variant, variant.id).price_fen = 400
    db.session.commit()
    assert db.session.execute(version, {"id": variant.product_id}).scalar() != before
    assert stored_lowest(variant.product_id) == 400
