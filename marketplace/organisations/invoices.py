"""Invoices (发票) of an organisation's order: requested by the organisation, issued outside the
product, recorded and delivered here.

The organisation asks once per order what its invoices must say: the title (抬头, its registered
name), the tax number (纳税人识别号 — for an organisation its unified social credit code, whose
check character is verified) and the e-mail to send them to. Then each seller uploads the
e-invoice it issued for its shipment (number and amount, the PDF), and the platform may upload
one for its own part (its commission or service). The amounts are bounded: a seller's invoice at
most its shipment's goods, all of an order's invoices together at most what the order cost.
The organisation's staff download them; nobody else's invoices exist for them.
"""
import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace.audit.services import record
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound, Yuan
from marketplace.extensions import db
from marketplace.orders import fulfilment
from marketplace.orders.models import Order, Shipment
from marketplace.organisations import credit_code
from marketplace.organisations.documents import store_document
from marketplace.organisations.models import InvoiceRequest, IssuedInvoice, Requisition
from marketplace.organisations.requisitions import requisition_for
from marketplace.organisations.services import membership
from marketplace.people.models import User

INVOICE_NUMBER = re.compile(r"^[0-9]{8}([0-9]{12})?$")  # 8 digits (with a 10/12-digit code), or a 20-digit 数电票
PAID_STATUSES = ("paid", "packed", "shipped", "delivered", "completed", "partially_refunded")


def request_invoice(user_id, requisition_id, title, tax_number, email):
    """The organisation asks for its order's invoices, once; refused, nothing saved, on a bad tax number or e-mail."""
    requisition = requisition_for(user_id, requisition_id)
    order = db.session.get(Order, requisition.order_id) if requisition.order_id else None
    if order is None or order.status not in PAID_STATUSES:
        raise Conflict(_("Invoices are asked for once the order is paid."))
    title = (title or "").strip()
    if not 2 <= len(title) <= 120:
        raise DomainError(_("Enter the invoice title: the organisation's registered name."), field="title")
    tax_number = credit_code.normalised(tax_number)
    if not credit_code.is_valid(tax_number):
        raise DomainError(_("%(code)s is not a valid tax number: an organisation's is its 18-character unified social "
                            "credit code.", code=tax_number or "—"), field="tax_number")
    try:
        email = validate_email((email or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise DomainError(_("Enter the e-mail address the invoices go to."), field="email") from error
    if db.session.scalar(select(InvoiceRequest.id).where(InvoiceRequest.order_id == order.id)):
        raise Conflict(_("The invoices of this order are already requested."))
    request = InvoiceRequest(order_id=order.id, organisation_id=requisition.organisation_id, requested_by_id=user_id,
                             title=title, tax_number=tax_number, email=email)
    db.session.add(request)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(_("The invoices of this order are already requested.")) from error
    record("invoice.requested", user_id, request, organisation_id=requisition.organisation_id, order_id=order.id)
    db.session.commit()
    return request


def _checked_number_and_amount(invoice_number, amount_fen):
    invoice_number = re.sub(r"\s", "", invoice_number or "")
    if not INVOICE_NUMBER.match(invoice_number):
        raise DomainError(_("Enter the invoice number: 8 or 20 digits."), field="invoice_number")
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise DomainError(_("Enter the invoice's amount, more than zero."), field="amount")
    return invoice_number


def _within_order(request, amount_fen):
    order = db.session.get(Order, request.order_id)
    invoiced = db.session.scalar(select(func.coalesce(func.sum(IssuedInvoice.amount_fen), 0))
                                 .where(IssuedInvoice.invoice_request_id == request.id))
    if invoiced + amount_fen > order.total_fen:
        raise DomainError(_("The order's invoices would come to more than the order cost (%(total)s; "
                            "%(invoiced)s invoiced already)."), field="amount",
                          total=Yuan(order.total_fen), invoiced=Yuan(invoiced))


def _keep(request, issuer, shipment_id, invoice_number, amount_fen, filename, data, actor_id):
    document = store_document(request.organisation_id, "invoice", filename, data, actor_id)
    invoice = IssuedInvoice(invoice_request_id=request.id, issuer=issuer, shipment_id=shipment_id,
                            invoice_number=invoice_number, amount_fen=amount_fen, document_id=document.id,
                            uploaded_by_id=actor_id)
    db.session.add(invoice)
    try:
        db.session.flush()
    except IntegrityError as error:  # the same invoice uploaded a moment ago
        db.session.rollback()
        raise Conflict(_("This invoice is already uploaded.")) from error
    record("invoice.uploaded", actor_id, invoice, organisation_id=request.organisation_id, order_id=request.order_id,
           issuer=issuer, invoice_number=invoice_number, amount_fen=amount_fen)
    db.session.commit()
    return invoice


def upload_seller_invoice(actor_id, shipment_id, invoice_number, amount_fen, filename, data):
    """The seller of a shipment (its cooperative's manager, or the agent of a household selling
    directly) records the e-invoice it issued for that shipment's goods."""
    shipment = fulfilment.shipment_for(actor_id, shipment_id)
    invoice_number = _checked_number_and_amount(invoice_number, amount_fen)
    request = db.session.scalar(select(InvoiceRequest).where(InvoiceRequest.order_id == shipment.order_id))
    if request is None:
        raise Conflict(_("The organisation has not asked for an invoice for this order."))
    if db.session.scalar(select(IssuedInvoice.id).where(IssuedInvoice.shipment_id == shipment.id)):
        raise Conflict(_("This invoice is already uploaded."))
    goods_fen = sum(line.line_total_fen for line in shipment.lines())
    if amount_fen > goods_fen:
        raise DomainError(_("The invoice is for more than this delivery's goods (%(goods)s)."), field="amount",
                          goods=Yuan(goods_fen))
    _within_order(request, amount_fen)
    return _keep(request, "seller", shipment.id, invoice_number, amount_fen, filename, data, actor_id)


def upload_platform_invoice(actor_id, invoice_request_id, invoice_number, amount_fen, filename, data):
    """The platform records the e-invoice it issued for its own part of an order (once per order)."""
    actor = db.session.get(User, actor_id)
    if actor is None or actor.role != "admin" or not actor.is_active_account:
        raise Forbidden(_("Only the platform admin does this."))
    request = db.session.get(InvoiceRequest, invoice_request_id)
    if request is None:
        raise NotFound(_("No such invoice request."))
    invoice_number = _checked_number_and_amount(invoice_number, amount_fen)
    if any(invoice.issuer == "platform" for invoice in request.invoices):
        raise Conflict(_("This invoice is already uploaded."))
    _within_order(request, amount_fen)
    return _keep(request, "platform", None, invoice_number, amount_fen, filename, data, actor_id)


def invoice_request_of_order(order_id):
    return db.session.scalar(select(InvoiceRequest).where(InvoiceRequest.order_id == order_id))


def requests_for_seller(actor_id, limit=100):
    """(request, shipment, its invoice or None) for the actor's sellers' shipments whose organisation
    asked for invoices, those still to upload first."""
    seller_ids = _sellers_of(actor_id)
    if not seller_ids:
        return []
    rows = db.session.execute(
        select(InvoiceRequest, Shipment).join(Shipment, Shipment.order_id == InvoiceRequest.order_id)
        .where(Shipment.seller_id.in_(seller_ids), Shipment.replaces_claim_id.is_(None), Shipment.status != "cancelled")
        .order_by(InvoiceRequest.id.desc()).limit(limit)).all()
    issued = {invoice.shipment_id: invoice for invoice in db.session.scalars(
        select(IssuedInvoice).where(IssuedInvoice.shipment_id.in_([shipment.id for _, shipment in rows])))}
    entries = [(request, shipment, issued.get(shipment.id)) for request, shipment in rows]
    return sorted(entries, key=lambda entry: entry[2] is not None)


def all_requests(limit=200):
    """Every invoice request, newest first, for the platform's page."""
    return db.session.scalars(select(InvoiceRequest).order_by(InvoiceRequest.id.desc()).limit(limit)).all()


def invoice_document(user_id, invoice_id):
    """An issued invoice's PDF for the ordering organisation's staff, the seller who uploaded it, or
    the platform admin; NotFound for anyone else."""
    invoice = db.session.get(IssuedInvoice, invoice_id)
    if invoice is None:
        raise NotFound(_("No such document."))
    request = db.session.get(InvoiceRequest, invoice.invoice_request_id)
    member = membership(user_id)
    user = db.session.get(User, user_id)
    allowed = (member is not None and member.organisation_id == request.organisation_id) \
        or (user is not None and user.role == "admin") \
        or (invoice.shipment_id is not None and user is not None and user.role in ("coop_manager", "agent")
            and db.session.get(Shipment, invoice.shipment_id).seller_id in _sellers_of(user_id))
    if not allowed:
        raise NotFound(_("No such document."))
    return invoice.document


def _sellers_of(user_id):
    try:
        return fulfilment.seller_ids_of(user_id)
    except Forbidden:
        return []


def requisition_of_order(order_id):
    return db.session.scalar(select(Requisition).where(Requisition.order_id == order_id))
