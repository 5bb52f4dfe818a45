"""Subscription boxes (订阅): a buyer's standing order of one variant, delivered monthly or fortnightly.

A subscription's deliveries are numbered periods 1, 2, 3…; period n falls due on a calendar day
in the district's time zone computed from the first day (never chained from the previous one, so
a short month does not drift the rest). Each period has exactly one `SubscriptionRenewal` row
(unique per subscription and period), whatever the beat task does twice: it says what became of
that delivery — paid (an ordinary order), skipped by the buyer, not charged because the
subscription was paused or the variant is gone, or failed after its retries. Nothing is skipped
silently: a renewal that is not paid says why, and the buyer was told (`SubscriptionMessage`).
"""
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.catalog.models import Variant
from marketplace.database import one_of, utcnow
from marketplace.extensions import db

if TYPE_CHECKING:
    from marketplace.orders.models import Order
    from marketplace.places.models import ServicePoint

INTERVALS = ("monthly", "fortnightly")
STATUSES = (
    "pending_card",  # made, its payment card not saved yet: nothing is delivered
    "active",        # renewing on its due days
    "paused",        # by the buyer, or after a renewal failed (see pause_reason)
    "cancelled",     # for good
)
PAUSE_REASONS = ("buyer", "payment_failed", "variant_unavailable", "sold_out")
RENEWAL_STATUSES = (
    "due",          # waiting for its (next) attempt at next_attempt_at
    "charging",     # an attempt is running (claimed by one run of the task)
    "paid",         # its order is paid
    "skipped",      # the buyer skipped this delivery
    "paused",       # fell due while the subscription was paused: not charged
    "cancelled",    # fell due after the buyer cancelled mid-retry: not charged
    "failed",       # every attempt failed: the subscription was paused and the buyer told
    "unavailable",  # the variant no longer exists or is not for sale: paused, nothing charged
)


class Subscription(db.Model):
    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    quantity: Mapped[int]
    interval: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(14), default="pending_card")
    pause_reason: Mapped[str | None] = mapped_column(String(20))
    recipient_name: Mapped[str] = mapped_column(String(80))
    recipient_phone: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(300))  # as printed on the parcel
    # By region (GB/T 2260 district code, its full name, the detail line): each renewal's order is
    # placed with them, as checkout's; None for a subscription taken with free text only.
    region_code: Mapped[str | None] = mapped_column(String(6))
    region_name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    address_detail: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # Or picked up at a village service point, as checkout offers (its order then carries a pickup code).
    delivery_kind: Mapped[str] = mapped_column(String(10), default="address", server_default="address")
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_points.id"))
    service_point: Mapped["ServicePoint | None"] = relationship("ServicePoint")
    # Period 1 falls due on first_due_on; period n on due_on(n) (see schedule.py).
    first_due_on: Mapped[date]
    next_period_no: Mapped[int] = mapped_column(default=1)  # the first period with no renewal row yet
    next_due_on: Mapped[date | None] = mapped_column(index=True)  # when next_period_no falls due
    # The saved card: a Stripe customer and the PaymentMethod its SetupIntent saved.
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    setup_intent_id: Mapped[str | None] = mapped_column(String(255))
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paused_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    variant: Mapped[Variant] = relationship()
    renewals: Mapped[list["SubscriptionRenewal"]] = relationship(order_by="SubscriptionRenewal.period_no",
                                                                 viewonly=True)

    __table_args__ = (
        one_of("interval", INTERVALS, "subscription_interval_known"),
        one_of("status", STATUSES, "subscription_status_known"),
        CheckConstraint("pause_reason IS NULL OR pause_reason IN ('buyer', 'payment_failed', "
                        "'variant_unavailable', 'sold_out')", name="subscription_pause_reason_known"),
        CheckConstraint("quantity > 0", name="subscription_quantity_positive"),
        CheckConstraint("next_period_no > 0", name="subscription_period_positive"),
    )


class SubscriptionRenewal(db.Model):
    """One period of a subscription: what became of that delivery (one row per period, ever)."""

    __tablename__ = "subscription_renewals"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    period_no: Mapped[int]
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default="due")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_at: Mapped[datetime | None]  # when the running attempt began (on the task's clock)
    # The order of the latest attempt (a failed attempt's order is cancelled and its stock released).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    order: Mapped["Order | None"] = relationship(viewonly=True)

    __table_args__ = (
        one_of("status", RENEWAL_STATUSES, "subscription_renewal_status_known"),
        CheckConstraint("period_no > 0", name="subscription_renewal_period_positive"),
        CheckConstraint("attempts >= 0", name="subscription_renewal_attempts_not_negative"),
        db.UniqueConstraint("subscription_id", "period_no", name="uq_subscription_renewals_period"),
    )


MESSAGE_KINDS = ("card_saved", "renewal_paid", "payment_failed_retrying", "paused_payment_failed",
                 "paused_unavailable", "paused_sold_out", "cancelled")


class SubscriptionMessage(db.Model):
    """What the buyer was told about their subscription (shown on its page, and e-mailed once)."""

    __tablename__ = "subscription_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    # The period and attempt it is about (0 for none): one message per cause, however often the task runs.
    period_no: Mapped[int] = mapped_column(default=0)
    attempt: Mapped[int] = mapped_column(default=0)
    due_on: Mapped[date | None]
    amount_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    mailed_at: Mapped[datetime | None]

    __table_args__ = (
        one_of("kind", MESSAGE_KINDS, "subscription_message_kind_known"),
        db.UniqueConstraint("subscription_id", "kind", "period_no", "attempt", name="uq_subscription_messages_cause"),
    )
