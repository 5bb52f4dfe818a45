"""storefront: products' search terms (character bigrams, GIN on PostgreSQL) and the newest-first index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_terms', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_products_newest', ['direction', 'status', 'created_at', 'id'], unique=False)
    _fill_search_terms()
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_products_search_terms', 'products', [sa.text("string_to_array(search_terms, ' ')")],
                        unique=False, postgresql_using='gin')


def _fill_search_terms():
    """Index the products already listed, with the same function the app keeps them with."""
    from marketplace.catalog.search import LABEL_WORDS, product_terms

    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT p.id, p.title_zh, p.title_en, v.name_zh, v.name_en, p.label_selenium_rich, p.label_organic, "
        "p.label_poor_household_direct FROM products p LEFT JOIN villages v ON v.id = p.origin_village_id")).all()
    update = sa.text("UPDATE products SET search_terms = :terms WHERE id = :id")
    values = []
    for id_, title_zh, title_en, village_zh, village_en, *flags in rows:
        labels = [label for label, flag in zip(LABEL_WORDS, flags) if flag]
        values.append({"id": id_, "terms": product_terms(title_zh, title_en, village_zh or "", village_en or "", labels)})
    for start in range(0, len(values), BATCH):
        connection.execute(update, values[start:start + BATCH])


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_products_search_terms', table_name='products', postgresql_using='gin')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index('ix_products_newest')
        batch_op.drop_column('search_terms')
