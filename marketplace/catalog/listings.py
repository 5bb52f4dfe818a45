"""Listings kept by sellers: products and their variants (SKUs), their photos and their status.

A cooperative manager lists for their cooperative; a village agent (代办) lists directly
(直供) for a household of their village. Every function checks the actor's scope first.
"""
import re
import secrets

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, update

from marketplace.audit.services import record
from marketplace.catalog.models import (
    PRODUCT_STATUSES, UNITS, Category, Product, ProductPhoto, Seller, SupplyLot, Variant,
)
from marketplace.catalog.photos import save_photo_files
from marketplace.coops import scope
from marketplace.coops.models import Cooperative, FloorPriceChange
from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db

MAX_PRICE_FEN = 10_000_000  # ¥100,000 a unit is far beyond any farm product: a typo
MAX_STOCK = 1_000_000
MAX_PHOTOS = 8
PRODUCT_TEXT_LIMITS = {"title_zh": 120, "title_en": 160, "story_zh": 4000, "story_en": 6000}
VARIANT_TEXT_LIMITS = {"name_zh": 80, "name_en": 120}
LABELS = ("label_selenium_rich", "label_organic", "label_poor_household_direct")


def _clean_text(values, limits, required):
    cleaned = {}
    for field, limit in limits.items():
        text = (values.get(field) or "").strip()
        if field in required and not text:
            raise DomainError(_("Please fill in every required field."), field=field)
        if len(text) > limit:
            raise DomainError(_("That text is too long."), field=field)
        cleaned[field] = text
    return cleaned


def _whole_number(value, field, low, high):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DomainError(_("Enter a whole number from %(low)s to %(high)s.", low=low, high=high), field=field)
    return value


def _product_values(values):
    cleaned = _clean_text(values, PRODUCT_TEXT_LIMITS, required=("title_zh",))
    category = db.session.get(Category, values.get("category_id")) if values.get("category_id") else None
    if category is None:
        raise DomainError(_("Choose a category."), field="category_id")
    cleaned.update(category_id=category.id, direction=category.direction)
    cleaned.update({label: bool(values.get(label)) for label in LABELS})
    return cleaned


def _new_slug(title_en):
    base = re.sub(r"[^a-z0-9]+", "-", title_en.lower()).strip("-")[:60] or "product"
    return f"{base}-{secrets.token_hex(3)}"


def _on_behalf_of(product):
    """The household a direct listing belongs to: its changes are logged as done on its behalf (代办)."""
    return product.seller.household_id if product.seller.kind == "household" else None


def listed_products(actor_id):
    """The products the actor keeps: their cooperative's, or the direct listings of their village."""
    user = scope.acting_user(actor_id)
    query = select(Product).order_by(Product.status, Product.id)
    if user.role == "coop_manager":
        query = query.where(Product.seller_id == scope.cooperative_seller_id(scope.managed_cooperative_id(actor_id)))
    else:
        household_ids = [household.id for household in scope.village_households(actor_id)]
        query = query.join(Seller).where(Seller.kind == "household", Seller.household_id.in_(household_ids))
    return db.session.scalars(query).all()


def create_product(actor_id, values, household_id=None, floor_price_fen=None, first_variant=None, lot_unit="jin"):
    """A new listing, as a draft (buyers do not see it), with its first variant if given (one
    transaction). It goes on sale with `set_product_status(…, "active")` once it is ready.

    A manager lists for their cooperative (with an optional floor price, kept in the floor
    price history); a village agent lists directly (直供) for `household_id`, on its behalf.
    """
    user = scope.acting_user(actor_id)
    cleaned = _product_values(values)
    if user.role == "agent":
        household = scope.household_for_agent(actor_id, household_id)
        seller_id, origin_village_id, on_behalf = scope.household_seller_id(household.id), household.village_id, household.id
        floor_price_fen = None
    else:
        cooperative = db.session.get(Cooperative, scope.managed_cooperative_id(actor_id))
        seller_id, origin_village_id, on_behalf = scope.cooperative_seller_id(cooperative.id), cooperative.village_id, None
    if floor_price_fen is not None:
        _whole_number(floor_price_fen, "floor_price_fen", 0, MAX_PRICE_FEN)
    if lot_unit not in UNITS:
        raise DomainError(_("Choose a unit."), field="lot_unit")
    variant_values = _variant_values(first_variant) if first_variant is not None else None
    product = Product(slug=_new_slug(cleaned["title_en"] or cleaned["title_zh"]), seller_id=seller_id,
                      origin_village_id=origin_village_id, floor_price_fen=floor_price_fen, lot_unit=lot_unit,
                      status="draft", **cleaned)
    db.session.add(product)
    db.session.flush()
    if floor_price_fen is not None:
        db.session.add(FloorPriceChange(product_id=product.id, old_floor_price_fen=None,
                                        new_floor_price_fen=floor_price_fen, changed_by_id=actor_id,
                                        note="set when listed"))
    if variant_values is not None:
        _add_variant(actor_id, product, variant_values, first_variant.get("stock_available", 0))
    record("product.created", actor_id=actor_id, obj=product, on_behalf_of_household_id=on_behalf,
           title_zh=product.title_zh)
    db.session.commit()
    return product


def update_product(actor_id, product_id, values):
    """Edit titles, stories, category and labels. The floor price changes only through the sharing rules."""
    product = scope.product_for(actor_id, product_id)
    for field, value in _product_values(values).items():
        setattr(product, field, value)
    record("product.updated", actor_id=actor_id, obj=product, on_behalf_of_household_id=_on_behalf_of(product))
    db.session.commit()
    return product


def missing_for_sale(product):
    """What a listing still lacks before buyers may see it: a priced variant on sale, something
    to sell (stock, or for a cooperative a confirmed lot with units left) and a photo."""
    missing = []
    on_sale = [variant for variant in product.variants if variant.is_active and variant.price_fen > 0]
    if not on_sale:
        missing.append(_("a variant with a price"))
    has_lot = db.session.scalar(select(func.count()).select_from(SupplyLot).where(
        SupplyLot.product_id == product.id, SupplyLot.quantity_remaining > 0, SupplyLot.confirmed_at.is_not(None)))
    if not any(variant.stock_available > 0 for variant in on_sale) and not has_lot:
        missing.append(_("stock or a supply lot"))
    if not product.photos:
        missing.append(_("a photo"))
    return missing


def set_product_status(actor_id, product_id, status):
    """Put on sale, pause (hidden from buyers, kept), archive (retired) or reactivate a listing.

    A listing goes on sale only when `missing_for_sale` finds nothing missing; it never goes back
    to being a draft."""
    if status not in PRODUCT_STATUSES or status == "draft":
        raise DomainError(_("Unknown status."), field="status")
    product = scope.product_for(actor_id, product_id)
    missing = missing_for_sale(product) if status == "active" else []
    if missing:
        raise Conflict(_("Not on sale yet: it still needs %(missing)s.",
                         missing=" · ".join(str(item) for item in missing)), field="status")
    product.status = status
    record("product.status", actor_id=actor_id, obj=product, on_behalf_of_household_id=_on_behalf_of(product),
           status=status)
    db.session.commit()
    return product


def _variant_values(values):
    cleaned = _clean_text(values, VARIANT_TEXT_LIMITS, required=("name_zh",))
    if values.get("unit") not in UNITS:
        raise DomainError(_("Choose a unit."), field="unit")
    cleaned["unit"] = values["unit"]
    cleaned["price_fen"] = _whole_number(values.get("price_fen"), "price_fen", 1, MAX_PRICE_FEN)
    cleaned["weight_grams"] = _whole_number(values.get("weight_grams", 500), "weight_grams", 0, 100_000)
    cleaned["lot_units"] = _whole_number(values.get("lot_units", 1), "lot_units", 1, 10_000)
    return cleaned


def _add_variant(actor_id, product, cleaned, stock):
    stock = _whole_number(stock, "stock_available", 0, MAX_STOCK)
    count = db.session.scalar(select(func.count(Variant.id)).where(Variant.product_id == product.id))
    variant = Variant(product_id=product.id, sku=f"P{product.id}-{count + 1}-{secrets.token_hex(2)}".upper(),
                      stock_available=stock, **cleaned)
    db.session.add(variant)
    db.session.flush()
    record("variant.created", actor_id=actor_id, obj=variant, on_behalf_of_household_id=_on_behalf_of(product),
           price_fen=variant.price_fen, stock=stock)
    return variant


def create_variant(actor_id, product_id, values):
    """A new SKU of a product, with its opening stock."""
    product = scope.product_for(actor_id, product_id)
    variant = _add_variant(actor_id, product, _variant_values(values), values.get("stock_available", 0))
    db.session.commit()
    return variant


def variant_for(actor_id, variant_id):
    variant = db.session.get(Variant, variant_id) if variant_id is not None else None
    if variant is None:
        raise NotFound(_("No such product."))
    scope.product_for(actor_id, variant.product_id)
    return variant


def update_variant(actor_id, variant_id, values, stock_seen):
    """Edit a variant. Stock is set only if it still is `stock_seen` (what the form showed):
    an order placed meanwhile took some, and blindly overwriting would sell what is gone."""
    variant = variant_for(actor_id, variant_id)
    cleaned = _variant_values(values)
    stock = _whole_number(values.get("stock_available"), "stock_available", 0, MAX_STOCK)
    if stock != stock_seen:
        changed = db.session.execute(
            update(Variant).where(Variant.id == variant.id, Variant.stock_available == stock_seen)
            .values(stock_available=stock)
        ).rowcount
        if not changed:
            db.session.rollback()
            raise Conflict(_("The stock changed while you were editing (an order came in). Check it and save again."),
                           field="stock_available")
    for field, value in cleaned.items():
        setattr(variant, field, value)
    record("variant.updated", actor_id=actor_id, obj=variant,
           on_behalf_of_household_id=_on_behalf_of(variant.product), price_fen=variant.price_fen, stock=stock)
    db.session.commit()
    return variant


def set_variant_active(actor_id, variant_id, active):
    """Take a variant off sale (kept for past orders) or put it back on sale."""
    variant = variant_for(actor_id, variant_id)
    variant.is_active = bool(active)
    record("variant.status", actor_id=actor_id, obj=variant,
           on_behalf_of_household_id=_on_behalf_of(variant.product), active=variant.is_active)
    db.session.commit()
    return variant


def add_product_photo(actor_id, product_id, data):
    """Check, re-encode and attach a photo; the first photo is the one buyers see first."""
    product = scope.product_for(actor_id, product_id)
    if len(product.photos) >= MAX_PHOTOS:
        raise DomainError(_("A product has at most 8 photos."), field="photo")
    filename, thumbnail = save_photo_files(data)
    photo = ProductPhoto(product_id=product.id, filename=filename, thumbnail=thumbnail,
                         position=max((p.position for p in product.photos), default=-1) + 1)
    db.session.add(photo)
    db.session.flush()
    record("product.photo_added", actor_id=actor_id, obj=photo, on_behalf_of_household_id=_on_behalf_of(product),
           product_id=product.id)
    db.session.commit()
    return photo


def add_stock(variant_id, units):
    """Add `units` to a variant's stock in one statement (never a read-then-write). The caller commits."""
    db.session.execute(update(Variant).where(Variant.id == variant_id)
                       .values(stock_available=Variant.stock_available + units))
