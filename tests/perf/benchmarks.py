"""The benchmarks, in the order the table prints them. Each adds rows to `context.table`."""
import re
import statistics
import time
import traceback
from dataclasses import dataclass
from urllib.request import urlopen

from sqlalchemy import create_engine

from tests.perf.load import Request, open_model, saturate
from tests.perf.measure import Row, interleave, verdict
from tests.perf.page_requests import page_requests as storefront_pages
from tests.perf.servers import gunicorn

HELLO = Request("/healthz")


@dataclass
class Context:
    options: object
    sizes: dict
    env: dict
    run_dir: object
    table: object
    seed_seconds: float = 0.0
    saturation: dict = None

    def engine(self):
        return create_engine(self.options.database_url, pool_size=4)

    def missing(self, name, target="", why="not measured"):
        self.table.add(Row(name, why, target, "—", ""))


def _rate(port, requests, context):
    result = saturate(port, requests, context.options.seconds, context.options.connections)
    if result.errors:
        raise RuntimeError(f"{requests[0].path if isinstance(requests, list) else requests.path}: "
                           f"{result.errors} errors, statuses {result.statuses}")
    return result.rate


def seed(context):
    sizes = ", ".join(f"{value:,} {name}" for name, value in context.sizes.items())
    value = f"{context.seed_seconds:.0f} s" if context.seed_seconds else "reused (see docs/performance.md for the time)"
    context.table.add(Row("seed-scale " + sizes, value, "", "", "COPY via psycopg; ledger checked balanced"))


def pages(context):
    """Catalogue, product and search pages ÷ /healthz, uncached then with the shared page cache."""
    page_requests = storefront_pages(context)
    context.saturation = {}
    for cached in (False, True):
        label = "cached" if cached else "uncached"
        target = 0.5 if cached else 0.2
        env = dict(context.env, CACHE_REDIS_URL=context.options.redis_url if cached else "")
        with gunicorn(env, context.run_dir / "gunicorn.log") as server:
            for requests in [HELLO, *page_requests.values()]:
                saturate(server.port, requests, 1.0, context.options.connections)  # warm up
            for name, requests in page_requests.items():
                row_name = f"{name} ({label}) ÷ hello-world req/s"
                ratio = interleave(lambda: _rate(server.port, HELLO, context),
                                   lambda: _rate(server.port, requests, context), context.options.runs)
                context.table.add(Row(row_name, ratio.describe(), f"≥ {target}×", verdict(ratio.median, target),
                                      f"hello {statistics.median(ratio.a):.0f} req/s, page {statistics.median(ratio.b):.0f} "
                                      f"req/s; {len(requests)} distinct URLs"))
                context.saturation[(name, cached)] = statistics.median(ratio.b)
            if cached:
                freshness(context, server)
                latencies(context, server, page_requests)


def freshness(context, server):
    """A price and a stock change made as the app makes them show on the cached pages: seconds from
    the commit to the first page showing the new figure (polled every 20 ms)."""
    from marketplace import create_app
    from marketplace.catalog.models import Product, Variant
    from marketplace.extensions import db
    from marketplace.orders.checkout import _reserve

    app = create_app({"SQLALCHEMY_DATABASE_URI": context.options.database_url,
                      "CACHE_REDIS_URL": context.options.redis_url})
    with app.app_context():
        variant = db.session.scalar(  # the lowest-priced variant of the first card on the home page
            db.select(Variant).join(Variant.product)
            .where(Product.status == "active", Product.direction == "uplink", Variant.is_active)
            .order_by(Product.is_featured.desc(), Product.id.desc(), Variant.price_fen).limit(1))
        variant_id, price, stock, slug = variant.id, variant.price_fen, variant.stock_available, variant.product.slug
        db.session.remove()
    product_path = f"/products/{slug}"
    home = urlopen(f"{server.base}/", timeout=10).read().decode()  # both pages are in the cache now
    urlopen(f"{server.base}{product_path}", timeout=10).read()
    # One fen below the product's lowest price, so the card shows it, and a figure not on the page yet.
    new_price = next(p for p in range(price - 1, 0, -1) if f"{p // 100:,}.{p % 100:02d}" not in home)
    shown_price = f"{new_price // 100:,}.{new_price % 100:02d}"

    def change_price(session):  # an UPDATE statement on the price, as a coop's bulk edit would run
        session.execute(db.update(Variant).where(Variant.id == variant_id).values(price_fen=new_price))

    def take_one(session):  # checkout's conditional UPDATE of stock
        _reserve(session.get(Variant, variant_id), 1)

    def stock_shown(page):
        found = re.search(rf'value="{variant_id}".*?class="stock">[^<]*?(\d[\d,]*)', page, re.S)
        return found and found.group(1).replace(",", "")

    rows = [("price change visible on cached home page", "/", change_price, lambda page: shown_price in page,
             "UPDATE of the variant's price through the app's session"),
            ("stock change visible on cached product page", product_path, take_one,
             lambda page: stock_shown(page) == str(stock - 1), "checkout's conditional UPDATE of stock (−1)")]
    for name, path, change, visible, how in rows:
        with app.app_context():
            change(db.session)
            db.session.commit()
            changed = time.perf_counter()
            db.session.remove()
        seen = None
        while time.perf_counter() - changed < 5:
            if visible(urlopen(f"{server.base}{path}", timeout=10).read().decode()):
                seen = time.perf_counter() - changed
                break
            time.sleep(0.02)
        value = f"{seen:.2f} s" if seen is not None else "not within 5 s"
        context.table.add(Row(name, value, "≤ 1 s", verdict(seen if seen is not None else 99, 1.0, higher_is_better=False),
                              f"{how}, {slug}; page polled every 20 ms"))
    with app.app_context():
        db.session.execute(db.update(Variant).where(Variant.id == variant_id).values(price_fen=price, stock_available=stock))
        db.session.commit()
        db.engine.dispose()


def latencies(context, server, page_requests):
    """Open model at half of saturation: p50/p95/p99, and the RSS of each web worker."""
    requests = page_requests.get("catalogue")
    rate = (context.saturation or {}).get(("catalogue", True))
    if requests and rate:
        result = open_model(server.port, requests, rate / 2, seconds=max(5.0, context.options.seconds * 2))
        context.table.add(Row(
            "catalogue (cached) latency at ½ saturation",
            f"p50 {result.percentile(50):.1f} / p95 {result.percentile(95):.1f} / p99 {result.percentile(99):.1f} ms",
            "", "", f"open model, {rate / 2:.0f} req/s fixed arrival for {result.seconds:.0f} s, "
                    f"{result.requests} ok, {result.errors} errors"))
    else:
        context.missing("catalogue latency at ½ saturation")
    rss = server.worker_rss_mb()
    context.table.add(Row("RSS per web worker", ", ".join(f"{mb:.0f} MB" for mb in rss), "", "",
                          f"gunicorn sync, {len(rss)} workers, after the page runs"))


def traffic(context):
    from tests.perf import bench_traffic  # it imports this module's helpers

    bench_traffic.run(context)


def checkout(context):
    from tests.perf import bench_checkout  # it imports this module's helpers

    bench_checkout.run(context)


def webhook(context):
    from tests.perf import bench_webhook  # it imports this module's helpers

    bench_webhook.run(context)


def attribution(context):
    from tests.perf import bench_attribution  # it imports this module's helpers

    bench_attribution.run(context)


def ledger_proof(context):
    from tests.perf import bench_ledger_proof  # it imports bench_attribution's helpers

    bench_ledger_proof.run(context)


def reconciliation(context):
    from tests.perf import bench_reconciliation  # it imports this module's helpers

    bench_reconciliation.run(context)


def town(context):
    from tests.perf import bench_town

    for name, benchmark in (("payout batch for 10,000 households", bench_town.payout_batch),
                            ("a village's statements PDF", bench_town.village_statements)):
        try:
            benchmark(context)
        except Exception as error:  # noqa: BLE001 — report it in the table and go on
            traceback.print_exc()
            context.table.add(Row(name, f"FAILED: {type(error).__name__}: {str(error)[:120]}", "", "FAILED"))


def settlement(context):
    """A national sales day's shipments settling at once (`--only settlement`)."""
    from tests.perf import bench_settlement

    bench_settlement.run(context)


ALL = [("seed", seed), ("pages", pages), ("traffic", traffic), ("checkout", checkout), ("webhook", webhook),
       ("attribution", attribution), ("ledger_proof", ledger_proof), ("reconciliation", reconciliation),
       ("town", town), ("settlement", settlement)]
