"""The storefront pages the page benchmarks ask for, each a list of URLs the load generator cycles."""
from urllib.parse import quote

from sqlalchemy import text

from tests.perf.load import Request

SEARCH_WORDS = ["雪梨", "小米", "富硒", "山楂", "核桃", "蜂蜜", "有机小米", "西红柿"]
HOT_PRODUCTS = 50


def page_requests(context):
    engine = context.engine()
    with engine.connect() as connection:
        slugs = connection.execute(text(
            "SELECT slug FROM products WHERE status = 'active' AND direction = 'uplink' ORDER BY id LIMIT :n"),
            {"n": HOT_PRODUCTS}).scalars().all()
    engine.dispose()
    return {"home page": [Request("/")], "catalogue": [Request("/products")],
            "product page": [Request(f"/products/{slug}") for slug in slugs],
            "Chinese search": [Request(f"/products?q={quote(word)}") for word in SEARCH_WORDS]}
