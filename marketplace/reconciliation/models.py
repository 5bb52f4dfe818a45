from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.database import one_of, utcnow
from marketplace.extensions import db

DISCREPANCY_KINDS = ("missing_in_ledger", "missing_in_stripe", "amount_differs")


class StripeBalanceRecord(db.Model):
    """A Stripe balance transaction or payout as pulled, with what it was matched to.

    `amount`, `fee` and `currency` are Stripe's settlement figures (minor units of `currency`).
    """

    __tablename__ = "stripe_balance_records"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    object_type: Mapped[str] = mapped_column(String(20))
    reporting_category: Mapped[str] = mapped_column(String(40), index=True)
    source_id: Mapped[str] = mapped_column(String(80), default="", index=True)
    amount: Mapped[int] = mapped_column(db.BigInteger)
    fee: Mapped[int] = mapped_column(db.BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    stripe_created_at: Mapped[datetime] = mapped_column(index=True)
    matched: Mapped[bool] = mapped_column(default=False)
    matched_to: Mapped[str] = mapped_column(String(80), default="")
    pulled_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (one_of("object_type", ("balance_transaction", "payout"), "stripe_record_type_known"),)


class StripeSyncCursor(db.Model):
    """How far each Stripe list has been pulled: the newest `created` seen (Unix seconds)."""

    __tablename__ = "stripe_sync_cursors"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_up_to: Mapped[int] = mapped_column(db.BigInteger, default=0)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class Discrepancy(db.Model):
    """Something Stripe and the ledger disagree on, waiting for staff to resolve it with a note."""

    __tablename__ = "reconciliation_discrepancies"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(80))
    reporting_category: Mapped[str] = mapped_column(String(40), default="")
    stripe_amount: Mapped[int | None] = mapped_column(db.BigInteger)
    ledger_amount: Mapped[int | None] = mapped_column(db.BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="cny")
    detail: Mapped[str] = mapped_column(String(300), default="")
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution_note: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (
        one_of("kind", DISCREPANCY_KINDS, "discrepancy_kind_known"),
        db.UniqueConstraint("kind", "reference", name="uq_discrepancies_kind_reference"),
        CheckConstraint("resolved_at IS NULL OR resolution_note != ''", name="resolution_has_note"),
    )


class ReconciliationPeriod(db.Model):
    """A calendar month locked once everything in it matched; nothing in it is reopened."""

    __tablename__ = "reconciliation_periods"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)
    locked_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
