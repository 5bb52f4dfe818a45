"""Reading the catalogue for buyers."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.catalog.models import Product, Seller
from marketplace.extensions import db


def featured_products(direction="uplink", limit=24):
    """Active products with their variants, seller and village loaded in a fixed number of queries."""
    query = (
        select(Product)
        .where(Product.status == "active", Product.direction == direction)
        .options(
            selectinload(Product.variants),
            selectinload(Product.origin_village),
            selectinload(Product.seller).selectinload(Seller.cooperative),
            selectinload(Product.photos),
        )
        .order_by(Product.is_featured.desc(), Product.id)
        .limit(limit)
    )
    return db.session.scalars(query).all()


def lowest_price_fen(product):
    prices = [variant.price_fen for variant in product.variants if variant.is_active]
    return min(prices) if prices else None


