"""Organisations (消费帮扶) and the company transfers into the platform's account (admin)."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.errors import DomainError
from marketplace.organisations import payment_clock, services, transfer_refunds, transfers, unpaid_orders
from marketplace.organisations.requisitions import members_of
from marketplace.places.models import Town
from marketplace.web.access import role_required
from marketplace.web.admin import bp
from marketplace.web.admin.forms_organisations import (
    KIND_LABELS, TERMS_LABELS, OrganisationForm, RefundTransferForm, StatementForm, TermsForm, TransferForm,
)
from marketplace.web.admin.routes import place_choices

OUTCOME_LABELS = {
    "matched": _l("Matched: the order is paid"), "unknown_reference": _l("No known transfer reference"),
    "ambiguous": _l("More than one reference"), "partial": _l("Less than the order's total"),
    "over": _l("More than the order's total"), "duplicate": _l("Recorded before (duplicate)"),
    "already_paid": _l("The order was already paid"), "not_payable": _l("The order was cancelled or released"),
}


@bp.route("/organisations", methods=["GET", "POST"])
@role_required("admin")
def organisations():
    form = OrganisationForm()
    form.town_id.choices = place_choices(Town, optional=True)
    status = 200
    if form.validate_on_submit():
        try:
            services.register_organisation(current_user.id, form.name.data, form.credit_code.data, form.kind.data,
                                           form.town_id.data or None, form.district.data, form.year.data,
                                           form.declared_total.fen, form.required_share.data,
                                           payment_terms=form.payment_terms.data)
        except DomainError as error:
            flash(error.message, "error")
            status = error.status
        else:
            flash(_("Organisation registered. Invite its buyers and approvers from Accounts."), "info")
            return redirect(url_for("admin.organisations")), 303
    elif form.is_submitted():
        status = 422
    rows = [(organisation, members_of(organisation.id)) for organisation in services.organisations()]
    return render_template("admin/organisations.html", form=form, rows=rows, kind_labels=KIND_LABELS,
                           terms_label=TERMS_LABELS, terms_form=TermsForm), status


@bp.post("/organisations/<int:organisation_id>/terms")
@role_required("admin")
def organisation_terms(organisation_id):
    """Change when an organisation pays; requests already submitted keep their terms."""
    form = TermsForm(prefix=f"t{organisation_id}")
    if not form.validate_on_submit():
        flash(_("Choose when the organisation pays."), "error")
        return redirect(url_for("admin.organisations")), 303
    try:
        services.set_payment_terms(current_user.id, organisation_id, form.payment_terms.data)
    except DomainError as error:
        if error.status == 404:
            abort(404)
        flash(error.message, "error")
        return redirect(url_for("admin.organisations")), 303
    flash(_("Payment terms changed: requests submitted from now on follow them; earlier ones keep theirs."), "info")
    return redirect(url_for("admin.organisations")), 303


@bp.route("/transfers", methods=["GET", "POST"])
@role_required("admin")
def transfers_page():
    """Record one transfer, or import a statement; either way, what each credit became is listed."""
    form, statement = TransferForm(prefix="one"), StatementForm(prefix="file")
    owed = transfer_refunds.refunds_owed()
    payback = RefundTransferForm(prefix="back")
    payback.refund_id.choices = [(refund.id, f"{order.public_no} · {organisation.name}")
                                 for refund, order, organisation in owed]
    payback.organisation_id.choices = [(organisation.id, organisation.name) for organisation in services.organisations()]
    action, status = request.form.get("action"), 200
    try:
        if action == "refund_paid" and payback.validate_on_submit():
            transfer_refunds.record_refund_transfer(current_user.id, payback.refund_id.data,
                                                    payback.organisation_id.data, payback.value_date.data,
                                                    payback.amount.fen, payback.bank_reference.data)
            flash(_("The refund's bank transfer is recorded: the organisation is paid back."), "info")
            return redirect(url_for("admin.transfers_page")), 303
        if action == "record" and form.validate_on_submit():
            transfer = transfers.record_transfer(current_user.id, form.value_date.data, form.amount.fen,
                                                 form.payer_name.data, form.memo.data, form.bank_reference.data)
            flash(OUTCOME_LABELS[transfer.outcome], "info" if transfer.outcome == "matched" else "error")
            return redirect(url_for("admin.transfers_page")), 303
        if action == "import" and statement.validate_on_submit():
            upload = statement.file.data
            rows = transfers.import_statement(current_user.id, upload.filename, upload.read())
            matched = sum(1 for row in rows if row.outcome == "matched")
            flash(_("%(rows)s credits read: %(matched)s matched, %(kept)s kept as discrepancies.",
                    rows=len(rows), matched=matched, kept=len(rows) - matched), "info")
            return redirect(url_for("admin.transfers_page")), 303
        if request.method == "POST":
            status = 422
    except DomainError as error:
        flash(" ".join(part for part in (error.message, getattr(error, "detail", "")) if part), "error")
        status = error.status
    return render_template("admin/transfers.html", form=form, statement=statement, payback=payback, owed=owed,
                           paid_back=transfer_refunds.refunds_paid_back(),
                           awaiting=payment_clock.awaiting_transfer(),
                           rows=transfers.recent_transfers(), outcome_labels=OUTCOME_LABELS,
                           amount_due=unpaid_orders.amount_due_fen), status
