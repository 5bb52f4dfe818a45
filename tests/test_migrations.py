"""The migrations build the same schema as the models, from empty, on SQLite and PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from marketplace import create_app
from marketplace.extensions import db
from tests.conftest import TEST_DATABASE_URL


def _upgrade_and_diff(url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return diff


def test_migrations_match_the_models_on_sqlite(tmp_path):
    assert _upgrade_and_diff(f"sqlite:///{tmp_path / 'fresh.db'}") == []


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgresql():
    base = make_url(TEST_DATABASE_URL)
    name = f"{base.database}_migrations"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        fresh = base.set(database=name)
        assert _upgrade_and_diff(fresh.render_as_string(hide_password=False)) == []
        # Index options are not compared by Alembic: the search index must take new terms at once (0011).
        engine = create_engine(fresh)
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT reloptions FROM pg_class WHERE relname = 'ix_products_search_terms'")).scalar() == ["fastupdate=off"]
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
