from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.catalog import lowest_price
from marketplace.coops.models import Cooperative
from marketplace.database import one_of, utcnow
from marketplace.extensions import db
from marketplace.people.models import Household, Supplier
from marketplace.places.models import Village

SELLER_KINDS = ("cooperative", "household", "supplier")
DIRECTIONS = ("uplink", "downlink")
# A new listing is a draft until it can be bought and shown: a price, stock or a lot, a photo (listings.py).
PRODUCT_STATUSES = ("draft", "active", "paused", "archived")
UNITS = ("jin", "kg", "box", "bag", "bottle", "piece", "pack")


class Seller(db.Model):
    """Who a listing belongs to: a cooperative, a household selling direct (直供) or a supplier."""

    __tablename__ = "sellers"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    cooperative_id: Mapped[int | None] = mapped_column(ForeignKey("cooperatives.id"), unique=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), unique=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), unique=True)
    cooperative: Mapped[Cooperative | None] = relationship()
    household: Mapped[Household | None] = relationship()
    supplier: Mapped[Supplier | None] = relationship()

    __table_args__ = (
        one_of("kind", SELLER_KINDS, "seller_kind_known"),
        CheckConstraint(
            "(kind = 'cooperative' AND cooperative_id IS NOT NULL AND household_id IS NULL AND supplier_id IS NULL)"
            " OR (kind = 'household' AND household_id IS NOT NULL AND cooperative_id IS NULL AND supplier_id IS NULL)"
            " OR (kind = 'supplier' AND supplier_id IS NOT NULL AND cooperative_id IS NULL AND household_id IS NULL)",
            name="exactly_one_owner",
        ),
    )


class Category(db.Model):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60))
    direction: Mapped[str] = mapped_column(String(10), default="uplink")

    __table_args__ = (one_of("direction", DIRECTIONS, "category_direction_known"),)

    def name(self, locale="zh"):
        return self.name_en if str(locale).startswith("en") else self.name_zh


class Product(db.Model):
    """A listing. Uplink goods come from farms; downlink goods are daily goods for villages."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    origin_village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10), default="uplink")
    status: Mapped[str] = mapped_column(String(10), default="active")
    title_zh: Mapped[str] = mapped_column(String(120))
    title_en: Mapped[str] = mapped_column(String(160))
    story_zh: Mapped[str] = mapped_column(db.Text, default="")
    story_en: Mapped[str] = mapped_column(db.Text, default="")
    label_selenium_rich: Mapped[bool] = mapped_column(default=False)
    label_organic: Mapped[bool] = mapped_column(default=False)
    label_poor_household_direct: Mapped[bool] = mapped_column(default=False)
    # The guaranteed floor (保底) paid per lot unit at intake; lots snapshot it.
    floor_price_fen: Mapped[int | None]
    lot_unit: Mapped[str] = mapped_column(String(10), default="jin")
    is_featured: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Search index terms (character bigrams, words), kept by marketplace.catalog.search on flush.
    search_terms: Mapped[str] = mapped_column(db.Text, default="", server_default="")
    # The same terms of the titles alone: a search ranks a match in the title above one elsewhere.
    title_terms: Mapped[str] = mapped_column(db.Text, default="", server_default="")
    # The lowest price of its active variants, NULL when none is on sale: written by the database's
    # triggers (marketplace.catalog.lowest_price), never by the ORM, so a loaded product's copy can
    # be older than its variants. The listings read it in SQL.
    lowest_price_fen: Mapped[int | None]
    seller: Mapped[Seller] = relationship()
    category: Mapped[Category] = relationship()
    origin_village: Mapped[Village | None] = relationship()
    variants: Mapped[list["Variant"]] = relationship(back_populates="product", order_by="Variant.id")
    photos: Mapped[list["ProductPhoto"]] = relationship(order_by="ProductPhoto.position")

    __table_args__ = (
        one_of("direction", DIRECTIONS, "direction_known"),
        one_of("status", PRODUCT_STATUSES, "status_known"),
        CheckConstraint("floor_price_fen IS NULL OR floor_price_fen >= 0", name="floor_not_negative"),
        # The storefront's listing: active products of a direction, featured first (no sort of the table).
        # With the terms and the lowest price in it, a search walks it without reading the table.
        db.Index("ix_products_listing", "direction", "status", "is_featured", "id",
                 postgresql_include=["lowest_price_fen", "search_terms"]),
        db.Index("ix_products_newest", "direction", "status", "created_at", "id"),
        db.Index("ix_products_by_price", "direction", "status", "lowest_price_fen", "id"),
        # New terms go straight into the index: a pending list would be read by every search (migration 0011).
        db.Index("ix_products_search_terms", text("string_to_array(search_terms, ' ')"),
                 postgresql_using="gin", postgresql_with={"fastupdate": "off"}).ddl_if(dialect="postgresql"),
    )

    def title(self, locale="zh"):
        """The English title is optional: without one, English readers see the Chinese (marked by the page)."""
        return (self.title_en or self.title_zh) if str(locale).startswith("en") else self.title_zh

    def chinese_only(self, locale="zh"):
        return str(locale).startswith("en") and not self.title_en

    def story(self, locale="zh"):
        return self.story_en if str(locale).startswith("en") else self.story_zh


class ProductPhoto(db.Model):
    __tablename__ = "product_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    thumbnail: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)


class Variant(db.Model):
    """A sellable unit (SKU) of a product: price in fen, stock that can never go below zero.

    `lot_units` is how many lot units (斤, kg…) one variant unit takes from supply lots.
    """

    __tablename__ = "variants"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(10), default="jin")
    price_fen: Mapped[int]
    stock_available: Mapped[int] = mapped_column(default=0)
    weight_grams: Mapped[int] = mapped_column(default=500)
    lot_units: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    product: Mapped[Product] = relationship(back_populates="variants")

    __table_args__ = (
        one_of("unit", UNITS, "unit_known"),
        CheckConstraint("price_fen > 0", name="price_positive"),
        CheckConstraint("stock_available >= 0", name="stock_not_negative"),
        CheckConstraint("lot_units > 0", name="lot_units_positive"),
        CheckConstraint("weight_grams >= 0", name="weight_not_negative"),
        # The catalogue's "lowest price of a product" is an index-only seek per product.
        db.Index("ix_variants_product_price", "product_id", "is_active", "price_fen"),
    )

    def name(self, locale="zh"):
        """The English name is optional, as the product's title is."""
        return (self.name_en or self.name_zh) if str(locale).startswith("en") else self.name_zh


lowest_price.attach(Variant.__table__)


class SupplyLot(db.Model):
    """A cooperative received `quantity` lot units of a product from a household (批次).

    Sold units are allocated to lots first-in-first-out; `quantity_remaining` is what is left.
    """

    __tablename__ = "supply_lots"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    quantity: Mapped[int]
    quantity_remaining: Mapped[int]
    floor_price_fen: Mapped[int]
    received_on: Mapped[date]
    grade: Mapped[str] = mapped_column(String(20), default="")
    idempotency_token: Mapped[str] = mapped_column(String(64), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None while a lot above the intake ceilings awaits town staff: its floor money is not owed
    # and its units are not sold from it until then (see coops/services.py).
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    household: Mapped[Household] = relationship()
    product: Mapped[Product] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_remaining >= 0 AND quantity_remaining <= quantity", name="remaining_in_range"),
        CheckConstraint("floor_price_fen >= 0", name="lot_floor_not_negative"),
    )
