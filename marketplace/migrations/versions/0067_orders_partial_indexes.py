"""orders: partial indexes (guests, pickups, downlink, awaiting payment); no index on status or settled_at

An order's status changes five or six times in its life, and a change of an indexed column
writes an entry in every index of the table: settling a sales day's million orders wrote nine.

Revision ID: 0067
Revises: 0066
Create Date: 2026-12-07 15:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0067'
down_revision = '0066'
branch_labels = None
depends_on = None

SPARSE = ('guest_phone', 'service_point_id', 'household_id')
AWAITING = "status = 'pending_payment'"


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        for name in ('ix_orders_status', 'ix_orders_settled_at', *(f'ix_orders_{column}' for column in SPARSE)):
            batch_op.drop_index(name)
        for column in SPARSE:
            where = sa.text(f'{column} IS NOT NULL')
            batch_op.create_index(f'ix_orders_{column}', [column], unique=False,
                                  postgresql_where=where, sqlite_where=where)
        batch_op.create_index('ix_orders_awaiting_payment', ['reservation_expires_at'], unique=False,
                              postgresql_where=sa.text(AWAITING), sqlite_where=sa.text(AWAITING))


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_awaiting_payment')
        for column in SPARSE:
            batch_op.drop_index(f'ix_orders_{column}')
        for column in ('status', 'settled_at', *SPARSE):
            batch_op.create_index(f'ix_orders_{column}', [column], unique=False)
