from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.catalog.models import DIRECTIONS, SELLER_KINDS, Variant
from marketplace.database import one_of, utcnow
from marketplace.extensions import db

ORDER_STATUSES = (
    "pending_payment", "paid", "packed", "shipped", "delivered", "completed",
    "cancelled", "refunded", "partially_refunded",
    "on_terms",  # an organisation's order to be paid after acceptance: packed and shipped unpaid
)
DELIVERY_KINDS = ("address", "pickup")
PAYMENT_METHODS = ("stripe", "earnings", "cash", "store_credit")
RESERVATION_STATUSES = ("held", "converted", "released")
SHIPMENT_STATUSES = ("open", "packed", "shipped", "delivered", "settled", "cancelled")
# How a shipment came to be delivered: the buyer confirmed receipt, the seller or town staff
# recorded the carrier's delivery, AUTO_CONFIRM_DAYS passed after shipping, or the pickup code was checked.
DELIVERY_CONFIRMATIONS = ("buyer", "carrier", "auto", "pickup")


class Cart(db.Model):
    """A cart kept in the database: anonymous carts by token, signed-in carts by user."""

    __tablename__ = "carts"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    items: Mapped[list["CartItem"]] = relationship(back_populates="cart", order_by="CartItem.id")


class CartItem(db.Model):
    __tablename__ = "cart_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int]
    cart: Mapped[Cart] = relationship(back_populates="items")
    variant: Mapped[Variant] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="cart_quantity_positive"),
        db.UniqueConstraint("cart_id", "variant_id", name="uq_cart_items_cart_variant"),
    )


class Order(db.Model):
    """An order. Amounts are fen computed on the server from the database at checkout."""

    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_no: Mapped[str] = mapped_column(String(32), unique=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # A guest's order (no account): the mainland mobile number proven with a one-time code.
    # An account that proves the same number later takes the order over (buyer_id).
    guest_phone: Mapped[str | None] = mapped_column(String(11))
    direction: Mapped[str] = mapped_column(String(10), default="uplink")
    status: Mapped[str] = mapped_column(String(20), default="pending_payment")
    payment_method: Mapped[str] = mapped_column(String(12), default="stripe")
    delivery_kind: Mapped[str] = mapped_column(String(10), default="address")
    recipient_name: Mapped[str] = mapped_column(String(80), default="")
    recipient_phone: Mapped[str] = mapped_column(String(30), default="")
    # The address as printed on the parcel. Since regions (0066) it is the region's full name and
    # the detail line; older orders have only this free text and no region code.
    address: Mapped[str] = mapped_column(String(300), default="")
    region_code: Mapped[str | None] = mapped_column(String(6))  # GB/T 2260 district code
    region_name: Mapped[str] = mapped_column(String(80), default="")  # 山东省淄博市淄川区
    address_detail: Mapped[str] = mapped_column(String(120), default="")  # street, building, room
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_points.id"))
    # Downlink: the household the agent ordered for (None for a walk-in).
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    donation_town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    subtotal_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    shipping_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    donation_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    total_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="cny")
    reservation_expires_at: Mapped[datetime | None]
    carrier: Mapped[str] = mapped_column(String(40), default="")
    tracking_no: Mapped[str] = mapped_column(String(60), default="")
    pickup_code: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    paid_at: Mapped[datetime | None]
    # When the last of its shipments settled: its round-up may then be granted as aid.
    settled_at: Mapped[datetime | None]
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.id")
    events: Mapped[list["OrderEvent"]] = relationship(order_by="OrderEvent.id")
    shipments: Mapped[list["Shipment"]] = relationship(order_by="Shipment.id", back_populates="order")
    service_point: Mapped["ServicePoint | None"] = relationship("ServicePoint", viewonly=True)

    __table_args__ = (
        one_of("status", ORDER_STATUSES, "order_status_known"),
        one_of("direction", DIRECTIONS, "order_direction_known"),
        one_of("delivery_kind", DELIVERY_KINDS, "delivery_kind_known"),
        one_of("payment_method", PAYMENT_METHODS, "payment_method_known"),
        CheckConstraint("subtotal_fen >= 0 AND shipping_fen >= 0 AND donation_fen >= 0", name="amounts_not_negative"),
        CheckConstraint("total_fen = subtotal_fen + shipping_fen + donation_fen", name="total_adds_up"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= total_fen", name="refund_within_total"),
        CheckConstraint("delivery_kind != 'pickup' OR service_point_id IS NOT NULL", name="pickup_has_point"),
        # Few indexes, and partial ones: an order changes status five or six times, and a change of
        # an indexed column writes an entry in every index of the table (settling a sales day's
        # million orders wrote nine). Guests, pickups and downlink orders are indexed on their own;
        # only the reservation sweep looks orders up by status.
        *(db.Index(f"ix_orders_{column}", column, postgresql_where=text(f"{column} IS NOT NULL"),
                   sqlite_where=text(f"{column} IS NOT NULL"))
          for column in ("guest_phone", "service_point_id", "household_id")),
        db.Index("ix_orders_awaiting_payment", "reservation_expires_at",
                 postgresql_where=text("status = 'pending_payment'"), sqlite_where=text("status = 'pending_payment'")),
    )


class SavedAddress(db.Model):
    """A delivery address a signed-in buyer keeps for checkout; at most one is their default."""

    __tablename__ = "saved_addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recipient_name: Mapped[str] = mapped_column(String(80))
    recipient_phone: Mapped[str] = mapped_column(String(30))
    region_code: Mapped[str] = mapped_column(String(6))
    region_name: Mapped[str] = mapped_column(String(80))
    address_detail: Mapped[str] = mapped_column(String(120))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # One default per buyer, whatever two tabs do at once.
        db.Index("uq_saved_addresses_one_default", "buyer_id", unique=True,
                 postgresql_where=text("is_default"), sqlite_where=text("is_default")),
    )

    @property
    def full_address(self):
        return f"{self.region_name}{self.address_detail}"


class OrderLine(db.Model):
    """A line with the price, title and seller snapshotted at checkout: later edits never change it."""

    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    seller_kind: Mapped[str] = mapped_column(String(12))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(260))
    unit: Mapped[str] = mapped_column(String(10))
    lot_units: Mapped[int] = mapped_column(default=1)
    unit_price_fen: Mapped[int]
    quantity: Mapped[int]
    line_total_fen: Mapped[int] = mapped_column(db.BigInteger)
    refunded_quantity: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    order: Mapped[Order] = relationship(back_populates="lines")

    __table_args__ = (
        one_of("seller_kind", SELLER_KINDS, "line_seller_kind_known"),
        CheckConstraint("quantity > 0", name="line_quantity_positive"),
        CheckConstraint("unit_price_fen > 0", name="line_price_positive"),
        CheckConstraint("line_total_fen = unit_price_fen * quantity", name="line_total_adds_up"),
        CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refund_qty_in_range"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= line_total_fen", name="refund_fen_in_range"),
    )

    def title(self, locale="zh"):
        return self.title_en if str(locale).startswith("en") else self.title_zh


class Shipment(db.Model):
    """One seller's lines of an order, packed, shipped, delivered and settled on their own.

    The lines of a shipment are the order's lines with its `seller_id`. Credits of those lines
    are *pending* until the shipment settles (AFTER_SALES_DAYS after delivery, no open claim),
    then *available* (see marketplace/ledger/balances.py).
    """

    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    carrier: Mapped[str] = mapped_column(String(40), default="")
    tracking_no: Mapped[str] = mapped_column(String(60), default="")
    packed_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    delivery_confirmed_by: Mapped[str | None] = mapped_column(String(10))
    # Set while an after-sales claim on it is open: it does not settle until the claim closes.
    claim_opened_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    # A replacement the seller sends for an after-sales claim: that claim's units of its line, at no charge.
    replaces_claim_id: Mapped[int | None] = mapped_column(ForeignKey("after_sales_claims.id", use_alter=True))
    order: Mapped[Order] = relationship(back_populates="shipments")

    __table_args__ = (
        one_of("status", SHIPMENT_STATUSES, "shipment_status_known"),
        CheckConstraint(f"delivery_confirmed_by IS NULL OR delivery_confirmed_by IN "
                        f"({', '.join(repr(kind) for kind in DELIVERY_CONFIRMATIONS)})", name="delivery_confirmation_known"),
        CheckConstraint("status != 'settled' OR settled_at IS NOT NULL", name="settled_has_time"),
        # One shipment per seller of an order, besides the replacements sent for claims.
        db.Index("uq_shipments_order_seller", "order_id", "seller_id", unique=True,
                 postgresql_where=text("replaces_claim_id IS NULL"), sqlite_where=text("replaces_claim_id IS NULL")),
        # An order's shipments, replacements included: the partial index above cannot serve
        # "every shipment of this order" (settling a sales day's orders scanned the table for each).
        db.Index("ix_shipments_order_id", "order_id"),
        # The settlement sweeps: delivered shipments by delivery time, shipped ones by shipping time.
        # Partial, so a shipment leaves each index as it moves on: settling a row then writes two
        # index entries fewer, and the sweeps' indexes hold only what is still waiting.
        db.Index("ix_shipments_delivered_due", "delivered_at", postgresql_where=text("status = 'delivered'"),
                 sqlite_where=text("status = 'delivered'")),
        db.Index("ix_shipments_shipped_due", "shipped_at", postgresql_where=text("status = 'shipped'"),
                 sqlite_where=text("status = 'shipped'")),
    )

    def lines(self):
        if self.replaces_claim_id is not None:
            from marketplace.aftersales.models import Claim  # the claims package builds on orders
            claim = db.session.get(Claim, self.replaces_claim_id)
            line = db.session.get(OrderLine, claim.order_line_id)
            return [ReplacementLine(line, claim.quantity)]
        return [line for line in self.order.lines if line.seller_id == self.seller_id]


class ReplacementLine:
    """An order line as a replacement shipment carries it: the claim's quantity, sent at no charge."""

    refunded_quantity = 0

    def __init__(self, line, quantity):
        self._line, self.quantity = line, quantity

    def __getattr__(self, name):
        return getattr(self._line, name)


class StockReservation(db.Model):
    """Stock taken at checkout; returned to the variant if the order is not paid in time."""

    __tablename__ = "stock_reservations"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="held", index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    released_at: Mapped[datetime | None]

    __table_args__ = (
        one_of("status", RESERVATION_STATUSES, "reservation_status_known"),
        CheckConstraint("quantity > 0", name="reserved_quantity_positive"),
    )


class OrderEvent(db.Model):
    """The order's status timeline, as the buyer sees it."""

    __tablename__ = "order_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    # The shipment a packing, shipping or delivery step belongs to (None: the whole order).
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(300), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
