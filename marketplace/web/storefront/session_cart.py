"""Which cart the current visitor has: the signed-in user's, or the anonymous one in the session."""
from flask import session
from flask_login import current_user

from marketplace.orders import cart as carts


def visitor_cart(create=False):
    user_id = current_user.id if current_user.is_authenticated else None
    token = None if user_id else session.get("cart_token")
    if not create:
        return carts.find_cart(user_id=user_id, token=token)
    cart = carts.open_cart(user_id=user_id, token=token)
    if user_id is None:
        session["cart_token"] = cart.token
    return cart
