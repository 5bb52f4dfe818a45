"""The benchmark's own PostgreSQL database (mp_perf), built once per schema and size and reused.

The schema is built as the test suite builds it (the models plus the ledger guards), and the
database's comment records the schema fingerprint and the sizes seeded, so a later run reuses
it and a changed model or size rebuilds it.
"""
import hashlib
import subprocess
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateTable

from tests.perf.servers import BIN, ROOT


def schema_fingerprint(app):
    from marketplace.extensions import db

    with app.app_context():
        # Tables and their indexes: a changed index (its columns, INCLUDE, options) seeds again too.
        ddl = "".join(str(statement.compile(db.engine)) for table in db.metadata.sorted_tables
                      for statement in (CreateTable(table), *(CreateIndex(index) for index in
                                                               sorted(table.indexes, key=lambda i: i.name))))
    return hashlib.sha256(ddl.encode()).hexdigest()[:16]


def prepare(database_url, sizes, env, rebuild=False, echo=print):
    """Make `database_url` hold the scale district of `sizes`; returns seconds spent seeding (0 if reused)."""
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.ledger import guards

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    stamp = f"seed-scale {schema_fingerprint(app)} " + " ".join(f"{k}={v}" for k, v in sizes.items())
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar()
        comment = connection.execute(text(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar()
        if exists and comment == stamp and not rebuild:
            echo(f"reusing {url.database}: {stamp}")
            admin.dispose()
            return 0.0
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": url.database})
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    with app.app_context():
        db.create_all()
        with db.engine.begin() as connection:
            for statement in guards.INSTALL:
                connection.execute(text(statement))
        db.engine.dispose()
    arguments = [f"--{name}={value}" for name, value in sizes.items()]
    echo(f"seeding {url.database}: flask --app wsgi seed-scale {' '.join(arguments)}")
    started = time.perf_counter()
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "seed-scale", *arguments], cwd=ROOT, env=env, check=True)
    seconds = time.perf_counter() - started
    with admin.connect() as connection:
        connection.execute(text(f"COMMENT ON DATABASE \"{url.database}\" IS '{stamp}'"))
    admin.dispose()
    return seconds
