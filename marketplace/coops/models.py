from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import one_of, utcnow
from marketplace.extensions import db
from marketplace.people.models import Household
from marketplace.places.models import Town, Village

SHARE_KINDS = ("land", "house", "fund", "cash")
PERIOD_KINDS = ("month", "quarter")
Rate = Numeric(6, 4)


class Cooperative(db.Model):
    """A registered farmer cooperative (合作社) in a town."""

    __tablename__ = "cooperatives"
    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    registration_no: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(120))
    story_zh: Mapped[str] = mapped_column(db.Text, default="")
    story_en: Mapped[str] = mapped_column(db.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    town: Mapped[Town] = relationship()
    village: Mapped[Village | None] = relationship()

    def name(self, locale="zh"):
        return self.name_en if str(locale).startswith("en") else self.name_zh


class Membership(db.Model):
    """A household's membership of a cooperative."""

    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    joined_on: Mapped[date]
    left_on: Mapped[date | None]
    household: Mapped[Household] = relationship()
    holdings: Mapped[list["ShareHolding"]] = relationship(back_populates="membership")

    __table_args__ = (db.UniqueConstraint("cooperative_id", "household_id", name="uq_memberships_coop_household"),)


class ShareHolding(db.Model):
    """How many shares of one kind (land in 亩, house, fund 折股量化, cash) a member holds now."""

    __tablename__ = "share_holdings"
    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    membership: Mapped[Membership] = relationship(back_populates="holdings")

    __table_args__ = (
        one_of("kind", SHARE_KINDS, "share_kind_known"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        db.UniqueConstraint("membership_id", "kind", name="uq_share_holdings_membership_kind"),
    )


class ShareChange(db.Model):
    """Append-only history of share holdings: who changed what, when."""

    __tablename__ = "share_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    old_quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    new_quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(200), default="")


class SharingRule(db.Model):
    """One version of a cooperative's sharing rules; the newest in force applies to new sales.

    Rows are never edited: a change is a new row, so past attributions keep their settings.
    """

    __tablename__ = "sharing_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    profit_return_rate: Mapped[Decimal] = mapped_column(Rate)
    dividend_rate: Mapped[Decimal] = mapped_column(Rate)
    period: Mapped[str] = mapped_column(String(10), default="quarter")
    weight_land: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal(1))
    weight_house: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal(1))
    weight_fund: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal(1))
    weight_cash: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal(1))
    effective_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        one_of("period", PERIOD_KINDS, "period_known"),
        CheckConstraint("profit_return_rate >= 0 AND profit_return_rate <= 1", name="profit_rate_range"),
        CheckConstraint("dividend_rate >= 0 AND dividend_rate <= 1", name="dividend_rate_range"),
    )

    def weight_of(self, kind):
        return getattr(self, f"weight_{kind}")

    def settings(self):
        """The settings an attribution records, as strings so JSON keeps them exact."""
        return {
            "sharing_rule_id": self.id,
            "profit_return_rate": str(self.profit_return_rate),
            "dividend_rate": str(self.dividend_rate),
            "weights": {kind: str(self.weight_of(kind)) for kind in SHARE_KINDS},
        }


class CooperativePeriod(db.Model):
    """A closed accounting period of a cooperative, whose dividends were posted once."""

    __tablename__ = "cooperative_periods"
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="closing")
    distributable_profit_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    dividend_rate: Mapped[Decimal] = mapped_column(Rate)
    sharing_rule_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_rules.id"))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The preview the manager confirmed: its frozen shares are exactly what is posted.
    dividend_preview_id: Mapped[int | None] = mapped_column(ForeignKey("dividend_previews.id"), unique=True)
    dividend_preview: Mapped["DividendPreview | None"] = relationship()

    __table_args__ = (
        one_of("status", ("closing", "closed"), "period_status_known"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        db.UniqueConstraint("cooperative_id", "period_start", name="uq_cooperative_periods_coop_start"),
    )


class DividendPreview(db.Model):
    """A snapshot of a period's dividends as the manager previewed them (rule 5).

    The sharing rule, the distributable profit and every member's weighted shares and dividend
    are frozen here when the manager previews; closing the period posts exactly these figures,
    so shares changed afterwards move nothing. Rows are never edited.
    """

    __tablename__ = "dividend_previews"
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    sharing_rule_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_rules.id"))
    dividend_rate: Mapped[Decimal] = mapped_column(Rate)
    distributable_profit_fen: Mapped[int] = mapped_column(db.BigInteger)
    pool_fen: Mapped[int] = mapped_column(db.BigInteger)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    shares: Mapped[list["DividendPreviewShare"]] = relationship(order_by="DividendPreviewShare.household_id")

    __table_args__ = (CheckConstraint("period_end >= period_start", name="preview_period_ordered"),)

    @property
    def total_fen(self):
        return sum(share.amount_fen for share in self.shares)


class DividendPreviewShare(db.Model):
    """One member in a dividend preview: Σ shares × weight of their kind then, and the dividend."""

    __tablename__ = "dividend_preview_shares"
    id: Mapped[int] = mapped_column(primary_key=True)
    preview_id: Mapped[int] = mapped_column(ForeignKey("dividend_previews.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    weight: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    household: Mapped[Household] = relationship()

    __table_args__ = (
        db.UniqueConstraint("preview_id", "household_id", name="uq_dividend_preview_shares_preview_household"),
        CheckConstraint("amount_fen >= 0", name="preview_share_not_negative"),
    )


class FloorPriceChange(db.Model):
    """Append-only history of a product's guaranteed floor price (保底价): who set what, when.

    Lots snapshot the floor at intake, so a change reaches only lots recorded after it.
    """

    __tablename__ = "floor_price_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    old_floor_price_fen: Mapped[int | None]
    new_floor_price_fen: Mapped[int]
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(200), default="")
    product: Mapped["Product"] = relationship()  # noqa: F821  (catalog imports this module)

    __table_args__ = (CheckConstraint("new_floor_price_fen >= 0", name="new_floor_not_negative"),)
