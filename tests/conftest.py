"""Fixtures every test builds on.

- `app`: one Flask app per test session on a throw-away database: a SQLite file by default,
  or a database of its own on the PostgreSQL named by TEST_DATABASE_URL (one per xdist worker).
  Every test starts from empty tables (`_clean_tables`).
- `celery_worker`: a real Celery worker (`start_worker`) on the in-memory broker, or on Redis
  when TEST_REDIS_URL is set; while a test holds it, the outbox really sends tasks.
- `stripe_server`: a `localstripe` process on a free port, emptied before each test; the real
  `stripe` library talks to it through the app's settings.
- `live_server` and `page`: the app served on a free port and a Playwright page in Debian's
  Chromium.
With REQUIRE_SERVICES=1 (or REQUIRE_BROWSER=1) a missing service (or browser) fails the test
instead of skipping it.
"""
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from marketplace import create_app
from marketplace.config import broker_transport_options, load_settings
from marketplace.extensions import db
from marketplace.ledger import guards

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def missing(what, required):
    """Skip for lack of a service, or fail when the run says it must be there."""
    if required:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES/REQUIRE_BROWSER) but not available")
    pytest.skip(f"{what} not available")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_id(config):
    return getattr(config, "workerinput", {}).get("workerid", "main")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and not TEST_DATABASE_URL:
            if REQUIRE_SERVICES:
                item.add_marker(pytest.mark.xfail(reason="TEST_DATABASE_URL missing", strict=True, run=False))
            else:
                item.add_marker(pytest.mark.skip(reason="needs TEST_DATABASE_URL (PostgreSQL)"))
        if "redis" in item.keywords and not TEST_REDIS_URL:
            if not REQUIRE_SERVICES:
                item.add_marker(pytest.mark.skip(reason="needs TEST_REDIS_URL (Redis)"))


def pytest_sessionstart(session):
    if REQUIRE_SERVICES and not (TEST_DATABASE_URL and TEST_REDIS_URL):
        raise pytest.UsageError("REQUIRE_SERVICES=1 needs TEST_DATABASE_URL and TEST_REDIS_URL")


def _postgres_database_for(worker):
    """Create (afresh) a database of this worker's own beside TEST_DATABASE_URL's."""
    base = make_url(TEST_DATABASE_URL)
    name = f"{base.database}_{worker}".replace("-", "_")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
        ), {"name": name})
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    if TEST_DATABASE_URL:
        return _postgres_database_for(worker_id(request.config))
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def broker_url():
    return TEST_REDIS_URL or "memory://"


@pytest.fixture(scope="session")
def app(request, database_url, broker_url, tmp_path_factory):
    worker = worker_id(request.config)
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PUBLIC_BASE_URL": "http://localhost",
        "OUTBOX_DISPATCH": False,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        "MAIL_LOG_PATH": str(tmp_path_factory.mktemp("mail") / "mail.log"),
        "SMS_LOG_PATH": str(tmp_path_factory.mktemp("sms") / "sms.log"),
        "CELERY": {
            **load_settings()["CELERY"],
            "broker_url": broker_url,
            "broker_transport_options": broker_transport_options(broker_url),
            "task_default_queue": f"test-{worker}",
            "broker_connection_retry_on_startup": False,
        },
    })
    with app.app_context():
        db.create_all()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                for statement in guards.INSTALL:
                    connection.execute(text(statement))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def session_celery_stays_current(app):
    """create_app() makes its own Celery app current and default (in this thread), and a task called
    afterwards would run inside that app, on its database: after every test the session's app's
    Celery is current and default again, whatever the test made."""
    yield
    celery = app.extensions["celery"]
    celery.set_current()
    celery.set_default()


@pytest.fixture
def rate_limited_app(app):
    """Make another app on the test database with rate limits on. Flask-Limiter is one object for
    every app of the process: afterwards its switch goes back off (or later tests would get 429s)."""
    from marketplace.extensions import limiter

    def make(**settings):
        limited = create_app({**app.config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                              **settings})
        limiter.reset()  # counts start from zero whatever ran before
        return limited

    yield make
    limiter.enabled = False


def _clean_tables():
    db.session.remove()
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        # A task or server thread of the test before may still hold a table for a moment: when
        # PostgreSQL picks the TRUNCATE as a deadlock's victim, the other side finishes and we retry.
        for attempt in range(5):
            try:
                with db.engine.begin() as connection:
                    # The ledger's guards refuse TRUNCATE (guards.py); between tests the fixture
                    # empties the tables the way a restore would, as a replica session whose
                    # ordinary triggers do not fire, for this transaction only: the guards stay
                    # installed and enabled for the test.
                    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                    connection.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
                return
            except OperationalError as error:
                if "deadlock detected" not in str(error) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
    else:
        with db.engine.begin() as connection:
            for name in tables:
                connection.exec_driver_sql(f'DELETE FROM "{name}"')


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Every test starts from empty tables, whatever the one before it committed."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        _clean_tables()
    yield
    with app.app_context():
        db.session.remove()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app_ctx):
    """The demo district of the article (seeded once per worker, then copied back: tests/demo_copy.py)."""
    from tests.demo_copy import seed_demo

    seed_demo()
    db.session.remove()
    return app_ctx


class AuthActions:
    """Sign in through the real login form, or straight into the session for speed."""

    def __init__(self, app, client):
        self._app = app
        self._client = client

    def login(self, email="buyer@demo.cn", password="demo1234"):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")

    def login_as(self, email):
        """Put the user with `email` in the test client's session without a form."""
        from marketplace.people.models import User

        with self._app.app_context():
            user = db.session.scalar(db.select(User).filter_by(email=email))
            session_id = user.get_id()
            db.session.remove()
        with self._client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
        return self._client


@pytest.fixture
def auth(app, client):
    return AuthActions(app, client)


# --- Celery -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _session_worker(app):
    from celery.contrib.testing.worker import start_worker

    celery_app = app.extensions["celery"]
    if TEST_REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(TEST_REDIS_URL).ping()
        except redis.exceptions.ConnectionError:
            missing("Redis at TEST_REDIS_URL", REQUIRE_SERVICES)
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False,
                      shutdown_timeout=30, loglevel="WARNING"):
        yield celery_app


class WorkerHandle:
    """The running worker, and a way to wait for what it does."""

    def __init__(self, app, celery_app):
        self.app = app
        self.celery = celery_app

    def wait_for(self, condition, timeout=20, interval=0.05):
        """Poll `condition()` (inside an app context) until it is truthy; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.app.app_context():
                result = condition()
                db.session.remove()
            if result:
                return result
            time.sleep(interval)
        pytest.fail(f"condition not met within {timeout}s")


@pytest.fixture
def celery_worker(app, _session_worker):
    # Another test's create_app() makes its own Celery app the default, and the running worker
    # would then run tasks inside that app (another database): make the session's app current again.
    _session_worker.set_default()
    _session_worker.set_current()
    app.config["OUTBOX_DISPATCH"] = True
    yield WorkerHandle(app, _session_worker)
    app.config["OUTBOX_DISPATCH"] = False
    _wait_until_worker_idle()


def _wait_until_worker_idle(timeout=20):
    """A task still running when its test ends would write into the next test's tables (and hold
    locks its TRUNCATE needs): the in-process worker finishes what it started first."""
    from celery.worker import state

    deadline = time.monotonic() + timeout
    while (state.active_requests or state.reserved_requests) and time.monotonic() < deadline:
        time.sleep(0.05)


# --- Stripe (localstripe) -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def _localstripe(app, tmp_path_factory):
    try:
        import localstripe  # noqa: F401
    except ImportError:
        missing("localstripe", REQUIRE_SERVICES)
    port = free_port()
    workdir = tmp_path_factory.mktemp("localstripe")
    # localstripe with the refund lifecycle and late fees of real Stripe added (see the module).
    process = subprocess.Popen([sys.executable, "-m", "marketplace.payments.local_stripe_server", "--port", str(port),
                                "--from-scratch", "--in-memory"], cwd=workdir,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               # this checkout's stand-in, not whichever one the virtualenv installed
                               env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urlopen(f"{base}/js.stripe.com/v3/", timeout=1).read(1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("localstripe did not start")
    previous = app.config["STRIPE_API_BASE"]
    app.config["STRIPE_API_BASE"] = base
    yield base
    app.config["STRIPE_API_BASE"] = previous
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def stripe_server(_localstripe):
    """A localstripe emptied for this test; its base URL."""
    urlopen(Request(f"{_localstripe}/_config/data", method="DELETE"), timeout=5).read()
    return _localstripe


# --- A served app and a real browser ------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(app):
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        missing(f"Chromium at {CHROMIUM}", REQUIRE_BROWSER)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, request):
    """A Playwright page the size of a phone; a screenshot is kept in test-artifacts/ afterwards."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
