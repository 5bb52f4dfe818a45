"""transfer refunds: refunds of orders paid by company transfer are owed back to the organisation
and paid back by an outgoing bank transfer that staff record

Revision ID: 0068
Revises: 0067
Create Date: 2026-12-07 15:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0068'
down_revision = '0067'
branch_labels = None
depends_on = None

ACCOUNT_KINDS_BEFORE = (
    "stripe_receivable", "sales_pending", "household_payable", "cooperative_revenue",
    "cooperative_inventory", "cooperative_deposit", "supplier_payable", "platform_fees",
    "payment_fees", "love_fund", "shipping", "payouts_in_transit", "bank",
    "fixed_return_receivable", "cash_collected", "refund_losses", "claims_receivable",
    "presale_deposits", "store_credit",
)
ACCOUNT_KINDS = ACCOUNT_KINDS_BEFORE + ("organisation_refunds",)
OWNER_TYPES_BEFORE = ("", "household", "cooperative", "supplier", "town", "investment", "presale", "buyer")
OWNER_TYPES = OWNER_TYPES_BEFORE + ("organisation",)
METHODS_BEFORE = ("original", "store_credit")
METHODS = METHODS_BEFORE + ("transfer",)


def _known(column, values):
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _constraints(kinds, owner_types, methods):
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ledger_accounts_account_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_accounts_account_kind_known'), _known("kind", kinds))
        batch_op.drop_constraint(batch_op.f('ck_ledger_accounts_owner_type_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_accounts_owner_type_known'),
                                         _known("owner_type", owner_types))
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_refunds_refund_method_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_refunds_refund_method_known'), _known("method", methods))


def upgrade():
    _constraints(ACCOUNT_KINDS, OWNER_TYPES, METHODS)
    op.create_table('outgoing_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('refund_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('bank_reference', sa.String(length=80), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_outgoing_transfers_outgoing_transfer_positive')),
    sa.CheckConstraint("bank_reference <> ''", name=op.f('ck_outgoing_transfers_outgoing_transfer_names_bank_reference')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_outgoing_transfers_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_outgoing_transfers_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_outgoing_transfers_refund_id_refunds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_transfers')),
    sa.UniqueConstraint('bank_reference', name=op.f('uq_outgoing_transfers_bank_reference')),
    sa.UniqueConstraint('refund_id', name=op.f('uq_outgoing_transfers_refund_id'))
    )
    with op.batch_alter_table('outgoing_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_transfers_organisation_id'), ['organisation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('outgoing_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_transfers_organisation_id'))
    op.drop_table('outgoing_transfers')
    _constraints(ACCOUNT_KINDS_BEFORE, OWNER_TYPES_BEFORE, METHODS_BEFORE)
