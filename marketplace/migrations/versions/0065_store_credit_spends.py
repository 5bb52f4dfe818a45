"""store credit spent at checkout: a hold per order, orders paid with store credit, refunds without a card payment

Revision ID: 0065
Revises: 0061
Create Date: 2026-12-07 12:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0065'
down_revision = '0061'
branch_labels = None
depends_on = None

METHODS_BEFORE = ("stripe", "earnings", "cash")
METHODS = METHODS_BEFORE + ("store_credit",)


def _known(column, values):
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _payment_methods(methods, length):
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_orders_payment_method_known'), type_='check')
        batch_op.alter_column('payment_method', existing_type=sa.String(length=10 if length == 12 else 12),
                              type_=sa.String(length=length), existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_orders_payment_method_known'), _known("payment_method", methods))


def upgrade():
    op.create_table(
        'store_credit_spends',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('buyer_id', sa.Integer(), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint('amount_fen > 0', name=op.f('ck_store_credit_spends_store_credit_spend_positive')),
        sa.CheckConstraint(_known("status", ("held", "spent", "released")),
                           name=op.f('ck_store_credit_spends_store_credit_spend_status_known')),
        sa.ForeignKeyConstraint(['buyer_id'], ['users.id'], name=op.f('fk_store_credit_spends_buyer_id_users')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_store_credit_spends_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_credit_spends')),
        sa.UniqueConstraint('order_id', name=op.f('uq_store_credit_spends_order_id')),
    )
    with op.batch_alter_table('store_credit_spends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_credit_spends_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_store_credit_spends_status'), ['status'], unique=False)
    _payment_methods(METHODS, 12)
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.alter_column('payment_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.alter_column('payment_id', existing_type=sa.Integer(), nullable=False)
    _payment_methods(METHODS_BEFORE, 10)
    with op.batch_alter_table('store_credit_spends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_store_credit_spends_status'))
        batch_op.drop_index(batch_op.f('ix_store_credit_spends_buyer_id'))
    op.drop_table('store_credit_spends')
