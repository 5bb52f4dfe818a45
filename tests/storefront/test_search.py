"""Searching the catalogue through its bigram index: Chinese terms without spaces, English words."""
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from marketplace.catalog import browse, ranking, search
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


def plain_seller(pear):
    """A cooperative whose name holds none of the searched words (the demo's pear cooperative is
    响泉焦氏雪梨专业合作社, and a cooperative's name finds its products)."""
    from marketplace.catalog.models import Seller
    from marketplace.coops.models import Cooperative

    found = db.session.scalar(db.select(Seller).join(Cooperative).filter(Cooperative.registration_no == "SEARCH-TEST"))
    if found:
        return found.id
    coop = Cooperative(town_id=pear.origin_village.town_id, registration_no="SEARCH-TEST", name_zh="试验田社",
                       name_en="Trial Field Co")
    db.session.add(coop)
    db.session.flush()
    seller = Seller(kind="cooperative", cooperative_id=coop.id)
    db.session.add(seller)
    db.session.flush()
    return seller.id


def list_products(titles, labels=None, stock=None, first=0):
    """Active products with one variant each, sold by a plainly named cooperative in the snow pears'
    village; returns their slugs."""
    pear = db.session.scalar(db.select(Product).filter_by(slug="jiao-snow-pears"))
    seller_id = plain_seller(pear)
    for number, (title_zh, title_en) in enumerate(titles, start=first):
        product = Product(slug=f"search-{number}", seller_id=seller_id, category_id=pear.category_id,
                          origin_village_id=pear.origin_village_id, title_zh=title_zh, title_en=title_en,
                          **(labels or {}).get(number, {}))
        db.session.add(product)
        db.session.flush()
        db.session.add(Variant(product_id=product.id, sku=f"S-{number}", name_zh="1斤", name_en="1 jin",
                               price_fen=1000 + number, stock_available=(stock or {}).get(number, 5)))
    db.session.commit()


def found(client, text, **args):
    """The products found holding all the words of `text`, in the page's order."""
    page = client.get("/products", query_string={"q": text, **args}).get_data(as_text=True)
    return re.findall(r'href="/products/(search-\d+)"', page.split('class="some-words"')[0])


def found_some(client, text):
    """The products shown below them, holding only some of the words."""
    page = client.get("/products", query_string={"q": text}).get_data(as_text=True)
    return re.findall(r'href="/products/(search-\d+)"', page.split('class="some-words"')[1]) \
        if 'class="some-words"' in page else []


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
    assert search.query_terms("mill") == ["mill"] and " mill " not in index_terms("Golden millet")  # words, not prefixes


def test_a_label_finds_products_as_its_words_do_and_results_keep_the_catalogue_order(client, catalogue):
    # 富硒 in the title of search-5, only as a label of search-4: both found, newest listing first.
    assert found(client, "富硒") == ["search-5", "search-4"]
    assert found(client, "selenium") == ["search-5", "search-4"]


def test_a_title_is_indexed_under_the_pinyin_of_its_words_in_full_and_as_initials():
    terms = set(index_terms("焦氏雪梨").split())
    assert {"xueli", "xl", "jiaoshi", "js", "jiaoshixueli", "jsxl"} <= terms
    assert query_terms("xueli") == ["xueli"] and query_terms("XL") == ["xl"]


def test_pinyin_and_its_initials_find_the_chinese_title(client, catalogue):
    assert found(client, "xueli") == ["search-0"]
    assert found(client, "xl") == ["search-0"]
    assert found(client, "jiaoshixueli") == ["search-0"]
    assert set(found(client, "xiaomi")) == {"search-1", "search-2", "search-3"}
    assert found(client, "youjixiaomi") == ["search-1"]  # 有机小米 as one word, not 有机大米、小米粥


def test_one_and_two_character_queries_are_still_the_bigram_index(client, catalogue):
    """Pinyin and synonyms add terms; they change neither what a query asks for nor what it finds."""
    assert query_terms("梨") == ["梨"] and query_terms("雪梨") == ["雪梨"] and query_terms("小米") == ["小米"]
    assert found(client, "梨") == ["search-0"]
    assert set(found(client, "米")) == {"search-1", "search-2", "search-3"}
    assert found(client, "苹果", sort="featured") == ["search-5", "search-4"]


def test_synonyms_and_regional_names_find_each_other(client, demo):
    list_products([("高山马铃薯", "Mountain potatoes"), ("洋芋粉条", "Potato noodles"), ("沂蒙土豆", "Yimeng potatoes"),
                   ("番茄酱", "Tomato sauce"), ("山里红果干", "Dried haws")])
    assert found(client, "土豆", sort="featured") == ["search-2", "search-1", "search-0"]
    assert found(client, "土豆")[0] == "search-2"  # the name as typed in the title ranks first
    assert found(client, "马铃薯")[0] == "search-0" and set(found(client, "马铃薯")) == {"search-0", "search-1", "search-2"}
    assert found(client, "tudou")[0] == "search-2" and len(found(client, "tudou")) == 3
    assert found(client, "西红柿") == ["search-3"]
    assert found(client, "山楂") == ["search-4"]
    assert found(client, "山药") == []  # a word that only shares characters with a synonym


def test_relevance_puts_the_title_as_typed_first_then_the_title_then_the_village_and_stock(client, demo):
    list_products([
        ("有机大米、小米粥", "Rice and millet porridge"),  # 0: 有机 and 小米 scattered: no 机小, not found
        ("有机小米", "Organic millet"),                  # 1: as typed, in stock
        ("小米有机杂粮", "Millet mix"),                    # 2: 有机 and 小米 both held, not 机小: not found
        ("高山有机小米礼盒", "Millet gift box"),            # 3: as typed, in a longer title, sold out
        ("沂蒙有机小米", "Yimeng millet"),                  # 4: as typed, in stock
        ("精品杂粮", "Fine grains"),                      # 5: in a cooperative 有机小米 village? no: not found
    ], stock={3: 0})
    # Newest first among equals; the sold-out one below those in stock.
    assert found(client, "有机小米") == ["search-4", "search-1", "search-3"]
    # By words: the title as typed above the village: the pear village's name finds every product.
    village = db.session.scalar(db.select(Product).filter_by(slug="search-0")).origin_village
    ranked = found(client, f"{village.name_zh} 小米")
    assert ranked[:1] == ["search-4"] and set(ranked) == {"search-0", "search-1", "search-2", "search-3", "search-4"}
    assert ranked.index("search-3") > ranked.index("search-1")  # sold out: below the others of equal title
    # An explicit sort still wins over relevance.
    assert found(client, "有机小米", sort="price_asc") == ["search-1", "search-3", "search-4"]


def test_several_words_show_every_word_first_then_some_of_them_labelled(client, demo):
    list_products([("太河山楂", "Taihe hawthorn"), ("山花蜂蜜", "Wildflower honey"), ("山楂蜂蜜膏", "Hawthorn honey paste"),
                   ("高山蓝莓", "Mountain blueberries")])
    assert found(client, "山楂 蜂蜜") == ["search-2"]
    assert set(found_some(client, "山楂 蜂蜜")) == {"search-0", "search-1"}
    assert found(client, "山楂蜂蜜") == ["search-2"]  # cut into words by jieba for the others
    assert set(found_some(client, "山楂蜂蜜")) == {"search-0", "search-1"}
    page = client.get("/products", query_string={"q": "山楂 蓝莓"}).get_data(as_text=True)
    assert "没有商品包含您输入的全部词语" in page and found(client, "山楂 蓝莓") == []
    assert set(found_some(client, "山楂 蓝莓")) == {"search-0", "search-2", "search-3"}
    assert found_some(client, "山楂") == []  # one word: nothing to fall back on


def test_an_english_typo_shows_what_the_nearest_word_finds(client, catalogue):
    page = client.get("/products", query_string={"q": "milet"}).get_data(as_text=True)
    assert "millet" in page.split("</h1>")[1] and set(found(client, "milet")) == {"search-1", "search-2", "search-3"}
    assert "正在显示" in page
    assert set(found(client, "golden milett")) == {"search-3"}
    assert found(client, "zzzzqx") == []


def test_pages_past_the_ranked_candidates_carry_on_in_the_catalogue_order(client, demo, monkeypatch):
    from marketplace.catalog import ranking

    list_products([(f"测试小米{number:02d}", f"Test millet {number}") for number in range(9)])
    monkeypatch.setattr(ranking, "RANK_CANDIDATES", 4)
    ranking.ranked_statement.cache_clear()
    try:
        slugs, number = [], 1
        while True:
            page = ranking.ranked_cards(CatalogueQuery(text="测试小米", sort=ranking.RELEVANCE, per_page=2, page=number))
            slugs += [card.slug for card in page.items]
            if not page.has_next:
                break
            number += 1
        assert sorted(slugs) == sorted(f"search-{n}" for n in range(9)) and len(slugs) == 9
    finally:
        ranking.ranked_statement.cache_clear()


def test_a_cooperative_name_finds_its_products_and_renaming_it_reindexes_them(client, catalogue):
    from marketplace.coops.models import Cooperative

    assert found(client, "试验田") != []
    coop = db.session.scalar(db.select(Cooperative).filter_by(registration_no="SEARCH-TEST"))
    coop.name_zh = "丰收合作社"
    db.session.commit()
    assert found(client, "试验田") == [] and len(found(client, "丰收")) == 6


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


def test_the_search_condition_is_the_gin_index_expression_itself():
    """A bound ' ' (as `literal(" ")` makes) no longer matches the index's expression once the
    statement is prepared, and every rare search would walk the whole listing."""
    from sqlalchemy.dialects import postgresql

    index = next(index for index in Product.__table__.indexes if index.name == "ix_products_search_terms")
    condition = search.terms_array(Product.search_terms).compile(dialect=postgresql.dialect())
    assert str(condition).replace("products.", "") == str(index.expressions[0]) and not condition.params


# A few characters, so that titles and queries share bigrams often, and some English words.
TITLES = st.text(alphabet="有机小米大雪梨红", min_size=1, max_size=6).map(lambda zh: (zh, "millet"))
QUERIES = st.one_of(st.text(alphabet="有机小米大雪梨红", min_size=1, max_size=4), st.sampled_from(["millet", "pear"]))


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(titles=st.lists(TITLES, max_size=8), query=QUERIES)
def test_walking_the_listing_finds_what_the_index_finds(demo, titles, query):
    """The two ways PostgreSQL checks a search (see search.matches) select the same products."""
    pear = db.session.scalar(db.select(Product).filter_by(slug="jiao-snow-pears"))
    for number, (title_zh, title_en) in enumerate(titles):
        db.session.add(Product(slug=f"walk-{number}", seller_id=pear.seller_id, category_id=pear.category_id,
                               origin_village_id=pear.origin_village_id, title_zh=title_zh, title_en=title_en))
    db.session.flush()
    terms = query_terms(query)

    def slugs(walk):
        return set(db.session.scalars(db.select(Product.slug).where(
            Product.slug.startswith("walk-"), search.matches(terms, walk=walk))))

    try:
        by_index = slugs(walk=False)
        assert slugs(walk=True) == by_index
        stored = db.session.execute(
            db.select(Product.slug, Product.search_terms).where(Product.slug.startswith("walk-")))
        assert by_index == {slug for slug, held in stored if set(terms) <= set(held.split())}
    finally:
        db.session.rollback()


@pytest.mark.postgres
def test_common_terms_walk_the_listing_and_rare_ones_take_the_index(client, demo, monkeypatch):
    monkeypatch.setattr(search, "_statistics", {})  # this test's statistics only, read afresh
    list_products([("有机小米", "Organic millet")] * 150 + [("有机大米", "Organic rice")] * 150
                  + [("焦氏雪梨", "Jiao family snow pears")] * 2)
    db.session.execute(text("ANALYZE products"))
    db.session.commit()

    def plan(words, **query):
        return browse._search_plan(CatalogueQuery(text=words, **query), "postgresql")

    assert plan("有机小米") == (browse.WALK, ("机小", "小米", "有机"))  # half hold 机小 and 小米, all 有机: rarest first
    assert plan("雪梨") == (None, ())  # 2 of 300: PostgreSQL takes the GIN index
    assert plan("有机小米", page=50) == (None, ())  # a deep page: the walk would read more than the index returns
    assert plan("有机小米", category_id=pear_category()) == (None, ())  # another filter: the walk's length is unknown
    # Sorted by price, a term's matches are fetched and sorted, not met along the price index.
    assert plan("雪梨", sort="price_asc") == plan("有机小米", sort="price_desc") == (browse.GATHER, ())
    def ids(query, plan):
        return [row.id for row in db.session.execute(browse._card_statement(query, "postgresql", plan))]

    # Whichever way, the same products in the same order.
    for words, sort in (("有机小米", "featured"), ("有机小米", "price_asc"), ("雪梨", "price_desc")):
        query = CatalogueQuery(text=words, sort=sort, per_page=50)
        chosen = browse._search_plan(query, "postgresql")
        assert chosen != (None, ()) and ids(query, chosen) == ids(query, (None, ()))
    assert found(client, "有机小米")[:3] == ["search-149", "search-148", "search-147"]
    assert found(client, "雪梨") == ["search-301", "search-300"]
    by_price = client.get("/products", query_string={"q": "雪梨", "sort": "price_desc"}).get_data(as_text=True)
    assert re.findall(r'href="/products/(search-\d+)"', by_price) == ["search-301", "search-300"]
    monkeypatch.setattr(browse, "GATHER_MAX_MATCHES", 100)  # 150 matches: too many to gather now
    assert plan("有机小米", sort="price_asc") == (None, ())


def pear_category():
    return db.session.scalar(db.select(Product.category_id).filter_by(slug="jiao-snow-pears"))


def suggested(client, text, ours=True):
    """The search box's suggestions for `text`: of this test's products only (the demo's beside them), unless not `ours`."""
    suggestions = client.get("/search/suggestions", query_string={"q": text}).get_json()["suggestions"]
    return [suggestion for suggestion in suggestions if not ours or "/search-" in suggestion["url"]]


def test_suggestions_while_typing_offer_the_best_ranked_titles_with_their_pages(client, catalogue):
    assert suggested(client, "有机小米") == [{"title": "有机小米", "url": "/products/search-1"}]
    # Pinyin and initials as typed so far, as the search finds them.
    assert suggested(client, "xl")[0] == {"title": "焦氏雪梨", "url": "/products/search-0"}
    # At most six; nothing for nothing typed, punctuation, or what nothing holds.
    list_products([(f"小米礼盒{number}号", f"Millet box {number}") for number in range(8)], first=10)
    assert len(suggested(client, "小米", ours=False)) == ranking.SUGGESTIONS
    assert all(suggested(client, text, ours=False) == [] for text in ("", "……", "榴莲", "梨" * 500))


def test_an_english_reader_is_offered_the_english_titles(client, catalogue):
    client.get("/lang/en")
    assert suggested(client, "xueli") == [{"title": "Jiao family snow pears", "url": "/products/search-0"}]


def test_the_api_suggests_and_ranks_a_search_by_relevance(client, catalogue):
    answer = client.get("/api/v1/search/suggestions", query_string={"q": "xiaomi"})
    assert answer.status_code == 200
    assert {"search-1", "search-2", "search-3"} <= {item["slug"] for item in answer.get_json()["items"]}
    assert client.get("/api/v1/search/suggestions", query_string={"q": ""}).status_code == 422
    ranked = client.get("/api/v1/products", query_string={"q": "有机小米", "sort": "relevance"}).get_json()
    slugs = [item["slug"] for item in ranked["items"]]
    assert slugs[0] == "zhaili-organic-millet" and "search-1" in slugs  # 有机小米 as typed: the demo's first, newest
    assert "search-2" not in slugs and ranked["total"] == len(slugs)  # scattered 有机 … 小米: not a match
    two = client.get("/api/v1/products", query_string={"q": "小米", "sort": "relevance", "limit": 2}).get_json()
    assert len(two["items"]) == 2 and two["total"] >= 3 and two["next_cursor"]
    assert client.get("/api/v1/products", query_string={"sort": "relevance"}).status_code == 200  # no words: featured
