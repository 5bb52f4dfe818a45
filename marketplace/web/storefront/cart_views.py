from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from marketplace.errors import DomainError
from marketplace.orders import cart as carts
from marketplace.orders.checkout import quote
from marketplace.web.access import safe_next
from marketplace.web.storefront import bp
from marketplace.web.storefront.forms import AddToCartForm, ConfirmForm, QuantityForm
from marketplace.web.storefront.session_cart import visitor_cart


def _first_error(form):
    for errors in form.errors.values():
        if errors:
            return errors[0]
    return _("Please check what you entered.")


@bp.post("/cart/add")
def add_to_cart():
    form = AddToCartForm()
    back = safe_next(request.form.get("next"), url_for("storefront.cart"))
    if not form.validate():
        flash(_first_error(form), "error")
        return redirect(back), 303
    try:
        carts.add_item(visitor_cart(create=True).id, form.variant_id.data, form.quantity.data)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(back), 303
    flash(_("Added to your cart."), "info")
    return redirect(url_for("storefront.cart")), 303


@bp.get("/cart")
def cart():
    cart = visitor_cart()
    lines = carts.cart_lines(cart.id) if cart else []
    return render_template("storefront/cart.html", lines=lines, quote=quote(cart.id) if cart else None,
                           form=QuantityForm(formdata=None), confirm=ConfirmForm(formdata=None))


@bp.post("/cart/items/<int:item_id>")
def change_quantity(item_id):
    form = QuantityForm()
    cart = visitor_cart()
    if cart is None:
        flash(_("That item is not in your cart."), "error")
        return redirect(url_for("storefront.cart")), 303
    if not form.validate():
        flash(_first_error(form), "error")
        return redirect(url_for("storefront.cart")), 303
    try:
        carts.set_quantity(cart.id, item_id, form.quantity.data)
    except DomainError as error:
        flash(error.message, "error")
    return redirect(url_for("storefront.cart")), 303


@bp.post("/cart/items/<int:item_id>/remove")
def remove_from_cart(item_id):
    form = ConfirmForm()
    cart = visitor_cart()
    if form.validate() and cart is not None:
        try:
            carts.remove_item(cart.id, item_id)
        except DomainError as error:
            flash(error.message, "error")
    return redirect(url_for("storefront.cart")), 303
