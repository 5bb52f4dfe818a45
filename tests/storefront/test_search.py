"""Searching the catalogue through its bigram index: Chinese terms without spaces, English words."""
import re

import pytest

from marketplace.catalog.browse import CatalogueQuery, search_cards
from marketplace.catalog.models import Product, Variant
from marketplace.catalog.search import index_terms, query_terms
from marketplace.extensions import db


def test_a_chinese_term_is_searched_as_its_bigrams_and_a_single_character_as_itself():
    assert query_terms("雪梨") == ["雪梨"]
    assert query_terms("有机小米") == ["有机", "机小", "小米"]
    assert query_terms("梨") == ["梨"]
    assert query_terms("Snow Pears 雪梨!") == ["雪梨", "snow", "pear"]
    assert query_terms("……") == []


def test_a_title_is_indexed_under_its_characters_bigrams_and_words():
    terms = index_terms("焦氏雪梨", "Jiao family snow pears").split()
    assert {"焦氏", "氏雪", "雪梨", "梨", "pears", "pear", "snow"} <= set(terms)
    assert "焦氏雪梨" not in terms and "焦雪" not in terms


def list_products(titles, labels=None):
    """Active products with one variant each, sold by the demo's snow-pear seller; returns their slugs."""
    pear = db.session.scalar(db.select(Product).filter_by(slug="jiao-snow-pears"))
    for number, (title_zh, title_en) in enumerate(titles):
        product = Product(slug=f"search-{number}", seller_id=pear.seller_id, category_id=pear.category_id,
                          origin_village_id=pear.origin_village_id, title_zh=title_zh, title_en=title_en,
                          **(labels or {}).get(number, {}))
        db.session.add(product)
        db.session.flush()
        db.session.add(Variant(product_id=product.id, sku=f"S-{number}", name_zh="1斤", name_en="1 jin",
                               price_fen=1000 + number, stock_available=5))
    db.session.commit()


def found(client, text):
    page = client.get("/products", query_string={"q": text}).get_data(as_text=True)
    return re.findall(r'href="/products/(search-\d+)"', page)


@pytest.fixture
def catalogue(demo):
    list_products([
        ("焦氏雪梨", "Jiao family snow pears"),          # 0
        ("有机小米", "Organic millet"),                  # 1
        ("有机大米、小米粥", "Organic rice, millet porridge"),  # 2: 有机 and 小米, never 机小
        ("黄金小米", "Golden millet"),                    # 3
        ("高山苹果", "Mountain apples"),                  # 4: 富硒 only as a label
        ("富硒苹果", "Selenium apples"),                  # 5: 富硒 in the title
    ], labels={4: {"label_selenium_rich": True}})


def test_chinese_terms_find_titles_that_contain_them(client, catalogue):
    assert found(client, "雪梨") == ["search-0"]
    assert set(found(client, "小米")) == {"search-1", "search-2", "search-3"}


def test_partial_bigrams_do_not_make_a_match(client, catalogue):
    assert found(client, "有机小米") == ["search-1"]
    assert found(client, "雪梨小米") == []


def test_english_words_match_whatever_their_case_and_plural(client, catalogue):
    assert found(client, "PEAR") == ["search-0"]
    assert set(found(client, "millet")) == {"search-1", "search-2", "search-3"}
    assert found(client, "golden millet") == ["search-3"]
    assert found(client, "mill") == []  # words, not prefixes


def test_a_label_finds_products_as_its_words_do_and_results_keep_the_catalogue_order(client, catalogue):
    # 富硒 in the title of search-5, only as a label of search-4: both found, newest listing first.
    assert found(client, "富硒") == ["search-5", "search-4"]
    assert found(client, "selenium") == ["search-5", "search-4"]


def test_the_village_name_finds_its_products(client, catalogue):
    village = db.session.scalar(db.select(Product).filter_by(slug="search-0")).origin_village
    assert "search-0" in found(client, village.name_zh)


def test_renaming_a_product_reindexes_it(client, catalogue):
    product = db.session.scalar(db.select(Product).filter_by(slug="search-3"))
    product.title_zh = "黄金玉米"
    db.session.commit()
    assert "search-3" not in found(client, "小米")
    assert found(client, "玉米") == ["search-3"]


def test_a_search_keeps_the_sort_the_price_filter_and_the_pages(client, catalogue):
    """On PostgreSQL a search picks its page's ids first (an index-only walk), then reads them:
    the order, filters and pages must be those of any other listing."""
    def found_with(**args):
        page = client.get("/products", query_string={"q": "小米", **args}).get_data(as_text=True)
        return re.findall(r'href="/products/(search-\d+)"', page)

    # Prices: search-1 10.01, search-2 10.02, search-3 10.03 yuan.
    assert found_with(sort="price_asc") == ["search-1", "search-2", "search-3"]
    assert found_with(sort="price_desc") == ["search-3", "search-2", "search-1"]
    assert found_with(sort="price_asc", min_price="10.02") == ["search-2", "search-3"]
    assert found_with(sort="price_asc", max_price="10.02", label="organic") == []  # no labels set
    everything = [card.slug for card in search_cards(CatalogueQuery(text="小米", sort="price_asc", per_page=50)).items]
    paged, number = [], 1
    while True:
        page = search_cards(CatalogueQuery(text="小米", sort="price_asc", per_page=2, page=number))
        paged += [card.slug for card in page.items]
        if not page.has_next:
            break
        number += 1
    assert paged == everything and len(everything) > 3
