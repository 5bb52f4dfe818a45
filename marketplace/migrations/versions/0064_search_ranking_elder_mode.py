"""search ranking and elder mode: products.title_terms (pinyin, synonyms), users.elder_mode

Revision ID: 0064
Revises: 0063
Create Date: 2026-12-07 08:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0064'
down_revision = '0063'
branch_labels = None
depends_on = None
BATCH = 1000


def upgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_terms', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('elder_mode', sa.Boolean(), server_default=sa.false(), nullable=False))
    _reindex()


def _reindex():
    """Index the products already listed with pinyin, synonyms and their cooperative's name, with
    the same functions the app keeps them with."""
    from marketplace.catalog.search import LABEL_WORDS, product_terms, title_terms

    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT p.id, p.title_zh, p.title_en, v.name_zh, v.name_en, c.name_zh, c.name_en, p.label_selenium_rich,"
        " p.label_organic, p.label_poor_household_direct FROM products p"
        " LEFT JOIN villages v ON v.id = p.origin_village_id JOIN sellers s ON s.id = p.seller_id"
        " LEFT JOIN cooperatives c ON c.id = s.cooperative_id")).all()
    update = sa.text("UPDATE products SET search_terms = :terms, title_terms = :title WHERE id = :id")
    values = []
    for id_, title_zh, title_en, village_zh, village_en, coop_zh, coop_en, *flags in rows:
        labels = [label for label, flag in zip(LABEL_WORDS, flags) if flag]
        values.append({"id": id_, "title": title_terms(title_zh, title_en),
                       "terms": product_terms(title_zh, title_en, village_zh or "", village_en or "", labels,
                                              coop_zh or "", coop_en or "")})
    for start in range(0, len(values), BATCH):
        connection.execute(update, values[start:start + BATCH])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('elder_mode')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('title_terms')
