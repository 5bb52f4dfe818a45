"""The traffic model: every public page as shoppers reach it, ÷ two ceilings measured in the same run.

URLs come from tests/perf/traffic_model.py (Zipf product pages over all products, catalogue and
search pages 1…N with the last pages, every sort and the common filters, ~200 words, the
cooperative, village and impact pages, the API's public reads). Load is driven by `wrk`
(tests/perf/wrk.py), installed with apt-get when missing.

Ceilings: the app's `/healthz`, interleaved A/B with each page class, and a bare Flask
hello-world (tests/perf/hello_app.py) under the same gunicorn settings, interleaved with the
app's `/healthz`. Each class is measured uncached and with the shared page cache, for visitors
half new (no cookie) and half returning (their session cookie); the mix also for all-new and
all-returning visitors. The cached server is first primed with every distinct URL of the model
(its pages kept PRIMED_CACHE_SECONDS), so those rows measure cache hits. Latencies: p50/p95/p99 at half of the class's saturation, open model
(fixed arrival rate, a fresh connection per request) from tests/perf/load.py.
"""
import random
import statistics
import subprocess
import time
from http.cookies import SimpleCookie
from urllib.request import urlopen

from sqlalchemy import text

from tests.perf import traffic_model, wrk
from tests.perf.load import Request, open_model
from tests.perf.measure import Row, interleave, verdict
from tests.perf.servers import BIN, ROOT, gunicorn

CLASSES = ("product", "catalogue", "search", "home", "cooperative", "village", "impact", "api", "mix")


def publish_figures(context):
    """The district as production holds it: every entry sealed and folded into the towns' figures
    (the beat's sealing task does both every few seconds)."""
    engine = context.engine()
    with engine.connect() as connection:
        queued = connection.execute(text("SELECT count(*) FROM ledger_unsealed")).scalar()
        head = connection.execute(text("SELECT coalesce(max(seq), 0) FROM ledger_seals")).scalar()
        folded = connection.execute(text(
            "SELECT coalesce(max(seq), 0) FROM ledger_fold_marks WHERE name = 'town_figures'")).scalar()
    engine.dispose()
    for command, needed in ((("ledger", "seal"), queued), (("ledger", "figures"), queued or head > folded)):
        if needed:
            started = time.perf_counter()
            done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *command], cwd=ROOT, env=context.env,
                                  capture_output=True, text=True, check=True)
            print(f"    flask {' '.join(command)}: {done.stdout.strip()} in {time.perf_counter() - started:.0f} s",
                  flush=True)


def _returning_cookie(server, path):
    """A returning visitor's session cookie, as the site set it on their first visit."""
    with urlopen(f"{server.base}{path}", timeout=30) as response:
        cookie = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie.load(header)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items())


def _check(server, name, paths):
    """Every class answers 200 (a sample of its paths), before anything is timed."""
    for path in dict.fromkeys(paths[:40]):
        with urlopen(f"{server.base}{path}", timeout=60) as response:
            if response.status != 200:
                raise RuntimeError(f"{name}: {path} answered {response.status}")


def _prime(server, paths):
    """Fetch every distinct path once, four at a time, so the cached rows measure hits, not the hit rate."""
    from concurrent.futures import ThreadPoolExecutor

    def fetch(path):
        with urlopen(f"{server.base}{path}", timeout=60) as response:
            response.read()

    started = time.perf_counter()
    distinct = list(dict.fromkeys(paths))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fetch, distinct))
    print(f"    cache primed with {len(distinct)} pages in {time.perf_counter() - started:.0f} s", flush=True)


# The cached server keeps pages this long (the default, 30 s, is a backstop for what no version
# tracks): long enough that the primed cache lasts the run. Freshness still comes from the versions.
PRIMED_CACHE_SECONDS = 900


def run(context):
    wrk.ensure_wrk()
    publish_figures(context)
    engine = context.engine()
    with engine.connect() as connection:
        urls, described = traffic_model.build(connection)
    engine.dispose()
    folder = context.run_dir / "traffic"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, paths in {**urls, "healthz": ["/healthz"]}.items():
        files[name] = folder / f"{name}.txt"
        files[name].write_text("\n".join(paths) + "\n")
    print(f"    model: {described}; {len(urls['product'])} draws a class", flush=True)
    options, table = context.options, context.table
    seconds, connections, runs = options.seconds, options.connections, options.runs

    def rate(server, name, mode="both", cookie=""):
        result = wrk.run(server.base, files[name], seconds, connections, mode, cookie)
        if result.bad_statuses or result.socket_errors:
            raise RuntimeError(f"{name}: {result.bad_statuses} bad statuses, {result.socket_errors} socket errors")
        return result.rate

    with gunicorn(context.env, context.run_dir / "gunicorn.log", app="tests.perf.hello_app:app") as hello:
        for cached in (False, True):
            label = "cached" if cached else "uncached"
            env = dict(context.env, CACHE_REDIS_URL=options.redis_url if cached else "",
                       PAGE_CACHE_SECONDS=str(PRIMED_CACHE_SECONDS))
            with gunicorn(env, context.run_dir / "gunicorn.log") as app:
                cookie = _returning_cookie(app, f"/products/{urls['product'][0].rsplit('/', 1)[1]}")
                if cached:
                    _prime(app, [path for name in CLASSES for path in urls[name]])
                if not cached:
                    for name in CLASSES:
                        _check(app, name, urls[name])
                    ceiling = interleave(lambda: rate(hello, "healthz"), lambda: rate(app, "healthz"), runs)
                    table.add(Row("app /healthz ÷ bare Flask hello-world", ceiling.describe(), "≥ 0.8×",
                                  verdict(ceiling.median, 0.8),
                                  f"hello-world {statistics.median(ceiling.a):.0f} req/s, app /healthz "
                                  f"{statistics.median(ceiling.b):.0f} req/s; same gunicorn settings; wrk"))
                    context.traffic_ceiling = ceiling.median
                for name in CLASSES:
                    wrk.run(app.base, files[name], 1, connections, "both", cookie)  # warm up (and fill the cache)
                for name in CLASSES:
                    modes = [("both", "half new, half returning")]
                    if name == "mix":
                        modes += [("new", "first visits, no cookie"), ("returning", "returning visitors")]
                    for mode, who in modes:
                        ratio = interleave(lambda: rate(app, "healthz"), lambda: rate(app, name, mode, cookie), runs)
                        target = 0.6 if cached and name == "mix" else (0.2 if not cached else None)
                        outer = ratio.median * getattr(context, "traffic_ceiling", float("nan"))
                        table.add(Row(f"traffic {name} ({label}, {who}) ÷ app /healthz", ratio.describe(),
                                      f"≥ {target}×" if target else "",
                                      verdict(ratio.median, target) if target else "",
                                      f"÷ hello-world {outer:.2f}×; page {statistics.median(ratio.b):.0f} req/s, "
                                      f"/healthz {statistics.median(ratio.a):.0f} req/s; "
                                      f"{len(set(urls[name]))} distinct URLs; wrk -c{connections}"))
                        if mode == "both" and (not cached or name == "mix"):
                            _latency(context, app, name, urls[name], statistics.median(ratio.b), cookie, label)


def _latency(context, server, name, paths, saturation, cookie, label):
    rng = random.Random(7)
    requests = [Request(path, headers={"Cookie": cookie} if rng.random() < 0.5 else {}) for path in paths[:2_000]]
    result = open_model(server.port, requests, saturation / 2, seconds=max(5.0, context.options.seconds * 2))
    p99 = result.percentile(99)
    context.table.add(Row(
        f"traffic {name} ({label}) latency at ½ saturation",
        f"p50 {result.percentile(50):.1f} / p95 {result.percentile(95):.1f} / p99 {p99:.1f} ms",
        "p99 ≤ 100 ms", verdict(p99, 100, higher_is_better=False),
        f"open model (tests/perf/load.py), {saturation / 2:.0f} req/s fixed arrival for {result.seconds:.0f} s, "
        f"{result.requests} ok, {result.errors} errors"))
