"""Bring a benchmark database built for an older schema up to date without seeding it again.

`python -m tests.perf.restamp postgresql+psycopg://postgres@127.0.0.1/mp_perf`: the harness builds
its database with `create_all` (no Alembic version), so this stamps the revision it was built at
(`--built-at`, default 0017), runs `flask db upgrade`, folds the ledger into the towns' public
figures (sealing first), and writes the new schema fingerprint into the database's comment, so
`python -m tests.perf` reuses it instead of seeding for half an hour.
"""
import argparse
import subprocess

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.perf.database import schema_fingerprint
from tests.perf.servers import BIN, ROOT, app_env


def main():
    parser = argparse.ArgumentParser(prog="python -m tests.perf.restamp", description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--built-at", default="0017", help="the migration the database's schema matches")
    options = parser.parse_args()
    from marketplace import create_app

    env = app_env(options.database_url, "redis://127.0.0.1:6379/15")
    engine = create_engine(options.database_url)
    with engine.connect() as connection:
        versioned = connection.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
    engine.dispose()
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    if not versioned:
        subprocess.run([*flask, "db", "stamp", options.built_at], cwd=ROOT, env=env, check=True)
    for command in (("db", "upgrade"), ("ledger", "seal"), ("ledger", "figures")):
        subprocess.run([*flask, *command], cwd=ROOT, env=env, check=True)
    url = make_url(options.database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        comment = connection.execute(text(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar()
        parts = (comment or "seed-scale ? ").split(" ")
        parts[1] = schema_fingerprint(create_app({"SQLALCHEMY_DATABASE_URI": options.database_url}))
        connection.execute(text(f"COMMENT ON DATABASE \"{url.database}\" IS '{' '.join(parts)}'"))
        print(f"{url.database}: {comment} -> {' '.join(parts)}")
    admin.dispose()


if __name__ == "__main__":
    main()
