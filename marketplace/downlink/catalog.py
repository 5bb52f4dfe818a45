"""Suppliers' downlink listings: goods, prices, stock and the towns or villages they deliver to."""
import re

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from flask_babel import gettext as _
from marketplace.audit.services import record
from marketplace.catalog.models import UNITS, Category, Product, Seller, Variant
from marketplace.downlink.models import DeliveryArea
from marketplace.downlink.scope import agent_point, supplier_of
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.places.models import Town, Village

MAX_PRICE_FEN = 10_000_000  # 100,000 yuan: nothing a village orders costs more
MAX_STOCK = 1_000_000


def supplier_seller(supplier_id):
    """The Seller row of kind `supplier` for this supplier, created on first use."""
    seller = db.session.scalar(select(Seller).where(Seller.supplier_id == supplier_id))
    if seller is None:
        seller = Seller(kind="supplier", supplier_id=supplier_id)
        db.session.add(seller)
        db.session.flush()
    return seller


def supplier_products(actor_id):
    """The supplier's own downlink products with their variants, newest first."""
    supplier_id = supplier_of(actor_id)
    return db.session.scalars(
        select(Product).join(Seller).where(Seller.supplier_id == supplier_id, Product.direction == "downlink")
        .options(selectinload(Product.variants), selectinload(Product.category))
        .order_by(Product.id.desc())
    ).all()


def downlink_categories():
    return db.session.scalars(select(Category).where(Category.direction == "downlink").order_by(Category.id)).all()


def _check_variant_values(price_fen, stock):
    if not isinstance(price_fen, int) or price_fen <= 0 or price_fen > MAX_PRICE_FEN:
        raise DomainError(_("The price must be above zero and at most ¥100,000."), field="price")
    if not isinstance(stock, int) or stock < 0 or stock > MAX_STOCK:
        raise DomainError(_("Stock must be a whole number from 0 to 1,000,000."), field="stock")


def _slug_for(supplier_id, title_en):
    base = re.sub(r"[^a-z0-9]+", "-", title_en.lower()).strip("-")[:50] or "goods"
    slug, number = f"s{supplier_id}-{base}", 1
    while db.session.scalar(select(Product.id).where(Product.slug == slug)) is not None:
        number += 1
        slug = f"s{supplier_id}-{base}-{number}"
    return slug


def create_product(actor_id, category_id, title_zh, title_en, variant_name_zh, variant_name_en, unit,
                   price_fen, stock, story_zh="", story_en=""):
    """List a daily-goods product (direction downlink) with its first variant."""
    supplier_id = supplier_of(actor_id)
    category = db.session.get(Category, category_id)
    if category is None or category.direction != "downlink":
        raise DomainError(_("Choose a category of daily goods."), field="category_id")
    if unit not in UNITS:
        raise DomainError(_("Choose a unit from the list."), field="unit")
    _check_variant_values(price_fen, stock)
    product = Product(
        slug=_slug_for(supplier_id, title_en), seller_id=supplier_seller(supplier_id).id, category_id=category.id,
        direction="downlink", title_zh=title_zh, title_en=title_en, story_zh=story_zh, story_en=story_en,
    )
    db.session.add(product)
    db.session.flush()
    variant = Variant(product_id=product.id, sku=f"{product.slug}-1".upper()[:60], name_zh=variant_name_zh,
                      name_en=variant_name_en, unit=unit, price_fen=price_fen, stock_available=stock)
    db.session.add(variant)
    db.session.flush()
    record("downlink.product_listed", actor_id=actor_id, obj=product, supplier_id=supplier_id,
           price_fen=price_fen, stock=stock)
    db.session.commit()
    return product


def own_variant(actor_id, variant_id):
    supplier_id = supplier_of(actor_id)
    variant = db.session.get(Variant, variant_id)
    if variant is None or variant.product.seller.supplier_id != supplier_id or variant.product.direction != "downlink":
        raise NotFound(_("No such product of yours."))
    return variant


def update_variant(actor_id, variant_id, price_fen, stock, is_active=True):
    """Set a variant's price and stock. Orders already placed keep the price they were placed at."""
    variant = own_variant(actor_id, variant_id)
    _check_variant_values(price_fen, stock)
    before = {"price_fen": variant.price_fen, "stock": variant.stock_available}
    variant.price_fen, variant.stock_available, variant.is_active = price_fen, stock, is_active
    record("downlink.variant_updated", actor_id=actor_id, obj=variant, before=before,
           price_fen=price_fen, stock=stock, is_active=is_active)
    db.session.commit()
    return variant


def delivery_areas(actor_id):
    """The acting supplier's delivery areas."""
    supplier_id = supplier_of(actor_id)
    return db.session.scalars(
        select(DeliveryArea).where(DeliveryArea.supplier_id == supplier_id)
        .options(selectinload(DeliveryArea.town), selectinload(DeliveryArea.village).selectinload(Village.town))
        .order_by(DeliveryArea.id)
    ).all()


def towns_with_villages():
    """Every town with its villages, for choosing where to deliver."""
    return db.session.scalars(select(Town).options(selectinload(Town.villages)).order_by(Town.id)).all()


def add_delivery_area(actor_id, town_id=None, village_id=None):
    """Deliver to a whole town or one village (exactly one); adding it twice is refused."""
    supplier_id = supplier_of(actor_id)
    if (town_id is None) == (village_id is None):
        raise DomainError(_("Choose either a town or a village."), field="place")
    if town_id is not None and db.session.get(Town, town_id) is None:
        raise NotFound(_("No such town."))
    if village_id is not None and db.session.get(Village, village_id) is None:
        raise NotFound(_("No such village."))
    area = DeliveryArea(supplier_id=supplier_id, town_id=town_id, village_id=village_id)
    try:
        with db.session.begin_nested():
            db.session.add(area)
    except IntegrityError as error:
        raise Conflict(_("You already deliver there.")) from error
    record("downlink.area_added", actor_id=actor_id, obj=area, supplier_id=supplier_id,
           town_id_area=town_id, village_id_area=village_id)
    db.session.commit()
    return area


def remove_delivery_area(actor_id, area_id):
    supplier_id = supplier_of(actor_id)
    area = db.session.get(DeliveryArea, area_id)
    if area is None or area.supplier_id != supplier_id:
        raise NotFound(_("No such delivery area of yours."))
    record("downlink.area_removed", actor_id=actor_id, obj=area, supplier_id=supplier_id)
    db.session.delete(area)
    db.session.commit()


def suppliers_delivering_to(village):
    """Ids of suppliers whose delivery areas cover `village` (the village itself or its town)."""
    return set(db.session.scalars(
        select(DeliveryArea.supplier_id).where(
            or_(DeliveryArea.village_id == village.id, DeliveryArea.town_id == village.town_id))
    ))


def goods_for_agent(actor_id, supplier_id):
    """The supplier's active downlink products, if the supplier delivers to the agent's village."""
    point = agent_point(actor_id)
    if supplier_id not in suppliers_delivering_to(point.village):
        return []
    return db.session.scalars(
        select(Product).join(Seller)
        .where(Seller.supplier_id == supplier_id, Product.direction == "downlink", Product.status == "active")
        .options(selectinload(Product.variants), selectinload(Product.seller).selectinload(Seller.supplier))
        .order_by(Product.category_id, Product.id)
    ).all()
