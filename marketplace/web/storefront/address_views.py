"""Addresses by region: the three region selects (checkout and /account/addresses), the buyer's
saved addresses, and the small JSON list static/js/storefront.js fills the next select from.

Without JavaScript the selects still work: a 选择 (Next) button posts the form back and the page
comes again with the next list filled, nothing else done."""
from flask import flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.errors import DomainError
from marketplace.orders import addresses
from marketplace.places import regions
from marketplace.web.storefront import bp
from marketplace.web.storefront.cart_views import _first_error
from marketplace.web.storefront.forms import AddressForm, ConfirmForm


def fill_region_choices(form):
    """The selects' options from the picks so far. A pick that is not under the one before is
    dropped (the page then asks for it again); a list of one is picked (北京市 → 市辖区)."""
    choose = [("", _("Choose…"))]
    form.province.choices = choose + regions.provinces()
    cities = regions.cities(form.province.data)
    if form.city.data not in {code for code, _name in cities}:
        form.city.data = cities[0][0] if len(cities) == 1 else ""
    form.city.choices = choose + cities
    districts = regions.districts(form.city.data)
    if form.district.data not in {code for code, _name in districts}:
        form.district.data = districts[0][0] if len(districts) == 1 else ""
    form.district.choices = choose + districts


def prefill_address(form, address):
    """Put a saved address into the form's fields."""
    form.province.data, form.city.data = regions.parents(address.region_code)
    form.district.data = address.region_code
    form.address_detail.data = address.address_detail
    form.recipient_name.data = address.recipient_name
    form.recipient_phone.data = address.recipient_phone


def checked_address(form):
    """The form's region address, checked (DomainError naming the field at fault)."""
    return addresses.region_address(form.province.data, form.city.data, form.district.data, form.address_detail.data)


@bp.get("/regions/<code>")
def region_children(code):
    """The cities of a province or the districts of a city, for the next select (GB/T 2260)."""
    children = regions.cities(code) or regions.districts(code)
    return jsonify(children=[{"code": child, "name": name} for child, name in children])


def _page(form, status=200):
    fill_region_choices(form)
    return render_template("storefront/addresses.html", form=form, addresses=addresses.saved_addresses(current_user.id),
                           confirm=ConfirmForm(formdata=None)), status


@bp.get("/account/addresses")
@login_required
def saved_addresses():
    form = AddressForm(formdata=None)
    form.recipient_name.data = current_user.name
    return _page(form)


@bp.post("/account/addresses")
@login_required
def add_address():
    form = AddressForm()
    if form.region_step.data:
        return _page(form)
    if not form.validate():
        flash(_first_error(form), "error")
        return _page(form, 400)
    try:
        addresses.add_address(current_user.id, form.recipient_name.data, form.recipient_phone.data,
                              checked_address(form), make_default=form.make_default.data)
    except DomainError as error:
        flash(error.message, "error")
        return _page(form, error.status)
    flash(_("Address saved."), "info")
    return redirect(url_for("storefront.saved_addresses")), 303


@bp.post("/account/addresses/<int:address_id>/default")
@login_required
def default_address(address_id):
    addresses.saved_address(current_user.id, address_id)  # another buyer's address does not exist for them
    if ConfirmForm().validate():
        addresses.set_default(current_user.id, address_id)
        flash(_("This is now your default address."), "info")
    return redirect(url_for("storefront.saved_addresses")), 303


@bp.post("/account/addresses/<int:address_id>/delete")
@login_required
def delete_address(address_id):
    addresses.saved_address(current_user.id, address_id)
    if ConfirmForm().validate():
        addresses.delete_address(current_user.id, address_id)
        flash(_("Address deleted."), "info")
    return redirect(url_for("storefront.saved_addresses")), 303
