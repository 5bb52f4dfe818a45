"""The settlement sweeps' indexes hold only the shipments still waiting

(status, delivered_at) and (status, shipped_at) kept every shipment ever settled; as partial
indexes on the one status each sweep reads, a shipment leaves them as it moves on, and settling
a sales day's shipments writes two index entries fewer per row.

Revision ID: 0055
Revises: 0050
"""
from alembic import op
import sqlalchemy as sa

revision = "0055"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_shipments_status_delivered_at", table_name="shipments")
    op.drop_index("ix_shipments_status_shipped_at", table_name="shipments")
    op.create_index("ix_shipments_delivered_due", "shipments", ["delivered_at"],
                    postgresql_where=sa.text("status = 'delivered'"), sqlite_where=sa.text("status = 'delivered'"))
    op.create_index("ix_shipments_shipped_due", "shipments", ["shipped_at"],
                    postgresql_where=sa.text("status = 'shipped'"), sqlite_where=sa.text("status = 'shipped'"))


def downgrade():
    op.drop_index("ix_shipments_delivered_due", table_name="shipments")
    op.drop_index("ix_shipments_shipped_due", table_name="shipments")
    op.create_index("ix_shipments_status_delivered_at", "shipments", ["status", "delivered_at"])
    op.create_index("ix_shipments_status_shipped_at", "shipments", ["status", "shipped_at"])
