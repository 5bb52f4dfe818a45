from datetime import date

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.catalog.models import Product
from marketplace.coops import scope
from marketplace.coops.models import Cooperative
from marketplace.documents import qr_svg, render_pdf
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.orders import fulfilment
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import ConfirmForm, ShipForm
from marketplace.web.coop.routes import flash_refusal


def pdf_response(pdf, filename):
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


def packing_entries(shipments):
    """(order, the shipment's lines) for the packing list and the orders page."""
    return [(shipment.order, shipment.lines()) for shipment in shipments]


def my_cooperative():
    return db.session.get(Cooperative, scope.managed_cooperative_id(current_user.id))


# Village agents pack and ship for the households of their village that sell directly (直供).
@bp.get("/orders")
@role_required("coop_manager", "agent")
def orders():
    queue = fulfilment.fulfilment_queue(current_user.id)
    days = sorted({fulfilment.local_day(shipment.order.paid_at) for shipment in queue}, reverse=True)
    in_transit = fulfilment.shipments_in_transit(current_user.id)
    seller_names = {shipment.id: fulfilment.seller_name(shipment.seller_id, get_locale())
                    for shipment in queue + in_transit}
    return render_template("coop/orders.html", queue=queue, in_transit=in_transit, seller_names=seller_names,
                           days=days, confirm_form=ConfirmForm(), ship_form=ShipForm())


@bp.get("/orders/<int:order_id>/packing-list.pdf")
@role_required("coop_manager")
def order_packing_list(order_id):
    shipment = fulfilment.order_for(current_user.id, order_id)
    order = shipment.order
    pdf = render_pdf("documents/packing_list.html", entries=packing_entries([shipment]), cooperative=my_cooperative(),
                     title=f"装箱单 Packing list {order.public_no}")
    return pdf_response(pdf, f"packing-list-{order.public_no}.pdf")


@bp.get("/orders/day/<day>/packing-list.pdf")
@role_required("coop_manager")
def day_packing_list(day):
    try:
        chosen = date.fromisoformat(day)
    except ValueError:
        abort(404)
    shipments = fulfilment.shipments_paid_on(current_user.id, chosen)
    pdf = render_pdf("documents/packing_list.html", entries=packing_entries(shipments), cooperative=my_cooperative(),
                     title=f"{chosen.isoformat()} 装箱单 Packing list")
    return pdf_response(pdf, f"packing-list-{chosen.isoformat()}.pdf")


def product_url(slug):
    """The public product page a parcel's QR code opens (the storefront's `/products/<slug>`)."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/products/{slug}"


@bp.get("/orders/<int:order_id>/label")
@role_required("coop_manager")
def parcel_label(order_id):
    shipment = fulfilment.order_for(current_user.id, order_id)
    order, lines = shipment.order, shipment.lines()
    slugs = {line.product_id: db.session.get(Product, line.product_id).slug for line in lines}
    codes = [(line, product_url(slugs[line.product_id]), qr_svg(product_url(slugs[line.product_id]))) for line in lines]
    return render_template("coop/label.html", order=order, codes=codes, cooperative=my_cooperative())


@bp.post("/shipments/<int:shipment_id>/packed")
@role_required("coop_manager", "agent")
def mark_packed(shipment_id):
    if ConfirmForm().validate_on_submit():
        try:
            fulfilment.mark_packed(shipment_id, current_user.id)
        except DomainError as error:
            flash_refusal(error)
        else:
            flash(_("Marked as packed."), "info")
    return redirect(url_for("coop.orders"), 303)


@bp.post("/shipments/<int:shipment_id>/shipped")
@role_required("coop_manager", "agent")
def mark_shipped(shipment_id):
    form = ShipForm()
    fulfilment.shipment_for(current_user.id, shipment_id)
    if not form.validate_on_submit():
        flash(_("Enter the tracking number (letters and digits)."), "error")
        return redirect(url_for("coop.orders"), 303)
    try:
        fulfilment.mark_shipped(shipment_id, current_user.id, form.carrier.data, form.tracking_no.data)
    except DomainError as error:
        flash_refusal(error)
    else:
        flash(_("Marked as shipped. The buyer sees the tracking number."), "info")
    return redirect(url_for("coop.orders"), 303)


@bp.post("/shipments/<int:shipment_id>/delivered")
@role_required("coop_manager", "agent")
def record_delivery(shipment_id):
    if ConfirmForm().validate_on_submit():
        try:
            fulfilment.record_carrier_delivery(shipment_id, current_user.id)
        except DomainError as error:
            flash_refusal(error)
        else:
            flash(_("Recorded as delivered. The sale settles after the after-sales window."), "info")
    return redirect(url_for("coop.orders"), 303)
