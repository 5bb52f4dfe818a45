"""addresses by region: an order's GB/T 2260 district code, region name and detail line; saved addresses

Revision ID: 0066
Revises: 0065
Create Date: 2026-12-07 12:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0066'
down_revision = '0065'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('region_name', sa.String(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('address_detail', sa.String(length=120), nullable=False, server_default=''))
    op.create_table('saved_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('recipient_name', sa.String(length=80), nullable=False),
    sa.Column('recipient_phone', sa.String(length=30), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('region_name', sa.String(length=80), nullable=False),
    sa.Column('address_detail', sa.String(length=120), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['buyer_id'], ['users.id'], name=op.f('fk_saved_addresses_buyer_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_addresses'))
    )
    with op.batch_alter_table('saved_addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_addresses_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index('uq_saved_addresses_one_default', ['buyer_id'], unique=True,
                              postgresql_where=sa.text('is_default'), sqlite_where=sa.text('is_default'))


def downgrade():
    with op.batch_alter_table('saved_addresses', schema=None) as batch_op:
        batch_op.drop_index('uq_saved_addresses_one_default', postgresql_where=sa.text('is_default'),
                            sqlite_where=sa.text('is_default'))
        batch_op.drop_index(batch_op.f('ix_saved_addresses_buyer_id'))
    op.drop_table('saved_addresses')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('address_detail')
        batch_op.drop_column('region_name')
        batch_op.drop_column('region_code')
