"""Database helpers shared by every domain: time, column shapes, SQLite setup, row locks, how a
request's transaction ends."""
import functools
import select
from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, event, exc

from marketplace.extensions import db


def utcnow():
    """Naive UTC, the one timestamp shape stored on SQLite and PostgreSQL alike."""
    return datetime.now(UTC).replace(tzinfo=None)


def one_of(column, values, name=None):
    """A CHECK constraint that keeps a string column within `values`."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_allowed")


def init_app(app):
    """Tune the app's own engine (not other libraries' engines, such as Celery's broker)."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _configure_sqlite)
            event.listen(db.engine, "begin", _begin_sqlite_immediately)
        else:
            event.listen(db.engine, "checkout", _replace_if_closed_by_server)
            # Registered after Flask-SQLAlchemy's own teardown, so it runs before the session is removed.
            app.teardown_appcontext(_commit_if_read_only)


def _configure_sqlite(dbapi_connection, _record):
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling is broken).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite_immediately(connection):
    # with_for_update() compiles to nothing on SQLite, so every transaction takes the write
    # lock up front: a read-then-write can never fail half way with "database is locked".
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _replace_if_closed_by_server(dbapi_connection, _record, _proxy):
    """Replace a pooled PostgreSQL connection the server has closed before a request uses it.

    The server sends an idle connection nothing unless it is closing it (an administrator's
    terminate, a restart, an idle timeout): it writes a last error and hangs up. So a connection
    with something to read is not used (the pool makes a new one), and a healthy one costs a
    non-blocking poll of its socket, where SQLAlchemy's pre-ping costs a round trip (SELECT 1)
    on every request. A connection that breaks later, mid-request, fails that request."""
    if dbapi_connection.closed or select.select([dbapi_connection.fileno()], [], [], 0)[0]:
        raise exc.DisconnectionError("the server closed this connection")


def _commit_if_read_only(error):
    """End a PostgreSQL transaction that wrote nothing with COMMIT instead of the session's ROLLBACK.

    psycopg forgets every prepared statement on ROLLBACK, so a page's queries would be planned
    again on every request (the product page's join: 5 ms to plan, 0.7 ms to run). A transaction
    that was never given a transaction id wrote nothing, and committing it is rolling it back."""
    if error is not None or not db.session.registry.has():
        return
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    connection = session.connection()
    if connection.exec_driver_sql("SELECT pg_current_xact_id_if_assigned() IS NULL").scalar():
        # The session is removed next: what it loaded stays readable as after the rollback it replaces.
        session.expire_on_commit = False
        session.commit()


def reads_only(view):
    """Run a view that only reads, such as a storefront page, outside any transaction (PostgreSQL).

    Each of its SELECTs stands alone: no BEGIN, no COMMIT and no check that nothing was written,
    three round trips fewer on the most requested pages. Its queries may see the database a moment
    apart (a stock figure changed between two of them), which a page shown to buyers can bear:
    checkout reads stock again under a row lock. The session is closed when the view returns, so
    its connection goes back to the pool transactional again. Put it inside `cached_page`, so a
    page served from the cache takes no connection at all."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not is_postgres() or db.session().in_transaction():
            return view(*args, **kwargs)  # something read already: stay in that transaction
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        try:
            return view(*args, **kwargs)
        finally:
            db.session.close()

    return wrapper


def is_postgres():
    return db.engine.dialect.name == "postgresql"


def lock_for_update(query):
    """Row-lock what `query` selects (PostgreSQL); SQLite already holds its write lock."""
    return query.with_for_update()
