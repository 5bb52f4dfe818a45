"""How a request's transaction ends on PostgreSQL (marketplace.database._commit_if_read_only).

One that wrote nothing ends with COMMIT, so psycopg keeps the statements it prepared and
PostgreSQL does not plan a page's queries again on the next request; one that wrote, or holds
changes it never flushed, is rolled back as before. The storefront's pages read outside any
transaction (`reads_only`)."""
import pytest
from sqlalchemy import event, func, select, text

from marketplace.extensions import db
from marketplace.places.models import Town

pytestmark = pytest.mark.postgres

MARKED_QUERY = "SELECT count(*) FROM towns WHERE slug <> 'prepared-statement-marker'"


def prepared_marker_statements(psycopg_connection):
    count = psycopg_connection.execute(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%prepared-statement-marker%"]
    ).fetchone()[0]
    psycopg_connection.commit()  # leave it idle, as the pool expects (COMMIT keeps what psycopg prepared)
    return count


def test_a_read_only_request_keeps_its_prepared_statements(app):
    with app.app_context():
        psycopg_connection = db.session.connection().connection.dbapi_connection
        for _ in range(6):  # psycopg prepares a statement on its sixth run
            db.session.execute(text(MARKED_QUERY)).scalar()
        assert prepared_marker_statements(psycopg_connection) == 1
    # The app context is gone and its connection back in the pool: the statement survived.
    assert prepared_marker_statements(psycopg_connection) == 1


def test_a_request_that_wrote_without_committing_is_rolled_back(app):
    with app.app_context():
        db.session.add(Town(slug="flushed", name_zh="已写镇", name_en="Flushed"))
        db.session.flush()
    with app.app_context():
        db.session.add(Town(slug="pending", name_zh="未写镇", name_en="Pending"))
    with app.app_context():
        db.session.execute(text("INSERT INTO towns (slug, name_zh, name_en) VALUES ('raw', '直写镇', 'Raw')"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Town)) == 0


def test_a_failed_request_is_rolled_back(app, client):
    with pytest.raises(RuntimeError):
        with app.app_context():
            db.session.add(Town(slug="failed", name_zh="失败镇", name_en="Failed"))
            db.session.flush()
            raise RuntimeError("the view failed")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Town)) == 0


def test_storefront_pages_read_outside_a_transaction(app, client):
    from tests.demo_copy import seed_demo

    with app.app_context():
        seed_demo()
    statements = []

    def note(connection, _cursor, statement, *_args):
        statements.append(connection.connection.dbapi_connection.autocommit)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        for url in ("/", "/products", "/products?q=雪梨", "/products/jiao-snow-pears", "/products/jiao-snow-pears",
                    "/towns/taihe/impact"):
            assert client.get(url).status_code == 200
            assert statements and all(statements), url
            statements.clear()
        assert client.get("/api/v1/towns").status_code == 200  # any other page keeps its transaction
        assert statements and not any(statements)
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_page_that_only_reads_gives_its_connection_back_transactional(app, client, app_ctx):
    """Even when requests share one session (as tests under one app context do)."""
    assert client.get("/products").status_code == 200
    assert not db.session().in_transaction()
    assert db.session.connection().connection.dbapi_connection.autocommit is False


def test_what_a_read_only_request_loaded_stays_readable_after_it(app):
    with app.app_context():
        db.session.add(Town(slug="kept", name_zh="留镇", name_en="Kept"))
        db.session.commit()
    with app.app_context():
        town = db.session.scalar(select(Town).filter_by(slug="kept"))
    assert town.name_en == "Kept"  # ended with COMMIT, but not expired as a commit would
