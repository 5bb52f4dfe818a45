"""catalogue: each product's lowest active price, kept by triggers on variants

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 01:40:00

The listings filtered and sorted by a subquery over variants per product: "price: low to high"
read every variant of the catalogue. The lowest price now sits on the product
(marketplace.catalog.lowest_price), indexed with the listing's own columns.
"""
import sqlalchemy as sa
from alembic import op

from marketplace.catalog import lowest_price

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('products', sa.Column('lowest_price_fen', sa.Integer(), nullable=True))
    op.create_index('ix_products_by_price', 'products', ['direction', 'status', 'lowest_price_fen', 'id'])
    op.execute(lowest_price.RECOMPUTE_ALL)
    for statement in lowest_price.statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in lowest_price.UNINSTALL.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_index('ix_products_by_price', table_name='products')
    with op.batch_alter_table('products') as batch_op:
        batch_op.drop_column('lowest_price_fen')
