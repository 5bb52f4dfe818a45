from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import one_of, utcnow
from marketplace.extensions import db

# Where a refund goes back to: the original payment method (through Stripe), store credit, or —
# for an order an organisation paid by company transfer — a bank transfer back to the organisation
# (`transfer`: owed from the moment it is recorded, done when staff record the outgoing transfer).
REFUND_METHODS = ("original", "store_credit", "transfer")


class Payment(db.Model):
    """One Stripe PaymentIntent per order, with what Stripe settled it as."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    stripe_payment_intent_id: Mapped[str] = mapped_column(String(80), unique=True)
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="cny")
    status: Mapped[str] = mapped_column(String(30), default="requires_payment_method")
    # Stripe's payment method type: the one last confirmed with, then the one that paid
    # (`card`, `wechat_pay`, `alipay`); Stripe's fee differs by method.
    payment_method_type: Mapped[str | None] = mapped_column(String(30), index=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(String(80), index=True)
    balance_transaction_id: Mapped[str | None] = mapped_column(String(80), index=True)
    fee_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    settlement_currency: Mapped[str | None] = mapped_column(String(3))
    settlement_amount: Mapped[int | None] = mapped_column(db.BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    succeeded_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("amount_fen > 0", name="payment_positive"),)


class Refund(db.Model):
    """A whole or partial refund; `lines` says which order lines (and how many units) it covers.

    `status` is `requested` until Stripe is asked, then Stripe's: `pending`, `requires_action`,
    `succeeded`, `failed` or `canceled` (see payments/refunds.py). `stripe_refund_id` is known
    once Stripe has answered."""

    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    # None for an order paid wholly with store credit: its refunds go back to store credit.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="requested")
    reason: Mapped[str] = mapped_column(String(200), default="")
    restock: Mapped[bool] = mapped_column(default=False)
    # Who bears a refund of goods whose sale had settled (platform, cooperative, supplier or
    # carrier): what the payees can no longer give back is posted as that party's loss or claim.
    borne_by: Mapped[str] = mapped_column(String(12), default="")
    # Where the money goes back: the buyer's original payment method through Stripe, or the
    # buyer's store credit (no Stripe refund: it is done, `succeeded`, when recorded).
    method: Mapped[str] = mapped_column(String(12), default="original", server_default="original")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lines: Mapped[list["RefundLine"]] = relationship(order_by="RefundLine.id")

    __table_args__ = (CheckConstraint("amount_fen > 0", name="refund_positive"),
                      one_of("method", REFUND_METHODS, "refund_method_known"))


SPEND_STATUSES = ("held", "spent", "released")


class StoreCreditSpend(db.Model):
    """Store credit a buyer applied to one order: `held` from checkout, `spent` once the ledger
    has posted it (`store_credit_spent`, with the order's payment), `released` when the order was
    cancelled or expired unpaid. What a buyer may spend is the ledger balance less what is held.

    One row per order (unique): a second tab's checkout of the same order cannot hold twice."""

    __tablename__ = "store_credit_spends"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="held", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("amount_fen > 0", name="store_credit_spend_positive"),
                      one_of("status", SPEND_STATUSES, "store_credit_spend_status_known"))


class RefundLine(db.Model):
    __tablename__ = "refund_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=0)
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)

    __table_args__ = (
        CheckConstraint("quantity >= 0", name="refund_line_qty_not_negative"),
        CheckConstraint("amount_fen >= 0", name="refund_line_amount_not_negative"),
    )


class StripeEvent(db.Model):
    """Each Stripe event id once: received (the webhook's answer), then applied by the worker in
    the same transaction as its effect (`applied_at`), with what that did (`outcome`)."""

    __tablename__ = "stripe_events"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str] = mapped_column(String(80), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(40))
