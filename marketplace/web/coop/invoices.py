"""Invoices organisations asked for: the seller uploads the e-invoice it issued for its shipment."""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.orders import fulfilment
from marketplace.organisations import invoices
from marketplace.organisations.documents import MAX_DOCUMENT_BYTES
from marketplace.organisations.models import Organisation, OrganisationDocument
from marketplace.web.access import role_required
from marketplace.web.coop import bp
from marketplace.web.coop.forms import InvoiceUploadForm
from marketplace.web.coop.routes import flash_refusal


@bp.get("/invoices")
@role_required("coop_manager", "agent")
def invoices_page():
    entries = invoices.requests_for_seller(current_user.id)
    names = {row.id: row.name for row in db.session.scalars(
        select(Organisation).where(Organisation.id.in_({request.organisation_id for request, _s, _i in entries})))}
    return render_template("coop/invoices.html", entries=entries, organisation_names=names, form=InvoiceUploadForm(),
                           locale=str(get_locale()))


@bp.post("/shipments/<int:shipment_id>/invoice")
@role_required("coop_manager", "agent")
def upload_invoice(shipment_id):
    try:
        fulfilment.shipment_for(current_user.id, shipment_id)  # another seller's shipment is not found
    except DomainError:
        abort(404)
    form = InvoiceUploadForm()
    if not form.validate_on_submit():
        flash(_("Enter the invoice number and amount, and choose its PDF."), "error")
        return redirect(url_for("coop.invoices_page"), 303)
    upload = form.document.data
    try:
        invoices.upload_seller_invoice(current_user.id, shipment_id, form.invoice_number.data, form.amount.fen,
                                       upload.filename, upload.read(MAX_DOCUMENT_BYTES + 1))
    except DomainError as error:
        if error.status == 404:
            abort(404)
        flash_refusal(error)
    else:
        flash(_("Invoice uploaded: the organisation can download it now."), "info")
    return redirect(url_for("coop.invoices_page"), 303)


@bp.get("/invoices/<int:invoice_id>.pdf")
@role_required("coop_manager", "agent")
def invoice_pdf(invoice_id):
    try:
        document = invoices.invoice_document(current_user.id, invoice_id)
    except DomainError:
        abort(404)
    body = db.session.scalar(select(OrganisationDocument.data).where(OrganisationDocument.id == document.id))
    return body, 200, {"Content-Type": "application/pdf", "Cache-Control": "private, no-store",
                       "Content-Disposition": f'attachment; filename="{document.filename}"'}
