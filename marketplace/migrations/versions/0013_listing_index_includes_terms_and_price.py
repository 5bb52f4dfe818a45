"""catalogue: the listing index carries the search terms and the lowest price (PostgreSQL)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 01:50:00

A search for a common term walks ix_products_listing in the catalogue's order and checks each
product's terms until a page is full (雪梨: 163 products read for 13 shown). With the terms and
the lowest price included in the index, that walk reads no table rows (an index-only scan);
only the page's products are read. SQLite has no INCLUDE and keeps the index as it was.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

COLUMNS = ['direction', 'status', 'is_featured', 'id']


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_products_listing', table_name='products')
        op.create_index('ix_products_listing', 'products', COLUMNS,
                        postgresql_include=['lowest_price_fen', 'search_terms'])


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_products_listing', table_name='products')
        op.create_index('ix_products_listing', 'products', COLUMNS)
