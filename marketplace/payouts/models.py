from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import one_of, utcnow
from marketplace.extensions import db

BATCH_STATUSES = ("draft", "approved", "closed", "cancelled")
ITEM_STATUSES = ("pending", "approved", "paid", "failed")
DEPOSIT_STATUSES = ("recorded", "approved", "rejected")


class PayoutBatch(db.Model):
    """Town staff pay households (and suppliers) in batches; the approver is never the maker."""

    __tablename__ = "payout_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)
    method: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    min_amount_fen: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    items: Mapped[list["PayoutItem"]] = relationship(back_populates="batch", order_by="PayoutItem.id")

    __table_args__ = (
        one_of("method", ("bank", "cash"), "batch_method_known"),
        one_of("status", BATCH_STATUSES, "batch_status_known"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id != created_by_id", name="maker_is_not_checker"),
    )


class PayoutItem(db.Model):
    __tablename__ = "payout_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reference: Mapped[str] = mapped_column(String(80), default="")
    failure_reason: Mapped[str] = mapped_column(String(200), default="")
    settled_at: Mapped[datetime | None]
    batch: Mapped[PayoutBatch] = relationship(back_populates="items")

    __table_args__ = (
        one_of("status", ITEM_STATUSES, "item_status_known"),
        CheckConstraint("amount_fen > 0", name="payout_positive"),
        CheckConstraint("(household_id IS NULL) != (supplier_id IS NULL)", name="one_payee"),
    )


class CooperativeDeposit(db.Model):
    """Money a cooperative transferred to the platform's bank to fund its floor purchases (保底收购).

    Recorded by one town staff member with the bank's reference, approved by another; approval
    posts Dr bank, Cr cooperative_deposit[C] (see marketplace/payouts/funding.py).
    """

    __tablename__ = "cooperative_deposits"
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    bank_reference: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10), default="recorded")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]

    __table_args__ = (
        one_of("status", DEPOSIT_STATUSES, "deposit_status_known"),
        CheckConstraint("amount_fen > 0", name="deposit_positive"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id != recorded_by_id", name="deposit_maker_is_not_checker"),
        db.UniqueConstraint("cooperative_id", "bank_reference", name="uq_cooperative_deposits_reference"),
    )
