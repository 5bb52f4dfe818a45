"""institutional buying (消费帮扶): organisations with yearly quotas and members, order requests
approved into orders, incoming company transfers matched by reference; invitations to an
organisation's buyers, approvers and finance

Revision ID: 0040
Revises: 0025
Create Date: 2026-12-07 03:43:41

"""
from alembic import op
import sqlalchemy as sa


revision = '0040'
down_revision = '0025'
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('admin', 'town_staff', 'coop_manager', 'agent', 'supplier')"
ROLES_AFTER = ("role IN ('admin', 'town_staff', 'coop_manager', 'agent', 'supplier', 'org_buyer', 'org_approver', "
               "'org_finance')")


def upgrade():
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('district', sa.String(length=80), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('budget_unit', 'union', 'canteen', 'enterprise')", name=op.f('ck_organisations_organisation_kind_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_organisations_created_by_id_users')),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_organisations_town_id_towns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_organisations_credit_code'))
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_town_id'), ['town_id'], unique=False)

    op.create_table('organisation_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('buyer', 'approver', 'finance')", name=op.f('ck_organisation_members_organisation_member_role_known')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_members_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_organisation_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_members')),
    sa.UniqueConstraint('user_id', name=op.f('uq_organisation_members_user_id'))
    )
    with op.batch_alter_table('organisation_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_members_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('organisation_quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('declared_total_fen', sa.BigInteger(), nullable=False),
    sa.Column('required_share', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.CheckConstraint('declared_total_fen > 0', name=op.f('ck_organisation_quotas_declared_total_positive')),
    sa.CheckConstraint('required_share > 0 AND required_share <= 1', name=op.f('ck_organisation_quotas_required_share_range')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_quotas_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_quotas')),
    sa.UniqueConstraint('organisation_id', 'year', name='organisation_quota_once_a_year')
    )
    with op.batch_alter_table('organisation_quotas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_quotas_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('requisitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('recipient_name', sa.String(length=80), nullable=False),
    sa.Column('recipient_phone', sa.String(length=30), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('estimate_fen', sa.BigInteger(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_note', sa.String(length=300), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('transfer_reference', sa.String(length=20), nullable=True),
    sa.CheckConstraint("status IN ('awaiting_approval', 'returned', 'approved')", name=op.f('ck_requisitions_requisition_status_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_requisitions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_requisitions_order_id_orders')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_requisitions_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_requisitions_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requisitions')),
    sa.UniqueConstraint('order_id', name=op.f('uq_requisitions_order_id')),
    sa.UniqueConstraint('transfer_reference', name=op.f('uq_requisitions_transfer_reference'))
    )
    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requisitions_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('incoming_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_reference', sa.String(length=80), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('payer_name', sa.String(length=120), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('memo', sa.String(length=300), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('transfer_reference', sa.String(length=20), nullable=False),
    sa.Column('requisition_id', sa.Integer(), nullable=True),
    sa.Column('paid_order_id', sa.Integer(), nullable=True),
    sa.Column('statement_name', sa.String(length=120), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("outcome IN ('matched', 'unknown_reference', 'ambiguous', 'partial', 'over', 'duplicate', 'already_paid', 'not_payable')", name=op.f('ck_incoming_transfers_transfer_outcome_known')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_incoming_transfers_incoming_transfer_positive')),
    sa.ForeignKeyConstraint(['paid_order_id'], ['orders.id'], name=op.f('fk_incoming_transfers_paid_order_id_orders')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_incoming_transfers_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['requisition_id'], ['requisitions.id'], name=op.f('fk_incoming_transfers_requisition_id_requisitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incoming_transfers')),
    sa.UniqueConstraint('paid_order_id', name=op.f('uq_incoming_transfers_paid_order_id'))
    )
    with op.batch_alter_table('incoming_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incoming_transfers_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_incoming_transfers_requisition_id'), ['requisition_id'], unique=False)

    op.create_table('requisition_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requisition_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_requisition_lines_requisition_quantity_positive')),
    sa.ForeignKeyConstraint(['requisition_id'], ['requisitions.id'], name=op.f('fk_requisition_lines_requisition_id_requisitions')),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_requisition_lines_variant_id_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requisition_lines'))
    )
    with op.batch_alter_table('requisition_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requisition_lines_requisition_id'), ['requisition_id'], unique=False)

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invitations_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_invitations_invitation_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_invitations_invitation_role_known'), ROLES_AFTER)


def downgrade():
    op.execute("DELETE FROM invitations WHERE organisation_id IS NOT NULL")
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invitations_invitation_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_invitations_invitation_role_known'), ROLES_BEFORE)
        batch_op.drop_constraint(batch_op.f('fk_invitations_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_column('organisation_id')

    with op.batch_alter_table('requisition_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requisition_lines_requisition_id'))

    op.drop_table('requisition_lines')
    with op.batch_alter_table('incoming_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incoming_transfers_requisition_id'))
        batch_op.drop_index(batch_op.f('ix_incoming_transfers_fingerprint'))

    op.drop_table('incoming_transfers')
    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requisitions_organisation_id'))

    op.drop_table('requisitions')
    with op.batch_alter_table('organisation_quotas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_quotas_organisation_id'))

    op.drop_table('organisation_quotas')
    with op.batch_alter_table('organisation_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_members_organisation_id'))

    op.drop_table('organisation_members')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_town_id'))

    op.drop_table('organisations')
