"""The migrations build the same schema as the models, from empty, on SQLite and PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from marketplace import create_app
from marketplace.extensions import db
from marketplace.ledger import guards
from tests.conftest import TEST_DATABASE_URL


TRIGGERS = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
}


def _upgrade_and_diff(url):
    """What differs between the migrated schema and the models; Alembic does not compare triggers,
    so the migrated database must also hold the ones `create_all` installs (same names)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            migrated = set(connection.execute(text(TRIGGERS[connection.dialect.name])).scalars())
        db.engine.dispose()
    created = _triggers_of_create_all(make_url(url))
    return diff + ([("triggers", sorted(migrated), sorted(created))] if migrated != created else [])


def _triggers_of_create_all(url):
    if url.get_backend_name() == "sqlite":
        url = url.set(database=url.database + ".created")
    else:
        url = url.set(database=url.database + "_created")
        _recreate(url)
    engine = create_engine(url)
    try:
        db.metadata.create_all(engine)
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":  # the ledger's guards are installed by the test schema too
                for statement in guards.INSTALL:
                    connection.execute(text(statement))
            return set(connection.execute(text(TRIGGERS[engine.dialect.name])).scalars())
    finally:
        engine.dispose()
        if url.get_backend_name() != "sqlite":
            _drop(url)


def _recreate(url):
    _drop(url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def _drop(url):
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_match_the_models_on_sqlite(tmp_path):
    assert _upgrade_and_diff(f"sqlite:///{tmp_path / 'fresh.db'}") == []


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgresql():
    fresh = make_url(TEST_DATABASE_URL)
    fresh = fresh.set(database=f"{fresh.database}_migrations")
    _recreate(fresh)
    try:
        assert _upgrade_and_diff(fresh.render_as_string(hide_password=False)) == []
        # Alembic compares no index options: the search index must take new terms at once (0011).
        engine = create_engine(fresh)
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT reloptions FROM pg_class WHERE relname = 'ix_products_search_terms'")).scalar() == ["fastupdate=off"]
            # Nor included columns: a search walks the listing index without reading the table (0013).
            assert connection.execute(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_products_listing'")).scalar().endswith(
                "INCLUDE (lowest_price_fen, search_terms)")
        engine.dispose()
    finally:
        _drop(fresh)
