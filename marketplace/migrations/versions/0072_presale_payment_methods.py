"""pre-sale payments: the method that paid (card, WeChat Pay, Alipay), its charge, balance
transaction and Stripe's fee, as for orders' payments

Revision ID: 0072
Revises: 0071
Create Date: 2026-12-07 20:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0072'
down_revision = '0071'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('presale_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_method_type', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('stripe_charge_id', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('balance_transaction_id', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('fee_fen', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_presale_payments_balance_transaction_id'), ['balance_transaction_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_presale_payments_stripe_charge_id'), ['stripe_charge_id'], unique=False)


def downgrade():
    with op.batch_alter_table('presale_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_presale_payments_stripe_charge_id'))
        batch_op.drop_index(batch_op.f('ix_presale_payments_balance_transaction_id'))
        batch_op.drop_column('fee_fen')
        batch_op.drop_column('balance_transaction_id')
        batch_op.drop_column('stripe_charge_id')
        batch_op.drop_column('payment_method_type')
