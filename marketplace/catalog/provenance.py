"""Where a product comes from, as a buyer may see it: village, town, seller, floor price, suppliers.

Households appear only through `Household.public_label`: their consented label or an anonymous
"a household in <village>". Registry and bank numbers never leave this module's queries.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.orm import defer, joinedload, load_only

from marketplace.catalog.models import Product, Seller, SupplyLot
from marketplace.coops.models import Cooperative
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.people.models import Household
from marketplace.places.models import Village


@dataclass
class Provenance:
    product: Product
    floor_price_fen: int | None
    supplying_households: int
    supplier_labels: list[str]  # consented labels only


PUBLIC_HOUSEHOLD_COLUMNS = (Household.consent_public, Household.display_label_zh, Household.display_label_en,
                           Household.village_id, Household.is_verified_poor)
# Both statements are built once: building one with its loader options took as long as running it.
_ACTIVE_PRODUCT = (
    select(Product)
    .where(Product.slug == bindparam("slug"), Product.status == "active", Product.direction == "uplink")
    .options(defer(Product.search_terms), joinedload(Product.variants), joinedload(Product.photos),
             # A cooperative and a household have dozens of columns (registry, bank, contacts): only
             # what a buyer may see is read.
             joinedload(Product.seller).joinedload(Seller.cooperative).load_only(
                 Cooperative.name_zh, Cooperative.name_en),
             joinedload(Product.seller).joinedload(Seller.household).load_only(*PUBLIC_HOUSEHOLD_COLUMNS)
             .joinedload(Household.village),
             joinedload(Product.origin_village).joinedload(Village.town))
)
_SUPPLYING_HOUSEHOLDS = (
    select(Household)
    .where(Household.id.in_(select(SupplyLot.household_id).where(
        SupplyLot.product_id == bindparam("product_id"), SupplyLot.quantity_remaining > 0)))
    .options(load_only(*PUBLIC_HOUSEHOLD_COLUMNS), joinedload(Household.village))
    .order_by(Household.id)
)


def active_product(slug):
    """The active uplink product with this slug, its variants, seller, village and photos; or NotFound.

    One query: a product has a few variants and at most MAX_PHOTOS photos, so joining both
    collections returns a few dozen rows at most, one round trip instead of three."""
    product = db.session.scalars(_ACTIVE_PRODUCT, {"slug": slug}).unique().first()
    if product is None:
        raise NotFound(_("This product is not for sale."))
    return product


def product_provenance(product, locale="zh"):
    """The floor price and the households that supplied the lots still being sold (one query)."""
    suppliers = db.session.scalars(_SUPPLYING_HOUSEHOLDS, {"product_id": product.id}).all()
    floor = product.floor_price_fen if product.seller.kind == "cooperative" else None
    return Provenance(product=product, floor_price_fen=floor, supplying_households=len(suppliers),
                      supplier_labels=[household.public_label(locale) for household in suppliers
                                       if household.consent_public])
