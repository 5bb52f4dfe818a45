"""A product as buyers see it (the product page and the API): what it is, its variants for sale, and
where it comes from: village, town, seller, floor price and the households that supplied it.

Read as plain rows in two queries, never as ORM objects: the product page is the most
requested page, and building a dozen ORM objects cost it more than PostgreSQL took to answer.
Households appear only through `public_label`: their consented label or an anonymous "a household
in <village>". Registry and bank numbers are never selected here.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import aliased

from marketplace.catalog.models import Product, ProductPhoto, Seller, SupplyLot, Variant
from marketplace.coops.models import Cooperative
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.people.models import Household, Supplier, public_label
from marketplace.places.models import Town, Village


def _in(locale, zh, en):
    """The English text in English, the Chinese where there is no English (a seller may leave it out)."""
    return (en or zh) if str(locale).startswith("en") else zh


class _Named:
    """Something with a Chinese and an English name."""

    def name(self, locale="zh"):
        return _in(locale, self.name_zh, self.name_en)


@dataclass(frozen=True)
class Place(_Named):
    id: int
    slug: str | None
    name_zh: str
    name_en: str
    is_poor_village: bool = False


@dataclass(frozen=True)
class SellerView(_Named):
    """The cooperative, supplier or household selling: its id of its own kind and its public name."""

    kind: str
    id: int
    name_zh: str
    name_en: str
    is_verified_poor: bool = False


@dataclass(frozen=True)
class VariantView(_Named):
    id: int
    sku: str
    name_zh: str
    name_en: str
    unit: str
    price_fen: int
    stock_available: int
    weight_grams: int
    is_active = True  # buyers see only the variants on sale


@dataclass(frozen=True)
class PhotoView:
    filename: str
    thumbnail: str


@dataclass(frozen=True)
class BuyersProduct:
    id: int
    slug: str
    category_id: int
    title_zh: str
    title_en: str
    story_zh: str
    story_en: str
    label_selenium_rich: bool
    label_organic: bool
    label_poor_household_direct: bool
    lot_unit: str
    origin_village: Place | None
    town: Place | None
    seller: SellerView
    floor_price_fen: int | None  # a cooperative's guaranteed floor (保底); None for other sellers
    lowest_price_fen: int | None  # of its active variants (kept by the database: catalog.lowest_price)
    variants: list[VariantView]  # the active ones, in the order they were listed
    photos: list[PhotoView]
    supplying_households: int  # of the lots still on sale
    supplier_labels_zh: list[str]  # consented labels only
    supplier_labels_en: list[str]

    def title(self, locale="zh"):
        return _in(locale, self.title_zh, self.title_en)

    def chinese_only(self, locale="zh"):
        return str(locale).startswith("en") and not self.title_en

    def story(self, locale="zh"):
        return _in(locale, self.story_zh, self.story_en)

    def supplier_labels(self, locale="zh"):
        return _in(locale, self.supplier_labels_zh, self.supplier_labels_en)



# The statements are built once: building them cost as much as running them.
_SellerVillage = aliased(Village)
_PRODUCT_COLUMNS = (
    Product.id, Product.slug, Product.category_id, Product.title_zh, Product.title_en, Product.story_zh,
    Product.story_en, Product.label_selenium_rich, Product.label_organic, Product.label_poor_household_direct,
    Product.lot_unit, Product.floor_price_fen, Product.lowest_price_fen,
    Village.id, Village.name_zh, Village.name_en, Village.is_poor_village,
    Town.id, Town.slug, Town.name_zh, Town.name_en,
    Seller.kind, Cooperative.id, Cooperative.name_zh, Cooperative.name_en,
    Supplier.id, Supplier.name_zh, Supplier.name_en,
    Household.id, Household.is_verified_poor, Household.consent_public, Household.display_label_zh,
    Household.display_label_en, _SellerVillage.name_zh, _SellerVillage.name_en)
_VARIANT_COLUMNS = (Variant.id, Variant.sku, Variant.name_zh, Variant.name_en, Variant.unit, Variant.price_fen,
                    Variant.stock_available, Variant.weight_grams)
_PHOTO_COLUMNS = (ProductPhoto.filename, ProductPhoto.thumbnail)
_VARIANTS_AT = len(_PRODUCT_COLUMNS)
_PHOTOS_AT = _VARIANTS_AT + len(_VARIANT_COLUMNS)
# A product has a few variants and at most MAX_PHOTOS photos: joining both repeats its row a few
# dozen times at most, one round trip instead of three.
_PRODUCT = (
    select(*_PRODUCT_COLUMNS, *_VARIANT_COLUMNS, *_PHOTO_COLUMNS)
    .join(Seller, Seller.id == Product.seller_id)
    .outerjoin(Cooperative, Cooperative.id == Seller.cooperative_id)
    .outerjoin(Supplier, Supplier.id == Seller.supplier_id)
    .outerjoin(Household, Household.id == Seller.household_id)
    .outerjoin(_SellerVillage, _SellerVillage.id == Household.village_id)
    .outerjoin(Village, Village.id == Product.origin_village_id)
    .outerjoin(Town, Town.id == Village.town_id)
    .outerjoin(Variant, and_(Variant.product_id == Product.id, Variant.is_active.is_(True)))
    .outerjoin(ProductPhoto, ProductPhoto.product_id == Product.id)
    .where(Product.slug == bindparam("slug"), Product.status == "active", Product.direction == "uplink")
    .order_by(Variant.id, ProductPhoto.position, ProductPhoto.id)
)
_SUPPLYING_HOUSEHOLDS = (
    select(Household.consent_public, Household.display_label_zh, Household.display_label_en, Village.name_zh,
           Village.name_en)
    .join(Village, Village.id == Household.village_id)
    .where(Household.id.in_(select(SupplyLot.household_id).where(
        SupplyLot.product_id == bindparam("product_id"), SupplyLot.quantity_remaining > 0)))
    .order_by(Household.id)
)


def product_for_buyers(slug):
    """The active uplink product with this slug as buyers may see it; or NotFound.

    Plain SELECTs of columns need nothing of the ORM session (no objects, nothing to flush):
    they go straight to its connection, which halves what SQLAlchemy adds to each round trip."""
    connection = db.session.connection()
    rows = connection.execute(_PRODUCT, {"slug": slug}).all()
    if not rows:
        raise NotFound(_("This product is not for sale."))
    (product_id, slug, category_id, title_zh, title_en, story_zh, story_en, selenium, organic, poor_direct, lot_unit,
     floor_price_fen, lowest_price_fen, village_id, village_zh, village_en, poor_village, town_id, town_slug, town_zh, town_en,
     seller_kind, coop_id, coop_zh, coop_en, supplier_id, supplier_zh, supplier_en,
     household_id, verified_poor, consent, label_zh, label_en, household_village_zh, household_village_en
     ) = rows[0][:_VARIANTS_AT]
    if seller_kind == "cooperative":
        seller = SellerView("cooperative", coop_id, coop_zh, coop_en)
    elif seller_kind == "supplier":
        seller = SellerView("supplier", supplier_id, supplier_zh, supplier_en)
    else:
        seller = SellerView("household", household_id,
                            public_label(consent, label_zh, label_en, household_village_zh, household_village_en, "zh"),
                            public_label(consent, label_zh, label_en, household_village_zh, household_village_en, "en"),
                            is_verified_poor=verified_poor)
    households = connection.execute(_SUPPLYING_HOUSEHOLDS, {"product_id": product_id}).all()
    return BuyersProduct(
        id=product_id, slug=slug, category_id=category_id, title_zh=title_zh, title_en=title_en, story_zh=story_zh,
        story_en=story_en, label_selenium_rich=selenium, label_organic=organic, label_poor_household_direct=poor_direct,
        lot_unit=lot_unit,
        origin_village=Place(village_id, None, village_zh, village_en, poor_village) if village_id else None,
        town=Place(town_id, town_slug, town_zh, town_en) if town_id else None,
        seller=seller, floor_price_fen=floor_price_fen if seller_kind == "cooperative" else None,
        lowest_price_fen=lowest_price_fen,
        # Each variant once, by id; each photo once, by position (the join repeats them).
        variants=list(dict.fromkeys(VariantView(*row[_VARIANTS_AT:_PHOTOS_AT]) for row in rows
                                    if row[_VARIANTS_AT] is not None)),
        photos=list(dict.fromkeys(PhotoView(*row[_PHOTOS_AT:]) for row in rows if row[_PHOTOS_AT] is not None)),
        supplying_households=len(households),
        supplier_labels_zh=[public_label(*household, "zh") for household in households if household.consent_public],
        supplier_labels_en=[public_label(*household, "en") for household in households if household.consent_public])
