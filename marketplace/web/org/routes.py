import re

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.database import utcnow
from marketplace.documents import render_pdf
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.local_time import local_today
from marketplace.orders.cart import cart_lines, find_cart
from marketplace.orders.models import Order
from marketplace.organisations import requisitions
from marketplace.organisations.report import quota_report
from marketplace.organisations.services import membership
from marketplace.organisations.transfers import transfer_of_order
from marketplace.spreadsheets import xlsx_bytes
from marketplace.web.access import role_required
from marketplace.web.org import bp
from marketplace.web.org.forms import DecisionForm, SubmitForm

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
    return render_template("org/home.html", member=member, lines=lines, form=SubmitForm(),
                           requests=requisitions.requisitions_of(current_user.id))


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
    return render_template("org/request.html", requisition=requisition, order=order, member=membership(current_user.id),
                           transfer=transfer_of_order(order.id) if order else None, form=DecisionForm(),
                           account={"name": config["PLATFORM_BANK_ACCOUNT_NAME"], "bank": config["PLATFORM_BANK_NAME"],
                                    "number": config["PLATFORM_BANK_ACCOUNT_NO"]})


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
