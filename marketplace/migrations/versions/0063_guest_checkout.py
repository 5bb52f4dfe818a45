"""guest checkout: one-time codes sent by SMS, and the guest's mobile number on an order

Revision ID: 0063
Revises: 0062
Create Date: 2026-12-07 09:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0063'
down_revision = '0062'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('phone_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("purpose IN ('guest', 'claim')", name=op.f('ck_phone_codes_purpose_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_codes'))
    )
    with op.batch_alter_table('phone_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_codes_phone'), ['phone'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_phone', sa.String(length=11), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_guest_phone'), ['guest_phone'], unique=False)


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_guest_phone'))
        batch_op.drop_column('guest_phone')
    with op.batch_alter_table('phone_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_codes_phone'))
    op.drop_table('phone_codes')
