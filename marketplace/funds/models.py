from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import one_of, utcnow
from marketplace.extensions import db

AID_PURPOSES = ("illness", "hardship", "education")


class FixedReturnInvestment(db.Model):
    """Poverty funds invested in a company for a fixed yearly return paid to the holders."""

    __tablename__ = "fixed_return_investments"
    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160))
    company_name: Mapped[str] = mapped_column(String(120))
    principal_fen: Mapped[int] = mapped_column(db.BigInteger)
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    started_on: Mapped[date]
    holdings: Mapped[list["InvestmentHolding"]] = relationship(order_by="InvestmentHolding.id")

    __table_args__ = (
        CheckConstraint("principal_fen > 0", name="principal_positive"),
        CheckConstraint("annual_rate >= 0 AND annual_rate <= 1", name="annual_rate_range"),
    )


class InvestmentHolding(db.Model):
    """A household's part of an investment, in people or units (折股量化)."""

    __tablename__ = "investment_holdings"
    id: Mapped[int] = mapped_column(primary_key=True)
    investment_id: Mapped[int] = mapped_column(ForeignKey("fixed_return_investments.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    units: Mapped[Decimal] = mapped_column(Numeric(12, 3))

    __table_args__ = (
        CheckConstraint("units > 0", name="holding_units_positive"),
        db.UniqueConstraint("investment_id", "household_id", name="uq_investment_holdings_inv_household"),
    )


class LoveFundGrant(db.Model):
    """Aid from a town's love fund (爱心基金) to a household: proposed by one, approved by another."""

    __tablename__ = "love_fund_grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    note: Mapped[str] = mapped_column(String(300), default="")
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    __table_args__ = (
        one_of("purpose", AID_PURPOSES, "aid_purpose_known"),
        one_of("status", ("proposed", "approved", "rejected"), "grant_status_known"),
        CheckConstraint("amount_fen > 0", name="grant_positive"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id != proposed_by_id", name="grant_maker_is_not_checker"),
    )
