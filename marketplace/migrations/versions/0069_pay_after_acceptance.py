"""pay after acceptance: an organisation's payment terms, kept on each approved order request; an
order on those terms ships unpaid (order status on_terms until its shipments move)

Revision ID: 0069
Revises: 0068
Create Date: 2026-12-07 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0069'
down_revision = '0068'
branch_labels = None
depends_on = None

STATUSES_BEFORE = ("pending_payment", "paid", "packed", "shipped", "delivered", "completed", "cancelled", "refunded",
                   "partially_refunded")
STATUSES = STATUSES_BEFORE + ("on_terms",)
TERMS = ("pay_first", "after_acceptance")


def _known(column, values):
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _order_statuses(statuses):
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_orders_order_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_orders_order_status_known'), _known("status", statuses))


def upgrade():
    for table in ('organisations', 'requisitions'):
        singular = table[:-1]
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('payment_terms', sa.String(length=20), server_default='pay_first',
                                          nullable=False))
            batch_op.create_check_constraint(op.f(f'ck_{table}_{singular}_payment_terms_known'),
                                             _known("payment_terms", TERMS))
    _order_statuses(STATUSES)


def downgrade():
    _order_statuses(STATUSES_BEFORE)
    for table in ('requisitions', 'organisations'):
        singular = table[:-1]
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'ck_{table}_{singular}_payment_terms_known'), type_='check')
            batch_op.drop_column('payment_terms')
