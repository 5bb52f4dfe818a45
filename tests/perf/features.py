"""What this branch has landed: each function returns the benchmark to run, or None.

The benchmarks of features built on other branches (storefront, ledger, town) live beside
this module and are only imported once their code is here.
"""
import importlib

from sqlalchemy import text

from tests.perf.load import Request

SEARCH_WORDS = ["雪梨", "小米", "富硒", "山楂", "核桃", "蜂蜜", "有机小米", "西红柿"]
HOT_PRODUCTS = 50


def _app_rules():
    from marketplace import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}


def _has(module, *names):
    try:
        loaded = importlib.import_module(module)
    except ImportError:
        return False
    return all(hasattr(loaded, name) for name in names)


def page_requests(context):
    """name -> list of Requests (cycled by the load generator), or None where the page is missing."""
    rules = _app_rules()
    catalogue_path = next((rules[e] for e in ("storefront.browse_products", "storefront.catalogue",
                                              "storefront.products") if e in rules), "/")
    engine = context.engine()
    with engine.connect() as connection:
        slugs = connection.execute(text(
            "SELECT slug FROM products WHERE status = 'active' AND direction = 'uplink' ORDER BY id LIMIT :n"),
            {"n": HOT_PRODUCTS}).scalars().all()
    engine.dispose()
    product = None
    if "storefront.product" in rules:
        product = [Request(rules["storefront.product"].replace("<slug>", slug)) for slug in slugs]
    # The storefront searches on its catalogue page (?q=); a page of its own would be named *search*.
    search_rule = next((rule for endpoint, rule in rules.items() if "search" in endpoint),
                       catalogue_path if catalogue_path != "/" else None)
    search = None
    if search_rule:
        from urllib.parse import quote

        search = [Request(f"{search_rule}?q={quote(word)}") for word in SEARCH_WORDS]
    return {"home page": [Request("/")], "catalogue": [Request(catalogue_path)], "product page": product,
            "Chinese search": search}


def checkout():
    if not _has("marketplace.orders.checkout", "place_order", "start_payment"):
        return None
    from tests.perf import bench_checkout

    return bench_checkout.run


def webhook():
    if "webhooks.stripe_webhook" not in _app_rules():
        return None
    from tests.perf import bench_webhook

    return bench_webhook.run


def attribution():
    if not _has("marketplace.ledger.attribution", "attribute_payment"):
        return None
    from tests.perf import bench_attribution

    return bench_attribution.run


def reconciliation():
    if not _has("marketplace.reconciliation.services", "import_export"):
        return None
    from tests.perf import bench_reconciliation

    return bench_reconciliation.run


def payout_batch():
    if not _has("marketplace.payouts.services", "create_batch", "approve_batch"):
        return None
    from tests.perf import bench_town

    return bench_town.payout_batch


def statements():
    if not _has("marketplace.statements.village", "request_village_statements", "render_village_statements"):
        return None
    from tests.perf import bench_town

    return bench_town.village_statements
