"""Guest checkout: buy with a mainland mobile number and a one-time code, find the orders again
by the same number or by an order's signed link, and claim them into an account later."""
from flask import abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.errors import DomainError
from marketplace.extensions import limiter
from marketplace.guests.codes import check_code, claim_guest_orders, send_code
from marketplace.orders.checkout import guest_orders as orders_of_guest
from marketplace.web.storefront import bp
from marketplace.web.storefront.cart_views import _first_error
from marketplace.web.storefront.forms import GuestPhoneForm
from marketplace.web.storefront.guest_access import guest_phone, order_no_of_link, remember_guest

# Each page of the two steps -> the purpose of its codes (a code for one never opens another).
PURPOSES = {"checkout": "guest", "orders": "guest", "claim": "claim"}
TEMPLATE = "storefront/guest_phone.html"
CODE_LIMIT = "5 per minute; 20 per hour"


def _phone_step(page, done):
    """The two steps of one page: text a code to the number, then check the code; `done(phone)`
    is the response once the number is proven."""
    template, purpose = TEMPLATE, PURPOSES[page]
    form = GuestPhoneForm()
    if not form.is_submitted():
        return render_template(template, form=form, page=page, code_sent=False)
    if not form.validate():
        flash(_first_error(form), "error")
        return render_template(template, form=form, page=page, code_sent=False), 400
    try:
        if form.step.data == "send":
            form.phone.data = send_code(form.phone.data, purpose)
            flash(_("We sent a 6-digit code to %(phone)s. It is valid for 10 minutes.", phone=form.phone.data), "info")
            form.step.data, form.code.data = "verify", ""
            return render_template(template, form=form, page=page, code_sent=True)
        if purpose == "claim":
            return done(form.phone.data, form.code.data)
        return done(check_code(form.phone.data, form.code.data, purpose))
    except DomainError as error:
        flash(error.message, "error")
        return render_template(template, form=form, page=page, code_sent=form.step.data == "verify"), error.status


@bp.route("/checkout/guest", methods=["GET", "POST"])
@limiter.limit(CODE_LIMIT, methods=["POST"])
def guest_checkout():
    """Check out without an account: prove a mobile number, then the usual checkout."""
    if current_user.is_authenticated:
        return redirect(url_for("storefront.checkout"))

    def done(phone):
        remember_guest(phone)
        return redirect(url_for("storefront.checkout")), 303
    return _phone_step("checkout", done)


@bp.route("/guest/orders/find", methods=["GET", "POST"])
@limiter.limit(CODE_LIMIT, methods=["POST"])
def guest_find_orders():
    """A guest finds their orders by the mobile number they bought with and a new code."""
    def done(phone):
        remember_guest(phone)
        return redirect(url_for("storefront.guest_orders")), 303
    return _phone_step("orders", done)


@bp.get("/guest/orders")
def guest_orders():
    phone = guest_phone()
    if phone is None:
        return redirect(url_for("storefront.guest_find_orders"))
    return render_template("storefront/orders.html", orders=orders_of_guest(phone), guest_phone=phone)


@bp.get("/guest/orders/<token>")
def guest_order_link(token):
    """The signed link of a guest's order (given after checkout): opens that order in this browser."""
    public_no = order_no_of_link(token)
    if public_no is None:
        abort(404)
    session["guest_orders"] = [*[no for no in session.get("guest_orders", []) if no != public_no], public_no][-20:]
    return redirect(url_for("storefront.order_detail", public_no=public_no))


@bp.route("/account/phone", methods=["GET", "POST"])
@login_required
@limiter.limit(CODE_LIMIT, methods=["POST"])
def claim_phone_orders():
    """A signed-in buyer proves the mobile number they bought with as a guest and takes those orders."""
    def done(phone, code):
        taken = claim_guest_orders(current_user.id, phone, code)
        flash(_("%(n)d orders bought with this number are now in your account.", n=taken) if taken
              else _("No guest orders were bought with this number."), "info")
        return redirect(url_for("storefront.orders")), 303
    return _phone_step("claim", done)
