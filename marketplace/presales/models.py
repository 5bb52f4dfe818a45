"""A cooperative's pre-sale of a variant, the buyers' pre-orders and the payments behind them.

Quantities are whole variant units; money is fen. A deposit (定金) is held in the ledger's
`presale_deposits[presale]` account, nobody's income, until its pre-order is filled (it then
pays an ordinary order) or refunded; see marketplace/ledger/rules/presales.py.
"""
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.catalog.models import Variant
from marketplace.database import one_of, utcnow
from marketplace.extensions import db

if TYPE_CHECKING:
    from marketplace.orders.models import Order
    from marketplace.places.models import ServicePoint

PRESALE_STATUSES = ("open", "closed")
# When the harvest falls short: refund the orders placed last first, or cut every order pro rata.
SHORT_POLICIES = ("last_first", "pro_rata")
# A balance not paid by its deadline: the deposit is forfeited to the cooperative, or refunded.
UNPAID_POLICIES = ("forfeit", "refund")
PREORDER_STATUSES = (
    "pending_deposit",  # ordered, the deposit not paid yet
    "committed",        # deposit paid, waiting for the harvest
    "balance_due",      # units allocated from the harvest, the balance requested
    "filled",           # paid in full: an ordinary order holds it now
    "refunded",         # not filled: what was paid went back
    "forfeited",        # the balance was not paid in time: the deposit went to the cooperative
    "cancelled",        # the deposit was never paid
)
PAYMENT_KINDS = ("deposit", "balance")


class PreSale(db.Model):
    """A cooperative's offer to sell a variant's coming harvest at a fixed price."""

    __tablename__ = "presales"
    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    expected_quantity: Mapped[int]
    unit_price_fen: Mapped[int] = mapped_column(db.BigInteger)
    # Per unit; equal to the price for full prepayment (全款预付).
    deposit_per_unit_fen: Mapped[int] = mapped_column(db.BigInteger)
    orders_open_at: Mapped[datetime]
    orders_close_at: Mapped[datetime]
    ships_from: Mapped[date]
    ships_until: Mapped[date]
    short_policy: Mapped[str] = mapped_column(String(12), default="last_first")
    unpaid_policy: Mapped[str] = mapped_column(String(10), default="refund")
    balance_days: Mapped[int] = mapped_column(default=3)
    # Lots of the product received from this moment on are its harvest.
    harvest_from: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    variant: Mapped[Variant] = relationship()

    __table_args__ = (
        one_of("status", PRESALE_STATUSES, "presale_status_known"),
        one_of("short_policy", SHORT_POLICIES, "presale_short_policy_known"),
        one_of("unpaid_policy", UNPAID_POLICIES, "presale_unpaid_policy_known"),
        CheckConstraint("expected_quantity > 0", name="presale_quantity_positive"),
        CheckConstraint("unit_price_fen > 0", name="presale_price_positive"),
        CheckConstraint("deposit_per_unit_fen > 0 AND deposit_per_unit_fen <= unit_price_fen",
                        name="presale_deposit_within_price"),
        CheckConstraint("orders_close_at > orders_open_at", name="presale_window_ordered"),
        CheckConstraint("ships_until >= ships_from", name="presale_shipping_window_ordered"),
        CheckConstraint("balance_days > 0", name="presale_balance_days_positive"),
    )

    @property
    def last_order_moment(self):
        """The last moment orders are taken (the window's end is exclusive): 23:59 of the closing day."""
        return self.orders_close_at - timedelta(minutes=1)

    @property
    def full_prepayment(self):
        return self.deposit_per_unit_fen == self.unit_price_fen


class PreOrder(db.Model):
    """A buyer's commitment to `quantity` units of a pre-sale; allocated first-in-first-out by `ordered_at`."""

    __tablename__ = "preorders"
    id: Mapped[int] = mapped_column(primary_key=True)
    presale_id: Mapped[int] = mapped_column(ForeignKey("presales.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending_deposit", index=True)
    quantity: Mapped[int]
    # Units the harvest gave it (set at allocation; below `quantity` when cut pro rata).
    allocated_quantity: Mapped[int] = mapped_column(default=0)
    unit_price_fen: Mapped[int] = mapped_column(db.BigInteger)
    deposit_fen: Mapped[int] = mapped_column(db.BigInteger)
    recipient_name: Mapped[str] = mapped_column(String(80), default="")
    recipient_phone: Mapped[str] = mapped_column(String(30), default="")
    address: Mapped[str] = mapped_column(String(300), default="")  # as printed on the parcel
    # By region (GB/T 2260 district code, its full name, the detail line), as checkout's orders;
    # None for a pre-order taken with free text only (the API, before regions).
    region_code: Mapped[str | None] = mapped_column(String(6))
    region_name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    address_detail: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # Or picked up at a village service point, as checkout offers (its order then carries a pickup code).
    delivery_kind: Mapped[str] = mapped_column(String(10), default="address", server_default="address")
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_points.id"))
    service_point: Mapped["ServicePoint | None"] = relationship("ServicePoint")
    ordered_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    balance_due_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # The ordinary order that holds it once filled.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    closed_at: Mapped[datetime | None]
    presale: Mapped[PreSale] = relationship()
    order: Mapped["Order | None"] = relationship("Order")
    payments: Mapped[list["PreSalePayment"]] = relationship(order_by="PreSalePayment.id")

    __table_args__ = (
        one_of("status", PREORDER_STATUSES, "preorder_status_known"),
        CheckConstraint("quantity > 0", name="preorder_quantity_positive"),
        CheckConstraint("allocated_quantity >= 0 AND allocated_quantity <= quantity", name="preorder_allocation_in_range"),
        CheckConstraint("deposit_fen > 0 AND deposit_fen <= unit_price_fen * quantity", name="preorder_deposit_in_range"),
    )

    @property
    def total_fen(self):
        """What the allocated units cost (the whole order before allocation)."""
        return self.unit_price_fen * (self.allocated_quantity or self.quantity)

    @property
    def balance_fen(self):
        return max(0, self.total_fen - self.deposit_fen)


class PreSalePayment(db.Model):
    """A PaymentIntent of a pre-order: its deposit, then its balance; refunded whole when unfilled."""

    __tablename__ = "presale_payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    preorder_id: Mapped[int] = mapped_column(ForeignKey("preorders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    stripe_payment_intent_id: Mapped[str] = mapped_column(String(80), unique=True)
    amount_fen: Mapped[int] = mapped_column(db.BigInteger)
    status: Mapped[str] = mapped_column(String(30), default="requires_payment_method")
    succeeded_at: Mapped[datetime | None]
    refunded_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    # A deposit above what a pro-rata cut left to pay: the excess given back at the cut.
    excess_refund_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    excess_refunded_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    # What paid it (card, wechat_pay, alipay) and Stripe's settlement of it, read when it succeeded;
    # Stripe's fee differs by method and is posted as for an order's payment (rule 7).
    payment_method_type: Mapped[str | None] = mapped_column(String(30))
    stripe_charge_id: Mapped[str | None] = mapped_column(String(80), index=True)
    balance_transaction_id: Mapped[str | None] = mapped_column(String(80), index=True)
    fee_fen: Mapped[int] = mapped_column(db.BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        one_of("kind", PAYMENT_KINDS, "presale_payment_kind_known"),
        CheckConstraint("amount_fen > 0", name="presale_payment_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="presale_refund_within_payment"),
        CheckConstraint("excess_refunded_fen >= 0 AND excess_refunded_fen <= refunded_fen", name="presale_excess_within_refund"),
        db.UniqueConstraint("preorder_id", "kind", name="uq_presale_payments_preorder_kind"),
    )


MESSAGE_KINDS = ("deposit_paid", "balance_due", "balance_reminder", "filled", "refunded_short", "refunded_unpaid",
                 "forfeited", "cut_pro_rata")


class PreOrderMessage(db.Model):
    """What the buyer was told about their pre-order, shown on their pre-orders page (a sentence per kind)."""

    __tablename__ = "preorder_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    preorder_id: Mapped[int] = mapped_column(ForeignKey("preorders.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        one_of("kind", MESSAGE_KINDS, "preorder_message_kind_known"),
        db.UniqueConstraint("preorder_id", "kind", name="uq_preorder_messages_preorder_kind"),
    )
