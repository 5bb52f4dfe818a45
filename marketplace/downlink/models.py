"""Downlink models: where suppliers deliver, consolidated delivery runs, and each order's pickup."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.database import one_of, utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.people.models import Supplier
from marketplace.places.models import ServicePoint, Town, Village

RUN_STATUSES = ("planned", "dispatched", "received")


class DeliveryArea(db.Model):
    """A supplier delivers to a whole town or to one village (exactly one of the two)."""

    __tablename__ = "delivery_areas"
    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    town: Mapped[Town | None] = relationship()
    village: Mapped[Village | None] = relationship()

    __table_args__ = (
        CheckConstraint("(town_id IS NULL) != (village_id IS NULL)", name="town_or_village"),
        # Each place once per supplier. Two partial indexes, since a UNIQUE over a NULL column
        # never conflicts (town_id is NULL for a village, village_id for a town).
        db.Index("uq_delivery_areas_supplier_town", "supplier_id", "town_id", unique=True,
                 postgresql_where=text("town_id IS NOT NULL"), sqlite_where=text("town_id IS NOT NULL")),
        db.Index("uq_delivery_areas_supplier_village", "supplier_id", "village_id", unique=True,
                 postgresql_where=text("village_id IS NOT NULL"), sqlite_where=text("village_id IS NOT NULL")),
    )

    def name(self, locale="zh"):
        return self.village.name(locale) if self.village else self.town.name(locale)


class DeliveryRun(db.Model):
    """One consolidated load from a supplier to a service point (配送批次).

    `planned` when consolidated, `dispatched` when the supplier sends it, `received` when the
    service point confirms it arrived.
    """

    __tablename__ = "delivery_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_no: Mapped[str] = mapped_column(String(32), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="planned", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispatched_at: Mapped[datetime | None]
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime | None]
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supplier: Mapped[Supplier] = relationship()
    service_point: Mapped[ServicePoint] = relationship()
    tickets: Mapped[list["PickupTicket"]] = relationship(back_populates="run", order_by="PickupTicket.order_id")

    __table_args__ = (one_of("status", RUN_STATUSES, "run_status_known"),)


class PickupTicket(db.Model):
    """The downlink side of one order: its supplier, its run, its hand-over at the service point.

    The pickup code itself is `Order.pickup_code`; cash collected on pickup is recorded here.
    """

    __tablename__ = "pickup_tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_runs.id"), index=True)
    picked_up_at: Mapped[datetime | None]
    handed_over_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cash_collected_fen: Mapped[int] = mapped_column(db.BigInteger, default=0)
    # Cash on pickup: what the villager handed over; the change given back is the difference.
    cash_tendered_fen: Mapped[int | None] = mapped_column(db.BigInteger)
    flagged_unpicked_at: Mapped[datetime | None] = mapped_column(index=True)
    order: Mapped[Order] = relationship()
    run: Mapped[DeliveryRun | None] = relationship(back_populates="tickets")
    supplier: Mapped[Supplier] = relationship()

    __table_args__ = (CheckConstraint("cash_collected_fen >= 0", name="cash_not_negative"),)

    @property
    def change_fen(self):
        return self.cash_tendered_fen - self.cash_collected_fen if self.cash_tendered_fen is not None else None
