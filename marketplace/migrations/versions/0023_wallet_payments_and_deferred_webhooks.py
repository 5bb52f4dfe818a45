"""payments say which Stripe payment method type paid (card, WeChat Pay, Alipay); Stripe events
are received by the webhook and applied later by the worker (applied_at, outcome)

Revision ID: 0023
Revises: 0031
Create Date: 2026-12-02 21:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("payment_method_type", sa.String(length=30), nullable=True))
        batch.create_index("ix_payments_payment_method_type", ["payment_method_type"])
    with op.batch_alter_table("stripe_events") as batch:
        batch.add_column(sa.Column("applied_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=40), nullable=True))
    # Every event recorded before was recorded with its effect: it was applied then.
    op.execute("UPDATE stripe_events SET applied_at = received_at")


def downgrade():
    with op.batch_alter_table("stripe_events") as batch:
        batch.drop_column("outcome")
        batch.drop_column("applied_at")
    with op.batch_alter_table("payments") as batch:
        batch.drop_index("ix_payments_payment_method_type")
        batch.drop_column("payment_method_type")
