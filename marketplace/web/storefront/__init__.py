from flask import Blueprint, session
from flask_login import user_logged_in

bp = Blueprint("storefront", __name__)


def _merge_cart_on_sign_in(_app, user, **_extra):
    from marketplace.orders.cart import merge_carts

    token = session.pop("cart_token", None)
    if token:
        merge_carts(token, user.id)


@bp.record_once
def _connect_signals(state):
    user_logged_in.connect(_merge_cart_on_sign_in, state.app)


from marketplace.web.storefront import (  # noqa: E402,F401
    account, address_views, cart_views, checkout_views, claims_views, guest_views, impact_views, presale_views, routes,
    store_credit_views, subscription_views,
)
