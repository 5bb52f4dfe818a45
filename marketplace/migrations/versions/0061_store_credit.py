"""store credit: a claim refunded as the buyer's store credit, spent at checkout

Revision ID: 0061
Revises: 0064
Create Date: 2026-12-07 09:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0061'
down_revision = '0064'
branch_labels = None
depends_on = None

ACCOUNT_KINDS_BEFORE = (
    "stripe_receivable", "sales_pending", "household_payable", "cooperative_revenue",
    "cooperative_inventory", "cooperative_deposit", "supplier_payable", "platform_fees",
    "payment_fees", "love_fund", "shipping", "payouts_in_transit", "bank",
    "fixed_return_receivable", "cash_collected", "refund_losses", "claims_receivable",
    "presale_deposits",
)
ACCOUNT_KINDS = ACCOUNT_KINDS_BEFORE + ("store_credit",)
OWNER_TYPES_BEFORE = ("", "household", "cooperative", "supplier", "town", "investment", "presale")
OWNER_TYPES = OWNER_TYPES_BEFORE + ("buyer",)


def _known(column, values):
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _account_constraints(kinds, owner_types):
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ledger_accounts_account_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_accounts_account_kind_known'), _known("kind", kinds))
        batch_op.drop_constraint(batch_op.f('ck_ledger_accounts_owner_type_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_accounts_owner_type_known'),
                                         _known("owner_type", owner_types))


def upgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method', sa.String(length=12), server_default='original', nullable=False))
        batch_op.create_check_constraint(op.f('ck_refunds_refund_method_known'),
                                         _known("method", ("original", "store_credit")))
    with op.batch_alter_table('after_sales_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_to', sa.String(length=12), server_default='original', nullable=False))
        batch_op.create_check_constraint(op.f('ck_after_sales_claims_claim_refund_to_known'),
                                         _known("refund_to", ("original", "store_credit")))
    _account_constraints(ACCOUNT_KINDS, OWNER_TYPES)


def downgrade():
    _account_constraints(ACCOUNT_KINDS_BEFORE, OWNER_TYPES_BEFORE)
    with op.batch_alter_table('after_sales_claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_after_sales_claims_claim_refund_to_known'), type_='check')
        batch_op.drop_column('refund_to')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_refunds_refund_method_known'), type_='check')
        batch_op.drop_column('method')
