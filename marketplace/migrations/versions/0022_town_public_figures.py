"""the towns' public figures, kept as the ledger grows: household and town income by mechanism,
households reached, love-fund totals, and the mark of how far along the chain they are folded

The tables start empty with the mark at 0: the next sealing task (or `flask ledger figures`)
folds the whole chain into them.

Revision ID: 0022
Revises: 0018
Create Date: 2026-12-02 21:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "household_income",
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id", name="fk_household_income_household_id_households"),
                  nullable=False),
        sa.Column("mechanism", sa.String(length=20), nullable=False),
        sa.Column("fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", "mechanism", name="pk_household_income"),
    )
    op.create_table(
        "town_income",
        sa.Column("town_id", sa.Integer(), sa.ForeignKey("towns.id", name="fk_town_income_town_id_towns"), nullable=False),
        sa.Column("mechanism", sa.String(length=20), nullable=False),
        sa.Column("fen", sa.BigInteger(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("town_id", "mechanism", name="pk_town_income"),
    )
    op.create_table(
        "town_figures",
        sa.Column("town_id", sa.Integer(), sa.ForeignKey("towns.id", name="fk_town_figures_town_id_towns"), nullable=False),
        sa.Column("households_reached", sa.Integer(), nullable=False),
        sa.Column("love_fund_received_fen", sa.BigInteger(), nullable=False),
        sa.Column("love_fund_granted_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("town_id", name="pk_town_figures"),
    )
    op.create_table(
        "ledger_fold_marks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_ledger_fold_marks"),
    )


def downgrade():
    for table in ("ledger_fold_marks", "town_figures", "town_income", "household_income"):
        op.drop_table(table)
