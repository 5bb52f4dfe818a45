"""Backup and restore of the PostgreSQL database, exactly as the README tells an operator to do it:
`pg_dump -Fc`, `pg_restore` into a fresh database, then `flask ledger verify` on the restored copy."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from marketplace.extensions import db
from marketplace.ledger.chain import write_checkpoint
from tests.sim.fake_stripe import FakeStripe
from tests.sim.simulation import Simulation

ROOT = Path(__file__).resolve().parents[2]
BALANCES = text("SELECT a.owner_id, COALESCE(SUM(p.amount_fen), 0) FROM ledger_accounts a "
                "LEFT JOIN postings p ON p.account_id = a.id WHERE a.owner_type = 'household' "
                "GROUP BY a.owner_id ORDER BY a.owner_id")


def _libpq(url):
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _table_counts(engine):
    with engine.connect() as connection:
        names = [row[0] for row in connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))]
        return {name: connection.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar() for name in names}


@pytest.mark.postgres
def test_a_restored_backup_passes_ledger_verify_with_the_same_balances(app, monkeypatch, tmp_path):
    Simulation(app, 5, FakeStripe().install(monkeypatch), steps=40).run()
    with app.app_context():
        checkpoint = write_checkpoint()  # seals every entry first: the whole ledger is chained
        assert checkpoint["head_seq"] == checkpoint["entries"] > 0
    source = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    restored = source.set(database=f"{source.database}_restored")
    with app.app_context():
        db.session.remove()
    dump = tmp_path / "marketplace.dump"
    subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(dump), _libpq(source)], check=True)

    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{restored.database}"'))
        connection.execute(text(f'CREATE DATABASE "{restored.database}"'))
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", _libpq(restored), str(dump)], check=True)
        verify = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "ledger", "verify"], cwd=ROOT, capture_output=True,
            text=True, env={**os.environ, "DATABASE_URL": restored.render_as_string(hide_password=False),
                            "SECRET_KEY": app.config["SECRET_KEY"]})  # the key that signed the checkpoint
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "ledger OK" in verify.stdout
        # The chain survives pg_dump/pg_restore: every link recomputed on the copy, the checkpoint holds.
        assert f"chain_links: {checkpoint['head_seq']}" in verify.stdout
        assert f"last checkpoint: link {checkpoint['head_seq']} {checkpoint['head_hash'][:16]}" in verify.stdout

        original_engine, restored_engine = create_engine(source), create_engine(restored)
        with original_engine.connect() as original, restored_engine.connect() as copy:
            balances = original.execute(BALANCES).all()
            assert balances and any(amount for _owner, amount in balances)
            assert copy.execute(BALANCES).all() == balances
        assert _table_counts(restored_engine) == _table_counts(original_engine)
        with restored_engine.connect() as copy:  # the immutability triggers came back with the data
            triggers = copy.execute(text("SELECT COUNT(*) FROM pg_trigger WHERE NOT tgisinternal")).scalar()
        assert triggers >= 1
        original_engine.dispose()
        restored_engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{restored.database}" WITH (FORCE)'))
        admin.dispose()
