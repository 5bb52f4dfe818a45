import re

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from marketplace.database import utcnow
from marketplace.documents import render_pdf
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.local_time import format_local, local_today
from marketplace.orders.cart import cart_lines, find_cart
from marketplace.orders import fulfilment
from marketplace.orders.models import Order
from marketplace.organisations.models import OrganisationDocument
from marketplace.organisations import acceptance, invoices, payment_clock, requisitions, transfer_refunds, unpaid_orders
from marketplace.organisations.documents import MAX_DOCUMENT_BYTES
from marketplace.organisations.report import quota_report
from marketplace.organisations.services import membership
from marketplace.organisations.transfers import transfer_of_order
from marketplace.spreadsheets import xlsx_bytes
from marketplace.web.access import role_required
from marketplace.web.org import bp
from marketplace.web.org.forms import AcceptForm, ConfirmForm, DecisionForm, InvoiceRequestForm, SubmitForm

KIND_LABELS = {"budget_unit": _l("Budget unit"), "union": _l("Trade union"), "canteen": _l("Canteen"),
               "enterprise": _l("Enterprise")}


@bp.before_request
@role_required("buyer")
def only_organisation_staff():
    if membership(current_user.id) is None:
        abort(403)


def _locale():
    return str(get_locale() or "zh")


@bp.get("/")
def home():
    member = membership(current_user.id)
    cart = find_cart(user_id=current_user.id)
    lines = cart_lines(cart.id) if cart else []
    requests = requisitions.requisitions_of(current_user.id)
    orders = {order.id: order for order in db.session.scalars(
        select(Order).where(Order.id.in_([row.order_id for row in requests if row.order_id])))}
    now = utcnow()
    clocks = {row.id: payment_clock.clock_of(row, orders.get(row.order_id), now) for row in requests}
    return render_template("org/home.html", member=member, lines=lines, form=SubmitForm(), requests=requests,
                           clocks=clocks)


@bp.post("/requests")
def submit():
    form = SubmitForm()
    if not form.validate_on_submit():
        flash(_("Fill in who receives the goods, their phone and the address."), "error")
        return redirect(url_for("org.home")), 303
    try:
        requisition = requisitions.submit_requisition(current_user.id, form.recipient_name.data,
                                                      form.recipient_phone.data, form.address.data, form.note.data)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("org.home")), 303
    flash(_("Sent for approval."), "info")
    return redirect(url_for("org.request_detail", requisition_id=requisition.id)), 303


@bp.get("/requests/<int:requisition_id>")
def request_detail(requisition_id):
    try:
        requisition = requisitions.requisition_for(current_user.id, requisition_id)
    except DomainError as error:
        abort(error.status)
    order = db.session.get(Order, requisition.order_id) if requisition.order_id else None
    config = current_app.config
    member = membership(current_user.id)
    invoice_request = invoices.invoice_request_of_order(order.id) if order else None
    invoice_form = InvoiceRequestForm(formdata=None, title=member.organisation.name,
                                      tax_number=member.organisation.credit_code, email=current_user.email)
    shipments = [shipment for shipment in order.shipments if shipment.replaces_claim_id is None] if order else []
    return render_template(
        "org/request.html", requisition=requisition, order=order, member=member,
        transfer=transfer_of_order(order.id) if order else None, form=DecisionForm(), confirm_form=ConfirmForm(),
        clock=payment_clock.clock_of(requisition, order), shipments=shipments,
        seller_names={shipment.id: fulfilment.seller_name(shipment.seller_id, _locale()) for shipment in shipments},
        acceptances=acceptance.acceptances_of_order(order.id) if order else {}, accept_form=AcceptForm(),
        invoice_request=invoice_request, invoice_form=invoice_form,
        refunds=transfer_refunds.refunds_of_order(order.id) if order else [],
        amount_due=unpaid_orders.amount_due_fen(order) if order else 0,
        account={"name": config["PLATFORM_BANK_ACCOUNT_NAME"], "bank": config["PLATFORM_BANK_NAME"],
                 "number": config["PLATFORM_BANK_ACCOUNT_NO"]})


def _back(requisition_id, anchor=None):
    return redirect(url_for("org.request_detail", requisition_id=requisition_id, _anchor=anchor)), 303


def _refused(error, requisition_id, anchor=None):
    if error.status == 404:
        abort(404)
    flash(error.message, "error")
    return _back(requisition_id, anchor)


@bp.post("/requests/<int:requisition_id>/extend")
def extend_payment(requisition_id):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        order = payment_clock.extend_payment(current_user.id, requisition_id)
    except DomainError as error:
        return _refused(error, requisition_id, "transfer")
    flash(_("The time to pay is extended: transfer before %(when)s (Beijing time).",
            when=format_local(order.reservation_expires_at)), "info")
    return _back(requisition_id, "transfer")


def _upload(form_field):
    upload = form_field.data
    if upload is None or not getattr(upload, "filename", ""):
        return "", b""
    return upload.filename, upload.read(MAX_DOCUMENT_BYTES + 1)


@bp.post("/shipments/<int:shipment_id>/accept")
def accept(shipment_id):
    try:
        _member, shipment = acceptance.organisation_shipment(current_user.id, shipment_id)
    except DomainError:
        abort(404)
    requisition_id = invoices.requisition_of_order(shipment.order_id).id
    form = AcceptForm()
    if not form.validate_on_submit():
        flash(_("Upload a PDF or a photo (JPEG, PNG) of the signed acceptance."), "error")
        return _back(requisition_id, "deliveries")
    filename, data = _upload(form.document)
    try:
        acceptance.accept_shipment(current_user.id, shipment_id, form.note.data, filename, data)
    except DomainError as error:
        return _refused(error, requisition_id, "deliveries")
    flash(_("Acceptance recorded."), "info")
    return _back(requisition_id, "deliveries")


def _document_response(document, disposition="attachment"):
    body = db.session.scalar(select(OrganisationDocument.data).where(OrganisationDocument.id == document.id))
    return body, 200, {"Content-Type": document.content_type, "Cache-Control": "private, no-store",
                       "Content-Disposition": f'{disposition}; filename="{document.filename}"'}


@bp.get("/acceptances/<int:acceptance_id>/document")
def acceptance_document(acceptance_id):
    try:
        document = acceptance.acceptance_document(current_user.id, acceptance_id)
    except DomainError:
        abort(404)
    return _document_response(document)


@bp.post("/requests/<int:requisition_id>/invoices")
def request_invoice(requisition_id):
    form = InvoiceRequestForm()
    if not form.validate_on_submit():
        flash(_("Fill in the invoice title, tax number and e-mail."), "error")
        return _back(requisition_id, "invoices")
    try:
        invoices.request_invoice(current_user.id, requisition_id, form.title.data, form.tax_number.data,
                                 form.email.data)
    except DomainError as error:
        return _refused(error, requisition_id, "invoices")
    flash(_("Invoices requested: each seller uploads theirs here."), "info")
    return _back(requisition_id, "invoices")


@bp.get("/invoices/<int:invoice_id>.pdf")
def invoice_pdf(invoice_id):
    try:
        document = invoices.invoice_document(current_user.id, invoice_id)
    except DomainError:
        abort(404)
    return _document_response(document)


@bp.post("/requests/<int:requisition_id>/approve")
def approve(requisition_id):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        requisitions.approve_requisition(current_user.id, requisition_id)
    except DomainError as error:
        if error.status == 404:
            abort(404)
        flash(error.message, "error")
        return redirect(url_for("org.request_detail", requisition_id=requisition_id)), 303
    flash(_("Approved: the order is placed and waits for the company transfer."), "info")
    return redirect(url_for("org.request_detail", requisition_id=requisition_id)), 303


@bp.post("/requests/<int:requisition_id>/return")
def return_request(requisition_id):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        requisitions.return_requisition(current_user.id, requisition_id, form.note.data)
    except DomainError as error:
        if error.status == 404:
            abort(404)
        flash(error.message, "error")
        return redirect(url_for("org.request_detail", requisition_id=requisition_id)), 303
    flash(_("Returned to the buyer with your note."), "info")
    return redirect(url_for("org.request_detail", requisition_id=requisition_id)), 303


def _year():
    text = request.args.get("year", "")
    year = int(text) if re.fullmatch(r"[0-9]{4}", text) else local_today().year
    return year if 2020 <= year <= 2100 else local_today().year


@bp.get("/report")
def report():
    member = membership(current_user.id)
    return render_template("org/report.html", report=quota_report(member.organisation_id, _year(), _locale()),
                           kind_labels=KIND_LABELS)


@bp.get("/report.xlsx")
def report_xlsx():
    member = membership(current_user.id)
    data = quota_report(member.organisation_id, _year(), _locale())
    rows = [[_("Month"), f"{data.year}-{month:02d}", fen / 100] for month, fen in data.months]
    rows += [[_("Bought here"), "", data.bought_fen / 100]]
    if data.required_fen is not None:
        rows += [[_("Declared purchasing"), "", data.declared_total_fen / 100],
                 [_("Required share"), f"{data.required_share * 100:.2f}%", data.required_fen / 100],
                 [_("Share reached"), f"{data.share_reached * 100:.2f}%", ""]]
    rows += [[_("Village"), f"{place.town} · {place.village}", place.fen / 100, place.households] for place in data.places]
    rows += [[_("Cooperative"), name, fen / 100] for name, fen in data.cooperatives]
    rows += [[_("Households reached"), "", "", data.households_reached]]
    body = xlsx_bytes(_("Quota report"), [_("What"), _("Which"), _("Yuan"), _("Households")], rows)
    return body, 200, {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       "Content-Disposition": f'attachment; filename="quota-report-{data.year}.xlsx"'}


@bp.get("/report.pdf")
def report_pdf():
    """The report as a PDF the organisation files as evidence (Chinese with English, Beijing time)."""
    member = membership(current_user.id)
    data = quota_report(member.organisation_id, _year(), "zh")
    pdf = render_pdf("org/report_pdf.html", report=data, generated_at=utcnow())
    return pdf, 200, {"Content-Type": "application/pdf",
                      "Content-Disposition": f'attachment; filename="quota-report-{data.year}.pdf"'}
