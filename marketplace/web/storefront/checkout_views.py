from flask import abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.aftersales.services import claim_window_open, claims_of_order
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger import impact_receipt
from marketplace.orders import addresses
from marketplace.orders import cart as carts
from marketplace.documents import qr_svg
from marketplace.orders.cancellation import CANCELLABLE, cancel_order
from marketplace.orders.checkout import (Delivery, order_for_buyer, pay_with_test_card, pending_wallet_step,
                                         place_order, quote, simulate_wallet_payment, start_wallet_payment)
from marketplace.orders import fulfilment
from marketplace.orders.history import buyer_orders, order_refunds, order_shipments, order_timeline
from marketplace.payments import stripe_gateway
from marketplace.payments.models import Payment
from marketplace.payments.settlement import settle_payment_intent
from marketplace.web.links import public_url
from marketplace.web.payment_page import payment_page
from marketplace.ledger.rules.store_credit import spendable_store_credit_fen, store_credit_fen
from marketplace.orders.store_credit import store_credit_of_order
from marketplace.web.storefront import bp
from marketplace.web.storefront.address_views import fill_region_choices, pickup_choices, prefill_address, saved_choices
from marketplace.web.storefront.cart_views import _first_error
from marketplace.web.storefront.forms import CheckoutForm, ConfirmForm, SimulateWalletForm, WalletForm
from marketplace.web.storefront.guest_access import buyer_or_guest, guest_phone, is_guest, order_link_token, visitor_order
from marketplace.web.storefront.session_cart import visitor_cart



@bp.route("/checkout", methods=["GET", "POST"])
def checkout():
    guest = None if current_user.is_authenticated else guest_phone()
    if not current_user.is_authenticated and guest is None:
        return current_app.login_manager.unauthorized()  # the sign-in page offers guest checkout too
    cart = visitor_cart(create=True)
    form = CheckoutForm()
    form.service_point_id.choices = pickup_choices()
    form.saved_address_id.choices = [] if guest else saved_choices(current_user.id)
    if request.method == "GET" and not form.recipient_name.data and guest is None:
        form.recipient_name.data = current_user.name
        default = addresses.default_address(current_user.id)
        if default is not None:  # the buyer's default address is preselected
            prefill_address(form, default)
            form.saved_address_id.data = default.id
    if request.method == "GET" and not form.recipient_phone.data and guest:
        form.recipient_phone.data = guest
    lines = carts.cart_lines(cart.id)
    if not lines:
        flash(_("Your cart is empty."), "error")
        return redirect(url_for("storefront.cart")), 303
    delivery_kind = form.delivery_kind.data if form.delivery_kind.data in ("address", "pickup") else "address"
    offer = quote(cart.id, delivery_kind)
    quotes = {kind: quote(cart.id, kind) for kind in ("address", "pickup")}
    credit_fen = 0 if guest else spendable_store_credit_fen(current_user.id)

    def page(status=200):
        fill_region_choices(form)
        return render_template("storefront/checkout.html", form=form, lines=lines, quote=offer,
                               quotes=quotes, guest=guest, credit_fen=credit_fen), status

    if request.method == "POST" and (form.region_step.data or form.use_saved.data):
        # Not the order yet: fill the next select, or put a saved address into the fields.
        if form.use_saved.data and not guest:
            try:
                prefill_address(form, addresses.saved_address(current_user.id, form.saved_address_id.data))
            except DomainError as error:
                flash(error.message, "error")
                return page(error.status)
        return page()
    if request.method == "POST":
        if not form.validate():
            flash(_first_error(form), "error")
            return page(400)
        delivery = Delivery(kind=form.delivery_kind.data, recipient_name=form.recipient_name.data,
                            recipient_phone=form.recipient_phone.data,
                            province_code=form.province.data or "", city_code=form.city.data or "",
                            region_code=form.district.data or "", address_detail=form.address_detail.data or "",
                            service_point_id=form.service_point_id.data or None)
        try:
            order = place_order(cart.id, None if guest else current_user.id, delivery,
                                donation_fen=offer.round_up_fen if form.round_up.data else 0, guest_phone=guest,
                                use_store_credit=bool(form.use_store_credit.data))
        except DomainError as error:
            flash(error.message, "error")
            return page(error.status)
        if guest:
            session["guest_orders"] = [*session.get("guest_orders", [])[-19:], order.public_no]
        elif order.region_code and form.save_address.data:
            _save_order_address(order)
        if order.status == "paid":  # store credit covered it all
            flash(_("Paid with your store credit. Thank you!"), "info")
            return redirect(url_for("storefront.order_detail", public_no=order.public_no)), 303
        return redirect(url_for("storefront.pay", public_no=order.public_no)), 303
    return page()


def _save_order_address(order):
    """Checkout's "save this address": after the order, so a full address book never stops an order."""
    try:
        addresses.add_address(order.buyer_id, order.recipient_name, order.recipient_phone,
                              addresses.RegionAddress(order.region_code, order.region_name, order.address_detail))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "info")


@bp.get("/orders/<public_no>/pay")
@buyer_or_guest
def pay(public_no):
    order = visitor_order(public_no)
    wallet = pending_wallet_step(order.id) if order.status == "pending_payment" else None
    order = visitor_order(public_no)  # a wallet attempt that ended was just settled
    if order.status != "pending_payment":
        return redirect(url_for("storefront.order_detail", public_no=public_no))
    return payment_page("storefront/pay.html", order,
                        public_url("storefront.order_detail", public_no=public_no),
                        form=ConfirmForm(formdata=None), wallet=wallet, credit_fen=store_credit_of_order(order.id),
                        wallet_qr=qr_svg(wallet.qr_data) if wallet and wallet.qr_data else None,
                        go_to_alipay=bool(wallet and wallet.redirect_url and request.args.get("go") == "alipay"),
                        wallets=[kind for kind in stripe_gateway.enabled_payment_methods()
                                 if kind in stripe_gateway.WALLETS])


@bp.post("/orders/<public_no>/pay/wallet")
@buyer_or_guest
def pay_with_wallet(public_no):
    """WeChat Pay shows its QR on the pay page; Alipay's page is opened from the pay page, and
    sends the buyer back to the order."""
    form = WalletForm()
    order = visitor_order(public_no)
    if not form.validate():
        flash(_first_error(form), "error")
        return redirect(url_for("storefront.pay", public_no=public_no)), 303
    try:
        step = start_wallet_payment(order.id, form.method.data,
                                    public_url("storefront.order_detail", public_no=public_no))
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for("storefront.pay", public_no=public_no)), 303
    if step is not None and step.redirect_url:
        # To Alipay by the pay page, which goes on by itself: the page's CSP (form-action 'self')
        # would stop a form's redirect to another site.
        return redirect(url_for("storefront.pay", public_no=public_no, go="alipay")), 303
    return redirect(url_for("storefront.pay", public_no=public_no)), 303


@bp.post("/orders/<public_no>/pay/simulate")
@buyer_or_guest
def simulate_wallet(public_no):
    """The local test payment server's stand-in for the buyer's phone (scan and pay, or not)."""
    form = SimulateWalletForm()
    order = visitor_order(public_no)
    if not form.validate():
        return redirect(url_for("storefront.pay", public_no=public_no)), 303
    try:
        order = simulate_wallet_payment(order.id, form.outcome.data)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for("storefront.order_detail", public_no=public_no)), 303
    if order.status == "paid":
        flash(_("Payment received. Thank you!"), "info")
    return redirect(url_for("storefront.order_detail", public_no=public_no)), 303


@bp.get("/orders/<public_no>/payment-status")
@buyer_or_guest
def payment_status(public_no):
    """What the pay page polls while a QR is shown: the order's status as the webhook left it."""
    order = visitor_order(public_no)
    return jsonify(status=order.status, pending=order.status == "pending_payment",
                   order_url=url_for("storefront.order_detail", public_no=public_no))


@bp.post("/orders/<public_no>/pay/test-card")
@buyer_or_guest
def pay_test_card(public_no):
    form = ConfirmForm()
    order = visitor_order(public_no)
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
    from marketplace.subscriptions.services import retrying_renewals

    return render_template("storefront/orders.html", orders=buyer_orders(current_user.id),
                           store_credit_fen=store_credit_fen(current_user.id),
                           retrying=retrying_renewals(current_user.id))


@bp.get("/orders/<public_no>")
@buyer_or_guest
def order_detail(public_no):
    order = visitor_order(public_no)
    if order.status == "pending_payment" and request.args.get("payment_intent"):
        # Back from Stripe's page: read the order's own PaymentIntent (never the one in the URL).
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id))
        if payment is not None:
            settle_payment_intent(payment.stripe_payment_intent_id)
            order = visitor_order(public_no)
    receipt = impact_receipt(order.id) if order.paid_at else None
    paid_with = db.session.scalar(select(Payment.payment_method_type).where(Payment.order_id == order.id)) \
        if order.paid_at else None
    shipments = order_shipments(order)
    return render_template("storefront/order.html", order=order, timeline=order_timeline(order.id),
                           shipments=shipments, receipt=receipt, refunds=order_refunds(order.id), paid_with=paid_with,
                           credit_fen=store_credit_of_order(order.id),
                           form=ConfirmForm(formdata=None),
                           claims=claims_of_order(order.id), lines_by_id={line.id: line for line in order.lines},
                           shipment_status={view.shipment.id: view.shipment.status for view in shipments},
                           claim_window_open=claim_window_open(order), guest=is_guest(),
                           guest_link=public_url("storefront.guest_order_link", token=order_link_token(order.public_no))
                           if order.buyer_id is None and order.guest_phone else None)


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


@bp.get("/orders/<public_no>/cancel")
@login_required
def confirm_cancel(public_no):
    """The step before cancelling: what will be refunded and where, with a button to confirm."""
    order = order_for_buyer(public_no, current_user.id)
    if order.status not in CANCELLABLE:
        return redirect(url_for("storefront.order_detail", public_no=public_no))
    return render_template("storefront/cancel.html", order=order, form=ConfirmForm(formdata=None))


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
