"""The demo district for tests: seeded once per worker, copied back for every later test.

`seed_demo()` builds hundreds of objects through the ORM, draws pictures and posts the ledger:
seconds per test, and most tests start from it. On PostgreSQL the first seeding in a session is
kept in memory as each table's rows (COPY) and its sequences' positions; a later call on empty
tables copies them back in one transaction, as a restore would (a replica session, so the
ledger's guards, which refuse writes they did not make, do not fire), and puts every sequence
where the seeding left it. Everything else — SQLite, or tables that already hold rows — seeds for
real. The demo's own tests (tests/demo/) call the real `seed_demo`.
"""
from sqlalchemy import text

from marketplace.demo.seed import seed_demo as seed_for_real
from marketplace.extensions import db

_copies = {}  # the worker's database URL -> _Copy


class _Copy:
    def __init__(self, counts, rows, sequences):
        self.counts, self.rows, self.sequences = counts, rows, sequences


def seed_demo():
    """The demo district, as `marketplace.demo.seed.seed_demo` makes it; returns its counts."""
    engine = db.engine
    tables = [table.name for table in db.metadata.sorted_tables]
    if engine.dialect.name != "postgresql" or _holds_rows(engine, tables):
        return seed_for_real()
    copy = _copies.get(str(engine.url))
    if copy is None:
        counts = seed_for_real()
        db.session.commit()
        _copies[str(engine.url)] = _take(engine, tables, counts)
        return counts
    _put_back(engine, copy)
    return dict(copy.counts)


def _holds_rows(engine, tables):
    with engine.connect() as connection:
        return connection.execute(text(" UNION ALL ".join(
            f'(SELECT 1 FROM "{name}" LIMIT 1)' for name in tables))).first() is not None


def _columns(connection):
    """Each table's columns that can be written (not generated), in order."""
    columns = {}
    for table, column in connection.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_generated = 'NEVER' ORDER BY table_name, ordinal_position")):
        columns.setdefault(table, []).append(f'"{column}"')
    return columns


def _take(engine, tables, counts):
    rows = {}
    with engine.connect() as connection:
        columns = _columns(connection)
        cursor = connection.connection.driver_connection.cursor()
        for name in tables:
            with cursor.copy(f'COPY "{name}" ({", ".join(columns[name])}) TO STDOUT') as out:
                data = b"".join(bytes(block) for block in out)
            if data:
                rows[f'"{name}" ({", ".join(columns[name])})'] = data
        sequences = connection.execute(text(
            "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences "
            "WHERE schemaname = current_schema() AND last_value IS NOT NULL")).all()
    return _Copy(counts, rows, sequences)


def _put_back(engine, copy):
    db.session.remove()
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        cursor = connection.connection.driver_connection.cursor()
        for target, data in copy.rows.items():
            with cursor.copy(f"COPY {target} FROM STDIN") as into:
                into.write(data)
        for sequence, last_value in copy.sequences:
            connection.execute(text("SELECT setval(:sequence, :value)"), {"sequence": sequence, "value": last_value})
