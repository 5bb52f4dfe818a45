"""supplier bank account for payouts: suppliers join the town's payout batches

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 18:38:52.246758

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_name', sa.String(length=80), nullable=False, server_default=""))
        batch_op.add_column(sa.Column('bank_account', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('bank_account_masked', sa.String(length=40), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table('suppliers', schema=None) as batch_op:
        batch_op.drop_column('bank_account_masked')
        batch_op.drop_column('bank_account')
        batch_op.drop_column('bank_name')
