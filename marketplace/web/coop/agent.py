"""Village agents (代办) acting for a household of their village: a supply lot or a direct listing."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.catalog import listings
from marketplace.catalog.models import Product
from marketplace.coops import scope, services
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import DirectListingForm
from marketplace.web.coop.listings import category_choices
from marketplace.web.coop.lots import lot_form_for, submit_lot
from marketplace.web.coop.routes import show_refusal
from marketplace.web.security.fields import whole_number_or_none


@bp.get("/on-behalf")
@role_required("agent")
def on_behalf():
    return render_template("coop/agent_home.html", households=scope.village_households(current_user.id),
                           products=listings.listed_products(current_user.id))


def household_lot_choices(household_id):
    """The household (of the agent's village) and the floor-priced products of its cooperatives."""
    household = scope.household_for_agent(current_user.id, household_id)
    cooperatives = services.household_cooperatives(household.id)
    products = [product for cooperative in cooperatives for product in services.lot_choices(cooperative.id)[1]]
    return household, products


@bp.route("/on-behalf/<int:household_id>/lot", methods=["GET", "POST"])
@role_required("agent")
def agent_lot(household_id):
    household, products = household_lot_choices(household_id)
    form = lot_form_for([household], products)
    status = 200
    if form.validate_on_submit():
        product = db.session.get(Product, form.product_id.data)
        if product is None or product not in products:
            abort(404)
        status = submit_lot(form, product.seller.cooperative_id)
        if status is None:
            flash(_("Lot recorded on behalf of %(name)s.", name=household.head_name), "info")
            return redirect(url_for("coop.on_behalf"), 303)
    elif form.is_submitted():
        status = 422
    return render_template("coop/lot_form.html", form=form, household=household,
                           action=url_for("coop.agent_lot", household_id=household.id)), status


@bp.route("/on-behalf/listing", methods=["GET", "POST"])
@role_required("agent")
def agent_listing():
    form = DirectListingForm()
    form.category_id.choices = category_choices()
    form.household_id.choices = [(h.id, h.head_name) for h in scope.village_households(current_user.id)]
    if not form.is_submitted() and whole_number_or_none(request.args.get("household", "")) is not None:
        form.household_id.data = whole_number_or_none(request.args["household"])
    status = 200
    if form.validate_on_submit():
        try:
            product = listings.create_product(current_user.id, form.values(), household_id=form.household_id.data,
                                              first_variant=form.variant_values())
        except DomainError as error:
            status = show_refusal(error, form)
        else:
            flash(_("Direct listing saved as a draft on behalf of the household. Add a photo, then put it on sale."), "info")
            return redirect(url_for("coop.edit_product", product_id=product.id), 303)
    elif form.is_submitted():
        status = 422
    return render_template("coop/agent_listing.html", form=form), status
