"""Organisations that buy within a yearly quota, their staff, approved orders and incoming transfers."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import one_of, utcnow
from marketplace.extensions import db

KINDS = ("budget_unit", "union", "canteen", "enterprise")
MEMBER_ROLES = ("buyer", "approver", "finance")
REQUISITION_STATUSES = ("awaiting_approval", "returned", "approved")
# What became of an incoming transfer: paid its order, or kept as a discrepancy for staff.
TRANSFER_OUTCOMES = ("matched", "unknown_reference", "ambiguous", "partial", "over", "duplicate", "already_paid",
                     "not_payable")


class Organisation(db.Model):
    """A budget unit, union, canteen or enterprise buying from poverty-relief areas (消费帮扶)."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"), index=True)
    district: Mapped[str] = mapped_column(String(80), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (one_of("kind", KINDS, "organisation_kind_known"),)


class OrganisationQuota(db.Model):
    """What an organisation declares it buys in a year, and the share of it that must come from
    poverty-relief areas (0.30 = 30 %)."""

    __tablename__ = "organisation_quotas"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    year: Mapped[int]
    declared_total_fen: Mapped[int] = mapped_column(db.BigInteger)
    required_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))

    __table_args__ = (
        UniqueConstraint("organisation_id", "year", name="organisation_quota_once_a_year"),
        CheckConstraint("declared_total_fen > 0", name="declared_total_positive"),
        CheckConstraint("required_share > 0 AND required_share <= 1", name="required_share_range"),
    )


class OrganisationMember(db.Model):
    """A person who buys, approves or pays for one organisation (a `buyer` user in `users`)."""

    __tablename__ = "organisation_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    role: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (one_of("role", MEMBER_ROLES, "organisation_member_role_known"),)


class Requisition(db.Model):
    """An organisation buyer's cart submitted for approval; approval places its order.

    The lines are the variants and quantities only: prices are taken, and stock reserved, by the
    checkout when the approver approves. The transfer reference is the order's, for 对公转账."""

    __tablename__ = "requisitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="awaiting_approval")
    recipient_name: Mapped[str] = mapped_column(String(80))
    recipient_phone: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(String(300), default="")
    estimate_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(String(300), default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    transfer_reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    lines: Mapped[list["RequisitionLine"]] = relationship(order_by="RequisitionLine.id")
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (one_of("status", REQUISITION_STATUSES, "requisition_status_known"),)


class RequisitionLine(db.Model):
    __tablename__ = "requisition_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(ForeignKey("requisitions.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int]
    variant: Mapped["Variant"] = relationship()  # noqa: F821  (catalog.models.Variant)

    __table_args__ = (CheckConstraint("quantity > 0", name="requisition_quantity_positive"),)


class IncomingTransfer(db.Model):
    """One credit on the platform's bank account, recorded by staff or read from a statement.

    `paid_order_id` is set only on the transfer that paid its order (unique: no order is paid
    twice); every other outcome is a discrepancy kept for staff, never applied."""

    __tablename__ = "incoming_transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    bank_reference: Mapped[str] = mapped_column(String(80), default="")  # the bank's own transaction number
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    value_date: Mapped[date] = mapped_column(Date)
    payer_name: Mapped[str] = mapped_column(String(120), default="")
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    memo: Mapped[str] = mapped_column(String(300), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    transfer_reference: Mapped[str] = mapped_column(String(20), default="")
    requisition_id: Mapped[int | None] = mapped_column(ForeignKey("requisitions.id"), index=True)
    paid_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    statement_name: Mapped[str] = mapped_column(String(120), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        one_of("outcome", TRANSFER_OUTCOMES, "transfer_outcome_known"),
        CheckConstraint("amount_fen > 0", name="incoming_transfer_positive"),
    )
