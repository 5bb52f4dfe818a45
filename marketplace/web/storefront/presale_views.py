"""The buyer's pre-sale pages: pre-order a coming harvest, pay its deposit and later its balance,
and read what happened (filled, refunded when the harvest fell short, a deposit forfeited)."""
from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.documents import qr_svg
from marketplace.errors import DomainError
from marketplace.payments import stripe_gateway
from marketplace.payments.stripe_gateway import uses_local_server
from marketplace.presales import pages
from marketplace.presales.services import (
    buyer_messages, buyer_preorders, pay_presale_with_test_card, payment_due, pending_presale_wallet_step,
    place_preorder, preorder_for_buyer, settle_presale_intent, simulate_presale_wallet, start_presale_payment,
    start_presale_wallet,
)
from marketplace.web.access import role_required
from marketplace.web.links import public_url
from marketplace.web.payment_page import STRIPE_CSP, STRIPE_JS
from marketplace.web.storefront import bp
from marketplace.web.storefront.address_views import address_form_step, fill_region_choices, pickup_point, region_picks
from marketplace.web.storefront.cart_views import _first_error
from marketplace.web.storefront.forms import ConfirmForm, PreOrderForm, SimulateWalletForm, WalletForm


@bp.route("/presales/<int:presale_id>/order", methods=["GET", "POST"])
@role_required("buyer")
def new_preorder(presale_id):
    offer = pages.offer_for_buyers(presale_id)
    form = PreOrderForm()

    def page(status=200, offer=offer):
        fill_region_choices(form)
        return render_template("storefront/preorder_form.html", form=form, offer=offer), status

    step = address_form_step(form, current_user)
    if step is not None:
        return page(step)
    if request.method == "POST":
        if not form.validate():
            flash(_first_error(form), "error")
            return page(400)
        try:
            preorder = place_preorder(current_user.id, presale_id, form.quantity.data, form.recipient_name.data,
                                      form.recipient_phone.data, region=region_picks(form), pickup_point_id=pickup_point(form))
        except DomainError as error:
            flash(error.message, "error")
            return page(error.status, pages.offer_for_buyers(presale_id))
        return redirect(url_for("storefront.pay_preorder", preorder_id=preorder.id)), 303
    return page()


@bp.get("/preorders")
@login_required
def preorders():
    return render_template("storefront/preorders.html", preorders=buyer_preorders(current_user.id),
                           messages=buyer_messages(current_user.id))


@bp.get("/preorders/<int:preorder_id>")
@login_required
def preorder_detail(preorder_id):
    preorder = preorder_for_buyer(preorder_id, current_user.id)
    if request.args.get("payment_intent") and payment_due(preorder):
        # Back from Stripe's page: read the pre-order's own PaymentIntents (never the one in the URL).
        for payment in preorder.payments:
            if payment.status != "succeeded":
                settle_presale_intent(payment.stripe_payment_intent_id)
        preorder = preorder_for_buyer(preorder_id, current_user.id)
    return render_template("storefront/preorder.html", preorder=preorder, due=payment_due(preorder),
                           messages=[m for m in buyer_messages(current_user.id) if m.preorder_id == preorder.id])


@bp.get("/preorders/<int:preorder_id>/pay")
@login_required
def pay_preorder(preorder_id):
    preorder = preorder_for_buyer(preorder_id, current_user.id)
    wallet = pending_presale_wallet_step(current_user.id, preorder_id) if payment_due(preorder) else None
    preorder = preorder_for_buyer(preorder_id, current_user.id)  # a wallet attempt that ended was just settled
    kind = payment_due(preorder)
    if kind is None:
        return redirect(url_for("storefront.preorder_detail", preorder_id=preorder_id))
    test_card = uses_local_server()
    client_secret = None
    if not test_card:
        _payment, intent = start_presale_payment(preorder.id, kind)
        client_secret = intent.client_secret
        preorder = preorder_for_buyer(preorder_id, current_user.id)
    amount_fen = preorder.deposit_fen if kind == "deposit" else preorder.balance_fen
    response = current_app.make_response(render_template(
        "storefront/preorder_pay.html", preorder=preorder, kind=kind, amount_fen=amount_fen, test_card=test_card,
        client_secret=client_secret, stripe_js=STRIPE_JS, publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
        return_url=public_url("storefront.preorder_detail", preorder_id=preorder_id), form=ConfirmForm(formdata=None),
        wallet=wallet, wallet_qr=qr_svg(wallet.qr_data) if wallet and wallet.qr_data else None,
        go_to_alipay=bool(wallet and wallet.redirect_url and request.args.get("go") == "alipay"),
        wallets=[kind for kind in stripe_gateway.enabled_payment_methods() if kind in stripe_gateway.WALLETS]))
    if not test_card:
        response.headers["Content-Security-Policy"] = STRIPE_CSP
    return response


@bp.post("/preorders/<int:preorder_id>/pay/test-card")
@login_required
def pay_preorder_test_card(preorder_id):
    preorder = preorder_for_buyer(preorder_id, current_user.id)
    kind = payment_due(preorder)
    if not ConfirmForm().validate() or kind is None:
        if kind is None:
            flash(_("Nothing is due on this pre-order now."), "error")
        return redirect(url_for("storefront.preorder_detail", preorder_id=preorder_id)), 303
    try:
        pay_presale_with_test_card(current_user.id, preorder_id, kind)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("Deposit received: your share of the harvest is reserved.") if kind == "deposit"
              else _("Balance received. Your order is on its way to the packing shed."), "info")
    return redirect(url_for("storefront.preorder_detail", preorder_id=preorder_id)), 303


@bp.post("/preorders/<int:preorder_id>/pay/wallet")
@login_required
def pay_preorder_with_wallet(preorder_id):
    """WeChat Pay's QR is shown on the pay page; Alipay's page is opened from it and sends the
    buyer back to the pre-order (as for an order's pay page)."""
    preorder_for_buyer(preorder_id, current_user.id)
    form = WalletForm()
    if not form.validate():
        flash(_first_error(form), "error")
        return redirect(url_for("storefront.pay_preorder", preorder_id=preorder_id)), 303
    try:
        step = start_presale_wallet(current_user.id, preorder_id, form.method.data,
                                    public_url("storefront.preorder_detail", preorder_id=preorder_id))
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for("storefront.pay_preorder", preorder_id=preorder_id)), 303
    go = "alipay" if step is not None and step.redirect_url else None
    return redirect(url_for("storefront.pay_preorder", preorder_id=preorder_id, go=go)), 303


@bp.post("/preorders/<int:preorder_id>/pay/simulate")
@login_required
def simulate_preorder_wallet(preorder_id):
    """The local test payment server's stand-in for the buyer's phone (scan and pay, or not)."""
    preorder_for_buyer(preorder_id, current_user.id)
    form = SimulateWalletForm()
    if not form.validate():
        return redirect(url_for("storefront.pay_preorder", preorder_id=preorder_id)), 303
    try:
        simulate_presale_wallet(current_user.id, preorder_id, form.outcome.data)
    except DomainError as error:
        flash(str(error.message), "error")
    return redirect(url_for("storefront.preorder_detail", preorder_id=preorder_id)), 303


@bp.get("/preorders/<int:preorder_id>/payment-status")
@login_required
def preorder_payment_status(preorder_id):
    """What the pay page polls while a QR is shown: whether the pre-order still waits for it."""
    preorder = preorder_for_buyer(preorder_id, current_user.id)
    return jsonify(status=preorder.status, pending=payment_due(preorder) is not None,
                   order_url=url_for("storefront.preorder_detail", preorder_id=preorder_id))
