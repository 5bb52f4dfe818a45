from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger import impact_receipt
from marketplace.orders import cart as carts
from marketplace.orders.cancellation import cancel_order
from marketplace.orders.checkout import Delivery, order_for_buyer, pay_with_test_card, place_order, quote
from marketplace.orders import fulfilment
from marketplace.orders.history import buyer_orders, order_shipments, order_timeline
from marketplace.payments.models import Payment
from marketplace.payments.settlement import settle_payment_intent
from marketplace.places.models import ServicePoint
from marketplace.web.links import public_url
from marketplace.web.payment_page import payment_page
from marketplace.web.storefront import bp
from marketplace.web.storefront.cart_views import _first_error
from marketplace.web.storefront.forms import CheckoutForm, ConfirmForm
from marketplace.web.storefront.session_cart import visitor_cart

def _pickup_choices():
    points = db.session.scalars(select(ServicePoint).order_by(ServicePoint.id)).all()
    locale = str(get_locale())
    return [(point.id, f"{point.name(locale)} · {point.address_zh}") for point in points]


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    cart = visitor_cart(create=True)
    form = CheckoutForm()
    form.service_point_id.choices = _pickup_choices()
    if request.method == "GET" and not form.recipient_name.data:
        form.recipient_name.data = current_user.name
    lines = carts.cart_lines(cart.id)
    if not lines:
        flash(_("Your cart is empty."), "error")
        return redirect(url_for("storefront.cart")), 303
    delivery_kind = form.delivery_kind.data if form.delivery_kind.data in ("address", "pickup") else "address"
    offer = quote(cart.id, delivery_kind)
    if request.method == "POST":
        if not form.validate():
            flash(_first_error(form), "error")
            return render_template("storefront/checkout.html", form=form, lines=lines, quote=offer), 400
        delivery = Delivery(kind=form.delivery_kind.data, recipient_name=form.recipient_name.data,
                            recipient_phone=form.recipient_phone.data, address=form.address.data or "",
                            service_point_id=form.service_point_id.data or None)
        try:
            order = place_order(cart.id, current_user.id, delivery,
                                donation_fen=offer.round_up_fen if form.round_up.data else 0)
        except DomainError as error:
            flash(error.message, "error")
            return render_template("storefront/checkout.html", form=form, lines=carts.cart_lines(cart.id),
                                   quote=offer), error.status
        return redirect(url_for("storefront.pay", public_no=order.public_no)), 303
    return render_template("storefront/checkout.html", form=form, lines=lines, quote=offer)


@bp.get("/orders/<public_no>/pay")
@login_required
def pay(public_no):
    order = order_for_buyer(public_no, current_user.id)
    if order.status != "pending_payment":
        return redirect(url_for("storefront.order_detail", public_no=public_no))
    return payment_page("storefront/pay.html", order,
                        public_url("storefront.order_detail", public_no=public_no),
                        form=ConfirmForm(formdata=None))


@bp.post("/orders/<public_no>/pay/test-card")
@login_required
def pay_test_card(public_no):
    form = ConfirmForm()
    order = order_for_buyer(public_no, current_user.id)
    if not form.validate():
        return redirect(url_for("storefront.pay", public_no=public_no)), 303
    try:
        order = pay_with_test_card(order.id)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("storefront.order_detail", public_no=public_no)), 303
    if order.status == "paid":
        flash(_("Payment received. Thank you!"), "info")
    return redirect(url_for("storefront.order_detail", public_no=public_no)), 303


@bp.get("/orders")
@login_required
def orders():
    return render_template("storefront/orders.html", orders=buyer_orders(current_user.id))


@bp.get("/orders/<public_no>")
@login_required
def order_detail(public_no):
    order = order_for_buyer(public_no, current_user.id)
    if order.status == "pending_payment" and request.args.get("payment_intent"):
        # Back from Stripe's page: read the order's own PaymentIntent (never the one in the URL).
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))
        if payment is not None:
            settle_payment_intent(payment.stripe_payment_intent_id)
            order = order_for_buyer(public_no, current_user.id)
    receipt = impact_receipt(order.id) if order.paid_at else None
    return render_template("storefront/order.html", order=order, timeline=order_timeline(order.id),
                           shipments=order_shipments(order), receipt=receipt, form=ConfirmForm(formdata=None))


@bp.post("/orders/<public_no>/shipments/<int:shipment_id>/received")
@login_required
def confirm_receipt(public_no, shipment_id):
    order_for_buyer(public_no, current_user.id)  # another buyer's order does not exist for them
    if ConfirmForm().validate():
        try:
            fulfilment.confirm_receipt(public_no, shipment_id, current_user.id)
            flash(_("Thank you: receipt confirmed."), "info")
        except DomainError as error:
            flash(error.message, "error")
    return redirect(url_for("storefront.order_detail", public_no=public_no)), 303


@bp.post("/orders/<public_no>/cancel")
@login_required
def cancel(public_no):
    order_for_buyer(public_no, current_user.id)
    form = ConfirmForm()
    if form.validate():
        try:
            cancel_order(public_no, current_user.id)
            flash(_("Your order is cancelled. Anything you paid is on its way back to you."), "info")
        except DomainError as error:
            flash(error.message, "error")
    return redirect(url_for("storefront.order_detail", public_no=public_no)), 303
