"""Parcels on their way: town staff record a carrier's delivery when the seller cannot (the
carrier's report reaches the town's e-commerce station, or the seller has no one online)."""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.errors import DomainError, NotFound
from marketplace.extensions import db
from marketplace.orders import fulfilment
from marketplace.web.town import bp
from marketplace.web.town.routes import my_town_id, staff_only


@bp.get("/deliveries")
@staff_only
def deliveries():
    in_transit = fulfilment.town_shipments_in_transit(my_town_id())
    seller_names = {shipment.id: fulfilment.seller_name(shipment.seller_id, get_locale()) for shipment in in_transit}
    return render_template("town/deliveries.html", in_transit=in_transit, seller_names=seller_names)


@bp.post("/deliveries/<int:shipment_id>")
@staff_only
def record_delivery(shipment_id):
    try:
        fulfilment.record_carrier_delivery(shipment_id, current_user.id)
    except NotFound:
        abort(404)  # another town's parcel, or none: nothing to say about it
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_("Recorded as delivered. The sale settles after the after-sales window."), "info")
    return redirect(url_for("town.deliveries"), 303)
