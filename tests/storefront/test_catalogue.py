import pytest


def test_home_shows_featured_products_and_towns(client, demo):
    page = client.get("/").get_data(as_text=True)
    assert "焦氏雪梨" in page and "寨里有机小米" in page
    assert "太河镇" in page and "/towns/taihe/impact" in page


@pytest.mark.parametrize("query, expected, absent", [
    ("雪梨", "焦氏雪梨", "寨里有机小米"),
    ("小米", "寨里有机小米", "焦氏雪梨"),
    ("pears", "焦氏雪梨", "李里小杂粮"),
    ("Organic MILLET", "寨里有机小米", "焦氏雪梨"),
])
def test_search_finds_products_by_chinese_and_english_titles(client, demo, query, expected, absent):
    page = client.get("/products", query_string={"q": query}).get_data(as_text=True)
    assert expected in page
    assert absent not in page


def test_search_for_something_absent_says_nothing_matches(client, demo):
    page = client.get("/products", query_string={"q": "榴莲%"}).get_data(as_text=True)
    assert "焦氏雪梨" not in page and "没有找到" in page


def test_browse_by_label_town_village_and_cooperative(client, demo, app_ctx):
    from marketplace.coops.models import Cooperative
    from marketplace.places.models import Town, Village
    from marketplace.extensions import db

    selenium = client.get("/products?label=selenium").get_data(as_text=True)
    assert "久润富硒西红柿" in selenium and "焦氏雪梨" not in selenium
    taihe = db.session.scalar(db.select(Town).filter_by(slug="taihe"))
    town_page = client.get(f"/products?town={taihe.id}").get_data(as_text=True)
    assert "焦氏雪梨" in town_page and "纱帽山楂" in town_page and "寨里有机小米" not in town_page
    village = db.session.scalar(db.select(Village).filter_by(name_zh="响泉村"))
    assert "纱帽山楂" not in client.get(f"/products?village={village.id}").get_data(as_text=True)
    coop = db.session.scalar(db.select(Cooperative).filter_by(registration_no="DEMO-lili-grains"))
    coop_page = client.get(f"/products?cooperative={coop.id}").get_data(as_text=True)
    assert "李里小杂粮" in coop_page and "焦氏雪梨" not in coop_page


def test_downlink_goods_are_not_in_the_city_storefront(client, demo):
    page = client.get("/products?q=fertiliser").get_data(as_text=True)
    assert "复合肥" not in page


def test_price_filter_and_sort(client, demo):
    cheap_first = client.get("/products?sort=price_asc").get_data(as_text=True)
    assert cheap_first.index("李里小杂粮") < cheap_first.index("北下册山花蜂蜜")
    dear_first = client.get("/products?sort=price_desc").get_data(as_text=True)
    assert dear_first.index("北下册山花蜂蜜") < dear_first.index("李里小杂粮")
    between = client.get("/products?min_price=25&max_price=30").get_data(as_text=True)
    assert "纱帽山楂" in between and "李里小杂粮" not in between and "北下册山花蜂蜜" not in between


def test_pages_of_twelve(client, demo, app_ctx):
    from marketplace.catalog.models import Product, Variant
    from marketplace.extensions import db

    pear = db.session.scalar(db.select(Product).filter_by(slug="jiao-snow-pears"))
    for number in range(20):
        product = Product(slug=f"pear-{number}", seller_id=pear.seller_id, category_id=pear.category_id,
                          origin_village_id=pear.origin_village_id, title_zh=f"测试梨{number:02d}", title_en=f"Test pear {number}")
        db.session.add(product)
        db.session.flush()
        db.session.add(Variant(product_id=product.id, sku=f"T-{number}", name_zh="1斤", name_en="1 jin", price_fen=100 + number,
                               stock_available=5))
    db.session.commit()
    first = client.get("/products?q=测试梨&sort=price_asc").get_data(as_text=True)
    second = client.get("/products?q=测试梨&sort=price_asc&page=2").get_data(as_text=True)
    assert "测试梨00" in first and "测试梨11" in first and "测试梨12" not in first and 'rel="next"' in first
    assert "测试梨12" in second and "测试梨19" in second and "第 2 页" in second and 'rel="next"' not in second


@pytest.mark.parametrize("query", ["min_price=abc", "max_price=-3", "page=0", "sort=cheapest", "town=x", "label=gold",
                                   "min_price=1.234", "min_price=21474837", "max_price=100000.01"])
def test_malformed_filters_are_a_400_with_a_message(client, demo, query):
    response = client.get(f"/products?{query}")
    assert response.status_code == 400
    assert "筛选条件" in response.get_data(as_text=True)


def test_a_price_beyond_any_product_says_the_highest_one_may_ask(client, demo):
    page = client.get("/products?min_price=21474837").get_data(as_text=True)  # past PostgreSQL's integer
    assert "请输入不超过 ¥100,000.00 的价格。" in page


def test_unknown_town_is_404(client, demo):
    assert client.get("/products?town=99999").status_code == 404


def test_browse_by_household_shows_its_direct_goods_and_the_lots_it_supplied(client, demo, app_ctx):
    from marketplace.catalog.models import Product, SupplyLot
    from marketplace.extensions import db

    honey = db.session.scalar(db.select(Product).filter_by(slug="beixiace-honey"))
    own = client.get(f"/products?household={honey.seller.household_id}").get_data(as_text=True)
    assert "北下册山花蜂蜜" in own and "焦氏雪梨" not in own
    pear = db.session.scalar(db.select(Product).filter_by(slug="jiao-snow-pears"))
    grower = db.session.scalar(db.select(SupplyLot.household_id).filter_by(product_id=pear.id).limit(1))
    supplied = client.get(f"/products?household={grower}").get_data(as_text=True)
    assert "焦氏雪梨" in supplied and "北下册山花蜂蜜" not in supplied


@pytest.mark.parametrize("sort", ["featured", "price_asc", "price_desc", "newest"])
def test_every_product_shows_once_across_the_pages_in_every_sort(client, demo, app_ctx, sort):
    """Pages after the first seek past the previous page's last key: together they are the listing, in order."""
    from marketplace.catalog import browse
    from marketplace.catalog.models import Product, Variant
    from marketplace.extensions import db

    pear = db.session.scalar(db.select(Product).filter_by(slug="jiao-snow-pears"))
    for number in range(30):
        product = Product(slug=f"pear-{number}", seller_id=pear.seller_id, category_id=pear.category_id,
                          origin_village_id=pear.origin_village_id, title_zh=f"翻页梨{number:02d}",
                          title_en=f"Paging pear {number}", is_featured=number % 3 == 0)
        db.session.add(product)
        db.session.flush()
        db.session.add(Variant(product_id=product.id, sku=f"T-{number}", name_zh="1斤", name_en="1 jin",
                               price_fen=100 + number % 7, stock_available=5))  # prices tie: the id breaks them
    db.session.commit()
    whole = browse.search_cards(browse.CatalogueQuery(text="翻页梨", sort=sort, per_page=100)).items
    paged = []
    for page in range(1, 5):
        html = client.get(f"/products?q=翻页梨&sort={sort}&page={page}").get_data(as_text=True)
        paged += [card.title_zh for card in whole if f">{card.title_zh}<" in html]
        listed = browse.search_cards(browse.CatalogueQuery(text="翻页梨", sort=sort, page=page)).items
        assert [card.title_zh for card in listed] == [card.title_zh for card in whole[(page - 1) * 12:page * 12]]
    assert sorted(paged) == sorted(card.title_zh for card in whole) and len(whole) == 30
