"""Ledger guards on PostgreSQL (see marketplace/ledger/guards.py).

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from marketplace.ledger import guards

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the services have no update path for these rows; tests check that.
    for statement in guards.ROW_GUARDS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in guards.ROW_GUARDS_UNINSTALL:
        op.execute(statement)
