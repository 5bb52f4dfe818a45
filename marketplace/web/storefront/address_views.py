"""Addresses by region: the three region selects (checkout and /account/addresses), the buyer's
saved addresses, and the small JSON list static/js/storefront.js fills the next select from.

Without JavaScript the selects still work: a 选择 (Next) button posts the form back and the page
comes again with the next list filled, nothing else done."""
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.orders import addresses
from marketplace.places import regions
from marketplace.places.models import ServicePoint
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


def pickup_choices():
    """The village service points a buyer may pick their goods up at."""
    points = db.session.scalars(select(ServicePoint).order_by(ServicePoint.id)).all()
    locale = str(get_locale())
    return [(point.id, f"{point.name(locale)} · {point.address_zh}") for point in points]


def saved_choices(buyer_id):
    return [(address.id, f"{address.recipient_name} · {address.full_address}")
            for address in addresses.saved_addresses(buyer_id)]


def address_form_step(form, buyer):
    """The address half of a harvest pre-order's or a subscription box's form, as checkout's: the
    buyer's saved addresses offered, the default one preselected on the first GET; a POST that only
    fills the next select or takes a saved address is a step. Returns the status to show the form
    again with (a step), or None when the form goes on to be placed."""
    form.saved_address_id.choices = saved_choices(buyer.id)
    form.service_point_id.choices = pickup_choices()
    if request.method == "GET":
        if not form.recipient_name.data:
            form.recipient_name.data = buyer.name
        default = addresses.default_address(buyer.id)
        if default is not None and not form.district.data:  # the buyer's default address is preselected
            prefill_address(form, default)
            form.saved_address_id.data = default.id
        return None
    if form.use_saved.data:
        try:
            prefill_address(form, addresses.saved_address(buyer.id, form.saved_address_id.data))
        except DomainError as error:
            flash(error.message, "error")
            return error.status
        return 200
    return 200 if form.region_step.data else None


def region_picks(form):
    """What the form sent for the region address, for the service to check (GB/T 2260); None for
    pickup at a service point (`pickup_point(form)`)."""
    if form.delivery_kind.data == "pickup":
        return None
    return addresses.RegionPicks(form.province.data or "", form.city.data or "", form.district.data or "",
                                 form.address_detail.data or "")


def pickup_point(form):
    """The service point picked for pickup, or None for delivery to an address."""
    return (form.service_point_id.data or 0) if form.delivery_kind.data == "pickup" else None


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
