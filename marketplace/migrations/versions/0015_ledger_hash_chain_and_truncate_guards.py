"""ledger: the hash chain's seals and queue; TRUNCATE refused on ledger and audit tables (PostgreSQL)

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02 17:40:00

`ledger_seals` holds one link of the hash chain per journal entry, appended by the sealer;
`ledger_unsealed` is its queue, one row per posted entry not sealed yet. Entries posted before
this revision are queued here, so the first sealer run chains the whole ledger. On PostgreSQL
the seals are guarded like postings, and statement-level triggers refuse TRUNCATE of postings,
journal entries, lot allocations, seals and the audit log (see marketplace/ledger/guards.py).
"""
import sqlalchemy as sa
from alembic import op

from marketplace.ledger import guards

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ledger_seals',
        sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('entry_hash', sa.String(length=64), nullable=False),
        sa.Column('sealed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_ledger_seals_entry_id_journal_entries')),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_seals')),
        sa.UniqueConstraint('entry_id', name=op.f('uq_ledger_seals_entry_id')),
    )
    op.create_table(
        'ledger_unsealed',
        sa.Column('entry_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_ledger_unsealed')),
    )
    op.execute('INSERT INTO ledger_unsealed (entry_id) SELECT id FROM journal_entries')
    if op.get_bind().dialect.name == 'postgresql':
        for statement in guards.SEAL_GUARDS + guards.TRUNCATE_GUARDS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in guards.NEW_GUARDS_UNINSTALL:
            op.execute(statement)
    op.drop_table('ledger_unsealed')
    op.drop_table('ledger_seals')
