from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.documents import qr_svg
from marketplace.downlink import catalog, ordering, pickup, reports, runs
from marketplace.downlink.scope import agent_point
from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.money import format_fen
from marketplace.orders import pickup as parcel_pickup
from marketplace.orders.checkout import pay_with_test_card
from marketplace.web.access import role_required
from marketplace.web.actions import confirmed_action
from marketplace.web.downlink import bp
from marketplace.web.downlink.forms import WALK_IN, ConfirmForm, OrderForm, ParcelPickupForm, PickupForm
from marketplace.web.links import public_url
from marketplace.web.payment_page import payment_page
from marketplace.web.security.fields import whole_number_or_none


@bp.before_request
@role_required("agent")
def only_agents_of_a_point():
    if current_user.service_point_id is None:
        abort(403)


@bp.get("/")
def agent_home():
    return render_template(
        "downlink/agent_home.html", point=agent_point(current_user.id),
        suppliers=ordering.point_suppliers(current_user.id), runs=runs.point_runs(current_user.id, limit=10),
        waiting=pickup.waiting_at_point(current_user.id), parcels=parcel_pickup.parcels_waiting(current_user.id),
        orders=ordering.point_orders(current_user.id, limit=15),
        form=ConfirmForm(),
    )


def _parse_quantities(form_data):
    """`qty-<variant id>` fields -> {variant id: units}; blank means none. Raises on anything else."""
    quantities = {}
    for key, value in form_data.items():
        if not key.startswith("qty-"):
            continue
        variant_id, units = whole_number_or_none(key[4:]), whole_number_or_none(value.strip() or "0")
        if variant_id is None or units is None or not 0 <= units <= ordering.MAX_QUANTITY:
            raise DomainError(_("Quantities must be whole numbers from 0 to %(most)s.", most=ordering.MAX_QUANTITY))
        quantities[variant_id] = units
    return quantities


@bp.route("/order/<int:supplier_id>", methods=["GET", "POST"])
def new_order(supplier_id):
    households = ordering.point_households(current_user.id)
    form = OrderForm()
    locale = "en" if str(get_locale()).startswith("en") else "zh_CN"
    form.customer.choices = [
        (str(h.id), _("%(name)s · %(registry)s · earnings %(available)s", name=h.head_name,
                      registry=h.registry_no_masked, available=format_fen(available_fen, locale)))
        for h, available_fen in households]
    form.customer.choices.append((WALK_IN, _("Walk-in customer")))
    goods = catalog.goods_for_agent(current_user.id, supplier_id)
    if not goods:
        abort(404)
    status = 200
    if form.validate_on_submit():
        walk_in = form.customer.data == WALK_IN
        try:
            order = ordering.place_order(
                current_user.id, supplier_id, _parse_quantities(request.form), form.payment_method.data,
                household_id=None if walk_in else whole_number_or_none(form.customer.data),
                walk_in_name=form.walk_in_name.data if walk_in else "",
                walk_in_phone=form.walk_in_phone.data if walk_in else "",
            )
        except DomainError as error:
            flash(error.message, "error")
            status = error.status
        else:
            flash(_("Order %(number)s placed.", number=order.public_no), "info")
            target = "downlink.pay" if order.payment_method == "stripe" else "downlink.order_detail"
            return redirect(url_for(target, public_no=order.public_no))
    elif request.method == "POST":
        status = 422
    return render_template("downlink/new_order.html", form=form, goods=goods, supplier=goods[0].seller.supplier,
                           entered=request.form), status


@bp.get("/orders/<public_no>")
def order_detail(public_no):
    order = ordering.point_order(current_user.id, public_no)
    if order.status == "pending_payment" and request.args.get("payment_intent"):
        # Back from Stripe's page: settle from the order's own PaymentIntent, never the one in the URL.
        ordering.settle_card_payment(current_user.id, public_no)
        order = ordering.point_order(current_user.id, public_no)
    ticket = pickup.ticket_for(order)
    pickup_url = public_url("downlink.hand_over", public_no=order.public_no, code=order.pickup_code)
    return render_template("downlink/order_detail.html", order=order, ticket=ticket, qr=qr_svg(pickup_url),
                           form=ConfirmForm())


@bp.get("/orders/<public_no>/pay")
def pay(public_no):
    order = ordering.point_order(current_user.id, public_no)
    if order.status != "pending_payment" or order.payment_method != "stripe":
        return redirect(url_for("downlink.order_detail", public_no=public_no))
    return payment_page("downlink/pay.html", order,
                        public_url("downlink.order_detail", public_no=public_no),
                        form=ConfirmForm(formdata=None))


@bp.post("/orders/<public_no>/pay/test-card")
def pay_test_card(public_no):
    order = ordering.point_order(current_user.id, public_no)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        order = pay_with_test_card(order.id)
    except (NotFound, Forbidden):
        raise  # someone else's: as if it did not exist
    except DomainError as error:
        flash(error.message, "error")
    else:
        if order.status == "paid":
            flash(_("Payment received."), "info")
    return redirect(url_for("downlink.order_detail", public_no=public_no))


@bp.post("/orders/<public_no>/cancel")
def cancel_order(public_no):
    return confirmed_action(lambda: ordering.cancel_unpaid_order(current_user.id, public_no),
                            _("The order was cancelled and its goods are back on sale."),
                            url_for("downlink.order_detail", public_no=public_no))


@bp.route("/pickup/<public_no>", methods=["GET", "POST"])
def hand_over(public_no):
    order = ordering.point_order(current_user.id, public_no)
    form = PickupForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"][:12]
    status = 200
    if form.validate_on_submit():
        try:
            done = pickup.hand_over(current_user.id, public_no, form.code.data, cash_received_fen=form.cash.fen)
        except DomainError as error:
            flash(error.message, "error")
            status = error.status
        else:
            change_fen = pickup.ticket_for(done).change_fen
            if change_fen:
                flash(_("Handed over: order %(number)s is complete. Give back %(change)s in change.",
                        number=public_no, change=format_fen(change_fen)), "info")
            else:
                flash(_("Handed over: order %(number)s is complete.", number=public_no), "info")
            return redirect(url_for("downlink.agent_home"))
    elif request.method == "POST":
        status = 422
    return render_template("downlink/pickup.html", order=order, ticket=pickup.ticket_for(order), form=form), status


@bp.route("/parcels/<public_no>", methods=["GET", "POST"])
def hand_over_parcels(public_no):
    """A buyer collects the farm goods they ordered for pickup here: check their code, hand over."""
    order = parcel_pickup.waiting_order(current_user.id, public_no)
    form, status = ParcelPickupForm(), 200
    if form.validate_on_submit():
        try:
            handed = parcel_pickup.hand_over_parcels(current_user.id, public_no, form.code.data)
        except DomainError as error:
            flash(_(error.message), "error")
            status = error.status
        else:
            flash(_("Handed over %(count)s parcels of order %(number)s.", count=handed, number=public_no), "info")
            return redirect(url_for("downlink.agent_home"), 303)
    elif request.method == "POST":
        status = 422
    return render_template("downlink/parcels.html", order=order, form=form), status


@bp.get("/runs/<int:run_id>")
def run_detail(run_id):
    run = runs.point_run(current_user.id, run_id)
    return render_template("downlink/run_detail.html", run=run, orders=runs.run_orders(run.id),
                           rows=runs.pick_list(run), form=ConfirmForm())


@bp.post("/runs/<int:run_id>/receive")
def receive_run(run_id):
    return confirmed_action(lambda: runs.receive_run(current_user.id, run_id),
                            _("Received: the villagers can pick up their goods now."),
                            url_for("downlink.run_detail", run_id=run_id))


@bp.get("/two-way")
def two_way():
    return render_template("downlink/two_way.html", point=agent_point(current_user.id),
                           months=reports.two_way_by_month(current_user.id))
