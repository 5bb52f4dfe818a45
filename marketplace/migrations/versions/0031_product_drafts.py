"""product drafts: a new listing is a draft until it has a price, stock or a lot, and a photo;
the cash a villager tendered at pickup (the change given back is the difference)

Revision ID: 0031
Revises: 0022
Create Date: 2026-12-02 21:55:00

"""
import sqlalchemy as sa
from alembic import op

from marketplace.catalog import lowest_price

revision = '0031'
down_revision = '0022'
branch_labels = None
depends_on = None


STATUSES_BEFORE = "status IN ('active', 'paused', 'archived')"
STATUSES_AFTER = "status IN ('draft', 'active', 'paused', 'archived')"


def _set_product_statuses(check):
    """SQLite rebuilds the products table for this; its triggers on variants name the table, so
    they are dropped first and put back after (PostgreSQL alters the constraint in place)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for statement in lowest_price.UNINSTALL["sqlite"]:
            op.execute(statement)
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_products_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_products_status_known'), check)
    if sqlite:
        for statement in lowest_price.statements("sqlite"):
            op.execute(statement)


def upgrade():
    with op.batch_alter_table('pickup_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cash_tendered_fen', sa.BigInteger(), nullable=True))
    _set_product_statuses(STATUSES_AFTER)


def downgrade():
    with op.batch_alter_table('pickup_tickets', schema=None) as batch_op:
        batch_op.drop_column('cash_tendered_fen')
    op.execute("UPDATE products SET status = 'paused' WHERE status = 'draft'")
    _set_product_statuses(STATUSES_BEFORE)
