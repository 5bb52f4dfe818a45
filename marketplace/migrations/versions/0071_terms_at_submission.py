"""an order request keeps its organisation's payment terms from its submission (not its approval):
requests not yet approved take their organisation's present terms

Revision ID: 0071
Revises: 0070
Create Date: 2026-12-07 20:45:00

"""
from alembic import op


revision = '0071'
down_revision = '0070'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE requisitions SET payment_terms = (SELECT organisations.payment_terms FROM organisations "
               "WHERE organisations.id = requisitions.organisation_id) WHERE status <> 'approved'")


def downgrade():
    pass  # the terms copied stay valid under the old rule (approval copies them again)
