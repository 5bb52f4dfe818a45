"""pre-orders and subscriptions by region: GB/T 2260 district code, its full name and the detail
line, as orders have; or picked up at a village service point

Revision ID: 0073
Revises: 0072
Create Date: 2026-12-07 20:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0073'
down_revision = '0072'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('preorders', 'subscriptions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('region_code', sa.String(length=6), nullable=True))
            batch_op.add_column(sa.Column('region_name', sa.String(length=80), server_default='', nullable=False))
            batch_op.add_column(sa.Column('address_detail', sa.String(length=120), server_default='', nullable=False))
            batch_op.add_column(sa.Column('delivery_kind', sa.String(length=10), server_default='address', nullable=False))
            batch_op.add_column(sa.Column('service_point_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f'fk_{table}_service_point_id_service_points', 'service_points',
                                        ['service_point_id'], ['id'])


def downgrade():
    for table in ('subscriptions', 'preorders'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_service_point_id_service_points', type_='foreignkey')
            batch_op.drop_column('service_point_id')
            batch_op.drop_column('delivery_kind')
            batch_op.drop_column('address_detail')
            batch_op.drop_column('region_name')
            batch_op.drop_column('region_code')
