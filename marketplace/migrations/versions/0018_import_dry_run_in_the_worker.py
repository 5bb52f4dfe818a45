"""registry imports: the dry run parses in the worker (a job starts as `checking`)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 21:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

STATUSES = ("checking", "checked", "queued", "running", "writing", "done", "failed")


def _known(statuses):
    return "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")"


def upgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_import_jobs_import_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_import_jobs_import_status_known'), _known(STATUSES))


def downgrade():
    op.execute("UPDATE import_jobs SET status = 'failed' WHERE status = 'checking'")
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_import_jobs_import_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_import_jobs_import_status_known'), _known(STATUSES[1:]))
