"""The buyer's subscription boxes: subscribe from a product page, save the card, and on the
subscription's page skip the next delivery, pause, resume or cancel. Another buyer's subscription
does not exist (404); a refused action says why and changes nothing."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.errors import DomainError
from marketplace.local_time import local_today
from marketplace.orders.cart import sellable_variant
from marketplace.payments.stripe_gateway import uses_local_server
from marketplace.subscriptions import services
from marketplace.web.access import role_required
from marketplace.web.storefront import bp
from marketplace.web.storefront.address_views import address_form_step, fill_region_choices, pickup_point, region_picks
from marketplace.web.storefront.cart_views import _first_error
from marketplace.web.storefront.forms import ConfirmForm, SubscriptionForm, TestCardForm


@bp.route("/subscribe/<int:variant_id>", methods=["GET", "POST"])
@role_required("buyer")
def new_subscription(variant_id):
    variant = sellable_variant(variant_id)
    form = SubscriptionForm()

    def page(status=200):
        fill_region_choices(form)
        return render_template("storefront/subscription_form.html", form=form, variant=variant), status

    step = address_form_step(form, current_user)
    if step is not None:
        return page(step)
    if request.method == "POST":
        if not form.validate():
            flash(_first_error(form), "error")
            return page(400)
        try:
            subscription = services.subscribe(current_user.id, variant_id, form.quantity.data, form.interval.data,
                                              form.recipient_name.data, form.recipient_phone.data,
                                              region=region_picks(form), pickup_point_id=pickup_point(form))
        except DomainError as error:
            flash(error.message, "error")
            return page(error.status)
        return redirect(url_for("storefront.subscription_card", subscription_id=subscription.id)), 303
    return page()


@bp.get("/account/subscriptions")
@login_required
def subscriptions():
    return render_template("storefront/subscriptions.html", subscriptions=services.buyer_subscriptions(current_user.id))


@bp.get("/subscriptions/<int:subscription_id>")
@login_required
def subscription_detail(subscription_id):
    subscription = services.subscription_for_buyer(subscription_id, current_user.id)
    return render_template("storefront/subscription.html", subscription=subscription, today=local_today(),
                           messages=services.subscription_messages(subscription.id), form=ConfirmForm(formdata=None))


@bp.get("/subscriptions/<int:subscription_id>/card")
@login_required
def subscription_card(subscription_id):
    subscription = services.subscription_for_buyer(subscription_id, current_user.id)
    if subscription.status == "cancelled":
        return redirect(url_for("storefront.subscription_detail", subscription_id=subscription_id))
    return render_template("storefront/subscription_card.html", subscription=subscription,
                           test_card=uses_local_server(), form=TestCardForm(formdata=None))


@bp.post("/subscriptions/<int:subscription_id>/card/test-card")
@login_required
def subscription_test_card(subscription_id):
    services.subscription_for_buyer(subscription_id, current_user.id)
    form = TestCardForm()
    if not form.validate():
        return redirect(url_for("storefront.subscription_card", subscription_id=subscription_id)), 303
    try:
        services.save_test_card(current_user.id, subscription_id, form.card.data)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("storefront.subscription_card", subscription_id=subscription_id)), 303
    flash(_("Your card is saved. Each box is charged to it when it falls due."), "info")
    return redirect(url_for("storefront.subscription_detail", subscription_id=subscription_id)), 303


ACTIONS = {
    "skip": (services.skip_next, lambda: _("The next delivery is skipped; nothing is charged for it.")),
    "pause": (services.pause, lambda: _("Your subscription is paused. Nothing is charged until you resume it.")),
    "resume": (services.resume, lambda: _("Your subscription is active again.")),
    "cancel": (services.cancel, lambda: _("Your subscription is cancelled. Nothing more will be charged.")),
}


@bp.post("/subscriptions/<int:subscription_id>/<any(skip, pause, resume, cancel):action>")
@login_required
def subscription_action(subscription_id, action):
    services.subscription_for_buyer(subscription_id, current_user.id)  # another buyer's: 404
    if not ConfirmForm().validate():
        return redirect(url_for("storefront.subscription_detail", subscription_id=subscription_id)), 303
    service, done = ACTIONS[action]
    try:
        service(current_user.id, subscription_id)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(done(), "info")
    return redirect(url_for("storefront.subscription_detail", subscription_id=subscription_id)), 303
