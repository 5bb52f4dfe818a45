from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import one_of, utcnow
from marketplace.extensions import db

CLAIM_REASONS = ("damaged", "spoiled", "short_weight", "wrong_item", "not_received")
CLAIM_REMEDIES = ("refund", "replacement")
# awaiting_seller → (accepted) resolved | offered → resolved (buyer accepts) or escalated (declines)
#                 | rejected (the buyer may appeal: escalated) | escalated (silence past the deadline)
# escalated → resolved or rejected by town staff.
CLAIM_STATUSES = ("awaiting_seller", "offered", "escalated", "resolved", "rejected")
OPEN_CLAIM_STATUSES = ("awaiting_seller", "offered", "escalated")
# Where a claim's refund goes: the buyer's original payment method, or the buyer's store credit.
REFUND_DESTINATIONS = ("original", "store_credit")
# Who bears a claim's cost; the seller is the cooperative, the household selling through its agent, or the supplier.
BEARERS = ("seller", "carrier", "platform")


class Claim(db.Model):
    """A buyer's after-sales claim on some units of one line of a delivered shipment.

    While it is open its shipment does not settle (`Shipment.claim_opened_at`). Its decision
    records the refund in fen and who bears it, as whole percentages of the refund per bearer.
    """

    __tablename__ = "after_sales_claims"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    note: Mapped[str] = mapped_column(String(500), default="")
    remedy: Mapped[str] = mapped_column(String(12))
    # Chosen by the buyer when opening the claim; town staff deciding it may change it.
    refund_to: Mapped[str] = mapped_column(String(12), default="original", server_default="original")
    status: Mapped[str] = mapped_column(String(16), default="awaiting_seller", index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The seller answers by then (and the buyer answers an offer by then): past it, town staff decide.
    respond_by: Mapped[datetime] = mapped_column(index=True)
    offer_fen: Mapped[int | None] = mapped_column(db.BigInteger)
    seller_reason: Mapped[str] = mapped_column(String(500), default="")
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    refund_fen: Mapped[int | None] = mapped_column(db.BigInteger)
    seller_percent: Mapped[int] = mapped_column(default=100)
    carrier_percent: Mapped[int] = mapped_column(default=0)
    platform_percent: Mapped[int] = mapped_column(default=0)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), unique=True)
    replacement_shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    photos: Mapped[list["ClaimPhoto"]] = relationship(order_by="ClaimPhoto.id", back_populates="claim")

    __table_args__ = (
        one_of("reason", CLAIM_REASONS, "claim_reason_known"),
        one_of("remedy", CLAIM_REMEDIES, "claim_remedy_known"),
        one_of("refund_to", REFUND_DESTINATIONS, "claim_refund_to_known"),
        one_of("status", CLAIM_STATUSES, "claim_status_known"),
        CheckConstraint("quantity > 0", name="claim_quantity_positive"),
        CheckConstraint("offer_fen IS NULL OR offer_fen > 0", name="claim_offer_positive"),
        CheckConstraint("refund_fen IS NULL OR refund_fen >= 0", name="claim_refund_not_negative"),
        CheckConstraint("seller_percent >= 0 AND carrier_percent >= 0 AND platform_percent >= 0 AND "
                        "seller_percent + carrier_percent + platform_percent = 100", name="claim_shares_add_up"),
    )

    def shares(self):
        """[(bearer, percent)] in BEARERS order."""
        return [("seller", self.seller_percent), ("carrier", self.carrier_percent), ("platform", self.platform_percent)]

    @property
    def is_open(self):
        return self.status in OPEN_CLAIM_STATUSES


class ClaimPhoto(db.Model):
    """A photo of a claim, re-encoded by the product-photo pipeline (EXIF dropped)."""

    __tablename__ = "after_sales_claim_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("after_sales_claims.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))
    thumbnail_path: Mapped[str] = mapped_column(String(200))
    claim: Mapped[Claim] = relationship(back_populates="photos")
