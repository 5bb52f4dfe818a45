"""Where a product comes from, as a buyer may see it: village, town, seller, floor price, suppliers.

Households appear only through `Household.public_label`: their consented label or an anonymous
"a household in <village>". Registry and bank numbers never leave this module's queries.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.catalog.models import Product, Seller, SupplyLot
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.people.models import Household


@dataclass
class Provenance:
    product: Product
    floor_price_fen: int | None
    supplying_households: int
    supplier_labels: list[str]  # consented labels only


def active_product(slug):
    """The active uplink product with this slug, its variants, seller and photos; or NotFound."""
    product = db.session.scalar(
        select(Product)
        .where(Product.slug == slug, Product.status == "active", Product.direction == "uplink")
        .options(selectinload(Product.variants), selectinload(Product.photos),
                 selectinload(Product.seller).selectinload(Seller.cooperative),
                 selectinload(Product.seller).selectinload(Seller.household),
                 selectinload(Product.origin_village))
    )
    if product is None:
        raise NotFound(_("This product is not for sale."))
    return product


def product_provenance(product, locale="zh"):
    """The floor price and the households that supplied the lots still being sold."""
    current_lots = (SupplyLot.product_id == product.id) & (SupplyLot.quantity_remaining > 0)
    count = db.session.scalar(select(func.count(func.distinct(SupplyLot.household_id))).where(current_lots)) or 0
    consenting = db.session.scalars(
        select(Household).where(Household.id.in_(select(SupplyLot.household_id).where(current_lots)),
                                Household.consent_public.is_(True))
        .options(selectinload(Household.village)).order_by(Household.id)
    ).all()
    floor = product.floor_price_fen if product.seller.kind == "cooperative" else None
    return Provenance(product=product, floor_price_fen=floor, supplying_households=count,
                      supplier_labels=[household.public_label(locale) for household in consenting])
