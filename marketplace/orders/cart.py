"""The buyer's cart, kept in the database: by token while anonymous, by user once signed in.

Quantities are whole units from 1 to MAX_QUANTITY; a cart never asks for more than is in stock
when the buyer changes it (stock can still run out later; checkout checks again).
"""
import secrets
from dataclasses import dataclass

from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from marketplace.catalog.models import Product, Variant
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.orders.errors import BadQuantity, SoldOut
from marketplace.orders.models import Cart, CartItem

MAX_QUANTITY = 99


@dataclass
class CartLine:
    item: CartItem
    variant: Variant
    quantity: int
    line_total_fen: int
    short_by: int  # how many more than the stock the line asks for (0 when all is there)


def open_cart(user_id=None, token=None):
    """The signed-in user's cart, or the anonymous one with `token`, created when missing."""
    if user_id is not None:
        cart = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
    else:
        cart = db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None))) if token else None
    if cart is None:
        cart = Cart(token=secrets.token_urlsafe(32), user_id=user_id)
        db.session.add(cart)
        db.session.commit()
    return cart


def find_cart(user_id=None, token=None):
    if user_id is not None:
        return db.session.scalar(select(Cart).where(Cart.user_id == user_id))
    if token:
        return db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None)))
    return None


def check_quantity(quantity):
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise BadQuantity(_("Choose a quantity from 1 to %(max)d.", max=MAX_QUANTITY), field="quantity")


def sellable_variant(variant_id):
    """An active variant of an active uplink product, or NotFound."""
    variant = db.session.scalar(
        select(Variant).join(Product).where(Variant.id == variant_id, Variant.is_active.is_(True),
                                             Product.status == "active", Product.direction == "uplink")
    )
    if variant is None:
        raise NotFound(_("This item is no longer for sale."))
    return variant


def _check_stock(variant, quantity):
    if quantity > variant.stock_available:
        if variant.stock_available == 0:
            raise SoldOut(_("Sorry, %(item)s is sold out.", item=item_name(variant)))
        raise SoldOut(_("Only %(left)d left of %(item)s.", left=variant.stock_available, item=item_name(variant)))


def item_name(variant):
    """The variant's name in the reader's language, decided when the message is shown."""
    product_titles = (variant.product.title_zh, variant.product.title_en)
    names = (variant.name_zh, variant.name_en)

    def render():
        english = str(get_locale() or "zh").startswith("en")
        return f"{product_titles[english]} · {names[english]}"

    return LazyString(render)


def add_item(cart_id, variant_id, quantity):
    """Put `quantity` more of a variant in the cart; refuses more than the stock."""
    check_quantity(quantity)
    variant = sellable_variant(variant_id)
    item = db.session.scalar(select(CartItem).where(CartItem.cart_id == cart_id, CartItem.variant_id == variant_id))
    wanted = quantity + (item.quantity if item else 0)
    if wanted > MAX_QUANTITY:
        raise BadQuantity(_("Choose a quantity from 1 to %(max)d.", max=MAX_QUANTITY), field="quantity")
    _check_stock(variant, wanted)
    if item is None:
        db.session.add(CartItem(cart_id=cart_id, variant_id=variant_id, quantity=quantity))
    else:
        item.quantity = wanted
    db.session.commit()
    return variant


def set_quantity(cart_id, item_id, quantity):
    """Change a line's quantity (1 to MAX_QUANTITY, never above the stock)."""
    check_quantity(quantity)
    item = _item(cart_id, item_id)
    _check_stock(item.variant, quantity)
    item.quantity = quantity
    db.session.commit()


def remove_item(cart_id, item_id):
    db.session.delete(_item(cart_id, item_id))
    db.session.commit()


def _item(cart_id, item_id):
    item = db.session.scalar(select(CartItem).where(CartItem.id == item_id, CartItem.cart_id == cart_id))
    if item is None:
        raise NotFound(_("That item is not in your cart."))
    return item


def merge_carts(token, user_id):
    """On sign-in, move the anonymous cart's items into the user's cart (quantities added, capped
    at the stock and MAX_QUANTITY) and delete the anonymous cart."""
    anonymous = find_cart(token=token)
    if anonymous is None:
        return
    mine = open_cart(user_id=user_id)
    existing = {item.variant_id: item for item in mine.items}
    for item in anonymous.items:
        cap = min(MAX_QUANTITY, item.variant.stock_available)
        if item.variant_id in existing:
            target = existing[item.variant_id]
            target.quantity = max(1, min(cap, target.quantity + item.quantity))
        else:
            db.session.add(CartItem(cart_id=mine.id, variant_id=item.variant_id, quantity=max(1, min(cap, item.quantity))))
    db.session.execute(delete(CartItem).where(CartItem.cart_id == anonymous.id))
    db.session.delete(anonymous)
    db.session.commit()


def cart_lines(cart_id):
    """The cart's lines in variant order, with totals and how far each is short of stock."""
    items = db.session.scalars(
        select(CartItem).where(CartItem.cart_id == cart_id).order_by(CartItem.variant_id)
        .options(selectinload(CartItem.variant).selectinload(Variant.product).selectinload(Product.photos))
    ).all()
    return [CartLine(item=item, variant=item.variant, quantity=item.quantity,
                     line_total_fen=item.variant.price_fen * item.quantity,
                     short_by=max(0, item.quantity - item.variant.stock_available))
            for item in items]


def item_count(cart_id):
    return sum(line.quantity for line in cart_lines(cart_id))
