"""An index of shipments by order, replacements included

0024 made the (order, seller) uniqueness partial (replacement shipments are exempt), and a
partial index cannot answer "every shipment of this order": settling a day's orders read the
whole shipments table once per order.

Revision ID: 0025
Revises: 0024
"""
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_shipments_order_id", "shipments", ["order_id"])


def downgrade():
    op.drop_index("ix_shipments_order_id", table_name="shipments")
